"""The run skeleton every family goes through: a refused start leaves no settings behind, so the
corrected rerun starts the run instead of being refused as "a run with other settings"."""

from __future__ import annotations

import numpy as np
import pytest

from sketchdraw import cyclegan, dcgan, sketch2img
from sketchdraw.artifacts import RunFolder
from sketchdraw.families import FAMILIES, experiments, family_of


def _assert_nothing_saved(run_dir) -> None:
    run = RunFolder(run_dir)
    assert not run.config_path.exists()
    assert not run.checkpoints_dir.exists()
    assert not run.history_path.exists()


def _doodles(count: int = 64) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (count, 784), dtype=np.uint8)


@pytest.mark.parametrize("bad, message", [
    ({"model": "wikiart64"}, "wikiart64"),  # a painting model on 28x28 doodles: refused when built
    ({"batch_size": 128}, "larger than the 64 training images"),  # refused when the data load
    ({"stuck_window": 5, "stuck_factor": -5.0}, "factor"),  # refused by the stuck detector
])
def test_dcgan_refused_start_leaves_no_settings(tmp_path, bad, message):
    common = dict(epochs=1, batch_size=32, runs_dir=str(tmp_path), name="run", progress=False)
    with pytest.raises(ValueError, match=message):
        dcgan.train(dcgan.resolve("rabbit", **{**common, **bad}), images=_doodles())
    _assert_nothing_saved(tmp_path / "run")
    result = dcgan.train(dcgan.resolve("rabbit", **common), images=_doodles())
    assert result.epochs_trained == 1
    assert RunFolder(tmp_path / "run").load_config()["batch_size"] == 32


def test_dcgan_refuses_a_negative_seed_before_touching_the_folder(tmp_path):
    with pytest.raises(ValueError, match="seed must be"):
        dcgan.resolve("rabbit", seed=-1, runs_dir=str(tmp_path))
    assert not (tmp_path / "rabbit").exists()


def test_non_finite_settings_are_refused():
    with pytest.raises(ValueError, match="finite"):
        dcgan.resolve("rabbit", generator_learning_rate=float("inf"))
    with pytest.raises(ValueError, match="finite"):
        dcgan.resolve("rabbit", r1_weight=float("nan"))
    with pytest.raises(ValueError, match="finite"):
        cyclegan.resolve("photo2vangogh", learning_rate=float("nan"))


def test_cyclegan_refused_start_leaves_no_settings(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    common = dict(epochs=1, image_size=16, runs_dir=str(tmp_path), name="cycle", progress=False,
                  residual_blocks=1, generator_filters=4, discriminator_filters=4)
    with pytest.raises(ValueError, match="larger than the 4"):
        cyclegan.train_cycle(cyclegan.resolve("photo2vangogh", batch_size=8, **common),
                             images, images)
    _assert_nothing_saved(tmp_path / "cycle")
    result = cyclegan.train_cycle(cyclegan.resolve("photo2vangogh", **common), images, images)
    assert result.epochs_trained == 1
    assert (tmp_path / "cycle" / "generator_x2y.keras").is_file()


def test_sketch2img_refused_start_leaves_no_settings(tmp_path, face_pairs):
    pairs = sketch2img.load_sketch_pairs(face_pairs, image_size=16,
                                         limit=10, log=lambda message: None)
    common = dict(epochs=1, batch_size=4, base_filters=4, image_size=16, runs_dir=str(tmp_path),
                  name="faces", progress=False, diversity_weight=0.0, dragan_weight=0.0)
    with pytest.raises(ValueError, match="holdout 10 leaves no training pairs"):
        sketch2img.train_sketch2img(sketch2img.resolve("faces_sketch2photo", holdout=10, **common),
                                    pairs=pairs, run_eagerly=True)
    _assert_nothing_saved(tmp_path / "faces")
    assert not (tmp_path / "faces" / "data_statistics.json").exists()
    result = sketch2img.train_sketch2img(
        sketch2img.resolve("faces_sketch2photo", holdout=2, **common), pairs=pairs,
        run_eagerly=True)
    assert result.epochs_trained == 1
    assert len(result.held_out_sketches) == 2


def test_every_preset_belongs_to_exactly_one_family():
    names = [name for family in FAMILIES for name in FAMILIES.get(family).presets.names()]
    assert len(names) == len(set(names)) == len(experiments())
    assert family_of("rabbit_small").name == "dcgan"
    assert family_of("photo2vangogh").name == "cyclegan"
    assert family_of("faces_sketch2photo").name == "sketch2img"
    with pytest.raises(ValueError, match="rabbit_small"):
        family_of("rabbit_smal")


def test_every_family_settings_class_knows_its_notebook_and_resumable_fields():
    for name in FAMILIES:
        family = FAMILIES.get(name)
        fields = set(family.settings_class.field_names())
        assert family.settings_class.RESUMABLE <= fields, name
        for experiment in family.presets.names():
            assert family.presets.copy(experiment).notebook().endswith(".ipynb")
