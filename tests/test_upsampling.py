"""The generators' two ways of doubling a feature map (`layers.upsample`): the seeds' transposed
convolution, and nearest-neighbour resizing then a 3x3 convolution (`upsampling="resize"`), for the
CycleGAN and sketch-to-image generators."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from sketchdraw import cyclegan, sketch2img
from sketchdraw.cyclegan.networks import cycle_generator
from sketchdraw.layers import upsample
from sketchdraw.sketch2img.networks import sketch_generator


def doubled_constant(kind: str) -> np.ndarray:
    """A constant 8x8 map doubled by `kind` with every kernel weight 1 and no bias."""
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, upsample(inputs, 1, kind, name="up"))
    layer = model.get_layer("up")
    layer.set_weights([np.ones_like(weight) if weight.ndim > 1 else np.zeros_like(weight)
                       for weight in layer.get_weights()])
    return model.predict(np.ones((1, 8, 8, 1), np.float32), verbose=0)[0, :, :, 0]


def test_a_transposed_convolution_stamps_a_checkerboard_and_resizing_does_not():
    inside = (slice(2, -2), slice(2, -2))  # away from the zero padding at the border
    transpose = doubled_constant("transpose")[inside]
    resize = doubled_constant("resize")[inside]
    assert transpose.shape == resize.shape == (12, 12)
    # a 3x3 stride-2 kernel covers odd and even output pixels 1, 2 or 4 times
    assert set(np.unique(transpose)) == {1.0, 2.0, 4.0}
    assert transpose[0, 0] != transpose[0, 1] and transpose[0, 0] != transpose[1, 0]
    assert np.all(resize == 9.0)


@pytest.mark.parametrize("kind", ["transpose", "resize"])
def test_both_generators_keep_their_shapes_and_weight_counts(kind):
    cycle = cycle_generator(32, residual_blocks=1, base_filters=4, upsampling=kind)
    sketch = sketch_generator(32, base_filters=2, num_classes=2, noise_dim=3, upsampling=kind)
    assert cycle.output_shape == (None, 32, 32, 3)
    assert sketch.output_shape == (None, 32, 32, 3)
    kinds = {type(layer).__name__ for model in (cycle, sketch) for layer in model.layers}
    if kind == "resize":
        assert "Conv2DTranspose" not in kinds and "UpSampling2D" in kinds
    else:
        assert "Conv2DTranspose" in kinds
    # same weights either way: the two differ only in where the kernel's taps land
    assert cycle.count_params() == cycle_generator(32, 1, 4).count_params()
    assert sketch.count_params() == sketch_generator(32, 2, 2, 3).count_params()


def test_an_unknown_upsampling_is_refused_naming_both():
    with pytest.raises(ValueError, match="'transpose'.*'resize'.*got 'bilinear'"):
        cyclegan.resolve("photo2vangogh", upsampling="bilinear")
    with pytest.raises(ValueError, match="'transpose'.*'resize'.*got 'deconv'"):
        sketch2img.resolve("faces_sketch2photo", upsampling="deconv")
    with pytest.raises(ValueError, match="upsampling"):
        cycle_generator(32, upsampling="nearest")


@pytest.mark.slow  # ~15 s: the presets' CycleGAN already resizes in tests/test_cyclegan.py
def test_a_resize_cyclegan_trains_and_an_older_run_without_the_setting_reads_as_transpose(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 4, 32, 32, 3), dtype=np.uint8)
    config = cyclegan.CycleConfig(name="resize", image_size=32, epochs=1, batch_size=2, checkpoint_every=1,
                                  grid_examples=2, pool_size=2, residual_blocks=1, generator_filters=4,
                                  discriminator_filters=4, upsampling="resize", runs_dir=str(tmp_path),
                                  progress=False)
    result = cyclegan.train_cycle(config, images[0], images[1])
    saved = keras.models.load_model(result.run.root / "generator_x2y.keras")
    assert any(type(layer).__name__ == "UpSampling2D" for layer in saved.layers)
    settings = json.loads(result.run.config_path.read_text())
    assert settings["upsampling"] == "resize"
    del settings["upsampling"]
    assert cyclegan.CycleConfig.from_dict(settings).upsampling == "transpose"


# ----------------------------------------------------------------------------------------------
# Measuring translations on images the run never trained on (quality.translation)


def test_l1_ssim_and_the_interval_of_a_mean():
    from sketchdraw.quality import translation

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    noise = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    np.testing.assert_allclose(translation.ssim(images, images), 1.0, atol=1e-5)
    assert np.all(translation.l1(images, images) == 0)
    assert np.all(translation.ssim(images, noise) < 0.2)
    np.testing.assert_allclose(translation.l1(np.zeros_like(images), np.full_like(images, 255)), 1.0)
    low, high = translation.mean_interval([0.1, 0.2, 0.3, 0.4])
    assert 0.1 <= low < 0.25 < high <= 0.4
    with pytest.raises(ValueError, match="same shape|one shape"):
        translation.ssim(images, images[:2])


def test_a_sketch_to_image_run_is_scored_on_its_held_out_pairs(face_pairs, tmp_path):
    from sketchdraw.quality import translation

    with pytest.raises(ValueError, match="not a finished sketch-to-image run"):
        translation.sketch_to_photo_scores(tmp_path)
    config = sketch2img.resolve("faces_sketch2photo", data_root=str(face_pairs), epochs=1, runs_dir=str(tmp_path),
                                name="tiny", dragan_weight=0.0, diversity_weight=0.0, base_filters=4,
                                noise_dim=4, batch_size=4, holdout=3, limit=10, progress=False,
                                perceptual_weight=0.0, upsampling="resize")
    result = sketch2img.train_sketch2img(config, log=lambda message: None, run_eagerly=True)
    scores = translation.sketch_to_photo_scores(result.run.root, draws=2)
    assert scores["pairs"] == 3 and scores["draws"] == 2
    assert 0 < scores["l1"]["mean"] < 1 and -1 <= scores["ssim"]["mean"] <= 1
    for figure in ("l1", "ssim"):
        low, high = scores[figure]["interval"]
        assert low <= scores[figure]["mean"] <= high


def test_a_cyclegan_run_is_scored_on_its_held_out_photos(shared_data, tmp_path):
    import shutil

    from sketchdraw.quality import painting_judge, translation

    photos = tmp_path / "photos"
    photos.mkdir()
    for path in sorted((shared_data / "photos" / "landscapes").iterdir())[:8]:
        shutil.copy(path, photos / path.name)
    vangogh = shared_data / "wikiart" / "vangogh"
    judge = painting_judge.load_or_train_painting_judge(
        {"photos": photos, "vangogh": vangogh}, held_out_share=0.2, epochs=1, images_per_epoch=64,
        limit_per_class=16, cache=tmp_path / "cache", progress=False)
    config = cyclegan.CycleConfig(name="tiny", image_size=32, epochs=1, batch_size=2, checkpoint_every=1,
                                  grid_examples=2, pool_size=2, residual_blocks=1, generator_filters=4,
                                  discriminator_filters=4, limit=5, domain_x=str(photos), domain_y=str(vangogh),
                                  runs_dir=str(tmp_path / "runs"), progress=False)
    from sketchdraw.cyclegan.run import load_domain

    images_x, _ = load_domain(config.domain_x, config, "photo")
    cyclegan.train_cycle(config, images_x, images_x)  # what it learns does not matter here
    scores = translation.cycle_scores(config.run_dir, judge=judge)
    assert scores["photos"] == 3 and scores["judge_class"] == "vangogh"
    assert 0 < scores["cycle_error"]["mean"] < 1 and 0 <= scores["recognised"]["mean"] <= 1
    assert np.isfinite(scores["kid"]) and scores["reference_paintings"] >= 2


def test_the_translation_presets_decode_by_resizing_and_the_seed_decoder_stays_one_setting_away():
    for config in (cyclegan.preset("photo2vangogh"), cyclegan.preset("photo2expressionism"),
                   sketch2img.preset("faces_sketch2photo")):
        assert config.upsampling == "resize", config.experiment
    assert cyclegan.resolve("photo2vangogh", upsampling="transpose").upsampling == "transpose"
