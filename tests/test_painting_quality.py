"""Measuring painting runs: the held-out share of a painting folder, the painting judge, and
`evaluate_paintings` (`make evaluate` on a painting run), on real shared paintings.

The judge learns Van Gogh's paintings against his drawings (both folders are in the repository's
test sample too) from 24 training files each, in 2 short epochs, and is cached in the module's
cache folder; a painting DCGAN trains 1 epoch on 32 paintings. Both hold out a fifth of each folder
(SHARE), not the presets' tenth: the sample's 8 drawings would leave none out at 0.1. The InceptionV3 KID is measured
with Keras's InceptionV3 replaced: by one whose weights cannot be had (no network is tried) and by
a tiny stand-in network.
"""

from __future__ import annotations

import functools
import json
import math
import re
import shutil

import keras
import numpy as np
import pytest
from PIL import Image

from sketchdraw import cli, dcgan, paintings, quality
from sketchdraw.artifacts import RunFolder
from sketchdraw.quality import painting_judge

JUDGE_OPTIONS = {"epochs": 2, "images_per_epoch": 128, "limit_per_class": 24}
ROW_KEYS = {"count", "fid", "kid_mean", "kid_std", "cs", "gd", "coverage", "memorisation_distance", "near_copies", "swd",
            "swd_64px", "swd_32px", "swd_16px"}
OFFLINE = "URL fetch failure: no network in this test"
SHARE = 0.2


@pytest.fixture(scope="module")
def vangogh(shared_data):
    return shared_data / "wikiart" / "vangogh"


@pytest.fixture(scope="module")
def folders(shared_data, vangogh):
    return {"vangogh": vangogh, "vangogh_drawings": shared_data / "wikiart" / "vangogh_drawings"}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, vangogh, folders):
    """A module cache, the judge trained into it, and a 1-epoch painting run on 32 paintings."""
    root = tmp_path_factory.mktemp("painting_quality")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SKETCHDRAW_CACHE", str(root / "cache"))
        judge = painting_judge.load_or_train_painting_judge(folders, held_out_share=SHARE, progress=False,
                                                            **JUDGE_OPTIONS)
        config = dcgan.resolve("vangogh", name="tiny", data=str(vangogh), epochs=1, limit=32, batch_size=16,
                               held_out_share=SHARE, checkpoint_every=1, runs_dir=str(root / "runs"),
                               progress=False)
        dcgan.train(config)
        yield {"root": root, "cache": root / "cache", "judge": judge, "run": root / "runs" / "tiny",
               "config": config}


def offline_inception(**options):
    raise OSError(OFFLINE)


def stand_in_inception(**options):
    """A tiny network with InceptionV3's interface: 299x299 RGB in, average-pooled features out."""
    inputs = keras.Input(shape=(299, 299, 3))
    x = keras.layers.AveragePooling2D(13)(inputs)
    x = keras.layers.Conv2D(8, 3, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(seed=1))(x)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))


# ----------------------------------------------------------------------------------------------
# The held-out share


def held_out_names(painting_set, share) -> set[str]:
    _, held_out = paintings.split_held_out(painting_set, share)
    return {painting_set.paths[row].name for row in held_out}


def test_the_split_is_deterministic_disjoint_and_about_the_share(vangogh):
    found = paintings.load_painting_folder(vangogh, progress=False)
    training, held_out = paintings.split_held_out(found, 0.1)
    again_training, again_held_out = paintings.split_held_out(found, 0.1)
    np.testing.assert_array_equal(training, again_training)
    np.testing.assert_array_equal(held_out, again_held_out)
    assert not set(training) & set(held_out)
    assert sorted([*training, *held_out]) == list(range(len(found)))
    expected = 0.1 * len(found)  # a binomial count: within 3 standard deviations of a tenth
    assert abs(len(held_out) - expected) <= 3 * math.sqrt(len(found) * 0.1 * 0.9) + 1
    assert held_out_names(found, 0.05) <= held_out_names(found, 0.1)  # shares are nested
    assert held_out_names(found, 0.0) == set()


def test_the_split_does_not_depend_on_load_order_or_on_the_other_files(vangogh, tmp_path):
    found = paintings.load_painting_folder(vangogh, progress=False)
    order = np.random.default_rng(3).permutation(len(found))
    shuffled = paintings.PaintingSet(found.images[order], [found.paths[row] for row in order], folder=found.folder)
    assert held_out_names(shuffled, 0.1) == held_out_names(found, 0.1)
    # A folder with only some of the files: each keeps its side, whatever else is there.
    subset = tmp_path / "vangogh"
    subset.mkdir()
    for path in found.paths[::7]:
        shutil.copy(path, subset / path.name)
    part = paintings.load_painting_folder(subset, progress=False)
    assert held_out_names(part, 0.1) == held_out_names(found, 0.1) & {path.name for path in part.paths}


