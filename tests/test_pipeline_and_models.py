"""The tf.data chain and the registered 28x28 model families, against the seeds' layer tables."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import tensorflow as tf

from sketchdraw import models, pipeline, quickdraw


def test_pipeline_range_shape_dtype_and_no_float_copy(quickdraw_mirror):
    drawings = quickdraw.load_bitmaps("rabbit", mirror=quickdraw_mirror)
    assert drawings.dtype == np.uint8
    before = drawings.copy()

    # numpy allocations are traced: a float32 copy of the set would be 4x its uint8 size.
    dataset = pipeline.quickdraw_dataset(drawings, batch_size=128, seed=0)
    tracemalloc.start()
    batches = list(dataset)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2 * drawings.nbytes, f"numpy peaked at {peak} bytes for a {drawings.nbytes}-byte set"
    assert len(batches) == len(drawings) // 128  # drop_remainder
    for batch in batches:
        assert batch.shape == (128, 28, 28, 1) and batch.dtype == tf.float32
        assert float(tf.reduce_min(batch)) >= -1.0 and float(tf.reduce_max(batch)) <= 1.0
    values = np.concatenate([b.numpy() for b in batches])
    assert values.min() == -1.0 and values.max() == 1.0
    # The source stays the same uint8 array: nothing converted it (or a copy of it) to float.
    np.testing.assert_array_equal(drawings, before)


def test_pipeline_batch_matches_the_source_rows(quickdraw_mirror):
    drawings = quickdraw.load_bitmaps("rabbit", limit=64, mirror=quickdraw_mirror)
    batch = next(iter(pipeline.quickdraw_dataset(drawings, 64, shuffle=False)))
    expected = drawings.reshape(-1, 28, 28, 1).astype(np.float32) / 127.5 - 1.0
    np.testing.assert_allclose(batch.numpy(), expected, atol=1e-6)


def test_pipeline_reshuffles_every_epoch(quickdraw_mirror):
    drawings = quickdraw.load_bitmaps("rabbit", limit=256, mirror=quickdraw_mirror)
    dataset = pipeline.quickdraw_dataset(drawings, 256, seed=3)
    first, second = (next(iter(dataset)).numpy() for _ in range(2))
    assert not np.array_equal(first, second)
    assert np.isclose(first.sum(), second.sum())  # same drawings, another order


def test_pipeline_rejects_bad_input():
    with pytest.raises(ValueError, match="uint8"):
        pipeline.quickdraw_dataset(np.zeros((10, 784), np.float32), 4)
    with pytest.raises(ValueError, match="larger than the 10"):
        pipeline.quickdraw_dataset(np.zeros((10, 784), np.uint8), 64)
    with pytest.raises(ValueError, match="batch_size"):
        pipeline.quickdraw_dataset(np.zeros((10, 784), np.uint8), 0)


# Seed 001 (the TF tutorial, as the rabbit notebook writes it): layer output shapes in order.
TUTORIAL_GENERATOR = [
    ("Dense", (None, 12544)), ("BatchNormalization", (None, 12544)), ("LeakyReLU", (None, 12544)),
    ("Reshape", (None, 7, 7, 256)),
    ("Conv2DTranspose", (None, 7, 7, 128)), ("BatchNormalization", (None, 7, 7, 128)),
    ("LeakyReLU", (None, 7, 7, 128)),
    ("Conv2DTranspose", (None, 14, 14, 64)), ("BatchNormalization", (None, 14, 14, 64)),
    ("LeakyReLU", (None, 14, 14, 64)),
    ("Conv2DTranspose", (None, 28, 28, 1)),
]
TUTORIAL_DISCRIMINATOR = [
    ("Conv2D", (None, 14, 14, 64)), ("LeakyReLU", (None, 14, 14, 64)), ("Dropout", (None, 14, 14, 64)),
    ("Conv2D", (None, 7, 7, 128)), ("LeakyReLU", (None, 7, 7, 128)), ("Dropout", (None, 7, 7, 128)),
    ("Flatten", (None, 6272)), ("Dense", (None, 1)),
]
# Seed 000 (the flower article's Keras models).
UPSAMPLE_GENERATOR = [
    ("Dense", (None, 6272)), ("Reshape", (None, 7, 7, 128)), ("BatchNormalization", (None, 7, 7, 128)),
    ("UpSampling2D", (None, 14, 14, 128)), ("Conv2D", (None, 14, 14, 128)),
    ("LeakyReLU", (None, 14, 14, 128)), ("BatchNormalization", (None, 14, 14, 128)),
    ("UpSampling2D", (None, 28, 28, 128)), ("Conv2D", (None, 28, 28, 64)),
    ("LeakyReLU", (None, 28, 28, 64)), ("BatchNormalization", (None, 28, 28, 64)),
    ("Conv2D", (None, 28, 28, 1)),
]
UPSAMPLE_DISCRIMINATOR = [
    ("Conv2D", (None, 14, 14, 64)), ("LeakyReLU", (None, 14, 14, 64)), ("Dropout", (None, 14, 14, 64)),
    ("Conv2D", (None, 7, 7, 128)), ("LeakyReLU", (None, 7, 7, 128)), ("Dropout", (None, 7, 7, 128)),
    ("Flatten", (None, 6272)), ("Dense", (None, 1)),
]


def layer_table(model):
    return [(type(layer).__name__, tuple(layer.output.shape)) for layer in model.layers]


@pytest.mark.parametrize("name, generator_table, discriminator_table", [
    ("tutorial", TUTORIAL_GENERATOR, TUTORIAL_DISCRIMINATOR),
    ("upsample", UPSAMPLE_GENERATOR, UPSAMPLE_DISCRIMINATOR),
])
def test_model_layers_follow_the_seed(name, generator_table, discriminator_table):
    family = models.get(name)
    generator = family.build_generator(noise_dim=100)
    discriminator = family.build_discriminator()
    assert layer_table(generator) == generator_table
    assert layer_table(discriminator) == discriminator_table
    noise = tf.random.normal([3, 100])
    drawings = generator(noise, training=False)
    assert drawings.shape == (3, 28, 28, 1)
    assert float(tf.reduce_max(tf.abs(drawings))) <= 1.0  # tanh
    assert discriminator(drawings, training=False).shape == (3, 1)


def test_the_tutorial_generator_has_the_tutorials_parameter_count():
    # 100*12544 + 4*12544 (BN) + 5*5*256*128 + 4*128 + 5*5*128*64 + 4*64 + 5*5*64*1
    assert models.get("tutorial").build_generator(100).count_params() == 2_330_944


def test_every_registered_family_builds_and_an_unknown_name_suggests():
    for name in models.names():
        family = models.get(name)
        generator = family.build_generator(noise_dim=100)
        assert tuple(generator.output_shape[1:]) == family.image_shape
        assert family.build_discriminator().output_shape == (None, 1)
    with pytest.raises(ValueError, match="did you mean 'tutorial'"):
        models.get("tutorail")
