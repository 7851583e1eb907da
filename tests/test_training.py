"""The train step, the strategy, resuming, and the run folder a real (tiny) training leaves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from sketchdraw import dcgan, loop, losses, models, quickdraw, sampling, skeleton
from sketchdraw.artifacts import RunFolder, RunLockedError
from sketchdraw.pipeline import quickdraw_dataset

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def rabbits(quickdraw_mirror) -> np.ndarray:
    return quickdraw.load_bitmaps("rabbit", limit=160, mirror=quickdraw_mirror)


def tiny_config(tmp_path, **overrides) -> dcgan.RunConfig:
    settings = dict(epochs=2, batch_size=32, limit=160, checkpoint_every=1, runs_dir=str(tmp_path),
                    progress=False)
    settings.update(overrides)
    return dcgan.resolve("rabbit", **settings)


@pytest.mark.parametrize("model", ["tutorial", "upsample"])
def test_one_train_step_changes_both_networks_and_returns_finite_losses(rabbits, model):
    family = models.get(model)
    generator, discriminator = family.build_generator(noise_dim=100), family.build_discriminator()
    generator_optimizer = skeleton.adam(1e-3, 0.5, generator)
    discriminator_optimizer = skeleton.adam(1e-3, 0.5, discriminator)
    step = dcgan.make_train_step(generator, discriminator, generator_optimizer,
                                 discriminator_optimizer, losses.get("bce"), 32, 100)
    before_g = [w.numpy().copy() for w in generator.trainable_variables]
    before_d = [w.numpy().copy() for w in discriminator.trainable_variables]
    statistics = step(next(iter(quickdraw_dataset(rabbits, 32, seed=0))))
    for name, value in statistics.items():
        assert np.isfinite(float(value)), name
    assert 0.0 <= float(statistics["discriminator_accuracy"]) <= 1.0
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(before_g, generator.trainable_variables))
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(before_d, discriminator.trainable_variables))


MIRRORED_SCRIPT = textwrap.dedent("""
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from sketchdraw import dcgan, losses, models, pipeline, quickdraw, skeleton
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    family = models.get("tutorial")
    with strategy.scope():
        generator, discriminator = family.build_generator(100), family.build_discriminator()
        g_opt = skeleton.adam(1e-3, 0.9, generator)
        d_opt = skeleton.adam(1e-3, 0.9, discriminator)
    step = dcgan.make_train_step(generator, discriminator, g_opt, d_opt, losses.get("bce"),
                                 32, 100, strategy)
    drawings = quickdraw.load_bitmaps("rabbit", limit=64, mirror={mirror!r})
    dataset = strategy.experimental_distribute_dataset(pipeline.quickdraw_dataset(drawings, 32))
    before = [v.numpy().copy() for v in generator.trainable_variables + discriminator.trainable_variables]
    for batch in dataset:
        statistics = step(batch)
    after = [v.numpy() for v in generator.trainable_variables + discriminator.trainable_variables]
    assert all(np.isfinite(float(v)) for v in statistics.values()), statistics
    for variable in generator.trainable_variables + discriminator.trainable_variables:
        copies = [copy.numpy() for copy in variable.value.values]  # one per replica
        assert len(copies) == 2 and np.array_equal(copies[0], copies[1]), variable.path
    changed_g = any(not np.allclose(a, b) for a, b in zip(before[:len(generator.trainable_variables)],
                                                            after[:len(generator.trainable_variables)]))
    changed_d = any(not np.allclose(a, b) for a, b in zip(before[len(generator.trainable_variables):],
                                                            after[len(generator.trainable_variables):]))
    assert changed_g and changed_d
    print("MIRRORED-OK", {{k: round(float(v), 4) for k, v in statistics.items()}})