@pytest.mark.parametrize("share", [0.5, 0.7, -0.1, True, "0.1", float("nan")])
def test_a_refused_share_says_what_is_allowed(share):
    with pytest.raises(ValueError, match=r"held_out_share .*up to but not including 0\.5.*held_out_share=0\.1"):
        paintings.check_held_out_share(share)


def test_the_setting_holds_out_paintings_from_painting_runs_only(vangogh):
    assert {dcgan.preset(name).held_out_share for name in ("vangogh", "vangogh_diffaugment", "expressionism")} == {0.1}
    assert dcgan.preset("rabbit").held_out_share == 0.0  # and an older config.json reads as 0: all trained on
    with pytest.raises(ValueError, match="up to but not including 0.5"):
        dcgan.resolve("vangogh", data=str(vangogh), held_out_share=0.5)
    with pytest.raises(ValueError, match="doodle run keeps drawings unseen with limit="):
        dcgan.resolve("rabbit", held_out_share=0.1)
    config = dcgan.resolve("vangogh", data=str(vangogh), progress=False)
    found = paintings.load_painting_folder(vangogh, progress=False)
    training_rows, held_out_rows = paintings.split_held_out(found, 0.1)
    np.testing.assert_array_equal(dcgan.load_training_images(config), found.images[training_rows])
    everything = dcgan.resolve("vangogh", data=str(vangogh), held_out_share=0.0, progress=False)
    assert len(dcgan.load_training_images(everything)) == len(found)
    limited = dcgan.resolve("vangogh", data=str(vangogh), limit=20, limit_seed=4, progress=False)
    chosen = dcgan.load_training_images(limited)
    held_out = {found.images[row].tobytes() for row in held_out_rows}
    assert len(chosen) == 20 and not held_out & {image.tobytes() for image in chosen}


# ----------------------------------------------------------------------------------------------
# The painting judge


def test_the_judge_trains_on_the_training_files_and_is_cached(workspace, folders):
    judge = workspace["judge"]
    # by default a class of broken paintings besides the folders (quality.artefacts)
    assert judge.categories == ["vangogh", "vangogh_drawings", "artefacts"]
    held_out_total = 0
    for name, folder in folders.items():
        found = paintings.load_painting_folder(folder, progress=False)
        _, held_out = paintings.split_held_out(found, SHARE)
        np.testing.assert_array_equal(judge.held_out_indices[name], held_out)
        assert judge.counts[name] == {"train": 24, "held_out": len(held_out)}
        held_out_total += len(held_out)
    # one broken copy of every training and every held-out file, measured on the held-out ones
    assert judge.counts["artefacts"] == {"train": 48, "held_out": held_out_total}
    assert 0.0 <= judge.held_out_accuracy <= 1.0
    assert set(judge.per_category_accuracy) == {*folders, "artefacts"}
    folder = workspace["cache"] / "painting_judge" / judge.key
    info = json.loads((folder / "info.json").read_text())
    assert info["held_out_accuracy"] == judge.held_out_accuracy and info["held_out_share"] == SHARE
    assert info["judge"] == "paintings" and info["folders"]["vangogh"] == str(folders["vangogh"])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SKETCHDRAW_CACHE", str(workspace["cache"]))
        loaded = painting_judge.load_or_train_painting_judge(folders, held_out_share=SHARE, progress=False,
                                                             **JUDGE_OPTIONS)
    assert isinstance(loaded, painting_judge.PaintingJudge) and loaded.key == judge.key
    sample = paintings.load_painting_folder(folders["vangogh"], progress=False).images[:5]
    features, probabilities = painting_judge.judge_features(loaded, sample)
    assert features.shape == (5, painting_judge.DEFAULT_FEATURE_UNITS) and probabilities.shape == (5, 3)
    np.testing.assert_allclose(features, painting_judge.judge_features(judge, sample)[0], rtol=1e-4, atol=1e-5)
    bigger = np.repeat(np.repeat(sample, 2, axis=1), 2, axis=2)  # a 128x128 run's paintings are resized
    assert painting_judge.judge_features(judge, bigger)[0].shape == features.shape
    # ... as the loader resizes what the judge learned from: the same paintings loaded at 128 x 128
    # reach the judge as (nearly) the pixels they have loaded at 64 x 64
    at_128 = paintings.load_painting_folder(folders["vangogh"], image_size=128, progress=False).images[:5]
    assert np.abs(painting_judge.to_judge_size(judge, at_128).astype(int) - sample).mean() < 1.0


