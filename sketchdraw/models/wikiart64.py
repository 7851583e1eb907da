"""The 64x64 RGB DCGAN pair of seed 004 ("Coding Art with DCGANs"), registered as `wikiart64`.

The layers follow the seed's two layer tables (its Figures 3 and 6) exactly, output shapes and
parameter counts included: a generator Dense(4*4*512) -> Reshape(4, 4, 512) -> four 5x5 stride-2
transposed convolutions (256, 128, 64, 3) with batch norm and ReLU between them and tanh at the end;
a discriminator of four 5x5 stride-2 convolutions (64, 128, 256, 512) with LeakyReLU, batch norm on
all but the first, then Flatten -> Dense(1). This module holds only the builders: the losses, the
label noise and the optimizers of the seed live in `losses.py` and `dcgan/`.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from sketchdraw.layers import check_upsampling
from sketchdraw.models import ModelFamily, register

WIKIART_SHAPE = (64, 64, 3)

# The seed's prose says "Both the generator and the discriminator kernels are of 3x3", but its layer
# tables only add up with 5x5 kernels and stride 2: e.g. the first transposed convolution has
# 3,277,056 = 5*5*512*256 + 256 parameters (3x3 would give 1,179,904), and every layer halves or
# doubles the spatial size. We follow the tables.
KERNEL_SIZE = (5, 5)
STRIDES = (2, 2)
# The resize generator's convolutions run at the doubled size, four times the positions of the
# transposed ones: 3x3 (as `layers.upsample`) keeps its cost about 1.4x the table's, where 5x5
# would make it 4x.
RESIZE_KERNEL_SIZE = (3, 3)
# Width at the 4x4 end of both networks for 64x64 images (the tables' 512); it halves at each
# doubling of the image size, down to 64 filters next to the image.
SMALLEST_MAP = 4
FILTERS_NEXT_TO_IMAGE = 64
# The seed does not state the LeakyReLU slope. 0.2 is the DCGAN paper's value and the one the
# seed's base code (DataSnaek's Keras DCGAN) and the Keras DCGAN examples use; Keras's own default
# is 0.3, so it is set explicitly.
DEFAULT_LEAKY_SLOPE = 0.2


def _upsampling_steps(image_size: int) -> int:
    """How many stride-2 layers lie between the 4x4 map and an image_size x image_size image."""
    if (not isinstance(image_size, int) or isinstance(image_size, bool)
            or image_size < 2 * SMALLEST_MAP or image_size & (image_size - 1)):
        raise ValueError(
            f"wikiart64: image_size must be a power of two of at least {2 * SMALLEST_MAP} "
            f"(e.g. 64, the seed's size), got {image_size!r}"
        )
    return int(math.log2(image_size // SMALLEST_MAP))


def _kernel_regularizer(l2: float):
    if not isinstance(l2, (int, float)) or isinstance(l2, bool) or l2 < 0:
        raise ValueError("wikiart64: l2 must be a number >= 0 (the seed's regularized run used 1e-7), "
                         f"got {l2!r}")
    # None rather than L2(0.0): no zero-valued loss terms in model.losses when it is off.
    return keras.regularizers.L2(float(l2)) if l2 > 0 else None


def _check_shape(model: keras.Model, expected: tuple) -> None:
    # A ValueError naming the model and the shapes is clearer than a shape error layers later.
    if tuple(model.output_shape) != expected:
        raise ValueError(f"{model.name}: built output shape {model.output_shape}, expected {expected}")


def wikiart64_generator(noise_dim: int = 100, image_size: int = 64, channels: int = 3,
                        l2: float = 0.0, upsampling: str = "transpose") -> keras.Model:
    """Seed 004's generator (Figure 3): noise (batch, noise_dim) -> images in [-1, 1].

    The images are (batch, image_size, image_size, channels); 64x64x3 reproduces the table, other
    powers of two keep the pattern (64 filters next to the image, doubling towards the 4x4 map).
    `l2` adds an L2 penalty of that weight on the transposed convolutions' kernels (the seed's
    "regularization" run used 1e-7 on its convolutions); 0 turns it off.
    `upsampling` "transpose" is the table's 5x5 stride-2 transposed convolutions; "resize" doubles
    each map by nearest-neighbour upsampling and then a 3x3 convolution (`layers.upsample`), as the
    no-checkerboard generators of the other families: a 5x5 kernel at stride 2 covers the output
    unevenly and stamps a regular grid on the paintings; the resized map does not.
    """
    check_upsampling(upsampling, "wikiart64: upsampling")
    if not isinstance(noise_dim, int) or noise_dim < 1:
        raise ValueError(f"wikiart64: noise_dim must be a positive integer, got {noise_dim!r}")
    steps = _upsampling_steps(image_size)
    regularizer = _kernel_regularizer(l2)
    deepest_filters = FILTERS_NEXT_TO_IMAGE * 2 ** (steps - 1)  # 512 for 64x64

    model = keras.Sequential(name="wikiart64_generator")
    model.add(keras.Input(shape=(noise_dim,)))
    # The seed's table shows the Dense output as (None, 1, 1, 8192): its noise input was shaped
    # (1, 1, noise_dim), and a Dense on a rank-4 input acts on the last axis only. The parameter count
    # is the same either way (100*8192 + 8192 = 827,392); this 0-parameter reshape keeps the family's
    # noise contract (batch, noise_dim) and reproduces the table's shape.
    model.add(layers.Reshape((1, 1, noise_dim), name="noise_as_1x1_map"))
    model.add(layers.Dense(SMALLEST_MAP * SMALLEST_MAP * deepest_filters))
    _check_shape(model, (None, 1, 1, SMALLEST_MAP * SMALLEST_MAP * deepest_filters))
    model.add(layers.Reshape((SMALLEST_MAP, SMALLEST_MAP, deepest_filters)))
    model.add(layers.BatchNormalization())
    model.add(layers.Activation("relu"))

    size, filters = SMALLEST_MAP, deepest_filters
    for _ in range(steps - 1):
        size, filters = size * 2, filters // 2
        _add_doubling(model, filters, upsampling, regularizer)
        _check_shape(model, (None, size, size, filters))
        model.add(layers.BatchNormalization())
        model.add(layers.Activation("relu"))

    _add_doubling(model, channels, upsampling, regularizer)
    model.add(layers.Activation("tanh"))
    _check_shape(model, (None, image_size, image_size, channels))
    return model


def _add_doubling(model: keras.Sequential, filters: int, upsampling: str, regularizer) -> None:
    """One layer (or pair) that doubles the map's height and width and makes `filters` channels."""
    if upsampling == "transpose":
        model.add(layers.Conv2DTranspose(filters, KERNEL_SIZE, strides=STRIDES, padding="same",
                                         kernel_regularizer=regularizer))
        return
    model.add(layers.UpSampling2D(2, interpolation="nearest"))
    model.add(layers.Conv2D(filters, RESIZE_KERNEL_SIZE, padding="same", kernel_regularizer=regularizer))