""")


def test_the_step_runs_under_mirrored_strategy_on_two_logical_cpus(quickdraw_mirror):
    script = MIRRORED_SCRIPT.format(mirror=str(quickdraw_mirror))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=240, cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MIRRORED-OK" in result.stdout


def test_a_run_leaves_a_complete_folder_and_resumes_without_touching_saved_epochs(
        tmp_path, rabbits, quickdraw_mirror):
    config = tiny_config(tmp_path, mirror=str(quickdraw_mirror))
    result = dcgan.train(config)
    run = result.run
    assert result.epochs_trained == 2
    for path in (run.config_path, run.reals_path, run.history_path, run.losses_plot_path,
                 run.gif_path, run.samples_path, run.generator_path, run.root / "index.html"):
        assert path.exists(), path
    assert [p.name for p in run.epoch_images()] == ["image_at_epoch_0001.png",
                                                    "image_at_epoch_0002.png"]
    saved = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.epoch_images()}
    first_noise = json.loads(run.config_path.read_text())["seed"]

    resumed = dcgan.train(tiny_config(tmp_path, epochs=3, mirror=str(quickdraw_mirror)))
    assert resumed.epochs_trained == 1
    history = run.read_history()
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert {"generator_loss", "discriminator_loss", "seconds", "images_per_second"} <= set(history[0])
    for path, (content, mtime) in saved.items():
        assert path.read_bytes() == content and path.stat().st_mtime_ns == mtime
    assert run.epoch_image_path(3).exists()
    assert json.loads(run.config_path.read_text())["seed"] == first_noise

    # Asking again for 3 epochs trains nothing and changes no grid.
    again = dcgan.train(tiny_config(tmp_path, epochs=3, mirror=str(quickdraw_mirror)))
    assert again.epochs_trained == 0
    assert len(run.read_history()) == 3


def test_resume_restores_the_fixed_noise_so_grids_stay_comparable(tmp_path, rabbits):
    config = tiny_config(tmp_path, epochs=1)
    first = dcgan.train(config, images=rabbits)
    noise = tf.random.stateless_normal([16, 100], seed=[config.seed, 1]).numpy()
    resumed = dcgan.train(tiny_config(tmp_path, epochs=2), images=rabbits)
    expected = resumed.generator(noise, training=False).numpy()
    assert first.run.epoch_image_path(2).exists()
    checkpoint = tf.train.Checkpoint(fixed_noise=tf.Variable(tf.zeros([16, 100])))
    checkpoint.restore(tf.train.latest_checkpoint(str(first.run.checkpoints_dir))).expect_partial()
    np.testing.assert_allclose(checkpoint.fixed_noise.numpy(), noise)
    assert expected.shape == (16, 28, 28, 1)


def test_a_different_run_in_the_same_folder_is_refused(tmp_path, rabbits):
    dcgan.train(tiny_config(tmp_path, epochs=1), images=rabbits)
    with pytest.raises(loop.RunConflictError, match="batch_size: saved 32, asked 16"):
        dcgan.train(tiny_config(tmp_path, epochs=2, batch_size=16), images=rabbits)


def test_a_settings_file_edited_to_a_wrong_type_names_the_field(tmp_path, rabbits):
    result = dcgan.train(tiny_config(tmp_path, epochs=1), images=rabbits)
    settings = json.loads(result.run.config_path.read_text())
    settings["batch_size"] = "thirty-two"
    result.run.config_path.write_text(json.dumps(settings))
    with pytest.raises(ValueError, match="batch_size must be int"):
        dcgan.train(tiny_config(tmp_path, epochs=2), images=rabbits)


def test_a_second_writer_is_refused_while_the_first_holds_the_folder(tmp_path, rabbits):
    run = RunFolder(tmp_path / "rabbit")
    with run.lock():
        with pytest.raises(RunLockedError, match=f"process {os.getpid()}"):
            dcgan.train(tiny_config(tmp_path, epochs=1), images=rabbits)


@pytest.mark.parametrize("overrides, message", [
    ({"epochs": 0}, "epochs must be at least 1"),
    ({"batch_size": -4}, "batch_size must be at least 1"),
    ({"limit": 0}, "limit must be"),
    ({"model": "tutorail"}, "did you mean 'tutorial'"),
    ({"loss": "bec"}, "did you mean 'bce'"),
    ({"category": "rabit"}, "did you mean 'rabbit'"),
    ({"name": "../../etc"}, "run name"),
    ({"name": "/tmp/x"}, "run name"),
    ({"quality_every": 3, "checkpoint_every": 2}, "not a multiple of checkpoint_every=2"),
    ({"quality_every": -1}, "quality_every must be 0"),
    ({"keep_best": True}, "set quality_every too"),
    ({"truncation": -1.0}, "truncation is 0 \\(off\\)"),
    # Every float setting must be finite (MIGRATION.md): inf is refused by the type check.
    ({"truncation": float("inf")}, "truncation must be a finite number, got inf"),
])
def test_bad_settings_fail_before_training(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(tmp_path, **overrides)


def test_unknown_preset_and_batch_larger_than_data(tmp_path, rabbits):
    with pytest.raises(ValueError, match="did you mean 'rabbit'"):
        dcgan.resolve("rabit")
    with pytest.raises(ValueError, match="larger than the 160"):
        dcgan.train(tiny_config(tmp_path, batch_size=256), images=rabbits)
    assert not (tmp_path / "rabbit" / "checkpoints").exists()


def test_sampling_writes_drawings_in_the_numpy_bitmap_convention(tmp_path, rabbits):
    run = dcgan.train(tiny_config(tmp_path, epochs=1), images=rabbits).run
    array_path, grid_path = sampling.sample(run.root, 50, seed=1)
    drawings = np.load(array_path, allow_pickle=False)
    assert drawings.shape == (50, 784) and drawings.dtype == np.uint8
    assert grid_path.exists()
    second_array, _ = sampling.sample(run.root, 50, seed=1)
    assert second_array != array_path and array_path.exists()  # never overwritten
    np.testing.assert_array_equal(np.load(second_array), drawings)  # same seed, same drawings


def test_truncated_noise_stays_within_the_threshold_and_plain_noise_is_unchanged():
    import math

    plain = sampling.noise(64, 100, seed=4, start=2)
    np.testing.assert_array_equal(plain, tf.random.stateless_normal([64, 100], seed=[4, 2]))
    truncated = sampling.noise(4000, 100, seed=4, truncation=2.0).numpy()
    assert truncated.dtype == np.float32 and truncated.shape == (4000, 100)
    assert np.abs(truncated).max() <= 2.0
    # The normal truncated to [-2, 2]: mean 0, variance 1 - 2 * 2 * phi(2) / (2 * Phi(2) - 1).
    phi = math.exp(-2) / math.sqrt(2 * math.pi)
    expected_std = math.sqrt(1 - 4 * phi / math.erf(2 / math.sqrt(2)))
    assert abs(truncated.mean()) < 0.01 and truncated.std() == pytest.approx(expected_std, abs=0.005)
    np.testing.assert_array_equal(truncated, sampling.noise(4000, 100, seed=4, truncation=2.0))
    assert np.abs(sampling.noise(10, 100, seed=4, truncation=0.5).numpy()).max() <= 0.5
    with pytest.raises(ValueError, match="truncation is 0"):
        sampling.noise(4, 100, seed=0, truncation=-2)


def test_sampling_uses_the_runs_truncation_unless_told_otherwise(tmp_path, rabbits):
    run = dcgan.train(tiny_config(tmp_path, epochs=1, truncation=1.0), images=rabbits).run
    kept, _ = sampling.sample(run.root, 20, seed=3)
    assert kept.name == "samples_20_seed3_trunc1.npy"
    plain, _ = sampling.sample(run.root, 20, seed=3, truncation=0)
    assert plain.name == "samples_20_seed3.npy"
    generator = sampling.load_generator(run.root)
    np.testing.assert_array_equal(np.load(kept), sampling.generate(generator, 20, 3, truncation=1.0)
                                  .reshape(20, -1))
    assert not np.array_equal(np.load(kept), np.load(plain))
