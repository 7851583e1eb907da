"""DiffAugment: shapes, value ranges, gradients, the empty policy, tf.function, and policy errors."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from sketchdraw.augment import diff_augment, parse_policy, policy_names

FULL_POLICY = "color,translation,cutout"


def _images(shape=(4, 16, 16, 3), seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, size=shape).astype("float32"))


def test_policy_names():
    assert policy_names() == ["color", "cutout", "page_cutout", "page_translation", "translation"]
    assert parse_policy(" color, translation ,cutout,") == ["color", "translation", "cutout"]


@pytest.mark.parametrize("policy", ["", None, " , "])
def test_empty_policy_is_the_identity(policy):
    images = _images()
    np.testing.assert_array_equal(diff_augment(images, policy).numpy(), images.numpy())


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", FULL_POLICY])
@pytest.mark.parametrize("shape", [(4, 16, 16, 3), (3, 28, 28, 1), (2, 64, 32, 3)])
def test_shape_and_dtype_are_kept(policy, shape):
    augmented = diff_augment(_images(shape), policy, seed=1)
    assert augmented.shape == shape
    assert augmented.dtype == tf.float32
    assert np.all(np.isfinite(augmented.numpy()))


def test_translation_and_cutout_only_move_or_zero_pixels():
    # They stay inside [-1, 1]: every output value is an input value or the zero fill.
    images = _images()
    for policy in ["translation", "cutout", "translation,cutout"]:
        augmented = diff_augment(images, policy, seed=2).numpy()
        assert augmented.min() >= -1 and augmented.max() <= 1
        assert np.all(np.isin(augmented, np.append(images.numpy(), 0.0)))


def test_translation_moves_by_at_most_one_eighth():
    ones = tf.ones((64, 16, 16, 1))
    shifted = diff_augment(ones, "translation", seed=3).numpy()[..., 0]
    # Zero fill covers at most 2 of 16 rows and 2 of 16 columns (1/8 of 16), and some images move.
    assert np.all(shifted[:, 2:14, 2:14] == 1)
    assert 0 < np.mean(shifted == 0) < 0.25


def test_cutout_erases_one_square_of_at_most_a_quarter():
    ones = tf.ones((64, 16, 16, 1))
    cut = diff_augment(ones, "cutout", seed=4).numpy()[..., 0]
    erased_fraction = np.mean(cut == 0, axis=(1, 2))
    assert np.all(erased_fraction > 0) and np.all(erased_fraction <= 0.25)
    for image in cut:
        rows, columns = np.nonzero(image == 0)
        # One rectangle: every pixel of its bounding box is erased, at most 8x8.
        assert np.all(image[rows.min():rows.max() + 1, columns.min():columns.max() + 1] == 0)
        assert rows.max() - rows.min() < 8 and columns.max() - columns.min() < 8


def test_color_range():
    # Color may leave [-1, 1] (brightness +-0.5, saturation x[0, 2], contrast x[0.5, 1.5]) and is not
    # clipped, to keep gradients. What holds exactly: saturation keeps each pixel's channel mean and
    # contrast keeps the image mean, so each image's mean moves by the brightness offset only.
    images = _images((32, 16, 16, 3))
    augmented = diff_augment(images, "color", seed=5).numpy()
    mean_shift = augmented.mean(axis=(1, 2, 3)) - images.numpy().mean(axis=(1, 2, 3))
    assert np.all(np.abs(mean_shift) <= 0.5 + 1e-5)
    assert np.abs(augmented).max() <= 9.0  # the analytic bound: 1.5 after brightness, x3 then x2


def test_saturation_is_a_no_op_on_one_channel():
    images = _images((8, 8, 8, 1))
    augmented = diff_augment(images, "color", seed=6).numpy()
    # Without saturation, color is an affine map per image: a*x + b with a in [0.5, 1.5].
    for original, result in zip(images.numpy(), augmented, strict=True):
        slope, intercept = np.polyfit(original.ravel(), result.ravel(), 1)
        np.testing.assert_allclose(result, slope * original + intercept, atol=1e-5)
        assert 0.5 - 1e-5 <= slope <= 1.5 + 1e-5


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", FULL_POLICY])
def test_gradients_reach_the_images(policy):
    images = tf.Variable(_images())
    weights = _images(seed=9)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(diff_augment(images, policy, seed=7) * weights)
    gradient = tape.gradient(loss, images)
    assert gradient is not None
    assert np.count_nonzero(gradient.numpy()) > 0.5 * gradient.shape.num_elements()


def test_seed_makes_it_reproducible():
    images = _images()
    first = diff_augment(images, FULL_POLICY, seed=11).numpy()
    np.testing.assert_array_equal(first, diff_augment(images, FULL_POLICY, seed=11).numpy())
    assert not np.array_equal(first, diff_augment(images, FULL_POLICY, seed=12).numpy())


def test_works_inside_tf_function_with_fresh_randomness_per_call():
    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    def augment_and_grad(images):
        with tf.GradientTape() as tape:
            tape.watch(images)
            augmented = diff_augment(images, FULL_POLICY)
            loss = tf.reduce_sum(augmented)
        return augmented, tape.gradient(loss, images)

    images = _images()
    first, gradient = augment_and_grad(images)
    second, _ = augment_and_grad(images)
    assert first.shape == images.shape
    assert np.count_nonzero(gradient.numpy()) > 0
    assert not np.array_equal(first.numpy(), second.numpy())  # no random numbers frozen at trace time
    assert augment_and_grad(_images((2, 32, 32, 3)))[0].shape == (2, 32, 32, 3)


def test_unknown_policy_names_suggest_close_ones():
    with pytest.raises(ValueError, match=r"unknown augment policy 'colour'; did you mean 'color'"):
        diff_augment(_images(), "colour,translation")
    with pytest.raises(ValueError, match="'translation'"):
        parse_policy("color,translaton")


@pytest.mark.parametrize("images, message", [
    (tf.zeros((2, 8, 8, 3), tf.uint8), "float images"),
    (tf.zeros((8, 8, 3)), "batches shaped"),
])
def test_bad_images_are_value_errors(images, message):
    with pytest.raises(ValueError, match=message):
        diff_augment(images, "color")


def test_policy_must_be_a_string():
    with pytest.raises(ValueError, match="comma-separated"):
        parse_policy(["color"])


def test_page_policies_fill_with_blank_page_not_grey():
    # A line drawing: ink (1) on a blank page (-1). The page_ variants never make a 0 (grey) pixel.
    drawing = -np.ones((64, 28, 28, 1), "float32")
    drawing[:, 8:20, 12:16] = 1.0
    for policy in ["page_translation", "page_cutout", "page_translation,page_cutout"]:
        augmented = diff_augment(tf.constant(drawing), policy, seed=5).numpy()
        assert set(np.unique(augmented)) <= {-1.0, 1.0}, policy
        assert not np.array_equal(augmented, drawing), policy
    # The same geometry as the paper's ops: the uncovered/erased pixels are where those put 0.
    zero_filled = diff_augment(tf.constant(drawing), "translation,cutout", seed=5).numpy()
    page_filled = diff_augment(tf.constant(drawing), "page_translation,page_cutout", seed=5).numpy()
    np.testing.assert_array_equal(np.where(zero_filled == 0, -1.0, zero_filled), page_filled)
