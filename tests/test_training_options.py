"""The training controls (seed 002's schedule and stabilisers, seed 003/004's label tricks,
DiffAugment, EMA) and the other data sources, each shown to do what it says."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from sketchdraw import dcgan, loop, losses, models, quickdraw, skeleton, strokes
from sketchdraw.pipeline import quickdraw_dataset


@pytest.fixture(scope="module")
def rabbits(quickdraw_mirror) -> np.ndarray:
    return quickdraw.load_bitmaps("rabbit", limit=160, mirror=quickdraw_mirror)


def config_for(tmp_path, experiment="rabbit", **overrides):
    settings = dict(epochs=1, batch_size=32, limit=160, checkpoint_every=1,
                    runs_dir=str(tmp_path), progress=False)
    settings.update(overrides)
    return dcgan.resolve(experiment, **settings)


def test_step_schedule_follows_the_ratio_per_batch():
    two_generator_steps = dcgan.step_schedule(generator_steps_per_discriminator_step=2)
    assert [two_generator_steps(i) for i in range(4)] == ["both", "generator", "both", "generator"]
    three_discriminator_steps = dcgan.step_schedule(discriminator_steps_per_generator_step=3)
    assert [three_discriminator_steps(i) for i in range(6)] == [
        "discriminator", "discriminator", "both", "discriminator", "discriminator", "both"]
    warm = dcgan.step_schedule(discriminator_warmup_batches=3)
    assert [warm(i) for i in range(5)] == ["discriminator"] * 3 + ["both"] * 2


@pytest.mark.parametrize("schedule_settings, generator_steps, discriminator_steps", [
    ({"generator_steps_per_discriminator_step": 2}, 5, 3),
    ({"discriminator_steps_per_generator_step": 2}, 2, 5),
    ({"discriminator_warmup_batches": 2}, 3, 5),
])
def test_optimizer_step_counts_follow_the_schedule(rabbits, schedule_settings, generator_steps,
                                                   discriminator_steps):
    family = models.get("tutorial")
    generator, discriminator = family.build_generator(100), family.build_discriminator()
    generator_optimizer = skeleton.adam(1e-3, 0.5, generator)
    discriminator_optimizer = skeleton.adam(1e-3, 0.5, discriminator)
    steps = {variant: dcgan.make_train_step(
        generator, discriminator, generator_optimizer, discriminator_optimizer, losses.get("bce"),
        32, 100, update_generator=variant != "discriminator",
        update_discriminator=variant != "generator") for variant in ("both", "generator",
                                                                     "discriminator")}
    dataset = quickdraw_dataset(rabbits, 32, seed=0)  # 5 batches
    batches_done = tf.Variable(0, dtype=tf.int64)
    row = loop.run_epoch(steps, dataset, 5, 32, "test", progress=False,
                         schedule=dcgan.step_schedule(**schedule_settings),
                         batches_done=batches_done)
    assert int(generator_optimizer.iterations.numpy()) == generator_steps
    assert int(discriminator_optimizer.iterations.numpy()) == discriminator_steps
    assert row["generator_updates"] == generator_steps
    assert row["discriminator_updates"] == discriminator_steps
    assert int(batches_done.numpy()) == 5


@pytest.mark.parametrize("overrides", [
    {"loss": "hinge"},
    {"loss": "least_squares", "label_treatment": "smooth"},
    {"loss": "wgan_gp"},
    {"label_treatment": "noisy,flip"},
    {"augment": "translation,cutout"},
    {"augment": "page_translation,page_cutout", "r1_weight": 1.0},
    {"activation": "relu_variant", "spectral_norm": True},
    {"normalization": "instance", "discriminator_normalization": "batch"},
    {"ema_decay": 0.9},
    {"model": "upsample", "generator_beta2": 0.99, "discriminator_beta2": 0.9},
], ids=lambda overrides: ",".join(f"{k}={v}" for k, v in overrides.items()))
def test_each_option_trains_with_finite_losses(tmp_path, rabbits, overrides):
    result = dcgan.train(config_for(tmp_path, **overrides), images=rabbits)
    row = result.run.read_history()[-1]
    for key in ("generator_loss", "discriminator_loss", "discriminator_real_probability",
                "discriminator_fake_probability", "discriminator_accuracy"):
        assert np.isfinite(row[key]), key
    assert result.run.generator_path.exists()


def test_the_moving_average_generator_is_what_the_grids_and_saved_model_use(tmp_path, rabbits):
    result = dcgan.train(config_for(tmp_path, ema_decay=0.5), images=rabbits)
    checkpoint_keys = {name for name, _ in tf.train.list_variables(
        tf.train.latest_checkpoint(str(result.run.checkpoints_dir)))}
    assert any(key.startswith("ema_generator/") for key in checkpoint_keys)
    assert result.generator.name != "" and not result.generator.trainable


def test_the_stuck_detector_raises_learning_rates_and_logs_it(tmp_path, rabbits):
    # A tolerance this wide calls any window "stuck": the gate must act and say so.
    config = config_for(tmp_path, stuck_window=2, stuck_tolerance=1e6, stuck_factor=2.0)
    result = dcgan.train(config, images=rabbits)
    row = result.run.read_history()[-1]
    assert row["learning_rate_raises"] >= 1


def test_learning_rate_decay_holds_then_falls_linearly_over_the_last_fraction():
    assert loop.decay_start_epoch(286, 0.5) == 143 and loop.decay_start_epoch(10, 0) == 10
    rates = [loop.linear_decay(1.0, epoch, 2, 4) for epoch in range(1, 6)]
    assert rates == pytest.approx([1.0, 1.0, 2 / 3, 1 / 3, 0.0])


def test_the_rates_decay_in_training_and_the_history_records_them(tmp_path, rabbits):
    config = config_for(tmp_path, epochs=4, learning_rate_decay=0.5, limit=64,
                        generator_learning_rate=3e-4, discriminator_learning_rate=6e-4)
    rows = dcgan.train(config, images=rabbits[:64]).run.read_history()
    assert [row["generator_learning_rate"] for row in rows] == pytest.approx(
        [3e-4, 3e-4, 2e-4, 1e-4])
    assert [row["discriminator_learning_rate"] for row in rows] == pytest.approx(
        [6e-4, 6e-4, 4e-4, 2e-4])


def test_an_option_the_model_lacks_is_refused(tmp_path, rabbits):
    with pytest.raises(ValueError, match="has no 'l2' option"):
        dcgan.train(config_for(tmp_path, l2=1e-7), images=rabbits)


def test_options_are_checked_before_training(tmp_path):
    for overrides, message in [
        ({"augment": "colour"}, "did you mean 'color'"),
        ({"activation": "relu_varient"}, "did you mean 'relu_variant'"),
        ({"loss": "hinge", "label_treatment": "smooth"}, "hinge"),
        ({"generator_steps_per_discriminator_step": 2,
          "discriminator_steps_per_generator_step": 2}, "not both"),
        ({"ema_decay": 1.5}, "ema_decay"),
        ({"r1_weight": -1.0}, "r1_weight"),
        ({"learning_rate_decay": 1.5}, "learning_rate_decay"),
        ({"learning_rate_decay": 0.5, "stuck_window": 4}, "use one of them"),
    ]:
        with pytest.raises(ValueError, match=message):
            config_for(tmp_path, **overrides)


def test_the_strokes_source_trains_on_recognised_drawings_only(tmp_path, shared_data):
    ndjson_mirror = shared_data / "quickdraw" / "ndjson_25"
    config = config_for(tmp_path, source="strokes", category="cat", recognized_only=True,
                        mirror=str(ndjson_mirror), batch_size=8, limit=None)
    images = dcgan.load_training_images(config)
    recognised = sum(json.loads(line)["recognized"]
                     for line in (ndjson_mirror / "cat.ndjson").read_text().splitlines() if line)
    assert images.shape == (recognised, 784) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, strokes.rasterize_many(strokes.read_ndjson(
        ndjson_mirror / "cat.ndjson", recognized_only=True)))
    result = dcgan.train(config)
    assert result.run.epoch_image_path(1).exists()


def test_a_painting_run_uses_the_seed_004_models(tmp_path, shared_data):
    config = config_for(tmp_path, experiment="vangogh_diffaugment",
                        data=str(shared_data / "wikiart" / "vangogh"), limit=16, batch_size=8)
    assert config.model == "wikiart64" and config.generator_learning_rate == 1.5e-4
    result = dcgan.train(config)
    row = result.run.read_history()[-1]
    assert 0.0 <= row["discriminator_accuracy"] <= 1.0
    grid = result.run.epoch_image_path(1)
    from PIL import Image

    assert Image.open(grid).mode == "RGB"


def test_the_seed_presets_are_registered_with_their_recipes():
    vangogh = dcgan.preset("vangogh")
    assert (vangogh.batch_size, vangogh.epochs, vangogh.discriminator_learning_rate) == (64, 175, 2e-3)
    assert dcgan.preset("vangogh_flip").flip
    assert dcgan.preset("expressionism_l2").l2 == 1e-7
    assert dcgan.preset("expressionism_discrete_labels").label_treatment == "none"
    assert dcgan.preset("expressionism").label_treatment == "noisy"
    trial4 = dcgan.preset("trial4")
    assert (trial4.activation, trial4.discriminator_learning_rate,
            trial4.generator_steps_per_discriminator_step, trial4.category) == (
        "relu_variant", 1e-4, 2, "cat")
    assert dcgan.preset("trial4_dog").category == "dog"
    assert dcgan.preset("flower").grid_size == 10
    small = dcgan.preset("rabbit_small")  # issue 11's small-data recipe
    assert (small.model, small.batch_size, small.limit, small.generator_beta1) == ("upsample", 32, 450, 0.5)
    assert (small.ema_decay, small.augment, small.label_treatment) == (0.999, "page_translation", "smooth")
    assert (small.quality_every, small.keep_best) == (25, True)
    assert (small.generator_learning_rate, small.discriminator_learning_rate) == (4e-4, 2e-4)
    assert small.epochs * (450 // 32 * 32) <= 384_000  # within the budget of images seen


def test_papermill_runs_the_wikiart_notebook_on_shared_van_gogh(tmp_path, shared_data):
    result = subprocess.run(
        [sys.executable, "-m", "sketchdraw", "run", "--experiment", "vangogh", "--data",
         str(shared_data / "wikiart" / "vangogh"), "--epochs", "1", "--limit", "16", "--batch", "8",
         "--runs-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stderr[-4000:]
    run = tmp_path / "vangogh"
    for name in ("wikiart_dcgan.ipynb", "history.csv", "samples.png", "progress.gif",
                 "images/image_at_epoch_0001.png", "index.html"):
        assert (run / name).exists(), name
    assert json.loads((run / "config.json").read_text())["model"] == "wikiart64"
