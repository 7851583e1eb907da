"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training").

Small painting sets (398 Van Gogh paintings) let the discriminator memorise the real images. The
cure of Zhao et al. is to augment *both* the real and the generated images every time the
discriminator sees them, in the discriminator step and in the generator step, with transformations
that are differentiable, so the generator still gets gradients through them. A policy string such as
`"color,translation,cutout"` picks the transformations by name from `AUGMENTATIONS`;
`page_translation` and `page_cutout` are the same two for line drawings, filling with blank page
(-1) instead of 0 (grey). This module
works on batches of NHWC float images in [-1, 1] with TensorFlow ops only (usable inside a
`tf.function` train step); it is not the tf.data pipeline's input augmentation (horizontal flips of
the real images live in `pipeline.py`) and it does not decide where in the train step it is called.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from sketchdraw.registry import Registry

# The fractions of the image size used by the paper's policies.
TRANSLATION_RATIO = 1 / 8  # shift by up to 1/8 of the height/width, filling with zeros
CUTOUT_RATIO = 1 / 2  # erase one square of half the height/width


class _RandomNumbers:
    """Per-image random numbers: stateless (reproducible) when a seed is given, else global-seeded.

    Each draw gets its own stateless seed [seed, draw number], so two transformations in one policy
    never share their random numbers, and the same seed gives the same augmentation every call.
    """

    def __init__(self, seed: int | None, generator: tf.random.Generator | None = None):
        self.seed = seed
        self.generator = generator
        self.draws = 0

    def uniform(self, shape, minval=0.0, maxval=1.0, dtype=tf.float32):
        if self.generator is not None:
            return self.generator.uniform(shape, minval, maxval, dtype=dtype)
        if self.seed is None:
            return tf.random.uniform(shape, minval, maxval, dtype=dtype)
        self.draws += 1
        seed = tf.stack([tf.cast(self.seed, tf.int64), tf.constant(self.draws, tf.int64)])
        return tf.random.stateless_uniform(shape, seed, minval, maxval, dtype=dtype)


Augmentation = Callable[[tf.Tensor, _RandomNumbers], tf.Tensor]
AUGMENTATIONS: Registry[Augmentation] = Registry("augment policy")


def _per_image_shape(images: tf.Tensor) -> tf.Tensor:
    # One random number per image, broadcast over height, width and channels.
    return tf.stack([tf.shape(images)[0], 1, 1, 1])


@AUGMENTATIONS.register("color")
def random_color(images: tf.Tensor, random: _RandomNumbers) -> tf.Tensor:
    """Brightness, then saturation, then contrast, each by a random amount per image.

    On [-1, 1] images: brightness adds a value in [-0.5, 0.5]; saturation scales the distance to the
    per-pixel channel mean by [0, 2] (a no-op on 1-channel images, where that distance is 0);
    contrast scales the distance to the per-image mean by [0.5, 1.5]. Results can leave [-1, 1] a
    little; the discriminator does not need them clipped, and clipping would cut the gradients.
    """
    brightness = random.uniform(_per_image_shape(images), -0.5, 0.5, images.dtype)
    images = images + brightness

    saturation = random.uniform(_per_image_shape(images), 0.0, 2.0, images.dtype)
    channel_mean = tf.reduce_mean(images, axis=3, keepdims=True)
    images = (images - channel_mean) * saturation + channel_mean

    contrast = random.uniform(_per_image_shape(images), 0.5, 1.5, images.dtype)
    image_mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return (images - image_mean) * contrast + image_mean


@AUGMENTATIONS.register("translation")
def random_translation(images: tf.Tensor, random: _RandomNumbers) -> tf.Tensor:
    """Shift each image by up to 1/8 of its size in each direction; uncovered pixels become 0.

    Done with gathers from a zero-padded copy, so the gradient flows back to the pixels that moved.
    """
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    max_shift_y = tf.cast(tf.cast(height, tf.float32) * TRANSLATION_RATIO + 0.5, tf.int32)
    max_shift_x = tf.cast(tf.cast(width, tf.float32) * TRANSLATION_RATIO + 0.5, tf.int32)
    shift_y = random.uniform([batch, 1], -max_shift_y, max_shift_y + 1, dtype=tf.int32)
    shift_x = random.uniform([batch, 1], -max_shift_x, max_shift_x + 1, dtype=tf.int32)

    padded = tf.pad(images, [[0, 0], [max_shift_y, max_shift_y], [max_shift_x, max_shift_x], [0, 0]])
    # Output row r of an image shifted down by s is padded row r + max_shift - s.
    rows = tf.range(height)[tf.newaxis, :] + max_shift_y - shift_y  # (batch, height)
    columns = tf.range(width)[tf.newaxis, :] + max_shift_x - shift_x  # (batch, width)
    shifted = tf.gather(padded, rows, axis=1, batch_dims=1)
    shifted = tf.gather(shifted, columns, axis=2, batch_dims=1)
    return tf.ensure_shape(shifted, images.shape)


