"""Helpers that keep a GAN run healthy: a "stuck" detector and a moving average of the generator.

- `StuckDetector` is seed 002's gate: fed the generator and discriminator losses (per batch or per
  epoch), it notices when both have stopped changing over a window and, when given the optimizers,
  raises their learning rates by a factor (at most `max_raises` times), logging each action.
- `GeneratorEMA` keeps a copy of the generator whose weights are an exponential moving average of
  the trained ones; its `model` usually draws cleaner samples and is what the epoch grids and the
  saved generator use when the option is on.

Neither builds models, runs steps or writes files: the training loop calls them.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

import keras
import tensorflow as tf

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StuckEvent:
    """What the detector saw and did when it fired."""

    step: int  # how many loss pairs it had been fed when it fired (1-based)
    generator_loss_change: float  # relative range of the generator loss over the window
    discriminator_loss_change: float
    learning_rates: dict = field(default_factory=dict)  # optimizer name -> new rate, if raised
    message: str = ""

    @property
    def raised(self) -> bool:
        return bool(self.learning_rates)


def relative_change(values) -> float:
    """(max - min) / mean(|value|) over a window: 0 for a flat series, scale-free otherwise."""
    values = list(values)
    spread = max(values) - min(values)
    scale = sum(abs(value) for value in values) / len(values)
    # A window of zeros is flat; a tiny scale must not turn float noise into a huge ratio.
    return spread / max(scale, 1e-8)


class StuckDetector:
    """Fires when both losses moved less than `tolerance` (relative range) over `window` updates.

    `detector.update(generator_loss, discriminator_loss)` returns a `StuckEvent` when it fires and
    None otherwise. After firing it forgets the window, so it needs `window` fresh pairs before it
    can fire again. With `optimizers` (e.g. `{"generator": g_opt, "discriminator": d_opt}`) each
    firing multiplies their learning rates by `factor`, at most `max_raises` times over the run;
    later firings are still reported and logged, without raising.

    The window is counted in calls: per batch use e.g. window=200, per epoch e.g. window=3.
    """

    def __init__(self, window: int = 200, tolerance: float = 0.02, factor: float = 2.0,
                 max_raises: int = 3, optimizers: Mapping[str, keras.optimizers.Optimizer] | None = None):
        if window < 2:
            raise ValueError(f"window must be at least 2 loss pairs, got {window}")
        if tolerance <= 0:
            raise ValueError(f"tolerance must be > 0, got {tolerance}")
        if factor <= 0:
            raise ValueError(f"factor must be > 0 (2.0 doubles the learning rates), got {factor}")
        if max_raises < 0:
            raise ValueError(f"max_raises must be >= 0, got {max_raises}")
        self.window = int(window)
        self.tolerance = float(tolerance)
        self.factor = float(factor)
        self.max_raises = int(max_raises)
        self.optimizers = dict(optimizers or {})
        for name, optimizer in self.optimizers.items():
            # A LearningRateSchedule has no variable to assign; the gate would silently do nothing.
            if not hasattr(optimizer.learning_rate, "assign"):
                raise ValueError(f"optimizer {name!r} has a learning-rate schedule; the stuck "
                                 "detector can only raise a fixed learning rate")
        self.raises = 0
        self.steps_seen = 0
        self.events: list[StuckEvent] = []
        self._generator_losses: deque[float] = deque(maxlen=self.window)
        self._discriminator_losses: deque[float] = deque(maxlen=self.window)

    def update(self, generator_loss, discriminator_loss) -> StuckEvent | None:
        self.steps_seen += 1
        generator_loss, discriminator_loss = float(generator_loss), float(discriminator_loss)
        if not (math.isfinite(generator_loss) and math.isfinite(discriminator_loss)):
            # A NaN/inf loss is divergence, not a plateau: start the window again.
            self._generator_losses.clear()
            self._discriminator_losses.clear()
            return None
        self._generator_losses.append(generator_loss)
        self._discriminator_losses.append(discriminator_loss)
        if len(self._generator_losses) < self.window:
            return None
        generator_change = relative_change(self._generator_losses)
        discriminator_change = relative_change(self._discriminator_losses)
        if generator_change >= self.tolerance or discriminator_change >= self.tolerance:
            return None

        self._generator_losses.clear()
        self._discriminator_losses.clear()
        message = (f"losses stuck over the last {self.window} updates (step {self.steps_seen}): "
                   f"generator moved {generator_change:.2%}, discriminator {discriminator_change:.2%}"
                   f" (tolerance {self.tolerance:.2%})")
        new_rates = {}
        if self.optimizers and self.raises < self.max_raises:
            self.raises += 1
            for name, optimizer in self.optimizers.items():
                new_rate = float(optimizer.learning_rate.numpy()) * self.factor
                optimizer.learning_rate.assign(new_rate)
                new_rates[name] = new_rate
            rates = ", ".join(f"{name} {rate:.3g}" for name, rate in new_rates.items())
            message += f"; raised learning rates x{self.factor:g} ({self.raises}/{self.max_raises}): {rates}"
        elif self.optimizers:
            message += f"; learning rates already raised {self.max_raises} times, left as they are"
        event = StuckEvent(self.steps_seen, generator_change, discriminator_change, new_rates, message)
        self.events.append(event)
        logger.warning(message)
        return event

    def state(self) -> dict:
        """What a checkpoint needs to resume the detector (plain JSON-able values)."""
        return {"raises": self.raises, "steps_seen": self.steps_seen,
                "generator_losses": list(self._generator_losses),
                "discriminator_losses": list(self._discriminator_losses)}

    def restore(self, state: Mapping) -> None:
        self.raises = int(state["raises"])
        self.steps_seen = int(state["steps_seen"])
        self._generator_losses = deque(state["generator_losses"], maxlen=self.window)
        self._discriminator_losses = deque(state["discriminator_losses"], maxlen=self.window)


class GeneratorEMA:
    """A copy of `generator` whose weights follow it as ema = decay * ema + (1 - decay) * weight.

    Trainable weights are averaged; non-trainable ones (batch norm's moving mean and variance) are
    copied. Copied statistics belong to the live generator, not to the averaged weights, whose
    activations differ (the more, the faster the generator moves): call `refresh_statistics()`
    before drawing with `model` to give its batch norm layers the statistics of its own
    activations (BigGAN's "standing statistics"). Call `update()` after every generator step,
    eagerly or inside a `tf.function` (it only assigns variables). Under `tf.distribute`, create
    this inside `strategy.scope()` and call `update()` in cross-replica context (after
    `strategy.run`, not inside the replica function). Use `ema.model` for the epoch grids and the
    saved generator.

    decay=0.999 averages over roughly the last 1000 generator steps; for runs of a few hundred
    steps use a smaller decay (0.99) or the average lags behind the generator.
    """

    def __init__(self, generator: keras.Model, decay: float = 0.999):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        if not generator.built:
            raise ValueError("build the generator (give it an Input) before making its moving average")
        self.generator = generator
        self.decay = float(decay)
        # clone_model makes fresh variables with the same structure; set_weights copies the values.
        self.model = keras.models.clone_model(generator)
        self.model.set_weights(generator.get_weights())
        trained_ids = {id(variable) for variable in generator.trainable_weights}
        self._pairs = []
        for source, average in zip(generator.weights, self.model.weights, strict=True):
            if tuple(source.shape) != tuple(average.shape):
                raise ValueError(f"clone of {generator.name} differs at {source.path}: "
                                 f"{source.shape} vs {average.shape}")
            self._pairs.append((source, average, id(source) in trained_ids))
        # Only update() changes the copy; nothing should train it by accident.
        self.model.trainable = False

    def update(self) -> None:
        decay = self.decay
        for source, average, trained in self._pairs:
            if trained:
                average.assign(decay * average + (1.0 - decay) * source)
            else:
                average.assign(source)

    def refresh_statistics(self, count: int = 256, seed: int = 0, inputs=None) -> None:
        """Set every batch norm layer's moving mean/variance of the averaged copy to the statistics
        of its own activations on `count` noise vectors (`refresh_batch_norm`; `inputs`: what a
        generator of several inputs is given instead, e.g. [noise, labels])."""
        refresh_batch_norm(self.model, count, seed, inputs)

    def reset(self) -> None:
        """Copy the generator's current weights (e.g. after restoring a checkpoint without the EMA)."""
        for source, average, _ in self._pairs:
            average.assign(source)


def refresh_batch_norm(model, count: int = 256, seed: int = 0, inputs=None) -> None:
    """Set every batch norm layer's moving mean/variance in `model` (a generator taking noise) to
    the statistics of its own activations on `count` noise vectors: one forward pass in training
    mode with momentum 0; nothing else changes. For weights that no training step produced (a
    moving or a plain average). Eager only; a no-op without batch norm."""
    norms = [layer for layer in _all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
    if not norms:
        return
    saved = [(layer, layer.momentum, layer.trainable) for layer in norms]
    noise = inputs if inputs is not None else \
        tf.random.stateless_normal([count, *model.input_shape[1:]], seed=[seed, 7])
    try:
        for layer in norms:
            layer.momentum, layer.trainable = 0.0, True
        model(noise, training=True)
    finally:
        for layer, momentum, trainable in saved:
            layer.momentum, layer.trainable = momentum, trainable


def _all_layers(model) -> list:
    """Every layer inside `model`, nested models' layers included."""
    found = []
    for layer in getattr(model, "layers", []):
        found.append(layer)
        found.extend(_all_layers(layer))
    return found
