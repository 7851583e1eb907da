"""The stuck detector (seed 002's gate) and the generator's exponential moving average."""

from __future__ import annotations

import logging
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from sketchdraw.stabilisers import GeneratorEMA, StuckDetector


def flat_losses(count, generator_level=0.69, discriminator_level=1.38):
    # Tiny wobble (0.01%), as a stuck GAN's losses show.
    return [(generator_level * (1 + 1e-4 * math.sin(step)), discriminator_level * (1 - 1e-4 * math.cos(step)))
            for step in range(count)]


def moving_losses(count):
    return [(1.0 + 0.5 * math.sin(step / 3), 1.2 - 0.4 * math.cos(step / 5)) for step in range(count)]


def test_fires_on_a_flat_series():
    detector = StuckDetector(window=10, tolerance=0.01)
    events = [detector.update(*pair) for pair in flat_losses(10)]
    assert events[:9] == [None] * 9  # not before the window is full
    assert events[9] is not None and events[9].step == 10
    assert events[9].generator_loss_change < 0.01 and not events[9].raised


def test_does_not_fire_on_a_moving_series():
    detector = StuckDetector(window=10, tolerance=0.01)
    assert [detector.update(*pair) for pair in moving_losses(200)] == [None] * 200
    assert detector.events == []


def test_one_flat_loss_is_not_enough():
    detector = StuckDetector(window=10, tolerance=0.01)
    pairs = [(0.7, moving[1]) for moving in moving_losses(50)]
    assert all(detector.update(*pair) is None for pair in pairs)


def test_raises_learning_rates_up_to_max_raises(caplog):
    generator_optimizer = keras.optimizers.Adam(learning_rate=2e-4)
    discriminator_optimizer = keras.optimizers.Adam(learning_rate=1e-4)
    detector = StuckDetector(window=5, tolerance=0.01, factor=2.0, max_raises=1,
                             optimizers={"generator": generator_optimizer,
                                         "discriminator": discriminator_optimizer})
    with caplog.at_level(logging.WARNING, logger="sketchdraw.stabilisers"):
        events = [event for pair in flat_losses(10) if (event := detector.update(*pair))]
    # The window starts afresh after each firing: steps 5 and 10, not 5, 6, 7, ...
    assert [event.step for event in events] == [5, 10]
    assert events[0].learning_rates == pytest.approx({"generator": 4e-4, "discriminator": 2e-4})
    assert float(generator_optimizer.learning_rate.numpy()) == pytest.approx(4e-4)
    assert float(discriminator_optimizer.learning_rate.numpy()) == pytest.approx(2e-4)
    assert not events[1].raised and "already raised 1 times" in events[1].message
    assert len(caplog.records) == 2 and "raised learning rates x2" in caplog.records[0].getMessage()


def test_nan_restarts_the_window():
    detector = StuckDetector(window=5, tolerance=0.01)
    pairs = flat_losses(4) + [(float("nan"), 1.0)] + flat_losses(4)
    assert all(detector.update(*pair) is None for pair in pairs)
    assert detector.update(0.69, 1.38) is not None


def test_state_round_trip_and_bad_settings():
    detector = StuckDetector(window=5, tolerance=0.01)
    for pair in flat_losses(3):
        detector.update(*pair)
    resumed = StuckDetector(window=5, tolerance=0.01)
    resumed.restore(detector.state())
    events = [resumed.update(*pair) for pair in flat_losses(2)]
    assert events[-1] is not None and events[-1].step == 5
    with pytest.raises(ValueError, match="window"):
        StuckDetector(window=1)
    with pytest.raises(ValueError, match="factor"):
        StuckDetector(factor=0)
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, 100, 0.9)
    with pytest.raises(ValueError, match="schedule"):
        StuckDetector(optimizers={"generator": keras.optimizers.Adam(learning_rate=schedule)})


def small_generator() -> keras.Model:
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.BatchNormalization()])


def shifted(weights, amount):
    return [weight + amount for weight in weights]


def test_ema_follows_the_training_weights_at_the_decay_rate():
    keras.utils.set_random_seed(0)
    generator = small_generator()
    first_weights = generator.get_weights()
    ema = GeneratorEMA(generator, decay=0.9)
    assert ema.model is not generator

    second_weights = shifted(first_weights, 1.0)
    generator.set_weights(second_weights)
    # The copy has its own variables: it does not move until update().
    for before, now in zip(first_weights, ema.model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, now)

    ema.update()
    trainable_count = len(generator.trainable_weights)  # kernel, bias, gamma, beta come first
    averaged = ema.model.get_weights()
    for first, second, now in zip(first_weights[:trainable_count], second_weights[:trainable_count],
                                  averaged[:trainable_count], strict=True):
        np.testing.assert_allclose(now, 0.9 * first + 0.1 * second, rtol=1e-6)
    # Batch norm's moving mean and variance are copied, not averaged.
    for second, now in zip(second_weights[trainable_count:], averaged[trainable_count:], strict=True):
        np.testing.assert_allclose(now, second)


def test_ema_update_inside_tf_function():
    generator = small_generator()
    first_weights = generator.get_weights()
    ema = GeneratorEMA(generator, decay=0.5)
    generator.set_weights(shifted(first_weights, 4.0))
    update = tf.function(ema.update)
    update()
    update()
    # Two steps of decay 0.5 towards w0 + 4: w0 + 4 * (1 - 0.5^2) = w0 + 3.
    kernel_index = 0
    np.testing.assert_allclose(ema.model.get_weights()[kernel_index], first_weights[kernel_index] + 3.0, rtol=1e-6)
    np.testing.assert_allclose(ema.model.predict(np.zeros((1, 3)), verbose=0).shape, (1, 4))


def test_ema_bad_decay():
    with pytest.raises(ValueError, match="decay"):
        GeneratorEMA(small_generator(), decay=1.0)


def test_refreshed_statistics_belong_to_the_averaged_weights():
    from sketchdraw.models import quickdraw28

    generator = quickdraw28.upsample_generator()
    ema = GeneratorEMA(generator, decay=0.5)
    rng = np.random.default_rng(0)
    for variable in generator.trainable_weights:  # the live generator moves far from the copy
        variable.assign(variable + rng.normal(0, 0.2, variable.shape).astype("float32"))
    ema.update()
    live_statistics = [weight.numpy().copy() for weight in generator.non_trainable_weights]
    noise = tf.random.stateless_normal([512, 100], seed=[3, 7])

    ema.refresh_statistics(count=512, seed=3)
    norms = [layer for layer in ema.model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and all(layer.momentum == 0.8 and not layer.trainable for layer in norms)
    # Inference with the refreshed statistics reproduces training mode on the same noise batch.
    for layer in norms:
        layer.trainable = True
    in_training_mode = ema.model(noise, training=True).numpy()
    for layer in norms:
        layer.trainable = False
    np.testing.assert_allclose(ema.model(noise, training=False).numpy(), in_training_mode, atol=2e-3)
    # The live generator's statistics are untouched; the copy's now differ from them.
    for before, weight in zip(live_statistics, generator.non_trainable_weights):
        np.testing.assert_array_equal(before, weight.numpy())
    assert not np.allclose(norms[0].moving_mean.numpy(), generator.layers[2].moving_mean.numpy())


def test_refreshing_a_generator_without_batch_norm_changes_nothing():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    ema = GeneratorEMA(model, decay=0.9)
    before = [weight.numpy().copy() for weight in ema.model.weights]
    ema.refresh_statistics()
    for old, weight in zip(before, ema.model.weights):
        np.testing.assert_array_equal(old, weight.numpy())
