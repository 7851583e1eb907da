"""What a run tells the world as it trains, besides its folder: TensorBoard event files, standard
Keras callbacks, and the closing summary line.

    tensorboard --logdir runs      # every run's runs/<name>/logs/: scalars, epoch grids, settings

`TensorBoardLog` is an epoch callback the skeleton adds after the user's own, so the columns those
add to the history row (the quality curve's) are logged too. `KerasCallbacks` hands the epochs to
`keras.callbacks.Callback` objects (EarlyStopping, CSVLogger, a user's own) as `fit` would.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import tensorflow as tf
from PIL import Image

from sketchdraw.artifacts import RunFolder

LOGS_FOLDER = "logs"

# history columns by what they are, as TensorBoard's sections: the first matching word wins
SECTIONS = (("quality", ("kid", "fid", "cs", "gd", "swd", "memor")),
            ("loss", ("loss",)),
            ("learning_rate", ("learning_rate", "lr")),
            ("discriminator", ("real", "fake", "generated", "score", "accuracy")),
            ("speed", ("seconds", "images_per_second", "updates")))


def section_of(column: str) -> str:
    words = column.lower().split("_")
    for section, keys in SECTIONS:
        if any(key in words or (len(key) > 3 and key in column.lower()) for key in keys):
            return section
    return "training"


def logged_values(row: dict) -> dict:
    """The finite numbers of a history row (text columns and missing values are no scalars)."""
    values = {}
    for key, value in row.items():
        if key == "epoch" or isinstance(value, bool):
            continue
        if isinstance(value, (int, float, np.number)) and math.isfinite(float(value)):
            values[key] = float(value)
    return values


class TensorBoardLog:
    """An epoch callback writing `run/logs/`: each history column as a scalar (by section), the
    epoch grid as an image and, once per call of `train`, the settings as a text table."""

    def __init__(self, run: RunFolder, settings: dict):
        self.run = run
        self.writer = tf.summary.create_file_writer(str(run.root / LOGS_FOLDER))
        self._settings = settings
        self._settings_written = False

    def __call__(self, end) -> None:
        with self.writer.as_default(step=end.epoch):
            if not self._settings_written:
                tf.summary.text("settings", settings_table(self._settings))
                self._settings_written = True
            for key, value in logged_values(end.row).items():
                tf.summary.scalar(f"{section_of(key)}/{key}", value)
            grid = self.run.epoch_image_path(end.epoch)
            if grid.exists():
                with Image.open(grid) as image:
                    pixels = np.asarray(image.convert("RGB"))
                tf.summary.image("epoch grid", pixels[None], max_outputs=1)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def settings_table(settings: dict) -> str:
    """The settings as a markdown table (TensorBoard's text tab renders markdown)."""
    lines = ["| setting | value |", "| --- | --- |"]
    lines += [f"| {key} | `{value!r}` |" for key, value in sorted(settings.items())]
    return "\n".join(lines)


class KerasCallbacks:
    """Standard `keras.callbacks.Callback` objects driven by the epoch loop, as `fit` drives them:
    `set_model` (the generator the grids show), `on_train_begin`, `on_epoch_end(epoch index, logs)`
    with the history row's numbers, `on_train_end`. A callback that sets `model.stop_training`
    (EarlyStopping) ends the run after that epoch, with its checkpoint saved."""

    def __init__(self, callbacks: Iterable):
        self.callbacks = list(callbacks)
        self._model = None
        self.logs: dict = {}

    def __bool__(self) -> bool:
        return bool(self.callbacks)

    def begin(self, generator) -> None:
        self._attach(generator)
        for callback in self.callbacks:
            callback.on_train_begin(logs={})

    def __call__(self, end) -> None:
        self._attach(end.generator)
        self.logs = logged_values(end.row)
        for callback in self.callbacks:
            callback.on_epoch_end(end.epoch - 1, logs=dict(self.logs))

    def end(self) -> None:
        for callback in self.callbacks:
            callback.on_train_end(logs=dict(self.logs))

    @property
    def stop_requested(self) -> bool:
        return bool(getattr(self._model, "stop_training", False))

    def _attach(self, model) -> None:
        if model is None or model is self._model:
            return
        self._model = model
        model.stop_training = False
        for callback in self.callbacks:
            callback.set_model(model)


def split_callbacks(callbacks: Iterable) -> tuple[list, KerasCallbacks]:
    """The epoch callbacks (one-argument callables) and the Keras ones, apart."""
    import keras

    plain, standard = [], []
    for callback in callbacks:
        (standard if isinstance(callback, keras.callbacks.Callback) else plain).append(callback)
    return plain, KerasCallbacks(standard)


def closing_summary(run: RunFolder, trained: int, total: int, seconds: float) -> str:
    """The last lines of a run: where it is, how long it took, how fast, what to open."""
    rows = run.read_history()[-trained:] if trained else []
    speeds = [float(row["images_per_second"]) for row in rows if row.get("images_per_second")]
    speed = f", {sum(speeds) / len(speeds):,.0f} images/s" if speeds else ""
    lines = [f"run {run.root}: {trained} epoch(s) trained in {_duration(seconds)}{speed}; "
             f"{_epochs_done(run)} of {total} done"]
    metric = _latest_metric(rows)
    if metric:
        lines.append(f"  quality at the last measured epoch: {metric}")
    lines.append(f"  open {run.root / 'index.html'}  ·  tensorboard --logdir {run.root.parent}")
    return "\n".join(lines)


def _epochs_done(run: RunFolder) -> int:
    history = run.read_history()
    return int(history[-1]["epoch"]) if history else 0


def _latest_metric(rows: list) -> str:
    for row in reversed(rows):
        found = {key: row[key] for key in ("kid_mean", "cs", "fid") if row.get(key) not in (None, "")}
        if found:
            return ", ".join(f"{key} {float(value):.4g}" for key, value in found.items()) + \
                f" (epoch {row['epoch']})"
    return ""


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s" if minutes else \
        f"{seconds}s"
