"""Finish a person's doodle: generated drawings that agree with the strokes drawn so far.

A generator maps a noise vector to a drawing; the strokes fix only part of the picture, so the
search is for noise vectors whose drawings have ink where the person drew, and are left free
elsewhere. Two stages, both batched:

1. screening: `screen` noise vectors are scored and the `count` best kept, so that the search
   starts next to drawings of the right shape rather than anywhere. The vectors are a seeded share
   of a bank of `bank` vectors whose drawings were generated once, when the completer was made, so
   screening costs no generator call (a new seed screens another share: "surprise me"); around a
   chosen drawing's vector ("more like this") they are fresh vectors near it, scored in one
   forward pass;
2. refining: `steps` Adam steps on those vectors, inside one compiled call, against

       ink loss      mean over the drawn pixels of (1 - generated ink)^2     (draw where they drew)
     + outside_weight * mean, away from the strokes, of generated ink^2      (lenient: small weight)
     + prior_weight * (mean(z^2) - 1)^2                                     (stay a typical vector)

Ink is Quick, Draw!'s convention: 0 background, 255 stroke (the generator's +1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IMAGE_SIZE = 28
MAX_COUNT = 16


@dataclass(frozen=True)
class Completion:
    """One suggestion: its drawing (uint8, 28×28, 255 = ink), its noise vector, the share of the
    person's ink that it covers (0–1) and its loss (lower agrees better)."""

    image: np.ndarray
    noise: np.ndarray
    agreement: float
    loss: float


def check_ink(ink) -> np.ndarray:
    """The person's strokes as a float32 (28, 28) array in [0, 1]; from 784 or 28×28 values 0–255."""
    array = np.asarray(ink)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError("the ink must be numbers: 784 values from 0 (paper) to 255 (ink)")
    if array.size != IMAGE_SIZE * IMAGE_SIZE:
        raise ValueError(f"the ink must hold {IMAGE_SIZE * IMAGE_SIZE} values ({IMAGE_SIZE}×{IMAGE_SIZE} "
                         f"pixels, row by row), got {array.size}")
    array = array.astype(np.float64).reshape(IMAGE_SIZE, IMAGE_SIZE)
    if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 255:
        raise ValueError("the ink values must lie between 0 (paper) and 255 (ink)")
    return (array / 255.0).astype(np.float32)


def check_drawing_generator(generator) -> None:
    """Refuse a generator the drawing page cannot use: it takes noise (and a label) and draws one
    28×28 grayscale drawing."""
    shape = tuple(generator.output_shape[1:])
    if len(generator.inputs) > 2 or shape != (IMAGE_SIZE, IMAGE_SIZE, 1):
        raise ValueError(f"the drawing page takes a Quick, Draw! run's generator (noise in, one "
                         f"{IMAGE_SIZE}×{IMAGE_SIZE} grayscale drawing out); this one draws {shape}")