@AUGMENTATIONS.register("cutout")
def random_cutout(images: tf.Tensor, random: _RandomNumbers) -> tf.Tensor:
    """Set one square of half the image size to 0 in each image, at a random centre.

    The square may hang over the border (then less than a quarter of the image is erased), as in the
    paper. A multiplication by a 0/1 mask keeps the gradient of the pixels that stay.
    """
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    cut_height = tf.cast(tf.cast(height, tf.float32) * CUTOUT_RATIO + 0.5, tf.int32)
    cut_width = tf.cast(tf.cast(width, tf.float32) * CUTOUT_RATIO + 0.5, tf.int32)
    centre_y = random.uniform([batch, 1], 0, height + 1 - cut_height % 2, dtype=tf.int32)
    centre_x = random.uniform([batch, 1], 0, width + 1 - cut_width % 2, dtype=tf.int32)
    top = centre_y - cut_height // 2
    left = centre_x - cut_width // 2

    row_index = tf.range(height)[tf.newaxis, :]  # (1, height)
    column_index = tf.range(width)[tf.newaxis, :]
    inside_rows = (row_index >= top) & (row_index < top + cut_height)  # (batch, height)
    inside_columns = (column_index >= left) & (column_index < left + cut_width)  # (batch, width)
    erased = inside_rows[:, :, tf.newaxis] & inside_columns[:, tf.newaxis, :]  # (batch, height, width)
    keep = tf.cast(tf.logical_not(erased), images.dtype)[..., tf.newaxis]
    return images * keep


PAGE = -1.0  # a blank page in [-1, 1] drawings (numpy_bitmap: 0 = no ink)


def _on_the_page(augmentation: Augmentation) -> Augmentation:
    """The augmentation with the pixels it uncovers or erases set to the blank page (-1), not 0.

    For line drawings a zero fill paints a grey border or a grey square that no real drawing has;
    shifting the images so the page is 0, augmenting, and shifting back fills with blank page
    instead and keeps the operation differentiable.
    """
    def on_the_page(images: tf.Tensor, random: _RandomNumbers) -> tf.Tensor:
        return augmentation(images - PAGE, random) + PAGE

    return on_the_page


AUGMENTATIONS.register("page_translation")(_on_the_page(random_translation))
AUGMENTATIONS.register("page_cutout")(_on_the_page(random_cutout))


def parse_policy(policy: str | None) -> list[str]:
    """`"color, translation,cutout"` -> ["color", "translation", "cutout"]; "" or None -> [].

    Raises ValueError naming close policy names for unknown ones, so a config can be checked
    before any training starts.
    """
    if policy is None:
        return []
    if not isinstance(policy, str):
        raise ValueError(f"augment policy must be a comma-separated string such as "
                         f"'color,translation,cutout', got {policy!r}")
    names = [name.strip() for name in policy.split(",") if name.strip()]
    for name in names:
        # Raises ValueError: "unknown augment policy 'colour'; did you mean 'color'?"
        AUGMENTATIONS.get(name)
    return names


def diff_augment(images, policy: str | None, seed: int | None = None,
                 generator: tf.random.Generator | None = None) -> tf.Tensor:
    """Apply the policy's transformations, in the order given, to a batch of NHWC images in [-1, 1].

    Every image gets its own random amounts. The result has the input's shape and dtype and is
    differentiable with respect to `images`. `seed` makes the random amounts reproducible (stateless
    random ops); None draws from TensorFlow's global random state, or from `generator` when given
    (a training step's own, whose state a checkpoint keeps). An empty policy returns the images
    unchanged.
    """
    names = parse_policy(policy)
    images = tf.convert_to_tensor(images)
    if not images.dtype.is_floating:
        raise ValueError("diff_augment works on float images in [-1, 1], "
                         f"got dtype {images.dtype.name}; "
                         "scale uint8 images with x / 127.5 - 1 first")
    if images.shape.rank != 4:
        raise ValueError(f"diff_augment works on batches shaped (batch, height, width, channels), "
                         f"got shape {images.shape}")
    random = _RandomNumbers(seed, generator)
    for name in names:
        images = AUGMENTATIONS.get(name)(images, random)
    return images


def policy_names() -> list[str]:
    return AUGMENTATIONS.names()
