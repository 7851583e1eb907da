"""The Sketch2Img networks of seed 003 (after SketchyGAN): masked residual units, generator, discriminator.

A masked residual unit (MRU) takes a feature map x and an image I (resized to x's height and width)
and returns a feature map y with `filters` channels:

    m = sigmoid(conv3x3([x, I]))                 mask over x's channels: how much of x to keep
    z = activation(norm(conv3x3([m * x, I])))    new features from the kept part of x and the image
    n = sigmoid(norm(conv3x3([x, I])))           per-position mixing weight
    y = (1 - n) * x' + n * z                     x' = x, or x projected by a 1x1 conv (see below)

The generator (`sketch_generator`) is an encoder-decoder (U-Net-like) of 4 + 4 MRUs, conditioned on
the sketch at every MRU, on a class label (a learned embedding as the first feature map) and on
noise at the bottleneck. The discriminator (`sketch_discriminator`) is the encoder on the sketch
concatenated with a real or generated image, with a real/fake logit and class logits.

This module builds the networks only; losses, data and training live in `sketchdraw.sketch2img`.
The layers register with `keras.saving` (package "sketchdraw"), so `keras.models.load_model` on a
saved `generator.keras` works once this module has been imported.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from sketchdraw.layers import check_upsampling, make_activation, upsample

MRU_NORMALIZATIONS = ("conditional_batch", "batch", "none")
ENCODER_BLOCKS = 4  # the seed's 4 encoder and 4 decoder blocks: 64 -> 4 -> 64
# LeakyReLU slope for the discriminator (the seed does not say; 0.2 is the DCGAN convention).
DISCRIMINATOR_LEAKY_SLOPE = 0.2


@keras.saving.register_keras_serializable(package="sketchdraw")
class ConditionalBatchNormalization(layers.Layer):
    """Batch normalisation whose scale and offset are looked up by class (Dumoulin et al. 2017).

    Inputs `[features, labels]` with integer labels of shape (batch,). The statistics are shared by
    all classes; only gamma and beta are per class, held in two embeddings initialised to 1 and 0
    so that at the start it behaves like plain batch normalisation.
    """

    # 0.9 rather than Keras' 0.99: with ~10 steps per epoch on a small pair set, the moving
    # statistics the epoch grids are drawn with would otherwise lag far behind the weights.
    def __init__(self, num_classes: int, momentum: float = 0.9, epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
        self.num_classes = num_classes
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.normalization = layers.BatchNormalization(center=False, scale=False, momentum=momentum,
                                                       epsilon=epsilon, name="statistics")
        self.gamma = None
        self.beta = None

    def build(self, input_shape):
        feature_shape, _ = input_shape
        channels = int(feature_shape[-1])
        self.normalization.build(feature_shape)
        self.gamma = layers.Embedding(self.num_classes, channels, embeddings_initializer="ones",
                                      name="gamma")
        self.beta = layers.Embedding(self.num_classes, channels, embeddings_initializer="zeros",
                                     name="beta")
        self.gamma.build((None,))
        self.beta.build((None,))

    def call(self, inputs, training=None):
        features, labels = inputs
        normalized = self.normalization(features, training=training)
        labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
        # (batch, channels) -> (batch, 1, 1, channels): one scale and offset per example and channel.
        gamma = ops.expand_dims(ops.expand_dims(self.gamma(labels), 1), 1)
        beta = ops.expand_dims(ops.expand_dims(self.beta(labels), 1), 1)
        return normalized * gamma + beta

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "momentum": self.momentum, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="sketchdraw")
class MaskedResidualUnit(layers.Layer):
    """The MRU of seed 003 (SketchyGAN's Fig. 3): a learned mask and a learned mixing weight.

    Inputs: `[x, image]`, or `[x, image, labels]` when `normalization="conditional_batch"`.
    `image` is resized to x's height and width inside the layer (area averaging, so thin sketch
    lines fade to grey instead of vanishing; see `_resize_to`), so one full-size sketch can feed
    every MRU.

    - `normalization`: "conditional_batch" (the generator: per-class gamma/beta, needs `num_classes`
      and the labels input), "batch" (the discriminator) or "none". It follows the two non-mask
      convolutions (new features z and mixing weight n), never the mask convolution.
    - `spectral`: wrap all three convolutions (and the projection) in spectral normalisation
      (the discriminator).
    """

    def __init__(self, filters: int, normalization: str = "none", spectral: bool = False,
                 activation: str = "relu", num_classes: int = 1, kernel_size: int = 3, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(filters, int) or filters < 1:
            raise ValueError(f"MRU filters must be a positive integer, got {filters!r}")
        if normalization not in MRU_NORMALIZATIONS:
            from sketchdraw.registry import unknown_name_message

            raise ValueError(unknown_name_message("MRU normalization", normalization,
                                                  MRU_NORMALIZATIONS))
        self.filters = filters
        self.normalization = normalization
        self.spectral = bool(spectral)
        self.activation_name = activation
        self.num_classes = int(num_classes)
        self.kernel_size = int(kernel_size)
        # The mask conv's width depends on x's channels, known only in build(); the others now.
        self.mask_convolution = None
        self.feature_convolution = self._wrap(self._convolution(filters, "feature_convolution"))
        self.mixing_convolution = self._wrap(self._convolution(filters, "mixing_convolution"))
        self.projection = None
        self.feature_normalization = self._make_normalization("feature_normalization")
        self.mixing_normalization = self._make_normalization("mixing_normalization")
        self.activation = make_activation(activation)

    # -- construction helpers --------------------------------------------------------------------
    def _convolution(self, filters: int, name: str, kernel_size: int | None = None):
        size = self.kernel_size if kernel_size is None else kernel_size
        return layers.Conv2D(filters, size, padding="same", name=name)

    def _wrap(self, layer):
        return layers.SpectralNormalization(layer, name=f"spectral_{layer.name}") if self.spectral \
            else layer

    def _make_normalization(self, name: str):
        if self.normalization == "conditional_batch":
            return ConditionalBatchNormalization(self.num_classes, name=name)
        if self.normalization == "batch":
            return layers.BatchNormalization(name=name)
        return None

    def build(self, input_shape):
        feature_shape, image_shape = input_shape[0], input_shape[1]
        channels = int(feature_shape[-1])
        joined = (*feature_shape[:-1], channels + int(image_shape[-1]))
        self.mask_convolution = self._wrap(self._convolution(channels, "mask_convolution"))
        self.mask_convolution.build(joined)
        self.feature_convolution.build(joined)
        self.mixing_convolution.build(joined)
        output_shape = (*feature_shape[:-1], self.filters)
        for normalization in (self.feature_normalization, self.mixing_normalization):
            if isinstance(normalization, ConditionalBatchNormalization):
                normalization.build((output_shape, (None,)))
            elif normalization is not None:
                normalization.build(output_shape)
        if channels != self.filters:
            # The seed's y = (1 - n) * x + n * z needs x and z to have the same channels, but its MRUs
            # change the width (the encoder's double it). The seed is silent on how; like
            # SketchyGAN's code we project x with a 1x1 convolution when the widths differ.
            self.projection = self._wrap(self._convolution(self.filters, "projection", 1))
            self.projection.build(feature_shape)

    # -- the unit ------------------------------------------------------------------------------------
    def call(self, inputs, training=None):
        if self.normalization == "conditional_batch":
            if len(inputs) != 3:
                raise ValueError("an MRU with conditional batch normalisation takes [x, image, labels]")
            features, image, labels = inputs
        else:
            features, image = inputs[0], inputs[1]
            labels = None
        image = _resize_to(image, features.shape[1], features.shape[2])
        joined = ops.concatenate([features, image], axis=-1)
        mask = ops.sigmoid(self.mask_convolution(joined, training=training))
        masked = ops.concatenate([mask * features, image], axis=-1)
        new_features = self._normalize(self.feature_normalization,
                                       self.feature_convolution(masked, training=training),
                                       labels, training)
        new_features = self.activation(new_features)
        mixing = ops.sigmoid(self._normalize(self.mixing_normalization,
                                             self.mixing_convolution(joined, training=training),
                                             labels, training))
        kept = features if self.projection is None else self.projection(features, training=training)
        return (1.0 - mixing) * kept + mixing * new_features

    @staticmethod
    def _normalize(normalization, values, labels, training):
        if normalization is None:
            return values
        if isinstance(normalization, ConditionalBatchNormalization):
            return normalization([values, labels], training=training)
        return normalization(values, training=training)

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "normalization": self.normalization, "spectral": self.spectral,
                "activation": self.activation_name, "num_classes": self.num_classes,
                "kernel_size": self.kernel_size}


def _resize_to(image, height: int, width: int):
    """`image` at (height, width): average pooling for whole-number reductions, else bilinear.

    Average pooling is area resizing for factors 2, 4, 8 (thin sketch lines fade to grey instead of
    vanishing) and, unlike TensorFlow's ResizeArea, has gradients of every order, which the DRAGAN
    penalty (a gradient of the discriminator's gradient) needs.
    """
    image_height, image_width = image.shape[1], image.shape[2]
    if (image_height, image_width) == (height, width):
        return image
    if image_height % height == 0 and image_width % width == 0:
        pool = (image_height // height, image_width // width)
        return ops.average_pool(image, pool, strides=pool, padding="valid")
    return ops.image.resize(image, (height, width), interpolation="bilinear")


# -- the networks ----------------------------------------------------------------------------------
def _check_sizes(image_size: int, base_filters: int, num_classes: int) -> None:
    smallest = 2 ** ENCODER_BLOCKS
    if (not isinstance(image_size, int) or isinstance(image_size, bool) or image_size < smallest
            or image_size % smallest):
        raise ValueError(f"image_size must be a multiple of {smallest} (4 halvings), e.g. 64 "
                         f"(the seed's size), got {image_size!r}")
    if not isinstance(base_filters, int) or base_filters < 2:
        raise ValueError(f"base_filters must be an integer >= 2 (the seed's width is 64; tests use "
                         f"4), got {base_filters!r}")
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")


def sketch_generator(image_size: int = 64, base_filters: int = 64, num_classes: int = 1,
                     noise_dim: int = 64, upsampling: str = "transpose") -> keras.Model:
    """Inputs `[sketch (H, W, 1), noise (noise_dim,), label ()]` -> image (H, W, 3) in [-1, 1].

    Widths for base_filters f: encoder MRUs f, 2f, 4f, 8f (each followed by a stride-2 conv of the
    same width); bottleneck (H/16, W/16, 8f + noise_dim); decoder MRUs 8f, 4f, 2f, f, each followed
    by a transposed conv of half the MRU's width that doubles H and W, after which the encoder MRU
    output of that resolution is concatenated (the skip connection); a 3x3 conv to 3 channels and
    tanh. The label's learned embedding, reshaped to a 1 x H x W map, is the first feature map.
    upsampling "resize" doubles with nearest-neighbour upsampling and a 3x3 conv instead of the
    transposed conv (`layers.upsample`: no checkerboard).
    """
    _check_sizes(image_size, base_filters, num_classes)
    if not isinstance(noise_dim, int) or noise_dim < 1:
        raise ValueError(f"noise_dim must be a positive integer, got {noise_dim!r}")
    check_upsampling(upsampling)
    sketch = keras.Input((image_size, image_size, 1), name="sketch")
    noise = keras.Input((noise_dim,), name="noise")
    label = keras.Input((), dtype="int32", name="label")

    features = layers.Embedding(num_classes, image_size * image_size, name="label_embedding")(label)
    features = layers.Reshape((image_size, image_size, 1), name="label_map")(features)

    skips = []
    for block in range(ENCODER_BLOCKS):
        width = base_filters * 2 ** block
        features = MaskedResidualUnit(width, normalization="conditional_batch",
                                      num_classes=num_classes,
                                      name=f"encoder_mru_{block}")([features, sketch, label])
        skips.append(features)
        features = layers.Conv2D(width, 3, strides=2, padding="same",
                                 name=f"encoder_downsample_{block}")(features)

    bottleneck = image_size // 2 ** ENCODER_BLOCKS
    # The noise vector, repeated over the bottleneck's positions, joins the encoded sketch.
    spread = layers.Reshape((1, 1, noise_dim), name="noise_map")(noise)
    spread = layers.UpSampling2D(bottleneck, name="noise_spread")(spread)
    features = layers.Concatenate(name="bottleneck")([features, spread])

    for block in range(ENCODER_BLOCKS):
        width = base_filters * 2 ** (ENCODER_BLOCKS - 1 - block)
        features = MaskedResidualUnit(width, normalization="conditional_batch",
                                      num_classes=num_classes,
                                      name=f"decoder_mru_{block}")([features, sketch, label])
        features = upsample(features, max(1, width // 2), upsampling, name=f"decoder_upsample_{block}")
        features = layers.Concatenate(name=f"skip_{block}")([features, skips[-1 - block]])

    image = layers.Conv2D(3, 3, padding="same", name="to_rgb")(features)
    image = layers.Activation("tanh", name="tanh")(image)
    return keras.Model([sketch, noise, label], image, name="sketch2img_generator")


def sketch_discriminator(image_size: int = 64, num_classes: int = 1,
                         base_filters: int = 64) -> keras.Model:
    """Inputs `[sketch (H, W, 1), image (H, W, 3)]` -> `[real/fake logit (1,), class logits]`.

    The generator's encoder on the sketch and image concatenated (that concatenation is both the
    first feature map and the image every MRU sees), with spectral normalisation on every
    convolution and both dense heads, and batch normalisation after the MRUs' non-mask
    convolutions. Logits, no sigmoid or softmax: the losses take logits.
    """
    _check_sizes(image_size, base_filters, num_classes)
    sketch = keras.Input((image_size, image_size, 1), name="sketch")
    image = keras.Input((image_size, image_size, 3), name="image")
    joined = layers.Concatenate(name="sketch_and_image")([sketch, image])
    features = joined
    for block in range(ENCODER_BLOCKS):
        width = base_filters * 2 ** block
        features = MaskedResidualUnit(width, normalization="batch", spectral=True,
                                      activation="leaky_relu",
                                      name=f"mru_{block}")([features, joined])
        features = layers.SpectralNormalization(
            layers.Conv2D(width, 3, strides=2, padding="same"), name=f"downsample_{block}")(features)
        features = layers.LeakyReLU(DISCRIMINATOR_LEAKY_SLOPE, name=f"downsample_{block}_act")(features)
    features = layers.Flatten(name="flatten")(features)
    real_logit = layers.SpectralNormalization(layers.Dense(1), name="real_logit")(features)
    class_logits = layers.SpectralNormalization(layers.Dense(num_classes),
                                                name="class_logits")(features)
    return keras.Model([sketch, image], [real_logit, class_logits], name="sketch2img_discriminator")