def test_the_judge_folders_come_from_a_data_root_or_are_given(shared_data, vangogh, tmp_path):
    found, target = painting_judge.judge_folders(vangogh)  # the shared layout above the run's folder
    assert target == "vangogh" and found["vangogh"] == vangogh and len(found) >= 2
    assert set(found) <= set(painting_judge.SHARED_LAYOUT)
    given, target = painting_judge.judge_folders(str(vangogh), f"art={vangogh},other={tmp_path}")
    assert target == "art" and list(given) == ["art", "other"]
    lonely = tmp_path / "mine"
    lonely.mkdir()
    with pytest.raises(ValueError, match="JUDGE_DATA="):
        painting_judge.judge_folders(lonely)
    with pytest.raises(ValueError, match="name=folder pairs"):
        painting_judge.judge_folders(vangogh, "vangogh")
    with pytest.raises(ValueError, match="overlap"):
        painting_judge.judge_folders(vangogh, {"wikiart": shared_data / "wikiart", "mine": lonely})


# ----------------------------------------------------------------------------------------------
# The evaluation


def test_evaluate_paintings_writes_both_rows_beside_the_held_out_paintings(workspace, folders, monkeypatch):
    monkeypatch.setattr(keras.applications, "InceptionV3", offline_inception)
    document = quality.evaluate_paintings(workspace["run"], draws=2, resamples=20, progress=False,
                                          judge_folders=folders, judge_options=JUDGE_OPTIONS,
                                          cache=workspace["cache"])
    on_disk = json.loads(RunFolder(workspace["run"]).metrics_path.read_text())
    assert on_disk == json.loads(json.dumps(document))
    found = paintings.load_painting_folder(workspace["config"].data, progress=False)
    held_out = len(paintings.split_held_out(found, SHARE)[1])
    assert document["held_out_paintings"] == held_out and document["training_paintings"] == 32
    assert document["samples"] == max(held_out, 40) and document["generated"]["count"] == document["samples"]
    assert document["classifier"]["key"] == workspace["judge"].key
    assert document["category"] == "vangogh" and document["family"] == "paintings"
    for row in ("generated", "real_held_out"):
        assert set(document[row]) == ROW_KEYS, row
        assert all(math.isfinite(value) for value in document[row].values()), row
        assert 0.0 <= document[row]["cs"] <= 1.0 and 0.0 <= document[row]["coverage"] <= 1.0
    assert document["real_held_out"]["count"] == held_out
    # the share below the 5th percentile of its own distances: 5%, to one painting
    assert abs(document["real_held_out"]["near_copies"] - 0.05) <= 1 / held_out
    sheet = Image.open(workspace["run"] / "nearest_training.png")  # 8 pairs, 64 px at scale 2, a caption
    assert sheet.width == 2 * (8 * 66 + 2) and sheet.height == 2 * (2 * 66 + 2) + 28
    assert len(document["generated_draws"]) == 2
    assert document["swd_resolutions"] == [64, 32, 16]
    assert document["inception"]["available"] is False
    assert document["inception"]["reason"].startswith("the ImageNet InceptionV3 weights could not be obtained")
    assert OFFLINE in document["inception"]["reason"]
    bars = document["intervals"]
    assert bars["generated"]["cs"][0] <= document["generated"]["cs"] + 1e-9
    assert set(bars["generated_minus_real"]) == {"kid_mean", "fid"}
    table = quality.format_painting_table(document)
    assert "recognised as vangogh" in table and "SWD x10^3, 16x16 level" in table
    assert re.search(r"KID, ImageNet InceptionV3 +unavailable: the ImageNet InceptionV3 weights", table)
    rows = quality.compare_table([workspace["run"]])  # the comparison tables read it too
    assert [row["run"] for row in rows] == ["tiny", "real held-out vangogh"]
    page = (workspace["run"] / "index.html").read_text()
    assert 'data-metric="swd"' in page and 'data-metric="cs"' in page
    assert 'src="nearest_training.png"' in page


def test_inception_kid_is_measured_when_a_network_can_be_had(workspace, folders, monkeypatch):
    monkeypatch.setattr(keras.applications, "InceptionV3", stand_in_inception)
    document = quality.evaluate_paintings(workspace["run"], samples=12, resamples=0, progress=False,
                                          judge=workspace["judge"])
    assert document["inception"] == {"available": True, "reason": None}
    for row in ("generated", "real_held_out"):
        assert math.isfinite(document[row]["inception_kid"])
    assert "intervals" not in document and document["generated"]["count"] == 12


