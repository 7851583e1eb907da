"""The devices settings: strategy, batch scope, synchronised batch norm, precision, XLA and
several steps per call. Each trains the same thing: finite losses, every network changes, and a
resumed run ends where the uninterrupted one does."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from sketchdraw import dcgan, scaling
from sketchdraw.scaling import Devices

REPO = Path(__file__).resolve().parents[1]


def _doodles(count: int = 64) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (count, 784), dtype=np.uint8)


def _config(tmp_path, name, **settings) -> dcgan.RunConfig:
    return dcgan.resolve("rabbit_small", **{**dict(
        epochs=2, batch_size=16, runs_dir=str(tmp_path), name=name, progress=False, limit=None,
        checkpoint_every=1, quality_every=0, keep_best=False), **settings})


def _weights(result) -> list[np.ndarray]:
    return [variable.numpy() for model in (result.models["generator"],
                                           result.models["discriminator"])
            for variable in model.trainable_variables]


# float16 is emulated on a CPU: a whole run takes minutes (make test-slow); the quick test of its
# loss scaling is test_mixed_float16_scales_the_loss_and_trains_a_step. steps_per_call=4 trains,
# checkpoints and resumes in test_a_resumed_run_trains_exactly_what_an_unbroken_run_trains.
OPTIONS = [pytest.param(dict(steps_per_call=4), id="steps_per_call=4", marks=pytest.mark.slow),
           pytest.param(dict(jit_compile=True), id="jit_compile"),
           pytest.param(dict(precision="mixed_float16"), id="mixed_float16", marks=pytest.mark.slow),
           pytest.param(dict(precision="mixed_bfloat16"), id="mixed_bfloat16")]


@pytest.mark.parametrize("options", OPTIONS)
def test_each_option_trains_checkpoints_and_resumes(tmp_path, options):
    images = _doodles()
    first = dcgan.train(_config(tmp_path, "run", epochs=1, **options), images=images)
    after_one = _weights(first)
    row = first.run.read_history()[0]
    assert np.isfinite(row["generator_loss"]) and np.isfinite(row["discriminator_loss"]), row

    # the checkpoint holds exactly the trained weights (under loss scaling, too)
    restored = dcgan.train(_config(tmp_path, "run", epochs=1, **options), images=images)
    assert restored.epochs_trained == 0
    for a, b in zip(after_one, _weights(restored)):
        np.testing.assert_array_equal(a, b)
    # and the run goes on from them
    resumed = dcgan.train(_config(tmp_path, "run", epochs=2, **options), images=images)
    assert resumed.epochs_trained == 1
    assert [row["epoch"] for row in resumed.run.read_history()] == [1, 2]
    assert all(not np.allclose(a, b) for a, b in zip(after_one, _weights(resumed))
               if a.size > 1)


def test_several_steps_per_call_train_what_single_steps_train(tmp_path):
    images = _doodles()
    single = dcgan.train(_config(tmp_path, "single", epochs=1), images=images)
    several = dcgan.train(_config(tmp_path, "several", epochs=1, steps_per_call=3), images=images)
    # The same updates in another compiled graph: float32 sums in another order. On a loaded
    # 2-core machine 16 of 1,600 kernel weights differed by up to 3e-5 (oneDNN picks its kernels
    # by the threads free), so the bound is 1e-4: a wrong step changes weights by ~1e-2.
    for a, b in zip(_weights(single), _weights(several)):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
    one, other = single.run.read_history()[0], several.run.read_history()[0]
    assert one["generator_loss"] == pytest.approx(other["generator_loss"], rel=1e-4)
    assert other["generator_updates"] == other["discriminator_updates"] == 64 // 16


def test_a_resumed_run_may_change_its_devices_but_not_what_batch_size_means(tmp_path):
    images = _doodles()
    dcgan.train(_config(tmp_path, "moved", epochs=1), images=images)
    moved = dcgan.train(_config(tmp_path, "moved", epochs=2, precision="mixed_bfloat16",
                                steps_per_call=2, jit_compile=True), images=images)
    assert moved.epochs_trained == 1
    with pytest.raises(ValueError, match="batch_scope"):
        dcgan.train(_config(tmp_path, "moved", epochs=3, batch_scope="per_replica"), images=images)


@pytest.mark.parametrize("bad, message", [
    (dict(strategy="mirored"), "did you mean 'mirrored'"), (dict(precision="float16"), "precision"),
    (dict(steps_per_call=0), "steps_per_call"), (dict(batch_scope="local"), "batch_scope"),
    (dict(steps_per_call=4, stuck_window=50), "stuck detector"),
    (dict(steps_per_call=4, generator_steps_per_discriminator_step=2), "schedule")])
def test_bad_devices_settings_are_refused_by_name(bad, message):
    with pytest.raises(ValueError, match=message):
        dcgan.resolve("rabbit", **bad)


def test_multi_worker_without_tf_config_says_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG"):
        dcgan.train(_config(tmp_path, "mw", strategy="multi_worker"), images=_doodles())
    assert not (tmp_path / "mw").exists()


def test_the_plain_step_says_nothing_and_a_scaled_one_describes_itself():
    import tensorflow as tf

    plain = Devices(tf.distribute.get_strategy(), 32)
    assert plain.describe() is None
    fast = Devices(tf.distribute.get_strategy(), 32, precision="mixed_bfloat16", jit_compile=True,
                   steps_per_call=8)
    assert fast.describe() == ("devices: _DefaultDistributionStrategy, 1 replica(s), batch 32 = 32 "
                               "per replica, mixed_bfloat16, XLA, 8 steps per call")


MIRRORED_RUN = textwrap.dedent("""
    import json, sys
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from sketchdraw import dcgan
    images = np.random.default_rng(0).integers(0, 256, (128, 784), dtype=np.uint8)
    config = dcgan.resolve("rabbit", epochs=1, batch_size=16, batch_scope=sys.argv[2],
                           strategy="mirrored", runs_dir=sys.argv[1], name=sys.argv[2])
    result = dcgan.train(config, images=images)
    synchronised = [layer.synchronized for layer in result.models["generator"].layers
                    if isinstance(layer, tf.keras.layers.BatchNormalization)]
    agree = all(np.array_equal(*[c.numpy() for c in v.value.values])
                for v in result.models["generator"].trainable_variables)
    print("RESULT", json.dumps(dict(synchronised=synchronised, agree=agree,
                                    rows=result.run.read_history())))
