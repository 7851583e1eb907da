"""Sketch2Img (seed 003): the MRU, the networks, each loss term, the pair loader, a step, a run, draw.

Everything runs on tiny networks (base_filters 2-4) so the file stays fast on two CPU cores; the
real CUFS face pairs come from the shared data folder, or pairs are drawn (tests/face_pairs.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from sketchdraw import sketch2img
from sketchdraw.sketch2img.networks import (
    ConditionalBatchNormalization,
    MaskedResidualUnit,
    sketch_discriminator,
    sketch_generator,
)

REPO = Path(__file__).resolve().parents[1]
TINY = dict(base_filters=4, noise_dim=4, batch_size=4, holdout=2, limit=8, progress=False,
            perceptual_weight=0.0)


@pytest.fixture(scope="session")
def faces(face_pairs) -> Path:
    return face_pairs


# -- MRU and networks ------------------------------------------------------------------------------
def test_mru_shapes_and_the_image_is_resized_inside():
    unit = MaskedResidualUnit(6)
    features = tf.random.normal([2, 8, 8, 3])
    full_size_sketch = tf.random.uniform([2, 32, 32, 1])
    assert unit([features, full_size_sketch]).shape == (2, 8, 8, 6)
    assert unit.projection is not None  # 3 -> 6 channels: x is projected by a 1x1 conv
    same_width = MaskedResidualUnit(3)
    assert same_width([features, full_size_sketch]).shape == (2, 8, 8, 3)
    assert same_width.projection is None


def test_mru_mask_and_mixing_weights_receive_gradients():
    unit = MaskedResidualUnit(4, normalization="conditional_batch", num_classes=3)
    features = tf.random.normal([2, 8, 8, 4])
    sketch = tf.random.uniform([2, 8, 8, 1])
    labels = tf.constant([0, 2])
    with tf.GradientTape() as tape:
        output = unit([features, sketch, labels], training=True)
        loss = tf.reduce_sum(output * tf.random.normal(output.shape))
    kernels = {"mask": unit.mask_convolution.kernel, "mixing": unit.mixing_convolution.kernel,
               "feature": unit.feature_convolution.kernel}
    gradients = tape.gradient(loss, list(kernels.values()))
    for (name, _), gradient in zip(kernels.items(), gradients):
        assert gradient is not None, name
        assert float(tf.reduce_max(tf.abs(gradient))) > 0, f"{name} convolution learns nothing"


def test_mru_rejects_unknown_normalization_with_suggestion():
    with pytest.raises(ValueError, match="did you mean 'batch'"):
        MaskedResidualUnit(4, normalization="batc")


def test_conditional_batch_normalization_uses_per_class_scale():
    layer = ConditionalBatchNormalization(2)
    features = tf.random.normal([4, 4, 4, 3])
    layer([features, tf.constant([0, 0, 1, 1])], training=True)
    layer.gamma.embeddings.assign([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])
    first = layer([features, tf.constant([0, 0, 0, 0])], training=True)
    second = layer([features, tf.constant([1, 1, 1, 1])], training=True)
    np.testing.assert_allclose(second.numpy(), 2 * first.numpy(), rtol=1e-5, atol=1e-5)


def test_generator_and_discriminator_shapes_and_the_spectral_discriminator(tmp_path):
    import keras

    generator = sketch_generator(image_size=32, base_filters=2, num_classes=3, noise_dim=5)
    sketch = tf.random.uniform([2, 32, 32, 1])
    images = generator([sketch, tf.random.normal([2, 5]), tf.constant([0, 2])])
    assert images.shape == (2, 32, 32, 3)
    assert float(tf.reduce_max(tf.abs(images))) <= 1.0  # tanh
    discriminator = sketch_discriminator(image_size=32, num_classes=3, base_filters=2)
    real_logit, class_logits = discriminator([sketch, images])
    assert real_logit.shape == (2, 1) and class_logits.shape == (2, 3)
    spectral = [layer for layer in discriminator._flatten_layers()
                if isinstance(layer, keras.layers.SpectralNormalization)]
    # 4 MRUs x (mask, feature, mixing, projection) + 4 downsampling convs + 2 heads
    assert len(spectral) == 4 * 4 + 4 + 2
    path = tmp_path / "generator.keras"
    generator.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_allclose(reloaded([sketch, tf.zeros([2, 5]), tf.constant([1, 1])]).numpy(),
                               generator([sketch, tf.zeros([2, 5]), tf.constant([1, 1])]).numpy(),
                               atol=1e-6)
    with pytest.raises(ValueError, match="multiple of 16"):
        sketch_generator(image_size=40)


# -- losses against hand-computed values -----------------------------------------------------------
def test_gan_losses_match_hand_computed_cross_entropy():
    real, fake = tf.constant([[0.0], [2.0]]), tf.constant([[0.0], [-1.0]])
    log2 = np.log(2.0)
    expected_d = [2 * log2, np.log1p(np.exp(-2.0)) + np.log1p(np.exp(-1.0))]
    np.testing.assert_allclose(sketch2img.gan_discriminator_loss(real, fake, weight=3.0).numpy(),
                               3.0 * np.array(expected_d), rtol=1e-6)
    np.testing.assert_allclose(sketch2img.gan_generator_loss(fake).numpy(),
                               [log2, np.log1p(np.exp(1.0))], rtol=1e-6)


def test_classification_loss_is_softmax_cross_entropy_and_zero_for_one_class():
    logits = tf.constant([[2.0, 0.0], [0.0, 0.0]])
    expected = [-np.log(np.exp(2) / (np.exp(2) + 1)), np.log(2.0)]
    np.testing.assert_allclose(
        sketch2img.classification_loss(tf.constant([0, 1]), logits, weight=2.0).numpy(),
        2.0 * np.array(expected), rtol=1e-6)
    single = sketch2img.classification_loss(tf.constant([0]), tf.constant([[5.0]]))
    assert float(single[0]) == 0.0


def test_l1_and_diversity_losses():
    generated = tf.fill([1, 2, 2, 3], 0.5)
    real = tf.fill([1, 2, 2, 3], -0.5)
    np.testing.assert_allclose(sketch2img.l1_loss(generated, real, weight=2.0).numpy(), [2.0])
    # images differ by 1 everywhere, noise vectors by 2 everywhere: slope 1/2, loss -weight/2
    loss = sketch2img.diversity_loss(generated, real, tf.zeros([1, 4]), tf.fill([1, 4], 2.0),
                                     weight=3.0)
    np.testing.assert_allclose(loss.numpy(), [-1.5], rtol=1e-4)


def test_dragan_penalty_by_hand():
    """DRAGAN's penalty is two-sided, (||grad D|| - 1)^2, as in its paper and code.

    So it is zero for a discriminator whose gradient norm is 1 near the data (here a linear one
    with a unit-norm weight), not for a constant one: a constant D has gradient 0 and pays the
    full weight. The one-sided variant max(0, ||g|| - 1)^2 is the one that is zero for a constant
    discriminator (the issue's wording); both are checked.
    """
    images = tf.random.uniform([3, 4, 4, 3], seed=1)
    direction = np.random.default_rng(0).normal(size=(4, 4, 3)).astype(np.float32)
    unit = tf.constant(direction / np.linalg.norm(direction))

    def linear(scale):
        return lambda x: scale * tf.reduce_sum(x * unit, axis=[1, 2, 3])

    def constant(x):
        return 0.0 * tf.reduce_sum(x, axis=[1, 2, 3]) + 4.0

    np.testing.assert_allclose(sketch2img.dragan_penalty(linear(1.0), images).numpy(), 0.0,
                               atol=1e-5)
    # gradient norm 3: (3 - 1)^2 * 10 = 40 per example
    np.testing.assert_allclose(sketch2img.dragan_penalty(linear(3.0), images).numpy(), 40.0,
                               rtol=1e-5)
    np.testing.assert_allclose(sketch2img.dragan_penalty(constant, images, weight=10.0).numpy(),
                               10.0, rtol=1e-5)
    np.testing.assert_allclose(sketch2img.dragan_penalty(constant, images, one_sided=True).numpy(),
                               0.0, atol=1e-6)
    np.testing.assert_allclose(
        sketch2img.dragan_penalty(linear(0.5), images, one_sided=True).numpy(), 0.0, atol=1e-6)


def test_dragan_perturbs_real_data_as_the_reference_code():
    images = tf.constant(np.arange(2 * 2 * 2 * 1, dtype=np.float32).reshape(2, 2, 2, 1))
    seen = {}

    def critic(x):
        seen["x"] = x
        return tf.reduce_sum(x, axis=[1, 2, 3])

    perturbation = tf.fill(images.shape, 0.5)
    sketch2img.dragan_penalty(critic, images, perturbation=perturbation, mixing=[0.0, 1.0])
    std = float(np.std(images.numpy()))
    np.testing.assert_allclose(seen["x"][0].numpy(), images[0].numpy())  # a = 0: x itself
    np.testing.assert_allclose(seen["x"][1].numpy(), images[1].numpy() + 0.5 * std * 0.5,
                               rtol=1e-6)  # a = 1: x + 0.5 std(x) u


def test_perceptual_loss_says_clearly_when_imagenet_weights_cannot_be_had(monkeypatch, tmp_path):
    import keras

    def no_network(*arguments, **keywords):
        raise Exception("URL fetch failure: [Errno -2] Name or service not known")

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    sketch2img.perceptual_weights_path.cache_clear()
    with pytest.raises(sketch2img.PerceptualWeightsUnavailable,
                       match="perceptual loss disabled: ImageNet weights for inception_v3 could "
                             "not be downloaded.*perceptual_weight=0"):
        sketch2img.resolve("faces_sketch2photo", perceptual_weight=1.0)
    sketch2img.perceptual_weights_path.cache_clear()
    assert sketch2img.resolve("faces_sketch2photo").perceptual_weight == 0.0


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="did you mean 'epochs'"):
        sketch2img.resolve("faces_sketch2photo", epochz=3)
    with pytest.raises(ValueError, match="did you mean 'faces_sketch2photo'"):
        sketch2img.resolve("faces_sketch2phot")
    with pytest.raises(ValueError, match="dragan_weight must be >= 0"):
        sketch2img.resolve("faces_sketch2photo", dragan_weight=-1.0)


# -- data ------------------------------------------------------------------------------------------
def test_pair_loader_matches_by_name_and_reports_unmatched(faces, tmp_path):
    root = tmp_path / "pairs"
    for folder in ("sketch", "photo"):
        (root / folder).mkdir(parents=True)
    for stem in ("f005", "f006", "f007"):
        shutil.copy(faces / "sketch" / f"{stem}.jpg", root / "sketch" / f"{stem}.jpg")
        shutil.copy(faces / "photo" / f"{stem}.jpg", root / "photo" / f"{stem}.jpg")
    shutil.copy(faces / "sketch" / "f008.jpg", root / "sketch" / "lonely.jpg")
    shutil.copy(faces / "photo" / "f009.jpg", root / "photo" / "f009.jpg")
    messages = []
    pairs = sketch2img.load_sketch_pairs(root, image_size=32, log=messages.append)
    assert len(pairs) == 3 and pairs.names == ["pairs/f005", "pairs/f006", "pairs/f007"]
    assert pairs.unmatched_sketches == ["pairs/lonely"]
    assert pairs.unmatched_photos == ["pairs/f009"]
    assert "1 sketches without a photo: pairs/lonely" in messages[0]
    assert pairs.sketches.shape == (3, 32, 32, 1) and pairs.photos.shape == (3, 32, 32, 3)
    # inverted: the paper is mostly white, so most pixels are now dark
    assert np.median(pairs.sketches) < 60
    assert pairs.categories == ["pairs"] and list(pairs.labels) == [0, 0, 0]


def test_sketchy_layout_drops_error_sketches(faces, tmp_path):
    root = tmp_path / "sketchy"
    photo = root / "photo" / "tx_000100000000" / "face"
    sketch = root / "sketch" / "tx_000100000000" / "face"
    photo.mkdir(parents=True)
    sketch.mkdir(parents=True)
    shutil.copy(faces / "photo" / "f005.jpg", photo / "n001.jpg")
    for number in (1, 2, 3):
        Image.open(faces / "sketch" / "f005.jpg").save(sketch / f"n001-{number}.png")
    Image.open(faces / "sketch" / "f006.jpg").save(sketch / "n999-1.png")
    (root / "info").mkdir()
    (root / "info" / "invalid-error.txt").write_text("n001-2\n")
    pairs = sketch2img.load_sketch_pairs(root, layout="sketchy", image_size=16, log=lambda m: None)
    assert pairs.names == ["face/n001-1", "face/n001-3"]
    assert pairs.dropped_as_error == ["face/n001-2"]
    assert pairs.unmatched_sketches == ["face/n999-1"]
    with pytest.raises(ValueError, match="try layout='simple'"):
        sketch2img.load_sketch_pairs(tmp_path / "nowhere", layout="sketchy")


def test_normalisation_follows_the_seed_and_stays_in_range(faces):
    pairs = sketch2img.load_sketch_pairs(faces, image_size=16, limit=6, log=lambda m: None)
    statistics = sketch2img.data_statistics(pairs)
    photos = sketch2img.normalize(pairs.photos, statistics["photo_mean"],
                                  statistics["photo_scale"]).numpy()
    assert photos.min() >= -1.0 - 1e-6 and photos.max() <= 1.0 + 1e-6
    assert max(abs(photos.min()), abs(photos.max())) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(photos.reshape(-1, 3).mean(axis=0), 0.0, atol=1e-4)
    back = sketch2img.denormalize_to_uint8(photos, statistics["photo_mean"],
                                           statistics["photo_scale"])
    assert np.abs(back.astype(int) - pairs.photos.astype(int)).max() <= 1
    batch = next(iter(sketch2img.pair_dataset(pairs, statistics, 3, seed=0)))
    assert batch[0].shape == (3, 16, 16, 1) and batch[1].shape == (3, 16, 16, 3)
    assert float(tf.reduce_max(tf.abs(batch[1]))) <= 1.0


# -- a step, a run, draw ---------------------------------------------------------------------------
def test_one_step_updates_both_networks_with_finite_losses():
    from sketchdraw import skeleton

    generator = sketch_generator(16, base_filters=2, num_classes=2, noise_dim=3)
    discriminator = sketch_discriminator(16, num_classes=2, base_filters=2)
    generator_optimizer = skeleton.adam(1e-3, 0.5, generator)
    discriminator_optimizer = skeleton.adam(1e-3, 0.5, discriminator)
    step = sketch2img.make_sketch_train_step(
        generator, discriminator, generator_optimizer, discriminator_optimizer,
        sketch2img.LossWeights(), noise_dim=3, global_batch_size=2, run_eagerly=True)
    before_g = [variable.numpy().copy() for variable in generator.trainable_variables]
    before_d = [variable.numpy().copy() for variable in discriminator.trainable_variables]
    batch = (tf.random.uniform([2, 16, 16, 1]), tf.random.uniform([2, 16, 16, 3], -1, 1),
             tf.constant([0, 1]))
    statistics = {key: float(value) for key, value in step(batch).items()}
    for key in ("generator_loss", "discriminator_loss", "dragan_penalty", "l1_loss",
                "diversity_loss", "discriminator_classification_loss"):
        assert np.isfinite(statistics[key]), key
    assert statistics["discriminator_classification_loss"] > 0  # two classes: something to learn
    assert statistics["dragan_penalty"] > 0
    changed = lambda before, model: any(  # noqa: E731
        not np.allclose(old, new.numpy()) for old, new in zip(before, model.trainable_variables))
    assert changed(before_g, generator) and changed(before_d, discriminator)


def test_run_draw_and_resume(faces, tmp_path):
    # Eager steps and no DRAGAN/diversity: building the compiled step's graph takes ~1-2 minutes
    # on two busy cores, far longer than the tiny run; the step test above covers those terms and
    # the papermill test (slow) runs the compiled step.
    config = sketch2img.resolve("faces_sketch2photo", data_root=str(faces), epochs=1,
                                runs_dir=str(tmp_path), name="tiny", dragan_weight=0.0,
                                diversity_weight=0.0, **TINY)
    result = sketch2img.train_sketch2img(config, log=lambda m: None, run_eagerly=True)
    run = result.run.root
    for name in ("config.json", "data_statistics.json", "reals.png", "history.csv",
                 "losses.png", "progress.gif", "samples.png", "generator.keras",
                 "images/image_at_epoch_0001.png"):
        assert (run / name).exists(), name
    grid = Image.open(run / "images" / "image_at_epoch_0001.png")
    assert grid.size[0] > grid.size[1] / 2  # 3 columns (sketch, generated, photo) x 2 rows
    assert len(result.held_out_sketches) == 2

    user_sketch = tmp_path / "my_sketch.png"
    Image.open(faces / "sketch" / "f005.jpg").convert("L").save(user_sketch)
    first = sketch2img.draw(run, user_sketch, samples=3)
    second = sketch2img.draw(run, [user_sketch, result.held_out_sketches[0]], samples=2, seed=1)
    assert first.name == "my_sketch_001.png" and second.name == "my_sketch_002.png"
    assert Image.open(first).size[0] > Image.open(first).size[1]  # one row: sketch + 3 images
    with pytest.raises(ValueError, match="does not exist"):
        sketch2img.draw(run, tmp_path / "missing.png")

    more = sketch2img.resolve("faces_sketch2photo", data_root=str(faces), epochs=2,
                              runs_dir=str(tmp_path), name="tiny", dragan_weight=0.0,
                              diversity_weight=0.0, **TINY)
    resumed = sketch2img.train_sketch2img(more, log=lambda m: None, run_eagerly=True)
    assert resumed.epochs_trained == 1
    assert [row["epoch"] for row in resumed.run.read_history()] == [1, 2]
    assert (run / "images" / "image_at_epoch_0002.png").exists()
    other = sketch2img.resolve("faces_sketch2photo", data_root=str(faces), epochs=2,
                               runs_dir=str(tmp_path), name="tiny", **{**TINY, "noise_dim": 5})
    with pytest.raises(ValueError, match="noise_dim: saved 4, asked 5"):
        sketch2img.train_sketch2img(other, log=lambda m: None)


@pytest.mark.slow  # ~80 s here: kernel start plus building the compiled step's graph
def test_papermill_runs_the_sketch2img_notebook(faces, tmp_path):
    papermill = pytest.importorskip("papermill")
    notebook = REPO / "notebooks" / "sketch2img.ipynb"
    executed = tmp_path / "executed.ipynb"
    papermill.execute_notebook(
        str(notebook), str(executed), cwd=str(REPO), progress_bar=False, kernel_name="python3",
        parameters=dict(data_root=str(faces), epochs=1, batch_size=4, limit=8, holdout=2,
                        base_filters=2, noise_dim=4, dragan_weight=0.0, diversity_weight=0.0,
                        runs_dir=str(tmp_path / "runs"), name="notebook"))
    run = tmp_path / "runs" / "notebook"
    assert (run / "images" / "image_at_epoch_0001.png").exists()
    assert list((run / "drawings").glob("*_001.png"))
    outputs = [o for c in json.loads(executed.read_text())["cells"] for o in c.get("outputs", [])]
    assert any(o.get("output_type") == "display_data" for o in outputs)
