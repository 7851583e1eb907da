"""The class-conditional pair: a generator of (noise, label) and a projection discriminator.

Both keep the layer stack of the `upsample` pair (seed 000's flower models, the `rabbit_small`
recipe's), so a conditional run and a single-category run differ only in the conditioning:

- generator: Dense 128*7*7 -> UpSampling2D + 3x3 convolutions with batch norm -> a 28x28 drawing
  in [-1, 1]; the label enters as a learned embedding (noise_dim numbers), in one of three ways
  (`conditioning`):
  - "input": the noise multiplied by the embedding, before the first layer;
  - "batchnorm": conditional batch norm (de Vries et al. 2017; the generator of Miyato & Koyama
    2018): every batch norm's per-channel scale and shift are computed from the embedding, so the
    label reaches every resolution rather than only the first layer's input;
  - "batchnorm_scale": the same with the label's scale only, the shift shared by all labels: a
    label cannot move a whole channel, hence all its ink, up or down (with "batchnorm", 2 of 35
    categories of a doodles35 run faded to blank pages, the output's tanh saturated, and never came
    back);
- discriminator: 5x5 stride-2 convolutions with LeakyReLU(0.2) and dropout, then a 256-unit
  feature vector h; its logit is w·h + b + <embed(label), h> (the projection of Miyato & Koyama
  2018: the label asks "is this a real drawing *of this category*" without a classifier head).

Only standard Keras layers: the saved generator loads in Keras's safe mode like every other.
"""

from __future__ import annotations

import keras
from keras import layers

from sketchdraw.conditional.settings import CONDITIONINGS

IMAGE_SHAPE = (28, 28, 1)
FEATURES = 256
EMBEDDING_LAYER = "label_embedding"  # the generator's: one vector of noise_dim numbers per label
JOIN_LAYER = "label_join"  # "input" conditioning: where the embedding meets the noise
# Initial spread of the weights that turn the embedding into a batch norm's scale and shift: the
# scales start at 1 +- about 0.2, a different small change per label, never a sign flip.
_AFFINE_STDDEV = 0.02


def conditional_generator(classes: int, noise_dim: int = 100, conditioning: str = "input") -> keras.Model:
    if conditioning not in CONDITIONINGS:
        raise ValueError(f"conditioning is one of {', '.join(CONDITIONINGS)}, got {conditioning!r}")
    noise = keras.Input(shape=(noise_dim,), name="noise")
    label = keras.Input(shape=(), dtype="int32", name="label")
    if conditioning == "input":
        # The noise scaled dimension by dimension by the label's embedding (as Keras's AC-GAN example
        # does). Initialised N(1, 0.5): each label starts as a different scaling, so the label shows
        # from the first steps, and the noise, a factor of the input, cannot be ignored. Joining the
        # embedding beside the noise instead (concatenation) drew one drawing per label whatever the
        # noise after 630 steps of doodles3, and an embedding starting at 1 drew the same for every label.
        embedded = layers.Embedding(classes, noise_dim, name=EMBEDDING_LAYER,
                                    embeddings_initializer=keras.initializers.RandomNormal(1.0, 0.5))(label)
        x = layers.Multiply(name=JOIN_LAYER)([noise, embedded])
    else:
        embedded = layers.Embedding(classes, noise_dim, name=EMBEDDING_LAYER,
                                    embeddings_initializer=keras.initializers.RandomNormal(0.0, 1.0))(label)
        x = noise

    def normalise(x, filters):
        if conditioning == "input":
            # momentum=0.8 as in seed 000's models: the statistics follow the fast-changing generator
            return layers.BatchNormalization(momentum=0.8)(x)
        return conditional_batch_norm(x, embedded, filters, shift_by_label=conditioning == "batchnorm")

    x = layers.Dense(128 * 7 * 7, activation="relu")(x)
    x = layers.Reshape((7, 7, 128))(x)
    x = normalise(x, 128)
    for filters in (128, 64):
        x = layers.UpSampling2D()(x)
        x = layers.Conv2D(filters, kernel_size=3, padding="same")(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
        x = normalise(x, filters)
    image = layers.Conv2D(1, kernel_size=3, padding="same", activation="tanh")(x)
    return keras.Model([noise, label], image, name="conditional_generator")


def conditional_batch_norm(x, embedded, filters: int, shift_by_label: bool = True):
    """Batch norm whose scale (1 + gamma) per channel is linear in the label's embedding, and its
    shift (beta) too if `shift_by_label`, else one learned shift per channel for every label.
    Standard layers only (a plain BatchNormalization without its own scale and shift, Dense layers,
    broadcasting Multiply and Add; the shared shift is a 1x1 depthwise convolution: batch norm's
    own per-channel scale and shift, after the label's scale), so the saved generator needs no
    custom code."""
    initializer = keras.initializers.RandomNormal(stddev=_AFFINE_STDDEV)
    normalised = layers.BatchNormalization(momentum=0.8, center=False, scale=False)(x)
    scale = layers.Dense(filters, kernel_initializer=initializer, bias_initializer="ones")(embedded)
    scaled = layers.Multiply()([normalised, layers.Reshape((1, 1, filters))(scale)])
    if not shift_by_label:
        return layers.DepthwiseConv2D(1, depthwise_initializer="ones")(scaled)
    shift = layers.Dense(filters, kernel_initializer=initializer)(embedded)
    return layers.Add()([scaled, layers.Reshape((1, 1, filters))(shift)])


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
