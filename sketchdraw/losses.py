"""Adversarial losses and label treatments, registered by name.

Every loss works on discriminator *logits* (the raw last-layer output) and returns one value per
example, so the train step can average it over the global batch (`tf.nn.compute_average_loss`)
the way `tf.distribute` wants.

    loss = losses.get("bce")            # or "hinge", "least_squares", "wgan_gp"
    per_example_d = loss.discriminator(real_logits, fake_logits)
    per_example_g = loss.generator(fake_logits)
    if loss.needs_gradient_penalty:     # wgan_gp: the critic loss alone is not enough
        per_example_d += gradient_penalty(discriminator, real_images, fake_images)

Label treatments (one-sided smoothing, noisy targets, occasional flips) only make sense for the
losses with targets (`loss.supports_labels`: bce, least_squares):

    real_labels, fake_labels = make_labels(batch_size, "smooth,flip", generator=label_generator)
    per_example_d = loss.discriminator(real_logits, fake_logits, real_labels, fake_labels)

This module holds the arithmetic only; which loss and treatment a run uses is the train step's
and the run settings' business.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import tensorflow as tf

from sketchdraw.registry import Registry


@dataclass(frozen=True)
class AdversarialLoss:
    name: str
    # (real_logits, fake_logits[, real_labels, fake_labels]) -> per-example loss, shape (batch,)
    discriminator: Callable
    generator: Callable  # (fake_logits) -> per-example loss, shape (batch,)
    # The train step adds `gradient_penalty(...)` to the discriminator loss when this is set.
    needs_gradient_penalty: bool = False
    # Whether `discriminator` takes real_labels / fake_labels (targets), i.e. label treatments apply.
    supports_labels: bool = False
    description: str = ""


LOSSES: Registry[AdversarialLoss] = Registry("loss")


def register(loss: AdversarialLoss) -> AdversarialLoss:
    LOSSES.register(loss.name)(loss)
    return loss


def get(name: str) -> AdversarialLoss:
    return LOSSES.get(name)


def names() -> list[str]:
    return LOSSES.names()


def _per_example(values: tf.Tensor) -> tf.Tensor:
    """Mean over everything but the batch axis (a (batch, 1) logit column becomes (batch,))."""
    values = tf.convert_to_tensor(values)
    return tf.reduce_mean(tf.reshape(values, [tf.shape(values)[0], -1]), axis=1)


def _bce(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    return _per_example(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


def bce_discriminator(real_logits, fake_logits, real_labels=None, fake_labels=None):
    """-log D(x) - log(1 - D(G(z))); labels may be softened or noisy (see `labels`)."""
    real_labels = tf.ones_like(real_logits) if real_labels is None else real_labels
    fake_labels = tf.zeros_like(fake_logits) if fake_labels is None else fake_labels
    return _bce(real_labels, real_logits) + _bce(fake_labels, fake_logits)


def bce_generator(fake_logits):
    """Non-saturating: the generator maximises log D(G(z)) instead of minimising log(1 - D(G(z)))."""
    return _bce(tf.ones_like(fake_logits), fake_logits)


register(AdversarialLoss("bce", bce_discriminator, bce_generator, supports_labels=True,
                         description="non-saturating binary cross-entropy (DCGAN)"))


def hinge_discriminator(real_logits, fake_logits):
    """max(0, 1 - D(x)) + max(0, 1 + D(G(z))): no reward for being more than a margin of 1 sure."""
    real_logits = tf.convert_to_tensor(real_logits)
    fake_logits = tf.convert_to_tensor(fake_logits)
    return _per_example(tf.nn.relu(1.0 - real_logits)) + _per_example(tf.nn.relu(1.0 + fake_logits))


def hinge_generator(fake_logits):
    """-D(G(z)), as in SAGAN / BigGAN (the generator side of the hinge loss is not a hinge)."""
    return _per_example(-tf.convert_to_tensor(fake_logits))


register(AdversarialLoss("hinge", hinge_discriminator, hinge_generator,
                         description="hinge loss (geometric GAN, SAGAN, BigGAN)"))


def least_squares_discriminator(real_logits, fake_logits, real_labels=None, fake_labels=None):
    """0.5 (D(x) - 1)^2 + 0.5 D(G(z))^2 on the raw output (LSGAN, Mao et al. 2017, a=0, b=c=1).

    The factor 0.5 is the paper's: each of the two terms is half a squared error. Labels replace
    the targets 1 and 0, so label smoothing and noise work as with bce.
    """
    real_logits = tf.convert_to_tensor(real_logits)
    fake_logits = tf.convert_to_tensor(fake_logits)
    real_labels = tf.ones_like(real_logits) if real_labels is None else real_labels
    fake_labels = tf.zeros_like(fake_logits) if fake_labels is None else fake_labels
    return (0.5 * _per_example(tf.square(real_logits - real_labels))
            + 0.5 * _per_example(tf.square(fake_logits - fake_labels)))


def least_squares_generator(fake_logits):
    """0.5 (D(G(z)) - 1)^2: the generator pulls its drawings' scores to the real target."""
    return 0.5 * _per_example(tf.square(tf.convert_to_tensor(fake_logits) - 1.0))