""")


@pytest.mark.parametrize("scope, per_replica, steps", [("global", 8, 8), ("per_replica", 16, 4)])
def test_mirrored_on_two_logical_cpus_splits_the_batch_as_asked(tmp_path, scope, per_replica,
                                                                steps):
    import json

    completed = subprocess.run([sys.executable, "-c", MIRRORED_RUN, str(tmp_path), scope],
                               capture_output=True, text=True, timeout=300, cwd=REPO,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert f"batch {per_replica * 2} = {per_replica} per replica" in completed.stderr
    assert "MirroredStrategy, 2 replica(s)" in completed.stderr
    assert "batch norm synchronised" in completed.stderr
    result = json.loads(completed.stdout.split("RESULT ", 1)[1])
    assert result["synchronised"] and all(result["synchronised"])
    assert result["agree"]
    row = result["rows"][0]
    assert row["generator_updates"] == steps and np.isfinite(row["generator_loss"])


@pytest.mark.slow  # float16 is emulated on a CPU: ~50 s for three steps
def test_mixed_float16_scales_the_loss_and_trains_a_step():
    import keras
    import tensorflow as tf

    from sketchdraw import losses, models, skeleton

    devices = Devices(tf.distribute.get_strategy(), 16, precision="mixed_float16")
    family = models.get("tutorial")
    with devices.building():
        generator, discriminator = family.build_generator(noise_dim=100), family.build_discriminator()
        optimizers = [devices.optimizer(skeleton.adam(1e-3, 0.5, model), model)
                      for model in (generator, discriminator)]
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after building
    assert generator.dtype_policy.name == "mixed_float16"
    assert all(isinstance(optimizer, keras.optimizers.LossScaleOptimizer) for optimizer in optimizers)
    step = dcgan.make_train_step(generator, discriminator, *optimizers, losses.get("bce"), 16, 100,
                                 devices=devices)
    before = [variable.numpy().copy() for variable in generator.trainable_variables]
    images = tf.random.uniform([16, 28, 28, 1], -1.0, 1.0)
    for _ in range(3):  # the first steps may be skipped while the loss scale finds its level
        statistics = step(images)
    assert all(np.isfinite(float(value)) for value in statistics.values()), statistics
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(before, generator.trainable_variables))


def _tiny_cycle(tmp_path, name, **settings):
    from sketchdraw import cyclegan

    return cyclegan.resolve("photo2vangogh", **{**dict(
        epochs=1, image_size=16, runs_dir=str(tmp_path), name=name, progress=False,
        residual_blocks=1, generator_filters=4, discriminator_filters=4, batch_size=2,
        pool_size=2), **settings})


CYCLE_OPTIONS = [dict(steps_per_call=2, precision="mixed_bfloat16"), dict(jit_compile=True)]


@pytest.mark.slow  # a minute or more each on 2 CPU cores: tracing the CycleGAN step
@pytest.mark.parametrize("options", CYCLE_OPTIONS, ids=["steps_per_call=2,bfloat16", "jit"])
def test_cyclegan_takes_the_devices_settings(tmp_path, options):
    from sketchdraw import cyclegan

    images = np.random.default_rng(1).integers(0, 256, (8, 16, 16, 3), dtype=np.uint8)
    first = cyclegan.train_cycle(_tiny_cycle(tmp_path, "cycle", **options), images, images)
    row = first.run.read_history()[0]
    assert np.isfinite(row["generator_loss"]) and np.isfinite(row["cycle_loss"]), row
    resumed = cyclegan.train_cycle(_tiny_cycle(tmp_path, "cycle", epochs=2, **options),
                                   images, images)
    assert resumed.epochs_trained == 1


@pytest.mark.slow  # 90 s on 2 CPU cores: tracing the sketch-to-image step
def test_sketch2img_takes_the_devices_settings(tmp_path):
    from sketchdraw import sketch2img
    from tests.face_pairs import write_face_pairs

    root = write_face_pairs(tmp_path / "pairs", count=10, size=16)
    pairs = sketch2img.load_sketch_pairs(root, image_size=16, limit=10, log=lambda line: None)
    config = sketch2img.resolve("faces_sketch2photo", epochs=1, batch_size=4, base_filters=4,
                                image_size=16, runs_dir=str(tmp_path), name="faces",
                                progress=False, diversity_weight=0.0, dragan_weight=0.0,
                                holdout=2, steps_per_call=2, precision="mixed_bfloat16")
    result = sketch2img.train_sketch2img(config, pairs=pairs)
    row = result.run.read_history()[0]
    assert np.isfinite(row["generator_loss"]) and row["seconds"] > 0, row


MIRRORED_FAMILIES = textwrap.dedent("""
    import sys
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from sketchdraw import cyclegan
    images = np.random.default_rng(1).integers(0, 256, (8, 16, 16, 3), dtype=np.uint8)
    config = cyclegan.resolve("photo2vangogh", epochs=1, image_size=16, runs_dir=sys.argv[1],
                              name="cycle", progress=False, residual_blocks=1, generator_filters=4,
                              discriminator_filters=4, batch_size=4, pool_size=2,
                              strategy="mirrored")
    result = cyclegan.train_cycle(config, images, images)
    row = result.run.read_history()[0]
    assert np.isfinite(row["generator_loss"]), row
    agree = all(np.array_equal(*[c.numpy() for c in v.value.values])
                for v in result.models["generator_x2y"].trainable_variables)
    print("CYCLE-MIRRORED", agree, row["generator_loss"])
