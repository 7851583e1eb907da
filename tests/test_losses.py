"""Adversarial losses against hand-computed values, the gradient penalty, and the label treatments."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from sketchdraw import losses

# Two examples: a confident and a fooled discriminator, logits of shape (batch, 1).
REAL_LOGITS = tf.constant([[2.0], [-1.0]])
FAKE_LOGITS = tf.constant([[0.5], [-3.0]])

# By hand; softplus(x) = log(1 + e^x) and bce(real) = softplus(-x), bce(fake) = softplus(x):
#   softplus(-2) = 0.126928, softplus(0.5) = 0.974077, softplus(1) = 1.313262,
#   softplus(-3) = 0.048587, softplus(-0.5) = 0.474077, softplus(3) = 3.048587.
EXPECTED = {
    "bce": ([0.126928 + 0.974077, 1.313262 + 0.048587], [0.474077, 3.048587]),
    # relu(1 - real) + relu(1 + fake): 0 + 1.5, 2 + 0; generator -fake.
    "hinge": ([1.5, 2.0], [-0.5, 3.0]),
    # 0.5 (real - 1)^2 + 0.5 fake^2: 0.5 + 0.125, 2 + 4.5; generator 0.5 (fake - 1)^2: 0.125, 8.
    "least_squares": ([0.625, 6.5], [0.125, 8.0]),
    # fake - real: 0.5 - 2, -3 + 1; generator -fake.
    "wgan_gp": ([-1.5, -2.0], [-0.5, 3.0]),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_loss_matches_hand_computed_values(name):
    loss = losses.get(name)
    discriminator_loss = loss.discriminator(REAL_LOGITS, FAKE_LOGITS)
    generator_loss = loss.generator(FAKE_LOGITS)
    assert discriminator_loss.shape == (2,) and generator_loss.shape == (2,)  # one value per example
    expected_discriminator, expected_generator = EXPECTED[name]
    np.testing.assert_allclose(discriminator_loss.numpy(), expected_discriminator, atol=1e-5)
    np.testing.assert_allclose(generator_loss.numpy(), expected_generator, atol=1e-5)


def test_losses_with_targets_take_labels():
    real_labels = tf.fill([2, 1], 0.9)
    fake_labels = tf.zeros([2, 1])
    # bce, real target 0.9 at logit 2: 2 - 2 * 0.9 + log(1 + e^-2) = 0.326928, plus softplus(0.5).
    bce = losses.get("bce").discriminator(REAL_LOGITS, FAKE_LOGITS, real_labels, fake_labels)
    assert bce.numpy()[0] == pytest.approx(0.326928 + 0.974077, abs=1e-5)
    # least squares, target 0.9: 0.5 * 1.1^2 + 0.5 * 0.5^2 = 0.605 + 0.125.
    squares = losses.get("least_squares").discriminator(REAL_LOGITS, FAKE_LOGITS, real_labels, fake_labels)
    assert squares.numpy()[0] == pytest.approx(0.73, abs=1e-5)


def test_registry_flags_and_names():
    assert losses.names() == ["bce", "hinge", "least_squares", "wgan_gp"]
    assert [name for name in losses.names() if losses.get(name).needs_gradient_penalty] == ["wgan_gp"]
    assert [name for name in losses.names() if losses.get(name).supports_labels] == ["bce", "least_squares"]
    with pytest.raises(ValueError, match="did you mean 'hinge'"):
        losses.get("hinj")


def linear_critic(kernel_norm: float, shape=(4, 4, 1)) -> keras.Model:
    """D(x) = w . x with ||w|| = kernel_norm: its input gradient has that norm everywhere."""
    model = keras.Sequential([keras.Input(shape), keras.layers.Flatten(), keras.layers.Dense(1)])
    weights = np.random.default_rng(0).normal(size=(int(np.prod(shape)), 1))
    weights = weights / np.linalg.norm(weights) * kernel_norm if kernel_norm else weights * 0
    model.layers[-1].set_weights([weights.astype("float32"), np.zeros(1, "float32")])
    return model


def images(seed, batch=8):
    return tf.random.stateless_uniform([batch, 4, 4, 1], seed=[seed, 0], minval=-1, maxval=1)


def test_gradient_penalty_is_zero_for_a_unit_gradient_critic():
    penalty = losses.gradient_penalty(linear_critic(1.0), images(1), images(2))
    assert penalty.shape == (8,)
    np.testing.assert_allclose(penalty.numpy(), 0.0, atol=1e-8)


def test_gradient_penalty_is_positive_otherwise():
    # ||grad|| = 3 everywhere: 10 * (3 - 1)^2 = 40 for every example.
    penalty = losses.gradient_penalty(linear_critic(3.0), images(1), images(2), weight=10.0)
    np.testing.assert_allclose(penalty.numpy(), 40.0, rtol=1e-5)


def test_gradient_penalty_stays_finite_where_the_gradient_vanishes():
    critic = linear_critic(0.0)  # zero gradient: sqrt'(0) would be infinite without the epsilon
    with tf.GradientTape() as tape:
        penalty = tf.reduce_mean(losses.gradient_penalty(critic, images(1), images(2)))
    gradients = tape.gradient(penalty, critic.trainable_variables)
    assert penalty.numpy() == pytest.approx(10.0, rel=1e-4)
    assert all(np.isfinite(gradient.numpy()).all() for gradient in gradients if gradient is not None)


def test_gradient_penalty_interpolates_with_one_uniform_weight_per_example():
    seen = []

    def recording_critic(inputs, training=False):
        seen.append(inputs)
        return tf.reduce_sum(inputs * inputs, axis=[1, 2, 3])

    real, fake = images(1, batch=64), images(2, batch=64)
    losses.gradient_penalty(recording_critic, real, fake, generator=tf.random.Generator.from_seed(3))
    mixing = ((seen[0] - real) / (fake - real)).numpy().reshape(64, -1)
    # The same weight for every pixel of an example...
    np.testing.assert_allclose(mixing, mixing[:, :1].repeat(mixing.shape[1], axis=1), atol=1e-3)
    # ...different weights across examples, all in [0, 1).
    assert mixing[:, 0].min() >= 0 and mixing[:, 0].max() < 1 and mixing[:, 0].std() > 0.1


def test_plain_labels_and_smoothing():
    real, fake = losses.make_labels(4)
    assert real.shape == (4, 1) and fake.shape == (4, 1)
    np.testing.assert_array_equal(real.numpy(), 1.0)
    np.testing.assert_array_equal(fake.numpy(), 0.0)
    real, fake = losses.make_labels(4, "smooth", smoothing=0.9)
    np.testing.assert_allclose(real.numpy(), 0.9)
    np.testing.assert_array_equal(fake.numpy(), 0.0)  # one-sided: the fake targets stay 0


def test_noisy_labels_stay_in_their_ranges():
    real, fake = losses.make_labels(20000, "noisy", generator=tf.random.Generator.from_seed(0))
    real, fake = real.numpy(), fake.numpy()
    assert real.min() >= 0.7 and real.max() <= 1.2 and real.mean() == pytest.approx(0.95, abs=0.01)
    assert fake.min() >= 0.0 and fake.max() <= 0.3 and fake.mean() == pytest.approx(0.15, abs=0.01)


def test_flips_swap_whole_examples_at_the_asked_rate():
    real, fake = losses.make_labels(20000, "flip", generator=tf.random.Generator.from_seed(0),
                                    flip_probability=0.25)
    real, fake = real.numpy(), fake.numpy()
    np.testing.assert_array_equal(real + fake, 1.0)  # each example's pair is swapped, not mixed
    assert (real == 0).mean() == pytest.approx(0.25, abs=0.01)


def test_labels_inside_tf_function_with_a_tensor_batch_size():
    generator = tf.random.Generator.from_seed(5)

    @tf.function
    def step(batch_of_images):
        return losses.make_labels(tf.shape(batch_of_images)[0], "noisy,flip", generator=generator,
                                  label_shape=())

    first, _ = step(tf.zeros([6, 28, 28, 1]))
    second, _ = step(tf.zeros([6, 28, 28, 1]))
    assert first.shape == (6,)
    assert not np.array_equal(first.numpy(), second.numpy())  # fresh noise every step


def test_bad_label_treatments():
    with pytest.raises(ValueError, match="did you mean 'smooth'"):
        losses.make_labels(2, "smoth")
    with pytest.raises(ValueError, match="pick one"):
        losses.make_labels(2, "smooth,noisy")
    with pytest.raises(ValueError, match="flip_probability"):
        losses.make_labels(2, "flip", flip_probability=1.5)
    with pytest.raises(ValueError, match="no real/fake targets"):
        losses.check_label_treatment(losses.get("hinge"), "smooth")
    losses.check_label_treatment(losses.get("hinge"), "none")
    losses.check_label_treatment(losses.get("bce"), "noisy,flip")


def test_r1_penalty_is_half_the_weight_times_the_squared_input_gradient():
    # D(x) = w . x: grad = w everywhere, so R1 = weight / 2 * ||w||^2 = 5 * 9 for every example.
    penalty = losses.r1_penalty(linear_critic(3.0), images(1), weight=10.0)
    assert penalty.shape == (8,)
    np.testing.assert_allclose(penalty.numpy(), 45.0, rtol=1e-5)


def test_r1_penalty_reaches_the_discriminator_weights():
    critic = linear_critic(2.0)
    with tf.GradientTape() as tape:
        penalty = tf.reduce_mean(losses.r1_penalty(critic, images(1), weight=1.0))
    kernel_gradient = tape.gradient(penalty, critic.layers[-1].kernel)
    # d/dw (||w||^2 / 2) = w: the penalty pulls the weights towards a flat discriminator.
    np.testing.assert_allclose(kernel_gradient.numpy(), critic.layers[-1].kernel.numpy(), rtol=1e-5)
    with pytest.raises(ValueError, match="R1 weight"):
        losses.r1_penalty(critic, images(1), weight=-1.0)
