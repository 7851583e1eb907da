"""The painting generator's no-checkerboard option (`upsampling` on `wikiart64`) and the small-data
painting ablation (studies/painting_recipe.py) end to end on real Van Gogh paintings: two settings
on one seed, two worker subprocesses, a tiny judge; each run trains to the same images seen, is
measured into metrics.json, and the table holds a row per run, each setting's mean, the real
held-out row and the targets judged against seed004's mean."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sketchdraw import dcgan
from sketchdraw.dcgan.networks import build_models
from sketchdraw.models.wikiart64 import wikiart64_generator

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / "studies" / "painting_recipe.py"
_spec = importlib.util.spec_from_file_location("painting_recipe", SCRIPT)
painting_recipe = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(painting_recipe)

TINY_JUDGE = {"epochs": 1, "images_per_epoch": 64, "limit_per_class": 16}


# ----------------------------------------------------------------------------------------------
# upsampling on the painting generator


def constant_generator_output(upsampling: str) -> np.ndarray:
    """A 32x32 one-channel generator with every kernel weight equal, no biases and batch norm an
    identity (a fresh layer at inference): what its doubling layers make of a flat input, before
    the tanh."""
    import keras

    generator = wikiart64_generator(noise_dim=4, image_size=32, channels=1, upsampling=upsampling)
    for layer in generator.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            continue
        layer.set_weights([np.full_like(weight, 0.01) if weight.ndim > 1 else np.zeros_like(weight)
                           for weight in layer.get_weights()])
    before_tanh = keras.Model(generator.inputs, generator.layers[-2].output)
    return before_tanh.predict(np.ones((1, 4), np.float32), verbose=0)[0, :, :, 0]


def test_the_seed_generator_stamps_a_grid_on_a_flat_input_and_the_resize_one_does_not():
    inside = (slice(8, -8), slice(8, -8))  # away from the zero padding at the border
    transpose = constant_generator_output("transpose")[inside]
    resize = constant_generator_output("resize")[inside]
    # a 5x5 kernel at stride 2 covers neighbouring pixels a different number of times
    assert np.ptp(transpose) > 0.1 * transpose.mean() > 0 and transpose[0, 0] != transpose[0, 1]
    assert np.ptp(resize) < 1e-5 * resize.mean()


def test_the_option_reaches_the_painting_generator_and_is_refused_elsewhere(shared_data):
    data = str(shared_data / "wikiart" / "vangogh")
    transpose, _ = build_models(dcgan.resolve("vangogh", data=data))
    resize, _ = build_models(dcgan.resolve("vangogh", data=data, upsampling="resize"))
    assert transpose.output_shape == resize.output_shape == (None, 64, 64, 3)
    assert any(type(layer).__name__ == "UpSampling2D" for layer in resize.layers)
    assert not any(type(layer).__name__ == "UpSampling2D" for layer in transpose.layers)
    with pytest.raises(ValueError, match="no 'upsampling' option"):
        build_models(dcgan.resolve("rabbit", upsampling="resize"))
    with pytest.raises(ValueError, match="'transpose'.*'resize'"):
        dcgan.resolve("vangogh", data=data, upsampling="bilinear")


def test_a_run_saved_before_the_option_reads_as_the_seed_generator(shared_data):
    config = dcgan.resolve("vangogh", data=str(shared_data / "wikiart" / "vangogh"), upsampling="resize")
    settings = json.loads(json.dumps(config.to_dict()))
    assert settings["upsampling"] == "resize"
    del settings["upsampling"]
    assert dcgan.RunConfig.from_dict(settings).upsampling == "transpose"


# ----------------------------------------------------------------------------------------------
# the ablation


def test_every_rung_adds_one_ingredient_to_the_one_before():
    ladder = painting_recipe.LADDER
    assert ladder[0] == painting_recipe.BASELINE
    for before, after in zip(ladder, ladder[1:]):
        changed = {key for key, value in painting_recipe.SETTINGS[after][1].items()
                   if painting_recipe.SETTINGS[before][1].get(key) != value}
        assert len(changed) == 1 or changed in painting_recipe.ONE_INGREDIENT, (before, after, changed)


def test_every_setting_is_a_valid_painting_run(shared_data):
    data = str(shared_data / "wikiart" / "vangogh")
    for setting, (preset, overrides) in painting_recipe.SETTINGS.items():
        config = dcgan.resolve(preset, data=data, **overrides)  # raises on a refused combination
        assert all(getattr(config, key) == value for key, value in overrides.items()), setting
    assert painting_recipe.SETTINGS["hinge_r1"][1]["label_treatment"] == "none"  # hinge takes no targets


def test_settings_of_different_batch_sizes_see_the_same_images(shared_data, tmp_path):
    data = shared_data / "wikiart" / "vangogh"
    seen = []
    for setting in ("seed004", "batch16"):
        config = painting_recipe.make_config(setting, 0, str(data), 3200, str(tmp_path))
        per_epoch = 355 // config.batch_size * config.batch_size  # 398 paintings less the held-out 43
        seen.append(config.epochs * per_epoch)
    assert seen[0] == 3200 and 3200 <= seen[1] < 3200 + 352


def measured(kid: float, cs: float, swd: tuple, memorisation: float) -> dict:
    row = {"kid_mean": kid, "cs": cs, "memorisation_distance": memorisation, "gd": 1.0}
    row.update({f"swd_{level}px": value for level, value in zip((64, 32, 16), swd, strict=True)})
    return row


def test_the_targets_are_judged_against_the_baseline_mean_and_the_real_row():
    baseline = measured(0.2, 0.5, (30, 20, 10), 1.0)
    real = measured(0.0, 0.9, (5, 5, 5), 1.2)
    better = measured(0.09, 0.75, (29, 19, 9), 1.3)
    assert painting_recipe.judge_setting(better, baseline, real, [64, 32, 16]) == {
        "kid_mean": True, "cs": True, "memorisation_distance": True, "swd": True}
    worse = measured(0.11, 0.70, (29, 21, 9), 1.1)
    assert painting_recipe.judge_setting(worse, baseline, real, [64, 32, 16]) == {
        "kid_mean": False, "cs": False, "memorisation_distance": False, "swd": False}
    assert painting_recipe.judge_setting(better, None, real, [64, 32, 16])["kid_mean"] is None


def test_the_table_counts_near_copies_and_dashes_runs_measured_before_them():
    def document(generated: dict) -> dict:
        real = {**measured(0.0, 0.9, (5, 5, 5), 1.2), "near_copies": 0.05, "coverage": 0.95}
        return {"generated": generated, "real_held_out": real, "swd_resolutions": [64, 32, 16],
                "images_seen": 320, "train_seconds": 12.5, "held_out_paintings": 40}

    older = measured(0.2, 0.5, (30, 20, 10), 1.0)  # a metrics.json from before the figure
    newer = {**measured(0.09, 0.75, (29, 19, 9), 1.3), "near_copies": 0.125, "coverage": 0.9}
    table = painting_recipe.format_table([{"setting": "seed004", "seed": 0, "document": document(older)},
                                          {"setting": "resize", "seed": 0, "document": document(newer)}])
    lines = [line for line in table.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].split("|")[1:-1]]
    assert header[-3:] == ["memorisation", "near copies", "train s"] and lines[1].count("---") == len(header)
    cells = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[1:-1]] for line in lines[2:]}
    assert cells["seed004"][header.index("near copies")] == "-"
    assert cells["resize"][header.index("near copies")] == "0.125"
    assert cells["real held-out (40 unseen)"][header.index("near copies")] == "0.050"
    assert all(len(row) == len(header) for row in cells.values())


@pytest.mark.slow  # five Python processes, a judge and four evaluations: minutes on two cores
def test_the_study_trains_measures_and_tabulates_each_setting(shared_data, tmp_path):
    wikiart = shared_data / "wikiart"
    arguments = ["--data", str(wikiart / "vangogh"), "--settings", "seed004,resize", "--seeds", "3",
                 "--images", "64", "--limit", "64", "--draws", "2", "--workers", "2",
                 "--runs-dir", str(tmp_path / "runs"), "--results-dir", str(tmp_path / "results"),
                 "--judge-folders", f"vangogh={wikiart / 'vangogh'},drawings={wikiart / 'vangogh_drawings'}",
                 "--judge-options", json.dumps(TINY_JUDGE)]
    environment = {**os.environ, "SKETCHDRAW_CACHE": str(tmp_path / "cache"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, str(SCRIPT), *arguments], cwd=tmp_path, env=environment,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    for setting, upsampling in (("seed004", "transpose"), ("resize", "resize")):
        run = tmp_path / "runs" / f"vangogh-{setting}-s3"
        config = json.loads((run / "config.json").read_text())
        assert (config["upsampling"], config["seed"], config["limit"], config["epochs"]) == (upsampling, 3, 64, 1)
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["family"] == "paintings" and metrics["draws"] == 2 and metrics["train_seconds"] > 0
        assert metrics["images_seen"] == 64 and metrics["training_paintings"] == 64
        assert not metrics["inception"]["available"]
    [results] = (tmp_path / "results").glob("painting-recipe-vangogh-0k-*.md")
    text = results.read_text()
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert [line.split("|")[1].strip() for line in table[2:]] == [
        "seed004", "resize", "**seed004 mean**", "**resize mean**", "real held-out (43 unseen)"]
    assert "- resize: kid_mean " in text and "Noise: one draw moves KID" in text
    assert (tmp_path / "runs" / "vangogh-ladder.png").is_file()
    again = subprocess.run([sys.executable, str(SCRIPT), *arguments], cwd=tmp_path, env=environment,
                           capture_output=True, text=True, timeout=900)
    assert again.returncode == 0 and "measured already" in (tmp_path / "runs" / "vangogh-resize-s3.log").read_text()
    # The day's first table is a record: the second study writes beside it.
    tables = {path.name for path in (tmp_path / "results").glob("painting-recipe-vangogh-0k-*.md")}
    assert tables == {results.name, results.name.replace(".md", "-2.md")} and results.read_text() == text


def test_an_unknown_setting_is_refused_with_the_choices(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--settings", "seed004,resise"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "resise" in done.stderr and "resize" in done.stderr


def test_the_small_painting_presets_are_the_studys_measured_settings_at_their_budgets(shared_data, tmp_path):
    # vangogh_small is the Van Gogh ladder's last rung; expressionism_small is the few-shot pair measured
    # on Expressionism (the average's window in Expressionism epochs), trained for its own epochs.
    data = str(shared_data / "wikiart" / "vangogh")
    for experiment, setting, budget in (("vangogh_small", painting_recipe.LADDER[-1], set()),
                                        ("expressionism_small", "fastgan_ema999", {"epochs"})):
        studied = painting_recipe.make_config(setting, 0, data, painting_recipe.DEFAULT_IMAGES, str(tmp_path))
        preset = dcgan.resolve(experiment, data=data, runs_dir=str(tmp_path), progress=False)
        differing = {key for key, value in preset.to_dict().items()
                     if key not in ("experiment", "name") and studied.to_dict()[key] != value}
        assert differing == budget, (experiment, differing)
