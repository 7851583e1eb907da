"""`wikiart64` reproduces seed 004's layer tables (Figures 3 and 6) layer by layer."""

from __future__ import annotations

import numpy as np
import pytest

import sketchdraw.models.wikiart64  # noqa: F401  (registers the family until models/__init__ imports it)
from sketchdraw import models

# Seed 004, Figure 3 (generator): (layer type, output shape, parameter count), copied from the paper.
GENERATOR_TABLE = [
    ("Dense", (None, 1, 1, 8192), 827392),
    ("Reshape", (None, 4, 4, 512), 0),
    ("BatchNormalization", (None, 4, 4, 512), 2048),
    ("Activation", (None, 4, 4, 512), 0),
    ("Conv2DTranspose", (None, 8, 8, 256), 3277056),
    ("BatchNormalization", (None, 8, 8, 256), 1024),
    ("Activation", (None, 8, 8, 256), 0),
    ("Conv2DTranspose", (None, 16, 16, 128), 819328),
    ("BatchNormalization", (None, 16, 16, 128), 512),
    ("Activation", (None, 16, 16, 128), 0),
    ("Conv2DTranspose", (None, 32, 32, 64), 204864),
    ("BatchNormalization", (None, 32, 32, 64), 256),
    ("Activation", (None, 32, 32, 64), 0),
    ("Conv2DTranspose", (None, 64, 64, 3), 4803),
    ("Activation", (None, 64, 64, 3), 0),
]

# Seed 004, Figure 6 (discriminator), without its last row, activation_18 (Activation) (None, 1) 0:
# that sigmoid lives in the loss here, the model returns the logit.
DISCRIMINATOR_TABLE = [
    ("Conv2D", (None, 32, 32, 64), 4864),
    ("LeakyReLU", (None, 32, 32, 64), 0),
    ("Conv2D", (None, 16, 16, 128), 204928),
    ("BatchNormalization", (None, 16, 16, 128), 512),
    ("LeakyReLU", (None, 16, 16, 128), 0),
    ("Conv2D", (None, 8, 8, 256), 819456),
    ("BatchNormalization", (None, 8, 8, 256), 1024),
    ("LeakyReLU", (None, 8, 8, 256), 0),
    ("Conv2D", (None, 4, 4, 512), 3277312),
    ("BatchNormalization", (None, 4, 4, 512), 2048),
    ("LeakyReLU", (None, 4, 4, 512), 0),
    ("Flatten", (None, 8192), 0),
    ("Dense", (None, 1), 8193),
]


def _table(model):
    return [(type(layer).__name__, tuple(layer.output.shape), layer.count_params())
            for layer in model.layers]


@pytest.fixture(scope="module")
def family():
    return models.get("wikiart64")


def test_family_is_registered_with_the_painting_shape(family):
    assert "wikiart64" in models.names()
    assert family.image_shape == (64, 64, 3)


def test_generator_matches_figure_3(family):
    generator = family.build_generator(noise_dim=100)
    rows = _table(generator)
    # The only layer the table lacks: a 0-parameter reshape of the (batch, 100) noise to (1, 1, 100),
    # which is what gives the table's Dense its (None, 1, 1, 8192) output.
    assert rows[0] == ("Reshape", (None, 1, 1, 100), 0)
    assert rows[1:] == GENERATOR_TABLE
    assert generator.count_params() == sum(count for _, _, count in GENERATOR_TABLE) == 5137283
    assert 100 * 8192 + 8192 == 827392


def test_discriminator_matches_figure_6(family):
    discriminator = family.build_discriminator()
    assert _table(discriminator) == DISCRIMINATOR_TABLE
    assert discriminator.count_params() == sum(count for _, _, count in DISCRIMINATOR_TABLE) == 4318337


def test_models_run_end_to_end(family):
    generator = family.build_generator()
    discriminator = family.build_discriminator()
    images = generator(np.random.default_rng(0).normal(size=(2, 100)).astype("float32"), training=False)
    assert images.shape == (2, 64, 64, 3)
    assert float(np.max(np.abs(images))) <= 1.0
    logits = discriminator(images, training=False)
    assert logits.shape == (2, 1)
    # A logit, not a probability: the last layer is a plain Dense with no activation.
    assert discriminator.layers[-1].get_config()["activation"] == "linear"


def test_l2_adds_a_penalty_per_convolution_kernel(family):
    assert family.build_generator().losses == []
    assert family.build_discriminator().losses == []
    generator = family.build_generator(l2=1e-7)
    discriminator = family.build_discriminator(l2=1e-7)
    assert len(generator.losses) == 4  # the four transposed convolutions
    assert len(discriminator.losses) == 4  # the four convolutions
    assert all(float(loss) > 0 for loss in generator.losses + discriminator.losses)


def test_leaky_slope_option(family):
    default = family.build_discriminator()
    assert {layer.negative_slope for layer in default.layers if type(layer).__name__ == "LeakyReLU"} == {0.2}
    steeper = family.build_discriminator(leaky_slope=0.3)
    assert {layer.negative_slope for layer in steeper.layers if type(layer).__name__ == "LeakyReLU"} == {0.3}


def test_other_image_sizes_keep_the_pattern(family):
    generator = family.build_generator(noise_dim=16, image_size=32)
    assert generator.output_shape == (None, 32, 32, 3)
    discriminator = family.build_discriminator(image_shape=(32, 32, 3))
    assert discriminator.output_shape == (None, 1)


@pytest.mark.parametrize("options", [{"image_size": 48}, {"image_size": 4}, {"l2": -1.0}, {"noise_dim": 0}])
def test_bad_generator_options_are_value_errors(family, options):
    with pytest.raises(ValueError, match="wikiart64"):
        family.build_generator(**options)


@pytest.mark.parametrize("options", [{"image_shape": (64, 32, 3)}, {"leaky_slope": -0.1}, {"l2": "big"}])
def test_bad_discriminator_options_are_value_errors(family, options):
    with pytest.raises(ValueError, match="wikiart64"):
        family.build_discriminator(**options)