def wikiart64_discriminator(image_shape: tuple = WIKIART_SHAPE, l2: float = 0.0,
                            leaky_slope: float = DEFAULT_LEAKY_SLOPE) -> keras.Model:
    """Seed 004's discriminator (Figure 6): images (batch, size, size, channels) -> one LOGIT per image.

    The seed ends in a sigmoid Activation layer; here the model returns the logit and the loss
    applies the sigmoid (`from_logits=True`): the same model, with numerically safer arithmetic.
    `l2` adds an L2 penalty on the convolution kernels (1e-7 in the seed's "regularization" run).
    """
    image_shape = tuple(image_shape)
    if len(image_shape) != 3 or image_shape[0] != image_shape[1]:
        raise ValueError(f"wikiart64: image_shape must be (size, size, channels), got {image_shape!r}")
    steps = _upsampling_steps(image_shape[0])
    regularizer = _kernel_regularizer(l2)
    if not isinstance(leaky_slope, (int, float)) or not 0 <= leaky_slope < 1:
        raise ValueError(f"wikiart64: leaky_slope must be in [0, 1), got {leaky_slope!r}")

    model = keras.Sequential(name="wikiart64_discriminator")
    model.add(keras.Input(shape=image_shape))
    size, filters = image_shape[0], FILTERS_NEXT_TO_IMAGE
    for step in range(steps):
        size = size // 2
        model.add(layers.Conv2D(filters, KERNEL_SIZE, strides=STRIDES, padding="same",
                                kernel_regularizer=regularizer))
        _check_shape(model, (None, size, size, filters))
        if step > 0:  # the table has no batch norm after the first convolution (as in DCGAN)
            model.add(layers.BatchNormalization())
        model.add(layers.LeakyReLU(negative_slope=leaky_slope))
        filters *= 2

    model.add(layers.Flatten())
    model.add(layers.Dense(1))  # a logit: the seed's sigmoid lives in the loss
    return model


register(ModelFamily("wikiart64", WIKIART_SHAPE, wikiart64_generator, wikiart64_discriminator,
                     "64x64 RGB DCGAN of the WikiArt paintings paper (seed 004, Figures 3 and 6)"))
