"""The two 28x28 grayscale DCGAN pairs from the source documents.

- `tutorial`: the TensorFlow DCGAN tutorial's models exactly as the rabbit notebook (seed 001) uses
  them: Dense 7*7*256 -> transposed convolutions 128/64/1 with batch norm and LeakyReLU; a
  discriminator of two 5x5 stride-2 convolutions with dropout 0.3.
- `upsample`: the flower article's Keras models (seed 000): Dense 128*7*7 -> UpSampling2D + 3x3
  convolutions with BatchNormalization(momentum=0.8); a discriminator of 5x5 stride-2 convolutions
  with LeakyReLU(0.2) and dropout 0.2. The article ends the discriminator in a sigmoid; here it
  returns a logit and the loss applies the sigmoid (same model, stabler arithmetic).
"""

from __future__ import annotations

import keras
from keras import layers

from sketchdraw.models import ModelFamily, register

QUICKDRAW_SHAPE = (28, 28, 1)


def _check_shape(model: keras.Model, expected: tuple) -> None:
    # The tutorial asserts each output shape as it builds; a ValueError says which layer broke.
    if tuple(model.output_shape) != expected:
        raise ValueError(f"{model.name}: built output shape {model.output_shape}, expected {expected}")


def tutorial_generator(noise_dim: int = 100) -> keras.Model:
    model = keras.Sequential(name="tutorial_generator")
    model.add(keras.Input(shape=(noise_dim,)))
    model.add(layers.Dense(7 * 7 * 256, use_bias=False))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())

    model.add(layers.Reshape((7, 7, 256)))
    _check_shape(model, (None, 7, 7, 256))  # None is the batch size

    model.add(layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", use_bias=False))
    _check_shape(model, (None, 7, 7, 128))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())

    model.add(layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", use_bias=False))
    _check_shape(model, (None, 14, 14, 64))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())

    model.add(layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", use_bias=False,
                                     activation="tanh"))
    _check_shape(model, (None, 28, 28, 1))
    return model


def tutorial_discriminator(image_shape: tuple = QUICKDRAW_SHAPE) -> keras.Model:
    model = keras.Sequential(name="tutorial_discriminator")
    model.add(keras.Input(shape=image_shape))
    model.add(layers.Conv2D(64, (5, 5), strides=(2, 2), padding="same"))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))

    model.add(layers.Conv2D(128, (5, 5), strides=(2, 2), padding="same"))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))

    model.add(layers.Flatten())
    model.add(layers.Dense(1))  # a logit: positive means "real"
    return model


def upsample_generator(noise_dim: int = 100) -> keras.Model:
    model = keras.Sequential(name="upsample_generator")
    model.add(keras.Input(shape=(noise_dim,)))
    model.add(layers.Dense(128 * 7 * 7, activation="relu"))
    model.add(layers.Reshape((7, 7, 128)))
    # momentum=0.8 as in the article: the running statistics follow the fast-changing generator.
    model.add(layers.BatchNormalization(momentum=0.8))
    model.add(layers.UpSampling2D())
    model.add(layers.Conv2D(128, kernel_size=3, padding="same"))
    model.add(layers.LeakyReLU(negative_slope=0.2))
    model.add(layers.BatchNormalization(momentum=0.8))
    model.add(layers.UpSampling2D())
    model.add(layers.Conv2D(64, kernel_size=3, padding="same"))
    model.add(layers.LeakyReLU(negative_slope=0.2))
    model.add(layers.BatchNormalization(momentum=0.8))
    model.add(layers.Conv2D(1, kernel_size=3, padding="same", activation="tanh"))
    _check_shape(model, (None, 28, 28, 1))
    return model


def upsample_discriminator(image_shape: tuple = QUICKDRAW_SHAPE) -> keras.Model:
    model = keras.Sequential(name="upsample_discriminator")
    model.add(keras.Input(shape=image_shape))
    model.add(layers.Conv2D(64, kernel_size=(5, 5), strides=(2, 2), padding="same",
                            kernel_initializer=keras.initializers.RandomNormal(stddev=0.02)))
    model.add(layers.LeakyReLU(negative_slope=0.2))
    model.add(layers.Dropout(0.2))
    model.add(layers.Conv2D(128, kernel_size=(5, 5), strides=(2, 2), padding="same"))
    model.add(layers.LeakyReLU(negative_slope=0.2))
    model.add(layers.Dropout(0.2))
    model.add(layers.Flatten())
    model.add(layers.Dense(1))  # the article's sigmoid lives in the loss (from_logits=True)
    return model


register(ModelFamily("tutorial", QUICKDRAW_SHAPE, tutorial_generator, tutorial_discriminator,
                     "TF DCGAN tutorial models (rabbit notebook, seed 001)"))
register(ModelFamily("upsample", QUICKDRAW_SHAPE, upsample_generator, upsample_discriminator,
                     "Keras UpSampling2D models (flower article, seed 000)"))