def test_the_cli_measures_a_painting_run_and_prints_the_table(workspace, folders, monkeypatch, capsys):
    monkeypatch.setenv("SKETCHDRAW_CACHE", str(workspace["cache"]))
    monkeypatch.setattr(keras.applications, "InceptionV3", offline_inception)
    # the module's judge, from the cache: the CLI asks for the default recipe, this the short one
    small = functools.partial(painting_judge.load_or_train_painting_judge, **JUDGE_OPTIONS)
    monkeypatch.setattr(painting_judge, "load_or_train_painting_judge", lambda folders, **options: small(
        folders, **{key: value for key, value in options.items() if key not in JUDGE_OPTIONS}))
    judge_folders = ",".join(f"{name}={folder}" for name, folder in folders.items())
    assert cli.main(["evaluate", "--run", str(workspace["run"]), "--judge-folders", judge_folders,
                     "--resamples", "20"]) == 0
    printed = capsys.readouterr().out
    assert "recognised as vangogh" in printed and "unavailable" in printed
    assert "painting judge: 2 folders and broken paintings, held-out accuracy" in printed and "wrote " in printed


def test_evaluate_missing_measures_a_painting_run_with_the_painting_judge(workspace, folders, monkeypatch,
                                                                          tmp_path):
    """The comparison notebook's `evaluate_missing` takes doodle options (classifier categories,
    samples); a painting run among the runs gets the painting evaluation, not the doodle one."""
    monkeypatch.setattr(keras.applications, "InceptionV3", offline_inception)
    copy = tmp_path / "tiny_copy"
    shutil.copytree(workspace["run"], copy)
    (copy / "metrics.json").unlink(missing_ok=True)
    done = quality.evaluate_missing([copy], progress=False, classifier_categories=["rabbit", "cat"],
                                    samples=1000, drawings_per_category=300, classifier_epochs=2,
                                    resamples=0, judge_folders=folders, judge_options=JUDGE_OPTIONS,
                                    cache=workspace["cache"])
    assert done == [copy]
    document = json.loads((copy / "metrics.json").read_text())
    assert document["family"] == "paintings" and document["category"] == "vangogh"
    assert document["classifier"]["key"] == workspace["judge"].key  # the cached painting judge
    assert document["samples"] == max(document["held_out_paintings"], 40)  # not the doodles' 1000
    assert quality.evaluate_missing([copy], progress=False) == []  # measured once


def test_a_run_without_held_out_paintings_is_refused_with_the_fix(workspace, vangogh):
    config = dcgan.resolve("vangogh", name="everything", data=str(vangogh), held_out_share=0.0, epochs=1,
                           limit=16, batch_size=16, runs_dir=str(workspace["root"] / "runs"), progress=False)
    folder = RunFolder(config.run_dir)
    folder.root.mkdir(parents=True)
    (folder.config_path).write_text(json.dumps(config.to_dict()))
    with pytest.raises(ValueError, match=r"held_out_share=0\.1"):
        quality.evaluate_paintings(folder.root, judge=workspace["judge"], progress=False)
    with pytest.raises(ValueError, match="evaluate_paintings"):
        quality.evaluate(workspace["run"], progress=False)


# ----------------------------------------------------------------------------------------------
# The quality curve and keep_best on a painting run


def test_a_painting_run_has_a_quality_curve_and_keeps_its_best_epoch(workspace, vangogh):
    config = dcgan.resolve("vangogh", name="curve", data=str(vangogh), epochs=2, limit=32, batch_size=16,
                           held_out_share=SHARE, checkpoint_every=1, quality_every=1, keep_best=True,
                           runs_dir=str(workspace["root"] / "runs"), progress=False)
    callback = quality.quality_callback(config, every=1, samples=24, classifier=workspace["judge"],
                                        progress=False, keep_best=True)
    dcgan.train(config, callbacks=[callback])
    run = RunFolder(config.run_dir)
    rows = run.read_history()
    assert [row["epoch"] for row in rows] == [1, 2]
    for row in rows:
        assert 0.0 <= row["cs_low"] <= row["cs"] <= row["cs_high"] <= 1.0
        assert row["kid_low"] <= row["kid_mean"] <= row["kid_high"]
    assert (run.root / "quality.png").is_file()
    best = json.loads(run.best_path.read_text())
    kids = {row["epoch"]: row["kid_mean"] for row in rows}
    assert best["epoch"] == min(kids, key=kids.get)
    assert run.measured_generator_path(1).is_file() and run.measured_generator_path(2).is_file()


def test_the_curve_measures_against_the_held_out_paintings_of_the_judge_and_run(workspace):
    config = workspace["config"]
    judge, target, reference = quality.painting_evaluation.painting_curve_reference(
        config, judge=workspace["judge"], progress=False)
    found = paintings.load_painting_folder(config.data, progress=False)
    assert len(reference) == len(paintings.split_held_out(found, SHARE)[1])
    assert judge.categories[target] == "vangogh"


@pytest.mark.parametrize("changes, message", [
    ({"held_out_share": 0.0}, "set held_out_share too"),
])
def test_a_painting_curve_without_held_out_paintings_is_refused(vangogh, changes, message):
    with pytest.raises(ValueError, match=message):
        dcgan.resolve("vangogh", data=str(vangogh), quality_every=5, **changes)
