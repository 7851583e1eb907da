"""Activation and normalisation options: the ReLU variant's values, instance norm, spectral norm."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from sketchdraw import layers as sketch_layers


def test_relu_variant_values_at_chosen_points():
    # leaky_relu(x, 0.1), then -0.4, then capped at 6.0 (fastai's GeneralRelu order), by hand:
    points = np.array([-10.0, -1.0, 0.0, 1.0, 5.0, 6.4, 100.0], dtype="float32")
    expected = np.array([-1.4, -0.5, -0.4, 0.6, 4.6, 6.0, 6.0], dtype="float32")
    activation = sketch_layers.make_activation("relu_variant")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(activation(points)), expected, atol=1e-6)


def test_relu_variant_survives_saving(tmp_path):
    model = keras.Sequential([keras.Input((3,)), sketch_layers.make_activation("relu_variant", maximum=2.0)])
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    points = np.array([[-1.0, 1.0, 50.0]], dtype="float32")
    np.testing.assert_allclose(reloaded.predict(points, verbose=0), [[-0.5, 0.6, 2.0]], atol=1e-6)


def test_relu_and_leaky_relu():
    points = np.array([-10.0, 3.0], dtype="float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(sketch_layers.make_activation("relu")(points)), [0.0, 3.0])
    leaky = sketch_layers.make_activation("leaky_relu", alpha=0.3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(leaky(points)), [-3.0, 3.0], atol=1e-6)
    assert sketch_layers.activation_names() == ["leaky_relu", "relu", "relu_variant"]


def test_unknown_names_suggest_close_ones():
    with pytest.raises(ValueError, match="did you mean 'relu_variant'"):
        sketch_layers.make_activation("relu_varient")
    with pytest.raises(ValueError, match="did you mean 'instance'"):
        sketch_layers.make_normalization("instanse")


def test_normalization_registry():
    assert isinstance(sketch_layers.make_normalization("batch", momentum=0.8), layers.BatchNormalization)
    assert isinstance(sketch_layers.make_normalization("instance"), layers.GroupNormalization)
    assert sketch_layers.make_normalization("none") is None
    assert sketch_layers.normalization_names() == ["batch", "instance", "none"]


def test_instance_norm_is_zero_mean_unit_variance_per_sample_and_channel():
    rng = np.random.default_rng(0)
    # Each sample and channel with its own offset and scale, so batch statistics would not do.
    images = (rng.normal(size=(3, 6, 6, 4)) * rng.uniform(2, 5, size=(3, 1, 1, 4))
              + rng.uniform(-10, 10, size=(3, 1, 1, 4))).astype("float32")
    normalized = keras.ops.convert_to_numpy(sketch_layers.make_normalization("instance")(images))
    np.testing.assert_allclose(normalized.mean(axis=(1, 2)), 0.0, atol=1e-4)
    # epsilon 1e-3 against variances of 4 to 25: within a few parts in ten thousand of 1.
    np.testing.assert_allclose(normalized.var(axis=(1, 2)), 1.0, atol=1e-3)


def largest_singular_value(kernel) -> float:
    kernel = keras.ops.convert_to_numpy(kernel)
    return float(np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0])


@pytest.mark.parametrize("make_layer, input_shape", [
    (lambda: layers.Conv2D(8, 3, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0)), (5, 5, 3)),
    (lambda: layers.Dense(6, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0)), (10,)),
])
def test_spectral_normalization_bounds_the_spectral_norm(make_layer, input_shape):
    keras.utils.set_random_seed(1)
    wrapped = sketch_layers.maybe_spectral(make_layer(), enabled=True)
    inputs = np.ones((2, *input_shape), dtype="float32")
    wrapped(inputs)  # builds the kernel
    assert largest_singular_value(wrapped.layer.kernel) > 3.0  # stddev 1: far from 1 to begin with
    for _ in range(20):  # one power iteration per training call
        wrapped(inputs, training=True)
    assert largest_singular_value(wrapped.layer.kernel) == pytest.approx(1.0, abs=0.02)


def test_maybe_spectral_off_and_bad_layer():
    dense = layers.Dense(3)
    assert sketch_layers.maybe_spectral(dense, enabled=False) is dense
    assert isinstance(sketch_layers.maybe_spectral(dense, enabled=True), layers.SpectralNormalization)
    with pytest.raises(ValueError, match="kernel"):
        sketch_layers.maybe_spectral(layers.ReLU(), enabled=True)