register(AdversarialLoss("least_squares", least_squares_discriminator, least_squares_generator,
                         supports_labels=True, description="least squares GAN (LSGAN), factor 0.5"))


def wasserstein_discriminator(real_logits, fake_logits):
    """D(G(z)) - D(x): the critic widens the gap between real and generated scores.

    On its own this is unbounded; WGAN-GP keeps the critic 1-Lipschitz with `gradient_penalty`,
    which the train step adds because `needs_gradient_penalty` is set.
    """
    return _per_example(tf.convert_to_tensor(fake_logits)) - _per_example(
        tf.convert_to_tensor(real_logits))


def wasserstein_generator(fake_logits):
    """-D(G(z)): raise the critic's score of the generated drawings."""
    return _per_example(-tf.convert_to_tensor(fake_logits))


register(AdversarialLoss("wgan_gp", wasserstein_discriminator, wasserstein_generator,
                         needs_gradient_penalty=True,
                         description="Wasserstein critic loss + gradient penalty (Gulrajani et al. 2017)"))

# Added inside the square root so the gradient of the norm stays finite where the gradient is 0
# (d sqrt(s) / ds is infinite at s = 0, which would turn the penalty's gradient into NaN).
GRADIENT_NORM_EPSILON = 1e-12


def gradient_penalty(discriminator, real_images, fake_images, weight: float = 10.0,
                     generator: tf.random.Generator | None = None, training: bool = True):
    """weight * (||grad_x D(x_hat)||_2 - 1)^2 per example, x_hat = real + u (fake - real).

    u is drawn uniformly in [0, 1) once per example (one number for all pixels), as in WGAN-GP.
    The norm is sqrt(sum(g^2) + 1e-12). Call it inside the discriminator's GradientTape so the
    penalty's own gradient reaches the discriminator's weights. `generator` (a
    `tf.random.Generator`) makes u reproducible; without it u comes from `tf.random.uniform`.
    Returns shape (batch,), like the losses.
    """
    if weight < 0:
        raise ValueError(f"gradient penalty weight must be >= 0, got {weight}")
    real_images = tf.convert_to_tensor(real_images)
    fake_images = tf.cast(tf.convert_to_tensor(fake_images), real_images.dtype)
    batch_size = tf.shape(real_images)[0]
    # (batch, 1, 1, 1) for images: one interpolation weight per example, broadcast over the pixels.
    weight_shape = tf.concat([[batch_size], tf.ones([tf.rank(real_images) - 1], tf.int32)], axis=0)
    if generator is None:
        mixing = tf.random.uniform(weight_shape, dtype=real_images.dtype)
    else:
        mixing = generator.uniform(weight_shape, dtype=real_images.dtype)
    interpolated = real_images + mixing * (fake_images - real_images)
    with tf.GradientTape() as tape:
        tape.watch(interpolated)
        logits = discriminator(interpolated, training=training)
    gradients = tape.gradient(logits, interpolated)
    squared = tf.reshape(tf.square(gradients), [batch_size, -1])
    norms = tf.sqrt(tf.reduce_sum(squared, axis=1) + GRADIENT_NORM_EPSILON)
    return weight * tf.square(norms - 1.0)


def r1_penalty(discriminator, real_images, weight: float = 1.0, training: bool = True):
    """weight / 2 * ||grad_x D(x)||^2 per real example (Mescheder et al. 2018, "Which training
    methods for GANs do actually converge?"): the discriminator is pushed to be flat on the real
    data, which keeps it from overfitting a small training set. Call it inside the
    discriminator's GradientTape. Returns shape (batch,)."""
    if weight < 0:
        raise ValueError(f"R1 weight must be >= 0, got {weight}")
    real_images = tf.convert_to_tensor(real_images)
    with tf.GradientTape() as tape:
        tape.watch(real_images)
        logits = discriminator(real_images, training=training)
    gradients = tape.gradient(logits, real_images)  # of their sum: one logit per example
    squared = tf.reshape(tf.square(gradients), [tf.shape(real_images)[0], -1])
    return 0.5 * weight * tf.reduce_sum(squared, axis=1)


# ---------------------------------------------------------------------------------------------
# Label treatments: targets for the discriminator's real and fake examples.

LABEL_TREATMENTS: Registry[str] = Registry("label treatment")
for _name, _what in [
    ("none", "real targets 1, fake targets 0"),
    ("smooth", "one-sided label smoothing: real targets `smoothing` (0.9), fake targets stay 0"),
    ("noisy", "real targets uniform in `real_range` (0.7, 1.2), fake in `fake_range` (0, 0.3)"),
    ("flip", "each example's real and fake targets swapped with probability `flip_probability`"),
]:
    LABEL_TREATMENTS.register(_name)(_what)


