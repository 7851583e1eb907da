"""The CycleGAN networks of seed 002: an image-to-image generator and two discriminator choices.

`cycle_generator` is the seed's three-stage generator (after Zhu et al. 2017 and Johnson et al.
2016): an encoder (a 7x7 stem convolution, then two stride-2 convolution blocks that double the
channels while halving height and width), a transformer of residual blocks at the smallest size (the
seed used 2; the paper 6 for 128x128 and 9 for 256x256), and a decoder of two stride-2 transposed
convolution blocks back to the image size, ending in a 7x7 convolution and tanh. Discriminators,
chosen by name in `CYCLE_DISCRIMINATORS`: "patch" (the paper's 70x70 PatchGAN, a map of logits, one
per overlapping patch) and "dcgan" (seed 002 reused its DCGAN discriminator: here the `wikiart64`
family's, one logit per image). All of them return logits. This module holds only the builders:
the image pool and the train step live beside it (`pool.py`, `step.py`). The generator is
not a DCGAN `ModelFamily` (it takes an image, not noise), so it is not in `models.MODELS`.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers

from sketchdraw.layers import check_upsampling, make_normalization, upsample
from sketchdraw.registry import Registry

CHANNELS = 3
DOWNSAMPLING_BLOCKS = 2  # the seed's encoder: two blocks, each halving height and width
# LeakyReLU slope of the PatchGAN (the paper's, and pix2pix's).
DISCRIMINATOR_LEAKY_SLOPE = 0.2


def _check_image_size(image_size, smallest: int, where: str) -> int:
    if (isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < smallest
            or image_size % smallest):
        raise ValueError(f"{where}: image_size must be a multiple of {smallest} of at least "
                         f"{smallest} (e.g. 64 or 128), got {image_size!r}")
    return image_size


def _check_positive(value, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive whole number, got {value!r}")
    return value


def _normalize(x, normalization: str):
    layer = make_normalization(normalization)
    return x if layer is None else layer(x)


def _residual_block(x, filters: int, normalization: str, index: int):
    """conv-norm-relu-conv-norm plus the input: the block learns a correction to its input."""
    shortcut = x
    x = layers.Conv2D(filters, 3, padding="same", name=f"residual_{index}_conv_1")(x)
    x = _normalize(x, normalization)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", name=f"residual_{index}_conv_2")(x)
    x = _normalize(x, normalization)
    return layers.Add(name=f"residual_{index}")([shortcut, x])


def cycle_generator(image_size: int = 64, residual_blocks: int = 2, base_filters: int = 64,
                    normalization: str = "instance", name: str = "cycle_generator",
                    upsampling: str = "transpose") -> keras.Model:
    """Images (batch, size, size, 3) in [-1, 1] -> images of the same shape in [-1, 1].

    base_filters: channels after the stem (the paper's 64); the encoder doubles them twice (256 at
    a quarter of the image size, where the residual blocks work). Zero "same" padding is used where
    the paper pads by reflection: simpler, and at 64x64 the difference is a thin border.
    upsampling: how the decoder doubles the size, "transpose" (the paper's) or "resize"
    (`layers.upsample`: no checkerboard).
    """
    where = "cycle_generator"
    _check_image_size(image_size, 2 ** DOWNSAMPLING_BLOCKS, where)
    _check_positive(base_filters, "base_filters", where)
    if isinstance(residual_blocks, bool) or not isinstance(residual_blocks, int) or residual_blocks < 0:
        raise ValueError(f"{where}: residual_blocks must be a whole number >= 0 (the seed used 2), "
                         f"got {residual_blocks!r}")
    make_normalization(normalization)  # an unknown name fails here, before any layer is built
    check_upsampling(upsampling, f"{where}: upsampling")

    inputs = keras.Input(shape=(image_size, image_size, CHANNELS))
    # encoder
    x = layers.Conv2D(base_filters, 7, padding="same", name="stem")(inputs)
    x = _normalize(x, normalization)
    x = layers.Activation("relu")(x)
    filters = base_filters
    for index in range(DOWNSAMPLING_BLOCKS):
        filters *= 2
        x = layers.Conv2D(filters, 3, strides=2, padding="same", name=f"encoder_{index + 1}")(x)
        x = _normalize(x, normalization)
        x = layers.Activation("relu")(x)
    # transformer
    for index in range(residual_blocks):
        x = _residual_block(x, filters, normalization, index + 1)
    # decoder
    for index in range(DOWNSAMPLING_BLOCKS):
        filters //= 2
        x = upsample(x, filters, upsampling, name=f"decoder_{index + 1}")
        x = _normalize(x, normalization)
        x = layers.Activation("relu")(x)
    x = layers.Conv2D(CHANNELS, 7, padding="same", name="to_image")(x)
    outputs = layers.Activation("tanh")(x)
    return keras.Model(inputs, outputs, name=name)


def patch_discriminator(image_size: int = 64, base_filters: int = 64,
                        normalization: str = "instance",
                        name: str = "patch_discriminator") -> keras.Model:
    """The paper's 70x70 PatchGAN: images -> a (size/8, size/8, 1) map of logits.

    Four 4x4 convolutions (64, 128, 256, 512 filters; strides 2, 2, 2, 1; no normalisation on the
    first) and a 4x4 convolution to one channel: each output sees a 70x70 patch of the input, so the
    discriminator judges local texture (brush strokes) rather than the whole composition. "same"
    padding keeps the map at size/8 (8x8 for 64x64) instead of the paper's valid-padding 30x30 at 256.
    """
    where = "patch_discriminator"
    _check_image_size(image_size, 8, where)
    _check_positive(base_filters, "base_filters", where)
    make_normalization(normalization)

    inputs = keras.Input(shape=(image_size, image_size, CHANNELS))
    x = inputs
    for index, (multiplier, strides) in enumerate(((1, 2), (2, 2), (4, 2), (8, 1))):
        x = layers.Conv2D(base_filters * multiplier, 4, strides=strides, padding="same",
                          name=f"patch_conv_{index + 1}")(x)
        if index > 0:  # as in the paper (and DCGAN): no normalisation right after the image
            x = _normalize(x, normalization)
        x = layers.LeakyReLU(negative_slope=DISCRIMINATOR_LEAKY_SLOPE)(x)
    outputs = layers.Conv2D(1, 4, padding="same", name="patch_logits")(x)
    return keras.Model(inputs, outputs, name=name)


def dcgan_discriminator(image_size: int = 64, base_filters: int = 64,
                        normalization: str = "instance",
                        name: str = "dcgan_discriminator") -> keras.Model:
    """Seed 002's choice: the DCGAN discriminator (the `wikiart64` family's), one logit per image.

    base_filters and normalization are not used: that network is fixed (64 filters next to the
    image, batch norm), exactly as the DCGAN runs use it.
    """
    from sketchdraw import models

    model = models.get("wikiart64").build_discriminator(image_shape=(image_size, image_size, CHANNELS))
    model.name = name  # two of them in one checkpoint: distinct names keep the summaries readable
    return model


CYCLE_DISCRIMINATORS: Registry[Callable[..., keras.Model]] = Registry("cycle discriminator")
CYCLE_DISCRIMINATORS.register("patch")(patch_discriminator)
CYCLE_DISCRIMINATORS.register("dcgan")(dcgan_discriminator)


def build_discriminator(kind: str, image_size: int = 64, base_filters: int = 64,
                        normalization: str = "instance", name: str | None = None) -> keras.Model:
    """The discriminator named `kind` ("patch" or "dcgan")."""
    builder = CYCLE_DISCRIMINATORS.get(kind)
    return builder(image_size=image_size, base_filters=base_filters, normalization=normalization,
                   name=name or f"{kind}_discriminator")


def discriminator_names() -> list[str]:
    return CYCLE_DISCRIMINATORS.names()
