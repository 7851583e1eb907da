"""A FastGAN-style pair for few-shot paintings, registered as `fastgan64`.

After Liu et al., "Towards Faster and Stabilized GAN Training for High-fidelity Few-shot Image
Synthesis" (ICLR 2021), the architecture made for training on ~100-1,000 images with little compute,
kept to the two ideas that paper credits for its few-shot results and to the widths of seed 004's
`wikiart64` resize generator (a 64x64 layer and the decoders make an epoch about 1.3-1.75x as long):

- the generator doubles by nearest-neighbour resizing and a 3x3 convolution (no checkerboard),
  512 channels at 4x4 halving at each doubling, and gates its large maps with **skip-layer
  excitation** (SLE): a map eight times smaller is pooled to 4x4, squeezed to one weight per channel
  (4x4 convolution, swish, 1x1 convolution, sigmoid) and multiplies the large map channel by channel.
  The coarse layout thereby steers the fine texture in one hop, and gradients reach the early layers
  by a short path;
- the discriminator is **self-supervised**: besides its logit, two small decoders redraw the real
  image it was shown, one from its 8x8 features (the whole image at half size) and one from a random
  quarter of its 16x16 features (that quarter of the image at full size). The reconstruction error,
  added to its loss on real images (`reconstruction_weight`), makes it keep features that describe
  the paintings instead of memorising which few hundred it has seen.

Left out of the paper's model, to hold the compute of the project's 64x64 runs on two CPU cores:
GLU activations (they double every convolution's output), noise injection, and the LPIPS
perceptual reconstruction loss (its weights are a download; the decoders here use the mean absolute
error in pixels).
"""

from __future__ import annotations

import math

import keras
from keras import layers

from sketchdraw.layers import upsample
from sketchdraw.models import ModelFamily, register

FASTGAN_SHAPE = (64, 64, 3)
SMALLEST_MAP = 4
DEEPEST_FILTERS = 512  # at 4x4, as the wikiart64 table; halves at each doubling
FEWEST_FILTERS = 32
# SLE gates a map with one SLE_RATIO times smaller (the paper's 8->128, 16->256, 32->512).
SLE_RATIO = 8
LEAKY_SLOPE = 0.2
# The decoders redraw from the 8x8 map (whole image) and from a quarter of the 16x16 one; they start
# from 8x8 maps either way.
DECODER_INPUT = 8