def parse_label_treatment(treatment: str) -> tuple[str, ...]:
    """'smooth,flip' -> ('smooth', 'flip'); unknown or conflicting parts raise ValueError."""
    if not isinstance(treatment, str):
        raise ValueError(f"label treatment must be a string such as 'smooth,flip', got {treatment!r}")
    parts = tuple(part.strip() for part in treatment.split(",") if part.strip()) or ("none",)
    for part in parts:
        LABEL_TREATMENTS.get(part)  # raises with the close names
    if len(set(parts)) != len(parts):
        raise ValueError(f"label treatment {treatment!r} names a part twice")
    if "none" in parts and len(parts) > 1:
        raise ValueError(f"label treatment {treatment!r}: 'none' cannot be combined with others")
    if "smooth" in parts and "noisy" in parts:
        raise ValueError(f"label treatment {treatment!r}: 'smooth' and 'noisy' both set the real "
                         "targets; pick one (noisy already softens them)")
    return parts


def check_label_treatment(loss: AdversarialLoss, treatment: str) -> None:
    """ValueError when a treatment other than 'none' is asked of a loss without targets (hinge, WGAN)."""
    if parse_label_treatment(treatment) != ("none",) and not loss.supports_labels:
        with_labels = [name for name in names() if get(name).supports_labels]
        raise ValueError(f"loss {loss.name!r} has no real/fake targets, so label treatment "
                         f"{treatment!r} cannot apply; use 'none' or one of {with_labels}")


def _uniform(shape, low, high, generator, dtype):
    if generator is None:
        return tf.random.uniform(shape, low, high, dtype=dtype)
    return generator.uniform(shape, low, high, dtype=dtype)


def make_labels(batch_size, treatment: str = "none", generator: tf.random.Generator | None = None,
                label_shape: Sequence[int] = (1,), smoothing: float = 0.9,
                real_range: tuple[float, float] = (0.7, 1.2),
                fake_range: tuple[float, float] = (0.0, 0.3),
                flip_probability: float = 0.05, dtype=tf.float32):
    """(real_labels, fake_labels), each of shape (batch_size, *label_shape), for `treatment`.

    `treatment` is a comma-separated list of `LABEL_TREATMENTS` names ("none", "smooth", "noisy",
    "flip", e.g. "noisy,flip"); targets are set first, flips swap them afterwards. `batch_size`
    may be a tensor (`tf.shape(images)[0]`), so this works inside `tf.function`. Randomness comes
    from `generator` (a `tf.random.Generator`, created once, e.g. `from_seed(seed)`, inside
    `strategy.scope()` when distributed) or, without one, from `tf.random.uniform`.
    Pass `label_shape=()` for logits of shape (batch,).
    """
    parts = parse_label_treatment(treatment)
    if not 0.0 < smoothing <= 1.0:
        raise ValueError(f"smoothing is the real target, in (0, 1]; got {smoothing}")
    if not 0.0 <= flip_probability <= 1.0:
        raise ValueError(f"flip_probability must be in [0, 1], got {flip_probability}")
    for name, (low, high) in (("real_range", real_range), ("fake_range", fake_range)):
        if not low <= high:
            raise ValueError(f"{name} must be (low, high) with low <= high, got {(low, high)}")

    shape = tf.concat([tf.reshape(tf.cast(batch_size, tf.int32), [1]),
                       tf.constant(list(label_shape), tf.int32)], axis=0)
    real_labels = tf.ones(shape, dtype)
    fake_labels = tf.zeros(shape, dtype)
    if "smooth" in parts:
        # One-sided (Salimans et al. 2016): softening the fake targets too would reward the
        # generator for staying where it is.
        real_labels = real_labels * smoothing
    if "noisy" in parts:
        real_labels = _uniform(shape, real_range[0], real_range[1], generator, dtype)
        fake_labels = _uniform(shape, fake_range[0], fake_range[1], generator, dtype)
    if "flip" in parts:
        # One draw per example: the whole example's targets swap, a noisy teacher for the
        # discriminator now and then.
        example_shape = tf.concat([shape[:1], tf.ones_like(shape[1:])], axis=0)
        flipped = _uniform(example_shape, 0.0, 1.0, generator, dtype) < flip_probability
        real_labels, fake_labels = (tf.where(flipped, fake_labels, real_labels),
                                    tf.where(flipped, real_labels, fake_labels))
    return real_labels, fake_labels


def label_treatment_names() -> list[str]:
    return LABEL_TREATMENTS.names()


def discriminator_statistics(real_logits, fake_logits, scale: float) -> dict:
    """The discriminator's view of a batch, each a sum scaled by 1/global batch (so replicas add up):
    mean probability on real and on generated images, and accuracy over both."""
    real_probability = tf.sigmoid(tf.reshape(real_logits, [-1]))
    fake_probability = tf.sigmoid(tf.reshape(fake_logits, [-1]))
    correct = (tf.reduce_sum(tf.cast(real_probability > 0.5, tf.float32))
               + tf.reduce_sum(tf.cast(fake_probability <= 0.5, tf.float32)))
    return {
        "discriminator_real_probability": tf.reduce_sum(real_probability) * scale,
        "discriminator_fake_probability": tf.reduce_sum(fake_probability) * scale,
        "discriminator_accuracy": correct * scale / 2.0,
    }
