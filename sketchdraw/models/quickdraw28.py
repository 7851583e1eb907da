"""The two 28x28 grayscale DCGAN pairs from the source documents.

- `tutorial`: the TensorFlow DCGAN tutorial's models exactly as the rabbit notebook (seed 001) uses
  them: Dense 7*7*256 -> transposed convolutions 128/64/1 with batch norm and LeakyReLU; a
  discriminator of two 5x5 stride-2 convolutions with dropout 0.3.
- `upsample`: the flower article's Keras models (seed 000): Dense 128*7*7 -> UpSampling2D + 3x3
  convolutions with BatchNormalization(momentum=0.8); a discriminator of 5x5 stride-2 convolutions
  with LeakyReLU(0.2) and dropout 0.2. The article ends the discriminator in a sigmoid; here it
  returns a logit and the loss applies the sigmoid (same model, stabler arithmetic).

Options (seed 002's study; the defaults reproduce the seeds): `activation` replaces the hidden
activations (None: the seed's own; "relu", "leaky_relu", "relu_variant"), the generator's
`normalization` ("batch" as the seeds, "instance", "none"), and the discriminator's
`spectral_norm` and `normalization` (the seeds use none).
"""

from __future__ import annotations

import keras
from keras import layers

from sketchdraw.layers import make_activation, make_normalization, maybe_spectral
from sketchdraw.models import ModelFamily, register

QUICKDRAW_SHAPE = (28, 28, 1)


def _check_shape(model: keras.Model, expected: tuple) -> None:
    # The tutorial asserts each output shape as it builds; a ValueError says which layer broke.
    if tuple(model.output_shape) != expected:
        raise ValueError(f"{model.name}: built output shape {model.output_shape}, expected {expected}")


def _activation(name: str | None, default: layers.Layer) -> layers.Layer:
    return default if name is None else make_activation(name)


def _add_normalization(model: keras.Sequential, name: str, spatial: bool = True,
                       **batch_options) -> None:
    """Add the chosen normalisation; `batch_options` (e.g. momentum) only apply to batch norm.

    Instance norm needs spatial axes: on the Dense layer's flat output it would normalise each
    unit on its own to zero, so that one place gets no normalisation in "instance" mode.
    """
    if name == "instance" and not spatial:
        return
    layer = make_normalization(name, **(batch_options if name == "batch" else {}))
    if layer is not None:
        model.add(layer)


def tutorial_generator(noise_dim: int = 100, activation: str | None = None,
                       normalization: str = "batch") -> keras.Model:
    model = keras.Sequential(name="tutorial_generator")
    model.add(keras.Input(shape=(noise_dim,)))
    model.add(layers.Dense(7 * 7 * 256, use_bias=False))
    _add_normalization(model, normalization, spatial=False)
    model.add(_activation(activation, layers.LeakyReLU()))

    model.add(layers.Reshape((7, 7, 256)))
    _check_shape(model, (None, 7, 7, 256))  # None is the batch size

    model.add(layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", use_bias=False))
    _check_shape(model, (None, 7, 7, 128))
    _add_normalization(model, normalization)
    model.add(_activation(activation, layers.LeakyReLU()))

    model.add(layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", use_bias=False))
    _check_shape(model, (None, 14, 14, 64))
    _add_normalization(model, normalization)
    model.add(_activation(activation, layers.LeakyReLU()))

    model.add(layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", use_bias=False,
                                     activation="tanh"))
    _check_shape(model, (None, 28, 28, 1))
    return model


def tutorial_discriminator(image_shape: tuple = QUICKDRAW_SHAPE, activation: str | None = None,
                           spectral_norm: bool = False, normalization: str = "none") -> keras.Model:
    model = keras.Sequential(name="tutorial_discriminator")
    model.add(keras.Input(shape=image_shape))
    model.add(maybe_spectral(layers.Conv2D(64, (5, 5), strides=(2, 2), padding="same"), spectral_norm))
    model.add(_activation(activation, layers.LeakyReLU()))
    model.add(layers.Dropout(0.3))

    model.add(maybe_spectral(layers.Conv2D(128, (5, 5), strides=(2, 2), padding="same"), spectral_norm))
    _add_normalization(model, normalization)
    model.add(_activation(activation, layers.LeakyReLU()))
    model.add(layers.Dropout(0.3))

    model.add(layers.Flatten())
    model.add(maybe_spectral(layers.Dense(1), spectral_norm))  # a logit: positive means "real"
    return model


def upsample_generator(noise_dim: int = 100, activation: str | None = None,
                       normalization: str = "batch") -> keras.Model:
    model = keras.Sequential(name="upsample_generator")
    model.add(keras.Input(shape=(noise_dim,)))
    if activation is None:
        model.add(layers.Dense(128 * 7 * 7, activation="relu"))
    else:
        model.add(layers.Dense(128 * 7 * 7))
        model.add(make_activation(activation))
    model.add(layers.Reshape((7, 7, 128)))
    # momentum=0.8 as in the article: the running statistics follow the fast-changing generator.
    _add_normalization(model, normalization, momentum=0.8)
    model.add(layers.UpSampling2D())
    model.add(layers.Conv2D(128, kernel_size=3, padding="same"))
    model.add(_activation(activation, layers.LeakyReLU(negative_slope=0.2)))
    _add_normalization(model, normalization, momentum=0.8)
    model.add(layers.UpSampling2D())
    model.add(layers.Conv2D(64, kernel_size=3, padding="same"))
    model.add(_activation(activation, layers.LeakyReLU(negative_slope=0.2)))
    _add_normalization(model, normalization, momentum=0.8)
    model.add(layers.Conv2D(1, kernel_size=3, padding="same", activation="tanh"))
    _check_shape(model, (None, 28, 28, 1))
    return model


def upsample_discriminator(image_shape: tuple = QUICKDRAW_SHAPE, activation: str | None = None,
                           spectral_norm: bool = False, normalization: str = "none") -> keras.Model:
    model = keras.Sequential(name="upsample_discriminator")
    model.add(keras.Input(shape=image_shape))
    model.add(maybe_spectral(layers.Conv2D(
        64, kernel_size=(5, 5), strides=(2, 2), padding="same",
        kernel_initializer=keras.initializers.RandomNormal(stddev=0.02)), spectral_norm))
    model.add(_activation(activation, layers.LeakyReLU(negative_slope=0.2)))
    model.add(layers.Dropout(0.2))
    model.add(maybe_spectral(layers.Conv2D(128, kernel_size=(5, 5), strides=(2, 2), padding="same"),
                             spectral_norm))
    _add_normalization(model, normalization)
    model.add(_activation(activation, layers.LeakyReLU(negative_slope=0.2)))
    model.add(layers.Dropout(0.2))
    model.add(layers.Flatten())
    # the article's sigmoid lives in the loss (from_logits=True)
    model.add(maybe_spectral(layers.Dense(1), spectral_norm))
    return model


register(ModelFamily("tutorial", QUICKDRAW_SHAPE, tutorial_generator, tutorial_discriminator,
                     "TF DCGAN tutorial models (rabbit notebook, seed 001)"))
register(ModelFamily("upsample", QUICKDRAW_SHAPE, upsample_generator, upsample_discriminator,
                     "Keras UpSampling2D models (flower article, seed 000)"))
