"""The six loss terms of Sketch2Img (seed 003), each a function with a `weight`.

Each returns one value per example (shape (batch,)), already multiplied by its weight, so the train
step averages them over the global batch like `sketchdraw.losses`: GAN, auxiliary classification,
DRAGAN gradient penalty, L1, perceptual (a frozen ImageNet network) and diversity.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from sketchdraw import losses
from sketchdraw.registry import Registry

# Added to the noise distance in the diversity loss so two identical noise vectors do not divide by 0.
DIVERSITY_EPSILON = 1e-5


def gan_discriminator_loss(real_logits, fake_logits, weight: float = 1.0) -> tf.Tensor:
    """weight * (-log D(s, x) - log(1 - D(s, G(s, z)))): binary cross-entropy on logits."""
    return weight * losses.bce_discriminator(real_logits, fake_logits)


def gan_generator_loss(fake_logits, weight: float = 1.0) -> tf.Tensor:
    """weight * -log D(s, G(s, z)) (non-saturating, as in the DCGAN runs)."""
    return weight * losses.bce_generator(fake_logits)


def classification_loss(labels, class_logits, weight: float = 1.0) -> tf.Tensor:
    """weight * cross-entropy of the discriminator's class logits against the true class.

    Used twice: on real images for the discriminator (L_ac(D)) and on generated images for the
    generator (L_ac(G)). With a single category it is 0 by construction (softmax over one logit).
    """
    labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
    return weight * tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                   logits=class_logits)


def dragan_penalty(critic: Callable[[tf.Tensor], tf.Tensor], real_images, weight: float = 10.0,
                   perturbation_scale: float = 0.5, one_sided: bool = False,
                   perturbation=None, mixing=None) -> tf.Tensor:
    """DRAGAN's gradient penalty (Kodali et al. 2017), per example: weight * (||grad D(x_hat)|| - 1)^2.

    As in the DRAGAN reference code: x_p = x + perturbation_scale * std(x) * u with u ~ U[0, 1) per
    pixel and std over the whole batch; x_hat = x + a (x_p - x) with a ~ U[0, 1) per example; the
    gradient is taken with respect to the image only (`critic` closes over the sketch). The norm is
    sqrt(sum g^2 + 1e-12) so its gradient stays finite at 0.

    Two-sided (the paper's and the default): the penalty is 0 where the gradient norm is 1 near the
    data (e.g. a linear critic with a unit-norm weight) and `weight` for a critic that is constant
    there. `one_sided=True` penalises only norms above 1, max(0, ||g|| - 1)^2: 0 for a constant
    critic too. `perturbation` (images' shape) and `mixing` (batch,) fix the random draws (tests).
    """
    if weight < 0:
        raise ValueError(f"DRAGAN weight must be >= 0 (the seed's best run used 10), got {weight}")
    real_images = tf.convert_to_tensor(real_images, tf.float32)
    batch_size = tf.shape(real_images)[0]
    if perturbation is None:
        perturbation = tf.random.uniform(tf.shape(real_images))
    if mixing is None:
        mixing = tf.random.uniform([batch_size])
    perturbed = real_images + perturbation_scale * tf.math.reduce_std(real_images) * perturbation
    mixing = tf.reshape(tf.cast(mixing, tf.float32), [-1, 1, 1, 1])
    between = real_images + mixing * (perturbed - real_images)
    with tf.GradientTape() as tape:
        tape.watch(between)
        logits = critic(between)
    gradients = tape.gradient(logits, between)
    squared = tf.reshape(tf.square(gradients), [batch_size, -1])
    norms = tf.sqrt(tf.reduce_sum(squared, axis=1) + losses.GRADIENT_NORM_EPSILON)
    excess = tf.nn.relu(norms - 1.0) if one_sided else norms - 1.0
    return weight * tf.square(excess)


def l1_loss(generated, real, weight: float = 1.0) -> tf.Tensor:
    """weight * mean |G(s, z) - x| over the pixels of each example (the seed's supervised loss)."""
    difference = tf.abs(tf.convert_to_tensor(generated, tf.float32)
                        - tf.convert_to_tensor(real, tf.float32))
    return weight * tf.reduce_mean(tf.reshape(difference, [tf.shape(difference)[0], -1]), axis=1)


def diversity_loss(first_images, second_images, first_noise, second_noise,
                   weight: float = 1.0) -> tf.Tensor:
    """weight * -(mean |G(s, z1) - G(s, z2)|) / (mean |z1 - z2|): the seed's "negative slope".

    Minimising it rewards a generator whose output changes a lot when the noise changes (against
    mode collapse, where the noise is ignored). Both distances are means, not sums, so the value
    does not grow with the image or noise size; 1e-5 keeps equal noise vectors from dividing by 0.
    """
    batch_size = tf.shape(first_images)[0]
    image_distance = tf.reduce_mean(tf.reshape(
        tf.abs(first_images - second_images), [batch_size, -1]), axis=1)
    noise_distance = tf.reduce_mean(tf.reshape(
        tf.abs(first_noise - second_noise), [batch_size, -1]), axis=1)
    return -weight * image_distance / (noise_distance + DIVERSITY_EPSILON)


# -- perceptual loss: a keras.applications ImageNet network ----------------------------------------
@dataclass(frozen=True)
class PerceptualNetwork:
    builder: str  # keras.applications attribute
    preprocess_module: str  # keras.applications submodule with preprocess_input
    weights_file: str  # the file Keras downloads into ~/.keras/models
    weights_url: str
    input_size: int  # images are resized to this before the network
    feature_layers: tuple[str, ...]


_KERAS_WEIGHTS = "https://storage.googleapis.com/tensorflow/keras-applications"
PERCEPTUAL_NETWORKS: Registry[PerceptualNetwork] = Registry("perceptual network")
# The seed used Inception-v4, which keras.applications does not have; Inception-v3 is its closest
# relative there. 75x75 is its smallest input; early and middle "mixed" blocks hold the features.
PERCEPTUAL_NETWORKS.register("inception_v3")(PerceptualNetwork(
    "InceptionV3", "inception_v3", "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    f"{_KERAS_WEIGHTS}/inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    96, ("mixed0", "mixed2", "mixed5")))
PERCEPTUAL_NETWORKS.register("vgg19")(PerceptualNetwork(
    "VGG19", "vgg19", "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
    f"{_KERAS_WEIGHTS}/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
    64, ("block1_conv2", "block2_conv2", "block3_conv4", "block4_conv4")))


class PerceptualWeightsUnavailable(ValueError):
    """The ImageNet weights of the perceptual network could not be obtained."""


@functools.cache
def perceptual_weights_path(network: str) -> str:
    """The cached ImageNet weights file for `network`, downloaded once by Keras if missing.

    Raises PerceptualWeightsUnavailable with what to do when the download fails (no network).
    """
    import keras

    spec = PERCEPTUAL_NETWORKS.get(network)
    try:
        return keras.utils.get_file(spec.weights_file, spec.weights_url, cache_subdir="models")
    except Exception as error:  # keras raises a bare Exception for URL and HTTP failures
        cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
        raise PerceptualWeightsUnavailable(
            f"perceptual loss disabled: ImageNet weights for {network} could not be downloaded "
            f"(no network? {type(error).__name__}: {str(error)[:160]}); set perceptual_weight=0, "
            f"or place the weights file {spec.weights_file} in {cache} "
            f"(from {spec.weights_url})") from None


class PerceptualLoss:
    """weight * sum over layers of mean |phi_l(G(s, z)) - phi_l(x)|, per example.

    phi_l are activations of a frozen ImageNet network (`PERCEPTUAL_NETWORKS`). Images arrive in
    the run's normalised space; they are mapped back to [0, 255] with the photo statistics, resized
    to the network's input size and preprocessed the way the network was trained.
    """

    def __init__(self, network: str, photo_mean: Sequence[float], photo_scale: float,
                 weight: float = 1.0):
        import keras

        spec = PERCEPTUAL_NETWORKS.get(network)
        weights = perceptual_weights_path(network)
        size = spec.input_size
        backbone = getattr(keras.applications, spec.builder)(
            include_top=False, weights=weights, input_shape=(size, size, 3))
        backbone.trainable = False
        self.features = keras.Model(backbone.input,
                                    [backbone.get_layer(name).output for name in spec.feature_layers])
        self.preprocess = getattr(keras.applications, spec.preprocess_module).preprocess_input
        self.size = size
        self.photo_mean = tf.constant(photo_mean, tf.float32)
        self.photo_scale = float(photo_scale)
        self.weight = float(weight)

    def _activations(self, images):
        pixels = (images * self.photo_scale + self.photo_mean) * 255.0
        pixels = tf.image.resize(pixels, (self.size, self.size))
        return self.features(self.preprocess(pixels), training=False)

    def __call__(self, generated, real) -> tf.Tensor:
        total = 0.0
        for fake_map, real_map in zip(self._activations(generated), self._activations(real)):
            difference = tf.abs(fake_map - real_map)
            total += tf.reduce_mean(tf.reshape(difference, [tf.shape(difference)[0], -1]), axis=1)
        return self.weight * total