def _filters(size: int) -> int:
    return max(FEWEST_FILTERS, DEEPEST_FILTERS * SMALLEST_MAP // size)


def _check_image_size(image_size, where: str) -> int:
    if (not isinstance(image_size, int) or isinstance(image_size, bool) or image_size < 32
            or image_size & (image_size - 1)):
        raise ValueError(f"fastgan64: {where} must be a power of two of at least 32 (64 is the "
                         f"project's painting size), got {image_size!r}")
    return image_size


def _skip_excitation(low, high_channels: int, name: str):
    """One weight per channel of a large map, in (0, 1), from a small map (the SLE block)."""
    size = low.shape[1]
    if size > SMALLEST_MAP:
        low = layers.AveragePooling2D(size // SMALLEST_MAP, name=f"{name}_pool")(low)
    gate = layers.Conv2D(high_channels, SMALLEST_MAP, padding="valid", name=f"{name}_squeeze")(low)
    gate = layers.Activation("swish", name=f"{name}_swish")(gate)
    gate = layers.Conv2D(high_channels, 1, name=f"{name}_excite")(gate)
    return layers.Activation("sigmoid", name=f"{name}_gate")(gate)


def fastgan64_generator(noise_dim: int = 100, image_size: int = 64, channels: int = 3,
                        upsampling: str = "resize") -> keras.Model:
    """Noise (batch, noise_dim) -> images (batch, image_size, image_size, channels) in [-1, 1]."""
    if upsampling != "resize":
        raise ValueError(f"fastgan64: the generator only doubles by resizing (upsampling='resize'), "
                         f"got upsampling={upsampling!r}; use model wikiart64 for transposed convolutions")
    if not isinstance(noise_dim, int) or isinstance(noise_dim, bool) or noise_dim < 1:
        raise ValueError(f"fastgan64: noise_dim must be a positive integer, got {noise_dim!r}")
    _check_image_size(image_size, "image_size")
    noise = keras.Input(shape=(noise_dim,), name="noise")
    x = layers.Dense(SMALLEST_MAP * SMALLEST_MAP * DEEPEST_FILTERS, name="project")(noise)
    x = layers.Reshape((SMALLEST_MAP, SMALLEST_MAP, DEEPEST_FILTERS))(x)
    x = layers.BatchNormalization(name="project_norm")(x)
    x = layers.Activation("relu")(x)
    maps = {SMALLEST_MAP: x}
    size = SMALLEST_MAP
    while size < image_size:
        size *= 2
        x = upsample(x, _filters(size), "resize", name=f"up{size}")
        x = layers.BatchNormalization(name=f"up{size}_norm")(x)
        x = layers.Activation("relu")(x)
        if size // SLE_RATIO >= SMALLEST_MAP:
            gate = _skip_excitation(maps[size // SLE_RATIO], _filters(size), f"sle{size // SLE_RATIO}to{size}")
            x = layers.Multiply(name=f"up{size}_excited")([x, gate])
        maps[size] = x
    x = layers.Conv2D(channels, 3, padding="same", name="to_image")(x)
    images = layers.Activation("tanh", name="image")(x)
    return keras.Model(noise, images, name="fastgan64_generator")


class SelfSupervisedDiscriminator(keras.Model):
    """A functional discriminator (images -> one logit each) that also redraws real images.

    `self(images)` is the plain discriminator every loss, penalty and statistic uses;
    `logits_and_reconstruction_loss(images, part)` gives the same logits and, per image, the
    decoders' mean absolute error: the whole image at half size from the 8x8 features plus the
    quarter `part` (0-3, row-major) at full size from that quarter of the 16x16 features.
    Saved in the run's checkpoints with its decoders; never as a .keras file (only the generator is).
    """

    def __init__(self, inputs, logits, features_8, features_16, whole_decoder, part_decoder, **kwargs):
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        self.with_features = keras.Model(inputs, [logits, features_8, features_16],
                                         name=f"{self.name}_features")
        self.whole_decoder = whole_decoder
        self.part_decoder = part_decoder

    def logits_and_reconstruction_loss(self, images, part, training: bool = False):
        from keras import ops

        logits, features_8, features_16 = self.with_features(images, training=training)
        half = images.shape[1] // 2
        whole = ops.average_pool(images, 2, strides=2, padding="valid")
        row, column = part // 2, part % 2
        quarter = DECODER_INPUT  # a quarter of the 16x16 map
        features_part = ops.slice(features_16, [0, row * quarter, column * quarter, 0],
                                  [ops.shape(features_16)[0], quarter, quarter, features_16.shape[-1]])
        image_part = ops.slice(images, [0, row * half, column * half, 0],
                               [ops.shape(images)[0], half, half, images.shape[-1]])
        error = (ops.mean(ops.abs(self.whole_decoder(features_8, training=training) - whole), axis=(1, 2, 3))
                 + ops.mean(ops.abs(self.part_decoder(features_part, training=training) - image_part),
                            axis=(1, 2, 3)))
        return logits, error


def _decoder(input_channels: int, output_size: int, channels: int, name: str) -> keras.Model:
    """8x8 features -> an output_size x output_size image in [-1, 1] (resize-and-convolve doublings)."""
    features = keras.Input(shape=(DECODER_INPUT, DECODER_INPUT, input_channels))
    x, size, filters = features, DECODER_INPUT, input_channels
    while size < output_size:
        size, filters = size * 2, max(FEWEST_FILTERS, filters // 2)
        x = upsample(x, filters, "resize", name=f"{name}_up{size}")
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
    x = layers.Conv2D(channels, 3, padding="same", activation="tanh")(x)
    return keras.Model(features, x, name=name)


def fastgan64_discriminator(image_shape: tuple = FASTGAN_SHAPE) -> SelfSupervisedDiscriminator:
    """Images (batch, size, size, channels) -> one logit each, with the two decoders attached.

    4x4 stride-2 convolutions from 64 channels, doubling, batch norm on all but the first (as
    DCGAN and FastGAN's discriminator), LeakyReLU 0.2, down to 4x4; then a 4x4 convolution gives
    the logit.
    """
    image_shape = tuple(image_shape)
    if len(image_shape) != 3 or image_shape[0] != image_shape[1]:
        raise ValueError(f"fastgan64: image_shape must be (size, size, channels), got {image_shape!r}")
    size = _check_image_size(image_shape[0], "the image size")
    images = keras.Input(shape=image_shape, name="images")
    x, filters, features = images, 64, {}
    for step in range(int(math.log2(size // SMALLEST_MAP))):
        x = layers.Conv2D(filters, 4, strides=2, padding="same", name=f"down{step}")(x)
        if step > 0:
            x = layers.BatchNormalization(name=f"down{step}_norm")(x)
        x = layers.LeakyReLU(negative_slope=LEAKY_SLOPE)(x)
        features[x.shape[1]] = x
        filters = min(filters * 2, DEEPEST_FILTERS)
    logits = layers.Flatten()(layers.Conv2D(1, SMALLEST_MAP, padding="valid", name="logit")(x))
    half = size // 2
    model = SelfSupervisedDiscriminator(
        images, logits, features[8], features[16],
        _decoder(features[8].shape[-1], half, image_shape[-1], "whole_decoder"),
        _decoder(features[16].shape[-1], half, image_shape[-1], "part_decoder"),
        name="fastgan64_discriminator")
    # Build the decoders now: the optimizer and the checkpoint are made from the variables that exist.
    model.logits_and_reconstruction_loss(keras.ops.zeros((1, *image_shape)), 0)
    return model


register(ModelFamily("fastgan64", FASTGAN_SHAPE, fastgan64_generator, fastgan64_discriminator,
                     "64x64 RGB FastGAN-style pair for few-shot paintings: skip-layer excitation, "
                     "a self-supervised discriminator (Liu et al. 2021)", self_supervised=True))