class Completer:
    """Suggestions from one grayscale 28×28 generator (a Quick, Draw! run's generator.keras); a
    class-conditional generator draws the category `label` asked for (0 to `classes` - 1).

    `steps` Adam steps of `learning_rate` refine the `screen` best of the screened vectors; see the
    module's text for the loss. Calls are serialised by the caller (the server holds a lock).
    """

    def __init__(self, generator, bank: int = 2048, screen: int = 512, near: int = 64, steps: int = 20,
                 learning_rate: float = 0.08, outside_weight: float = 0.05, prior_weight: float = 0.05):
        check_drawing_generator(generator)
        self.generator = generator
        self.conditional = len(generator.inputs) == 2
        self.noise_dim = int(generator.inputs[0].shape[-1])
        if not 1 <= screen <= bank:
            raise ValueError(f"screen ({screen}) is a share of the bank ({bank}): 1 to {bank}")
        self.screen = int(screen)
        self.near = int(near)
        self.bank_vectors = np.random.default_rng(0).standard_normal((bank, self.noise_dim)).astype(np.float32)
        self._bank_inks: dict[int, np.ndarray] = {}  # per label, made when the label is first asked for
        self.steps = int(steps)
        self.learning_rate = float(learning_rate)
        self.outside_weight = float(outside_weight)
        self.prior_weight = float(prior_weight)
        self._refine = None

    def complete(self, ink=None, count: int = 8, seed: int = 0, around=None,
                 spread: float = 0.6, label: int = 0) -> list[Completion]:
        """`count` suggestions for the strokes `ink` (None or an empty canvas: plain samples), best
        first. `around`: a noise vector to search near ("more like this"), `spread` standard
        deviations away from it; `seed` picks the random vectors (a new seed: "surprise me");
        `label`: the category a conditional generator draws."""
        import tensorflow as tf

        label = self._check_label(label)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
            raise ValueError(f"count is the number of suggestions, 1 to {MAX_COUNT}, got {count!r}")
        mask = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32) if ink is None else check_ink(ink)
        mask_tensor = tf.constant(mask[None, :, :, None])
        drawn = float(mask.sum()) > 0.5  # less than half a pixel of ink: nothing to agree with
        if around is not None:
            start = self._vectors_near(around, max(self.near, count), seed, spread)
            losses = self._losses(tf.constant(start), mask_tensor, label).numpy() if drawn else np.zeros(len(start))
        else:
            chosen = np.random.default_rng(seed).choice(len(self.bank_vectors), self.screen, replace=False)
            start = self.bank_vectors[chosen]
            losses = self._bank_losses(chosen, mask, label) if drawn else np.zeros(len(start))
        start = start[np.argsort(losses, kind="stable")[:count]]
        vectors = self._refined(tf.constant(start), mask_tensor, label) if drawn else tf.constant(start)
        images = self._draw(vectors, label)
        losses = self._losses(vectors, mask_tensor, label).numpy() if drawn else np.zeros(count)
        ink_out = (images.numpy()[..., 0] + 1) / 2
        covered = (ink_out * mask).sum(axis=(1, 2)) / max(float(mask.sum()), 1e-6)
        order = np.argsort(losses, kind="stable")
        pixels = np.clip(np.rint(ink_out * 255), 0, 255).astype(np.uint8)
        vectors = vectors.numpy()
        return [Completion(pixels[i], vectors[i], float(covered[i]) if drawn else 0.0, float(losses[i]))
                for i in order]

    def warm_up(self) -> None:
        """Trace the compiled search once (a second or two), so that the first stroke is answered
        as fast as the others."""
        stroke = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.uint8)
        stroke[IMAGE_SIZE // 4:IMAGE_SIZE // 2, IMAGE_SIZE // 2] = 255
        self.complete(stroke, count=8)

    def drawing(self, noise, label: int = 0) -> np.ndarray:
        """The drawing (uint8 28×28, 255 = ink) of one noise vector, e.g. a suggestion to save."""
        label = self._check_label(label)
        vector = np.asarray(noise, dtype=np.float64)
        if vector.shape != (self.noise_dim,) or not np.all(np.isfinite(vector)):
            raise ValueError(f"a noise vector is {self.noise_dim} finite numbers, got shape {vector.shape}")
        image = self._draw(vector[None].astype(np.float32), label).numpy()[0, ..., 0]
        return np.clip(np.rint((image + 1) / 2 * 255), 0, 255).astype(np.uint8)

    @property
    def classes(self) -> int:
        """The categories the generator draws (1 for a single-category generator)."""
        if not self.conditional:
            return 1
        embedding = next(layer for layer in self.generator.layers if layer.name == "label_embedding")
        return int(embedding.input_dim)

    def _check_label(self, label) -> int:
        if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label < self.classes:
            raise ValueError(f"label is a category's number, 0 to {self.classes - 1}, got {label!r}")
        return int(label)

    def _draw(self, vectors, label: int):
        """The generator's drawings of `vectors` (as category `label` where it takes one)."""
        import tensorflow as tf

        vectors = tf.convert_to_tensor(vectors, tf.float32)
        if not self.conditional:
            return self.generator(vectors, training=False)
        labels = tf.fill([tf.shape(vectors)[0]], tf.constant(label, tf.int32))
        return self.generator([vectors, labels], training=False)

    def _bank_ink(self, label: int) -> np.ndarray:
        if label not in self._bank_inks:
            vectors = self.bank_vectors
            self._bank_inks[label] = np.concatenate([
                (self._draw(vectors[i:i + 256], label).numpy()[..., 0] + 1) / 2
                for i in range(0, len(vectors), 256)]).reshape(len(vectors), -1)
        return self._bank_inks[label]

    def _vectors_near(self, around, size: int, seed: int, spread: float) -> np.ndarray:
        normal = np.random.default_rng(seed).standard_normal((size, self.noise_dim)).astype(np.float32)
        centre = np.asarray(around, dtype=np.float64)
        if centre.shape != (self.noise_dim,) or not np.all(np.isfinite(centre)):
            raise ValueError(f"'around' is a noise vector of {self.noise_dim} finite numbers, got "
                             f"shape {centre.shape}")
        if not (isinstance(spread, (int, float)) and 0 <= spread <= 3):
            raise ValueError(f"spread is 0 to 3 standard deviations, got {spread!r}")
        # the first candidate is the chosen drawing itself, so "more like this" never loses it
        normal[0] = 0
        return (centre[None] + spread * normal).astype(np.float32)

    def _bank_losses(self, chosen: np.ndarray, mask: np.ndarray, label: int) -> np.ndarray:
        """`_loss_terms` of the chosen bank drawings, in numpy (no generator call)."""
        ink = self._bank_ink(label)[chosen]
        flat = mask.reshape(-1)
        ink_loss = np.square(1 - ink) @ flat / max(float(flat.sum()), 1e-6)
        near = _neighbourhood(mask).reshape(-1)
        outside = np.square(ink) @ (1 - near) / flat.size
        typical = np.square(np.mean(np.square(self.bank_vectors[chosen]), axis=1) - 1)
        return ink_loss + self.outside_weight * outside + self.prior_weight * typical

    def _losses(self, vectors, mask, label: int):
        """Each vector's loss (module text), from one forward pass."""
        import tensorflow as tf

        return _loss_terms(self._draw(vectors, label), vectors, mask, self.outside_weight, self.prior_weight, tf)

    def _refined(self, vectors, mask, label: int):
        import tensorflow as tf

        if self._refine is None:
            generator, steps, rate = self.generator, self.steps, self.learning_rate
            outside, prior, conditional = self.outside_weight, self.prior_weight, self.conditional

            @tf.function(reduce_retracing=True)
            def refine(z, mask, label):
                labels = tf.fill([tf.shape(z)[0]], label)
                # Adam by hand: each vector is its own problem, and no optimizer state outlives a call
                first = tf.zeros_like(z)
                second = tf.zeros_like(z)
                for step in tf.range(1, steps + 1):
                    with tf.GradientTape() as tape:
                        tape.watch(z)
                        drawn = generator([z, labels] if conditional else z, training=False)
                        loss = tf.reduce_sum(_loss_terms(drawn, z, mask, outside, prior, tf))
                    gradient = tape.gradient(loss, z)
                    first = 0.9 * first + 0.1 * gradient
                    second = 0.999 * second + 0.001 * tf.square(gradient)
                    t = tf.cast(step, tf.float32)
                    corrected = (first / (1 - 0.9 ** t)) / (tf.sqrt(second / (1 - 0.999 ** t)) + 1e-8)
                    z = z - rate * corrected
                return z

            self._refine = refine
        return self._refine(vectors, mask, tf.constant(label, tf.int32))


def _neighbourhood(mask: np.ndarray) -> np.ndarray:
    """The 3×3 maximum of `mask` (numpy twin of the max_pool2d in `_loss_terms`)."""
    padded = np.pad(mask, 1)
    rows, columns = mask.shape
    return np.max([padded[i:i + rows, j:j + columns] for i in range(3) for j in range(3)], axis=0)


def _loss_terms(images, vectors, mask, outside_weight: float, prior_weight: float, tf):
    ink = (images + 1) / 2
    drawn = tf.reduce_sum(mask)
    ink_loss = tf.reduce_sum(mask * tf.square(1 - ink), axis=[1, 2, 3]) / tf.maximum(drawn, 1e-6)
    # a stroke a pixel away from where they drew is no disagreement: the neighbourhood is lenient too
    near = tf.nn.max_pool2d(mask, ksize=3, strides=1, padding="SAME")
    outside = tf.reduce_mean((1 - near) * tf.square(ink), axis=[1, 2, 3])
    typical = tf.square(tf.reduce_mean(tf.square(vectors), axis=1) - 1)
    return ink_loss + outside_weight * outside + prior_weight * typical