""")


@pytest.mark.slow  # ~45 s: tracing the CycleGAN step for two replicas
def test_cyclegan_trains_under_mirrored_on_two_logical_cpus(tmp_path):
    completed = subprocess.run([sys.executable, "-c", MIRRORED_FAMILIES, str(tmp_path)],
                               capture_output=True, text=True, timeout=300, cwd=REPO,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "CYCLE-MIRRORED True" in completed.stdout


@pytest.mark.parametrize("strategy, tf_config, chief", [
    ("auto", None, True),
    ("multi_worker", None, True),
    ("multi_worker", {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}}, True),
    ("multi_worker", {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}, False),
    ("multi_worker", {"cluster": {"chief": ["c:0"], "worker": ["a:1"]},
                      "task": {"type": "worker", "index": 0}}, False),
    ("multi_worker", {"cluster": {"chief": ["c:0"], "worker": ["a:1"]},
                      "task": {"type": "chief", "index": 0}}, True),
    ("mirrored", {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}, True),
])
def test_which_process_writes_the_run_is_read_from_tf_config(strategy, tf_config, chief):
    environ = {"TF_CONFIG": json.dumps(tf_config)} if tf_config else {}
    assert scaling.is_chief_process(strategy, environ) is chief


def test_every_settings_notebook_makes_the_strategy_before_any_model():
    from sketchdraw.notebook_files import notebook_path

    for name in ("quickdraw_dcgan", "wikiart_dcgan", "cyclegan", "sketch2img"):
        notebook = json.loads(notebook_path(f"{name}.ipynb").read_text())
        sources = ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]
        made = [index for index, source in enumerate(sources) if "scaling.make_strategy(config.strategy)" in source]
        built = [index for index, source in enumerate(sources)
                 if re.search(r"\b(build|train|networks|summary)\w*\(", source)]
        assert made, f"{name}: no cell makes the strategy"
        assert not built or made[0] < min(built), f"{name}: a model is built before the strategy"


@pytest.mark.parametrize("options", [pytest.param({}, id="one_step_per_call", marks=pytest.mark.slow),  # the plain loop resumes in test_training.py
                                     pytest.param(dict(steps_per_call=4), id="steps_per_call=4")])
def test_a_resumed_run_trains_exactly_what_an_unbroken_run_trains(tmp_path, options):
    """Resumed after epoch 1, epoch 2 sees the batches (order, flips) and the noise an unbroken run
    sees at epoch 2: the weights agree to float rounding."""
    images = _doodles()
    unbroken = dcgan.train(_config(tmp_path, "unbroken", flip=True, **options), images=images)
    dcgan.train(_config(tmp_path, "broken", epochs=1, flip=True, **options), images=images)
    resumed = dcgan.train(_config(tmp_path, "broken", flip=True, **options), images=images)
    assert resumed.epochs_trained == 1
    for a, b in zip(_weights(unbroken), _weights(resumed)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
