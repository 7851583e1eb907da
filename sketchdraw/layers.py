"""Activation and normalisation options that model families share, chosen by name.

A model builder asks for `make_activation("relu_variant")` or `make_normalization("instance")`
instead of hard-coding `layers.LeakyReLU()` / `layers.BatchNormalization()`, so a notebook parameter
can switch them (seed 002 compared ReLU, LeakyReLU and fastai's ReLU variant; batch vs instance
norm). `maybe_spectral` wraps a discriminator's Conv2D/Dense in spectral normalisation.

This module holds layer factories only; it builds no models and knows nothing about training.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers, ops

from sketchdraw.registry import Registry

# seed 002's "JReLU" (fastai's GeneralRelu with Jeremy Howard's settings).
RELU_VARIANT_LEAK = 0.1
RELU_VARIANT_SHIFT = 0.4
RELU_VARIANT_MAXIMUM = 6.0


@keras.saving.register_keras_serializable(package="sketchdraw")
class ReluVariant(layers.Layer):
    """min(leaky_relu(x, leak) - shift, maximum): by default leak 0.1, shift 0.4, cap 6.0.

    The order follows fastai's GeneralRelu (and seed 002's GRelu, which copies it): leaky ReLU,
    then subtract, then clamp the maximum, so the cap applies to the shifted value (100 -> 6.0,
    not 5.6). The shift pulls the mean of the activations back towards zero, which is the point of
    the variant: activations that keep mean ~0 and variance ~1 layer after layer.
    Values: -10 -> -1.4, -1 -> -0.5, 0 -> -0.4, 1 -> 0.6, 5 -> 4.6, 100 -> 6.0.
    """

    def __init__(self, leak: float = RELU_VARIANT_LEAK, shift: float = RELU_VARIANT_SHIFT,
                 maximum: float | None = RELU_VARIANT_MAXIMUM, **kwargs):
        super().__init__(**kwargs)
        if leak < 0:
            raise ValueError(f"leak must be >= 0, got {leak}")
        self.leak = float(leak)
        self.shift = float(shift)
        self.maximum = None if maximum is None else float(maximum)

    def call(self, inputs):
        outputs = ops.leaky_relu(inputs, negative_slope=self.leak) - self.shift
        if self.maximum is not None:
            outputs = ops.minimum(outputs, self.maximum)
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "leak": self.leak, "shift": self.shift,
                "maximum": self.maximum}


ACTIVATIONS: Registry[Callable[..., layers.Layer]] = Registry("activation")


@ACTIVATIONS.register("relu")
def _relu(**options) -> layers.Layer:
    return layers.ReLU(**options)


@ACTIVATIONS.register("leaky_relu")
def _leaky_relu(alpha: float = 0.2, **options) -> layers.Layer:
    # 0.2 is the DCGAN paper's leak (seed 002's discriminator); the TF tutorial's LeakyReLU()
    # uses Keras' default 0.3, so pass alpha=0.3 to reproduce it.
    return layers.LeakyReLU(negative_slope=alpha, **options)


@ACTIVATIONS.register("relu_variant")
def _relu_variant(leak: float = RELU_VARIANT_LEAK, shift: float = RELU_VARIANT_SHIFT,
                  maximum: float | None = RELU_VARIANT_MAXIMUM, **options) -> layers.Layer:
    return ReluVariant(leak=leak, shift=shift, maximum=maximum, **options)


def make_activation(name: str, **options) -> layers.Layer:
    """A fresh activation layer: `relu`, `leaky_relu` (alpha=0.2), `relu_variant` (leak, shift, maximum).

    Extra keyword arguments go to the layer (e.g. `name=`). An unknown name raises ValueError with
    the close names.
    """
    return ACTIVATIONS.get(name)(**options)


def activation_names() -> list[str]:
    return ACTIVATIONS.names()


NORMALIZATIONS: Registry[Callable[..., layers.Layer | None]] = Registry("normalization")


@NORMALIZATIONS.register("batch")
def _batch(**options) -> layers.Layer:
    return layers.BatchNormalization(**options)


@NORMALIZATIONS.register("instance")
def _instance(**options) -> layers.Layer:
    # groups=-1 puts every channel in its own group: mean and variance per sample and channel over
    # the spatial axes, i.e. instance normalisation, with a learnable scale and offset per channel.
    # Unlike batch norm it behaves the same in training and inference and has no moving statistics.
    return layers.GroupNormalization(groups=-1, **options)


@NORMALIZATIONS.register("none")
def _none(**options) -> None:
    return None


def make_normalization(name: str, **options) -> layers.Layer | None:
    """A fresh normalisation layer for `batch` or `instance`, or None for `none` (skip the layer).

    Keyword arguments go to the layer (e.g. `momentum=0.8` for batch). Spectral normalisation is
    not here because it wraps a layer instead of following it: see `maybe_spectral`.
    """
    if name == "none" and options:
        raise ValueError(f"normalization 'none' takes no options, got {sorted(options)}")
    return NORMALIZATIONS.get(name)(**options)


def normalization_names() -> list[str]:
    return NORMALIZATIONS.names()


def maybe_spectral(layer: layers.Layer, enabled: bool, power_iterations: int = 1) -> layers.Layer:
    """`layer` wrapped in `keras.layers.SpectralNormalization` when `enabled`, else `layer` itself.

    Spectral normalisation divides the kernel by an estimate of its largest singular value (one
    power iteration per training call, refined over the steps), keeping the discriminator roughly
    1-Lipschitz (Miyato et al. 2018). Meant for the discriminator's Conv2D / Dense layers; the
    wrapper only updates its estimate when called with `training=True`. Keras 3's wrapper writes
    the normalised kernel back into the wrapped layer's kernel at each training call (gradients do
    not flow through the division by sigma, unlike the paper's formulation), so `layer.kernel`
    itself holds the normalised weights between steps.
    """
    if not enabled:
        return layer
    kernel_layers = (layers.Conv1D, layers.Conv2D, layers.Conv3D, layers.Conv2DTranspose, layers.Dense)
    if not isinstance(layer, kernel_layers):
        raise ValueError(
            f"spectral normalisation needs a layer with a kernel (Conv2D, Dense), got {type(layer).__name__}"
        )
    if power_iterations < 1:
        raise ValueError(f"power_iterations must be >= 1, got {power_iterations}")
    return layers.SpectralNormalization(layer, power_iterations=power_iterations)


# Doubling a feature map's height and width in a generator's decoder.
UPSAMPLINGS = ("transpose", "resize")


def check_upsampling(name: str, where: str = "upsampling") -> str:
    """`name` if it is one of UPSAMPLINGS, else ValueError naming the choices."""
    if name not in UPSAMPLINGS:
        raise ValueError(f"{where} must be 'transpose' (a stride-2 transposed convolution, the seeds') "
                         f"or 'resize' (nearest-neighbour upsampling then a 3x3 convolution: no "
                         f"checkerboard), got {name!r}")
    return name


def upsample(x, filters: int, kind: str, name: str):
    """`x` at twice its height and width with `filters` channels.

    "transpose": a 3x3 stride-2 transposed convolution. Its kernel overlaps unevenly on the output
    grid (3 is not a multiple of 2), which stamps the checkerboard seen in the seeds' paintings and
    translations (Odena, Dumoulin & Olah, "Deconvolution and Checkerboard Artifacts", 2016).
    "resize": nearest-neighbour upsampling, then a 3x3 convolution: every output pixel is made the
    same way, so no such pattern, for the same number of weights.
    """
    if check_upsampling(kind) == "transpose":
        return layers.Conv2DTranspose(filters, 3, strides=2, padding="same", name=name)(x)
    x = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_resize")(x)
    return layers.Conv2D(filters, 3, padding="same", name=name)(x)
