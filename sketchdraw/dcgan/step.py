"""The DCGAN train step, written for `tf.distribute`, and the schedule of which network a batch updates.

The step follows the TensorFlow DCGAN tutorial (seed 001) with two changes people rely on:
- it is built by `make_train_step(...)`, which receives the models, optimizers, loss and batch
  size it needs (the tutorial's `train_step` reads module globals);
- it is written for `tf.distribute` from the start: models and optimizers are made under the
  strategy's scope, the step runs through `strategy.run`, and per-example losses are averaged over
  the *global* batch (`tf.nn.compute_average_loss`). Which strategy, precision and XLA: the
  run's `scaling.Devices`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import tensorflow as tf

from sketchdraw import losses
from sketchdraw.scaling import Devices, as_float32, compile_step, make_strategy


# -- strategy ------------------------------------------------------------------------------------
def choose_strategy() -> tf.distribute.Strategy:
    """MirroredStrategy when several GPUs are visible, else the default (one device) strategy."""
    return make_strategy("auto")


# -- the step ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepOptions:
    """What the step does besides the tutorial's plain update (all off by default)."""

    augment: str = ""  # DiffAugment policy applied to real and generated images before D
    label_treatment: str = "none"  # smoothed / noisy / flipped targets (losses.make_labels)
    gradient_penalty_weight: float = 10.0  # used when the loss asks for a gradient penalty
    r1_weight: float = 0.0  # > 0: R1 penalty on the (augmented) real images
    # > 0: the self-supervised discriminator's error redrawing the (augmented) real images
    reconstruction_weight: float = 0.0


def make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer,
                    loss: losses.AdversarialLoss, global_batch_size: int, noise_dim: int,
                    strategy: tf.distribute.Strategy | None = None,
                    update_generator: bool = True, update_discriminator: bool = True,
                    options: StepOptions = StepOptions(), label_generator=None,
                    after_generator_update: Callable[[], None] | None = None,
                    devices: Devices | None = None, noise_generator=None) -> Callable:
    """A compiled step: a discriminator and/or a generator update on a (distributed) batch.

    Returns a dict of scalars, each already summed over replicas: `generator_loss`,
    `discriminator_loss`, and the discriminator's view of the batch *before* the update:
    `discriminator_real_probability` / `discriminator_fake_probability` (mean sigmoid of its logits;
    0.5 for both is the balance GANs aim for) and `discriminator_accuracy` (share of real drawings
    scored real plus generated ones scored fake, over both). `update_generator` /
    `update_discriminator` make the variants a step schedule picks from per batch;
    `after_generator_update` runs in cross-replica context after a generator update (the EMA).
    `devices` (scaling.Devices) brings precision and XLA; without it, the plain step on `strategy`.
    `noise_generator` (a tf.random.Generator) draws the noise and the augmentations: in a
    checkpoint, it makes a resumed run draw what the uninterrupted one would have.
    """
    return make_train_steps(generator, discriminator, generator_optimizer,
                            discriminator_optimizer, loss, global_batch_size, noise_dim, strategy,
                            update_generator, update_discriminator, options, label_generator,
                            after_generator_update, devices, noise_generator)[0]


