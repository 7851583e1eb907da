"""TensorBoard event files from every family, Keras callbacks in the epoch loop, the closing line."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from sketchdraw import cyclegan, dcgan
from sketchdraw.summaries import LOGS_FOLDER, section_of


def _doodles(count: int = 64) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (count, 784), dtype=np.uint8)


def _events(run_root) -> EventAccumulator:
    accumulator = EventAccumulator(str(run_root / LOGS_FOLDER), size_guidance={"tensors": 0})
    accumulator.Reload()
    return accumulator


def _tiny(tmp_path, **settings) -> dcgan.RunConfig:
    return dcgan.resolve("rabbit", **{**dict(epochs=2, batch_size=32, runs_dir=str(tmp_path),
                                             name="run", progress=False), **settings})


def test_a_dcgan_run_writes_scalars_grids_and_settings_that_tensorboard_reads(tmp_path):
    result = dcgan.train(_tiny(tmp_path), images=_doodles())
    events = _events(result.run.root)
    tags = events.Tags()["tensors"]  # TF2 summaries are stored as tensors
    assert "loss/generator_loss" in tags and "loss/discriminator_loss" in tags, tags
    assert "speed/images_per_second" in tags
    losses = events.Tensors("loss/generator_loss")
    assert [event.step for event in losses] == [1, 2]
    history = result.run.read_history()
    assert [float(tf.make_ndarray(event.tensor_proto)) for event in losses] == pytest.approx(
        [row["generator_loss"] for row in history], rel=1e-6)
    grids = events.Tensors("epoch grid")
    assert [event.step for event in grids] == [1, 2]
    encoded_png = tf.make_ndarray(grids[-1].tensor_proto)[2]  # width, height, PNG bytes
    assert encoded_png.startswith(b"\x89PNG")
    settings = tf.make_ndarray(events.Tensors("settings")[0].tensor_proto).item().decode()
    assert "| batch_size | `32` |" in settings


def test_a_resumed_run_appends_to_the_same_logs(tmp_path):
    dcgan.train(_tiny(tmp_path, epochs=1), images=_doodles())
    result = dcgan.train(_tiny(tmp_path, epochs=2), images=_doodles())
    steps = sorted(event.step for event in _events(result.run.root).Tensors("loss/generator_loss"))
    assert steps == [1, 2]


def test_a_cyclegan_run_writes_its_own_losses(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    config = cyclegan.resolve("photo2vangogh", epochs=1, image_size=16, runs_dir=str(tmp_path),
                              name="cycle", progress=False, residual_blocks=1,
                              generator_filters=4, discriminator_filters=4, batch_size=2)
    result = cyclegan.train_cycle(config, images, images)
    tags = _events(result.run.root).Tags()["tensors"]
    assert any(tag.startswith("loss/") and "cycle" in tag for tag in tags), tags
    assert "epoch grid" in tags


class _StopAfterFirstEpoch(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_begin(self, logs=None):
        self.seen.append(("begin", None))

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append((epoch, sorted(logs)))
        self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.seen.append(("end", None))


def test_keras_callbacks_get_the_epochs_and_may_stop_the_run(tmp_path):
    stopper = _StopAfterFirstEpoch()
    csv_path = tmp_path / "keras_log.csv"
    result = dcgan.train(_tiny(tmp_path, epochs=3, checkpoint_every=5), images=_doodles(),
                         callbacks=[stopper, keras.callbacks.CSVLogger(str(csv_path))])
    assert result.epochs_trained == 1
    assert stopper.seen[0] == ("begin", None) and stopper.seen[-1] == ("end", None)
    assert stopper.seen[1][0] == 0 and "generator_loss" in stopper.seen[1][1]
    assert stopper.model is result.generator
    assert "generator_loss" in csv_path.read_text().splitlines()[0]
    # stopped early, the epoch is checkpointed although checkpoint_every=5: a rerun goes on from it
    resumed = dcgan.train(_tiny(tmp_path, epochs=2, checkpoint_every=5), images=_doodles())
    assert resumed.epochs_trained == 1


def test_history_columns_fall_into_sections():
    assert section_of("kid_mean") == "quality" and section_of("cs") == "quality"
    assert section_of("generator_loss") == "loss"
    assert section_of("generator_learning_rate") == "learning_rate"
    assert section_of("images_per_second") == "speed"
    assert section_of("something_else") == "training"


def test_the_closing_summary_says_where_how_long_and_what_to_open(tmp_path, capsys):
    dcgan.train(_tiny(tmp_path, progress=True), images=_doodles())
    err = capsys.readouterr().err
    closing = err[err.index("run " + str(tmp_path / "run")):]
    assert "2 epoch(s) trained in" in closing and "images/s" in closing and "2 of 2 done" in closing
    assert "index.html" in closing and "tensorboard --logdir" in closing
