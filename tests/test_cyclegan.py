"""CycleGAN: network shapes, the step, the cycle loss, the image pool, translate, resume, notebook."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from sketchdraw import cyclegan, loop, losses, sampling, skeleton
from sketchdraw.artifacts import RunFolder
from sketchdraw.cyclegan import networks as cycle_models

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY = dict(residual_blocks=1, generator_filters=4, discriminator_filters=4)


def tiny_config(tmp_path, **changes) -> cyclegan.CycleConfig:
    values = dict(name="tiny", image_size=32, epochs=1, batch_size=2, checkpoint_every=1,
                  grid_examples=2, pool_size=3, runs_dir=str(tmp_path / "runs"), progress=False,
                  **TINY)
    values.update(changes)
    return cyclegan.CycleConfig(**values)


def random_images(count: int, size: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, size, size, 3), dtype=np.uint8)


# -- networks --------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [64, 128])
def test_generator_and_discriminator_shapes(size):
    generator = cycle_models.cycle_generator(size, residual_blocks=2, base_filters=4)
    assert generator.output_shape == (None, size, size, 3)
    images = tf.random.uniform([1, size, size, 3], -1, 1)
    output = generator(images).numpy()
    assert output.min() >= -1 and output.max() <= 1  # tanh
    patch = cycle_models.build_discriminator("patch", size, base_filters=4)
    assert patch.output_shape == (None, size // 8, size // 8, 1)
    dcgan = cycle_models.build_discriminator("dcgan", size)
    assert dcgan.output_shape == (None, 1)


def test_unknown_discriminator_and_bad_sizes_are_value_errors():
    with pytest.raises(ValueError, match="did you mean 'patch'"):
        cycle_models.build_discriminator("pach", 64)
    with pytest.raises(ValueError, match="image_size"):
        cycle_models.cycle_generator(30)
    with pytest.raises(ValueError, match="residual_blocks"):
        cycle_models.cycle_generator(64, residual_blocks=-1)


# -- settings --------------------------------------------------------------------------------------
def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="cycle_weight"):
        cyclegan.CycleConfig(cycle_weight=-1.0).validate()
    with pytest.raises(ValueError, match="did you mean 'least_squares'"):
        cyclegan.CycleConfig(loss="least_square").validate()
    with pytest.raises(ValueError, match="domain_x is not set"):
        cyclegan.CycleConfig().validate(need_data=True)
    with pytest.raises(ValueError, match="did you mean 'photo2vangogh'"):
        cyclegan.resolve("photo2vangog")
    with pytest.raises(ValueError, match="cycle_weight"):
        cyclegan.resolve("photo2vangogh", cycle_wieght=5.0)
    config = cyclegan.resolve("photo2vangogh", cycle_weight=4.0)
    assert config.effective_identity_weight == 2.0  # 0.5 * lambda, as the paper
    assert dataclasses.replace(config, identity_weight=0.0).effective_identity_weight == 0.0


def test_learning_rate_is_held_then_decays_linearly_to_zero():
    config = cyclegan.CycleConfig(epochs=10, learning_rate=1e-3, decay_start_epoch=5)
    rates = [cyclegan.learning_rate_at(epoch, config) for epoch in range(1, 11)]
    assert rates[:5] == [1e-3] * 5
    assert all(later < earlier for earlier, later in zip(rates[4:], rates[5:]))
    assert rates[-1] > 0 and cyclegan.learning_rate_at(11, config) == 0


# -- the step --------------------------------------------------------------------------------------
def test_one_step_changes_all_four_networks_and_returns_finite_losses():
    config = cyclegan.CycleConfig(image_size=32, **TINY)
    networks = cyclegan.build_networks(config)
    optimizers = [skeleton.adam(2e-4, 0.5, getattr(networks, name)) for name in
                  ("generator_x2y", "generator_y2x", "discriminator_x", "discriminator_y")]
    pool_x = cyclegan.ImagePool(2, (32, 32, 3))
    pool_y = cyclegan.ImagePool(2, (32, 32, 3))
    step = cyclegan.make_cycle_train_step(*vars(networks).values(), *optimizers,
                                          losses.get("least_squares"), 10.0, 5.0, pool_x, pool_y)
    before = {name: [w.numpy().copy() for w in model.trainable_weights]
              for name, model in vars(networks).items()}
    real_x = tf.random.uniform([2, 32, 32, 3], -1, 1, seed=1)
    real_y = tf.random.uniform([2, 32, 32, 3], -1, 1, seed=2)
    results = {key: float(value) for key, value in step((real_x, real_y)).items()}
    assert set(results) >= {"generator_loss", "discriminator_loss", "cycle_loss", "identity_loss",
                            "discriminator_x_loss", "discriminator_y_loss"}
    assert all(np.isfinite(value) for value in results.values())
    for name, model in vars(networks).items():
        changed = any(not np.allclose(old, new.numpy())
                      for old, new in zip(before[name], model.trainable_weights))
        assert changed, f"{name} did not change"
    assert int(pool_x.count.numpy()) == 2


def test_the_cycle_loss_of_identity_generators_is_zero():
    inputs = keras.Input(shape=(32, 32, 3))
    identity = keras.Model(inputs, keras.layers.Identity()(inputs))
    real_x = tf.random.uniform([3, 32, 32, 3], -1, 1)
    real_y = tf.random.uniform([3, 32, 32, 3], -1, 1)
    assert float(cyclegan.cycle_loss(identity, identity, real_x, real_y)) == 0.0
    noisy = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 0.5)(inputs))
    assert float(cyclegan.cycle_loss(noisy, noisy, real_x, real_y)) > 0.1


# -- the pool --------------------------------------------------------------------------------------
def test_the_image_pool_returns_past_images_half_of_the_time_once_full():
    pool = cyclegan.ImagePool(5, (1, 1, 1), seed=3)
    # Image k is a 1x1 picture holding the value k, so every returned image says where it came from.
    filling = pool.query(np.arange(5, dtype=np.float32).reshape(5, 1, 1, 1)).numpy().ravel()
    np.testing.assert_array_equal(filling, np.arange(5))  # while filling: returned as they are
    returned = []
    for value in range(5, 805):
        returned.append(float(pool.query(np.full((1, 1, 1, 1), value, np.float32)).numpy().ravel()[0]))
    returned = np.asarray(returned)
    past = returned != np.arange(5, 805)
    assert 0.45 < past.mean() < 0.55  # 800 draws: the 1/2 probability within ~3 standard errors
    assert np.all(returned[past] < np.arange(5, 805)[past])  # a past image is an earlier one
    assert cyclegan.ImagePool(0, (1, 1, 1)).query(np.ones((2, 1, 1, 1))).shape == (2, 1, 1, 1)
    with pytest.raises(ValueError, match="pool_size"):
        cyclegan.ImagePool(-1, (1, 1, 1))


# -- translate -------------------------------------------------------------------------------------
def test_translate_writes_one_output_per_readable_input_and_reports_the_rest(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    generator = cycle_models.cycle_generator(32, residual_blocks=1, base_filters=4)
    sampling.save_generator(generator, run_dir / "generator_x2y.keras")
    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(3):
        Image.fromarray(random_images(1, 40 + index, index)[0]).save(photos / f"photo{index}.jpg")
    (photos / "broken.jpg").write_bytes(b"not a jpeg at all")
    messages = []
    result = cyclegan.translate(run_dir, photos, "x2y", log=messages.append)
    assert len(result) == 3 and all(path.exists() for path in result)
    assert Image.open(result.outputs[0]).size == (32, 32)
    assert result.sheet.name == "sheet.png" and result.sheet.exists()
    assert [path.name for path, _ in result.skipped] == ["broken.jpg"]
    assert any("broken.jpg" in message for message in messages)
    again = cyclegan.translate(run_dir, photos / "photo0.jpg", "x2y", log=messages.append)
    assert again.outputs[0].name == "photo0_x2y_2.png"  # the first result is kept
    assert again.sheet.name == "sheet_2.png"
    with pytest.raises(ValueError, match="generator_y2x.keras"):
        cyclegan.translate(run_dir, photos, "y2x")
    with pytest.raises(ValueError, match="did you mean 'x2y'"):
        cyclegan.translate(run_dir, photos, "x2z")


# -- the run ---------------------------------------------------------------------------------------
def test_a_run_writes_its_folder_and_resumes_at_the_next_epoch(tmp_path):
    images_x, images_y = random_images(4, 32, 1), random_images(4, 32, 2)
    first = cyclegan.train_cycle(tiny_config(tmp_path), images_x, images_y)
    run = first.run
    assert first.epochs_trained == 1
    for name in ("config.json", "reals.png", "images/image_at_epoch_0001.png", "history.csv",
                 "losses.png", "progress.gif", "generator_x2y.keras", "generator_y2x.keras",
                 "index.html"):
        assert (run.root / name).exists(), name
    grid = Image.open(run.epoch_image_path(1))
    assert grid.size[0] > grid.size[1]  # two rows of six: input, translated, reconstructed x 2
    second = cyclegan.train_cycle(tiny_config(tmp_path, epochs=2), images_x, images_y)
    assert second.epochs_trained == 1
    history = RunFolder(run.root).read_history()
    assert [row["epoch"] for row in history] == [1, 2]
    assert {"cycle_loss", "discriminator_x_loss", "seconds", "images_per_second",
            "learning_rate"} <= set(history[0])
    with pytest.raises(loop.RunConflictError, match="cycle_weight"):
        cyclegan.train_cycle(tiny_config(tmp_path, epochs=3, cycle_weight=5.0), images_x, images_y)


# -- the notebook ----------------------------------------------------------------------------------
def test_papermill_runs_the_cyclegan_notebook_on_shared_photos_and_paintings(tmp_path, shared_data):
    papermill = pytest.importorskip("papermill")
    photos = shared_data / "photos" / "landscapes"
    if not photos.is_dir():
        # The sample ships no photos (their licence is unstated); the notebook only needs a second
        # folder of images, and Van Gogh's drawings are one.
        photos = shared_data / "wikiart" / "vangogh_drawings"
    paintings = shared_data / "wikiart" / "vangogh"
    if not (photos.is_dir() and paintings.is_dir()):
        pytest.skip(f"no folders of photos and Van Gogh paintings in {shared_data}")
    executed = tmp_path / "cyclegan.ipynb"
    papermill.execute_notebook(
        str(REPO_ROOT / "notebooks" / "cyclegan.ipynb"), str(executed), cwd=str(REPO_ROOT),
        progress_bar=False, parameters=dict(
            domain_x=str(photos), domain_y=str(paintings), limit=4, epochs=1, image_size=64,
            residual_blocks=1, generator_filters=4, discriminator_filters=4, batch_size=2,
            runs_dir=str(tmp_path / "runs"), name="notebook-test", progress=False))
    run_dir = tmp_path / "runs" / "notebook-test"
    for name in ("images/image_at_epoch_0001.png", "generator_x2y.keras", "progress.gif"):
        assert (run_dir / name).exists(), name
    assert any((run_dir / "translated" / "x2y").glob("sheet*.png"))