def make_train_steps(generator, discriminator, generator_optimizer, discriminator_optimizer,
                     loss: losses.AdversarialLoss, global_batch_size: int, noise_dim: int,
                     strategy: tf.distribute.Strategy | None = None,
                     update_generator: bool = True, update_discriminator: bool = True,
                     options: StepOptions = StepOptions(), label_generator=None,
                     after_generator_update: Callable[[], None] | None = None,
                     devices: Devices | None = None, noise_generator=None
                     ) -> tuple[Callable, Callable | None]:
    """`make_train_step`'s step, and the call that runs `devices.steps_per_call` of them on
    batches from an iterator (None when that is 1)."""
    from sketchdraw.augment import diff_augment

    devices = devices or Devices(strategy or tf.distribute.get_strategy(), global_batch_size)
    scale = 1.0 / float(global_batch_size)
    use_labels = options.label_treatment != "none"
    if options.reconstruction_weight > 0 and not hasattr(discriminator, "logits_and_reconstruction_loss"):
        raise ValueError(f"reconstruction_weight={options.reconstruction_weight} needs a self-supervised "
                         f"discriminator (model fastgan64); {discriminator.name} cannot redraw images")

    def seen_by_discriminator(images):
        # The same differentiable augmentation for real and generated images, in both updates.
        return diff_augment(images, options.augment, generator=noise_generator) \
            if options.augment else images

    def replica_step(images):
        batch = tf.shape(images)[0]
        noise = noise_generator.normal([batch, noise_dim]) if noise_generator is not None \
            else tf.random.normal([batch, noise_dim])
        with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
            generated = as_float32(generator(noise, training=True))
            real_seen = seen_by_discriminator(images)
            if options.reconstruction_weight > 0:
                # which quarter of the image the part decoder redraws, one per batch (as FastGAN)
                part = noise_generator.uniform([], 0, 4, dtype=tf.int32) \
                    if noise_generator is not None else tf.random.uniform([], 0, 4, dtype=tf.int32)
                real_logits, reconstruction_error = discriminator.logits_and_reconstruction_loss(
                    real_seen, part, training=True)
                real_logits = as_float32(real_logits)
            else:
                real_logits = as_float32(discriminator(real_seen, training=True))
            fake_logits = as_float32(discriminator(seen_by_discriminator(generated), training=True))
            generator_loss = tf.nn.compute_average_loss(
                loss.generator(fake_logits), global_batch_size=global_batch_size)
            if use_labels:
                real_labels, fake_labels = losses.make_labels(
                    batch, options.label_treatment, generator=label_generator)
                per_example = loss.discriminator(real_logits, fake_logits, real_labels, fake_labels)
            else:
                per_example = loss.discriminator(real_logits, fake_logits)
            if loss.needs_gradient_penalty:
                per_example += losses.gradient_penalty(
                    discriminator, images, generated, weight=options.gradient_penalty_weight)
            if options.r1_weight > 0:
                per_example += losses.r1_penalty(discriminator, real_seen, options.r1_weight)
            if options.reconstruction_weight > 0:
                per_example += options.reconstruction_weight * as_float32(reconstruction_error)
            discriminator_loss = tf.nn.compute_average_loss(
                per_example, global_batch_size=global_batch_size)
            # scale_loss: the loss scale under mixed_float16 (1 otherwise); apply_gradients undoes it
            generator_total = generator_optimizer.scale_loss(
                generator_loss + _regularization(generator))
            discriminator_total = discriminator_optimizer.scale_loss(
                discriminator_loss + _regularization(discriminator))

        if update_generator:
            generator_gradients = generator_tape.gradient(generator_total,
                                                          generator.trainable_variables)
            generator_optimizer.apply_gradients(
                zip(generator_gradients, generator.trainable_variables))
        if update_discriminator:
            discriminator_gradients = discriminator_tape.gradient(
                discriminator_total, discriminator.trainable_variables)
            discriminator_optimizer.apply_gradients(
                zip(discriminator_gradients, discriminator.trainable_variables))

        return {"generator_loss": generator_loss, "discriminator_loss": discriminator_loss,
                **losses.discriminator_statistics(real_logits, fake_logits, scale)}

    return compile_step(replica_step, devices,
                        after_generator_update if update_generator else None)


def step_schedule(generator_steps_per_discriminator_step: int = 1,
                  discriminator_steps_per_generator_step: int = 1,
                  discriminator_warmup_batches: int = 0) -> Callable[[int], str]:
    """Which networks batch number `index` (0-based, over the whole run) updates.

    Returns "both", "generator" or "discriminator". Seed 002's gd_ratio of 2 trains the generator
    on every batch and the discriminator on every other one: decided per batch, not per epoch.
    The first `discriminator_warmup_batches` batches train only the discriminator.
    """
    def which(index: int) -> str:
        if index < discriminator_warmup_batches:
            return "discriminator"
        position = index - discriminator_warmup_batches
        if generator_steps_per_discriminator_step > 1:
            return "both" if position % generator_steps_per_discriminator_step == 0 else "generator"
        if discriminator_steps_per_generator_step > 1:
            last = discriminator_steps_per_generator_step - 1
            return "both" if position % discriminator_steps_per_generator_step == last \
                else "discriminator"
        return "both"

    return which


def _regularization(model) -> tf.Tensor:
    """The model's own penalties (e.g. an L2 kernel regularizer), scaled for the replica count."""
    if not model.losses:
        return tf.constant(0.0)
    return tf.nn.scale_regularization_loss(as_float32(tf.add_n(model.losses)))
