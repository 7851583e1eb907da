"""The class-conditional pair: a generator of (noise, label) and a projection discriminator.

Both keep the layer stack of the `upsample` pair (seed 000's flower models, the `rabbit_small`
recipe's), so a conditional run and a single-category run differ only in the conditioning:

- generator: the noise multiplied by the label's learned embedding (noise_dim numbers), then Dense
  128*7*7 -> UpSampling2D + 3x3 convolutions with batch norm -> a 28x28 drawing in [-1, 1];
- discriminator: 5x5 stride-2 convolutions with LeakyReLU(0.2) and dropout, then a 256-unit
  feature vector h; its logit is w·h + b + <embed(label), h> (the projection of Miyato & Koyama
  2018: the label asks "is this a real drawing *of this category*" without a classifier head).

Only standard Keras layers: the saved generator loads in Keras's safe mode like every other.
"""

from __future__ import annotations

import keras
from keras import layers

IMAGE_SHAPE = (28, 28, 1)
FEATURES = 256
EMBEDDING_LAYER = "label_embedding"  # the generator's: one vector of noise_dim numbers per label
JOIN_LAYER = "label_join"  # where the embedding meets the noise (hybrids start here)


def conditional_generator(classes: int, noise_dim: int = 100) -> keras.Model:
    noise = keras.Input(shape=(noise_dim,), name="noise")
    label = keras.Input(shape=(), dtype="int32", name="label")
    # The noise scaled dimension by dimension by the label's embedding (as Keras's AC-GAN example
    # does). Initialised N(1, 0.5): each label starts as a different scaling, so the label shows
    # from the first steps, and the noise, a factor of the input, cannot be ignored. Joining the
    # embedding beside the noise instead (concatenation) drew one drawing per label whatever the
    # noise after 630 steps of doodles3, and an embedding starting at 1 drew the same for every label.
    embedded = layers.Embedding(classes, noise_dim, name=EMBEDDING_LAYER,
                                embeddings_initializer=keras.initializers.RandomNormal(1.0, 0.5))(label)
    x = layers.Multiply(name=JOIN_LAYER)([noise, embedded])
    x = layers.Dense(128 * 7 * 7, activation="relu")(x)
    x = layers.Reshape((7, 7, 128))(x)
    # momentum=0.8 as in seed 000's models: the statistics follow the fast-changing generator
    x = layers.BatchNormalization(momentum=0.8)(x)
    for filters in (128, 64):
        x = layers.UpSampling2D()(x)
        x = layers.Conv2D(filters, kernel_size=3, padding="same")(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
        x = layers.BatchNormalization(momentum=0.8)(x)
    image = layers.Conv2D(1, kernel_size=3, padding="same", activation="tanh")(x)
    return keras.Model([noise, label], image, name="conditional_generator")


def projection_discriminator(classes: int) -> keras.Model:
    image = keras.Input(shape=IMAGE_SHAPE, name="image")
    label = keras.Input(shape=(), dtype="int32", name="label")
    x = layers.Conv2D(64, kernel_size=5, strides=2, padding="same",
                      kernel_initializer=keras.initializers.RandomNormal(stddev=0.02))(image)
    x = layers.LeakyReLU(negative_slope=0.2)(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Conv2D(128, kernel_size=5, strides=2, padding="same")(x)
    x = layers.LeakyReLU(negative_slope=0.2)(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Flatten()(x)
    features = layers.LeakyReLU(negative_slope=0.2)(layers.Dense(FEATURES)(x))
    unconditional = layers.Dense(1, name="logit")(features)
    embedded = layers.Embedding(classes, FEATURES, name="label_projection",
                                embeddings_initializer=keras.initializers.RandomNormal(stddev=0.02))(label)
    projection = layers.Dot(axes=1)([embedded, features])
    logit = layers.Add()([unconditional, projection])  # a logit: positive means "a real drawing of label"
    return keras.Model([image, label], logit, name="projection_discriminator")
