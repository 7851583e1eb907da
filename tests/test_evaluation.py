"""Evaluating real (tiny) runs: metrics.json with both rows, the quality curve written into
history.csv during training, the comparison helpers, the CLI hook and the comparison notebook.

Two runs are trained once per module on real shared rabbits (160 drawings, batch 32): `curve`
(tutorial models, 2 epochs, with the quality callback every 2 epochs) and `upsample` (1 epoch). The
classifier learns 3 categories from 300 drawings each in 2 epochs (a few seconds) and is cached in
the module's cache folder, so every later use loads it.
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest

from sketchdraw import cli, dcgan, quality
from sketchdraw.artifacts import RunFolder

CATEGORIES = ["rabbit", "cat", "apple"]
CLASSIFIER = {"classifier_categories": CATEGORIES, "drawings_per_category": 300, "classifier_epochs": 2}
SAMPLES = 200
# Bootstrap resamples where a test looks at intervals but not at their precision: the FID of every
# resample is an eigenproblem, most of an evaluation's time at the default 200.
RESAMPLES = 50
ROW_KEYS = {"count", "fid", "kid_mean", "kid_std", "cs", "gd", "memorisation_distance"}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, quickdraw_mirror):
    root = tmp_path_factory.mktemp("evaluation")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SKETCHDRAW_CACHE", str(root / "cache"))
        patch.delenv("SKETCHDRAW_QUICKDRAW_MIRROR", raising=False)
        runs_dir = root / "runs"
        tiny = dict(limit=160, batch_size=32, runs_dir=str(runs_dir), progress=False,
                    mirror=str(quickdraw_mirror))
        curve = dcgan.resolve("rabbit", name="curve", epochs=2, checkpoint_every=1, **tiny)
        callback = quality.quality_callback(curve, every=2, samples=SAMPLES, progress=False, **CLASSIFIER)
        dcgan.train(curve, callbacks=[callback])
        upsample = dcgan.resolve("flower", category="rabbit", name="upsample", epochs=1,
                                       grid_size=4, **tiny)
        dcgan.train(upsample)
        yield {"root": root, "runs_dir": runs_dir, "curve": runs_dir / "curve",
               "upsample": runs_dir / "upsample", "mirror": quickdraw_mirror}


def test_the_quality_callback_adds_cs_and_kid_at_the_chosen_epochs(workspace):
    rows = RunFolder(workspace["curve"]).read_history()
    assert [row["epoch"] for row in rows] == [1, 2]
    assert rows[0].get("cs") is None and rows[0].get("kid_mean") is None  # epoch 1: not measured
    assert 0.0 <= rows[1]["cs"] <= 1.0 and math.isfinite(rows[1]["kid_mean"])
    # Each point with its 95% bootstrap interval, KID against drawings neither network saw.
    assert rows[1]["cs_low"] <= rows[1]["cs"] <= rows[1]["cs_high"]
    assert rows[1]["kid_low"] < rows[1]["kid_high"]
    assert rows[1]["generator_loss"] is not None  # the loss columns are kept
    assert (workspace["curve"] / quality.QUALITY_PLOT).stat().st_size > 1000


def test_the_quality_callback_wants_checkpointed_epochs():
    config = dcgan.resolve("rabbit", checkpoint_every=5, progress=False)
    with pytest.raises(ValueError, match="multiple of checkpoint_every"):
        quality.quality_callback(config, every=3)
    with pytest.raises(ValueError, match="positive whole number"):
        quality.quality_callback(config, every=0)


@pytest.mark.slow  # ~75 s: three measured epochs; tests/test_painting_quality.py keeps a painting run's best epoch by the same code
def test_keep_best_makes_the_lowest_kid_epoch_the_runs_generator(workspace, capfd):
    tiny = dict(limit=160, batch_size=32, runs_dir=str(workspace["runs_dir"]), progress=False,
                mirror=str(workspace["mirror"]), checkpoint_every=1, quality_every=1, keep_best=True)
    config = dcgan.resolve("rabbit", name="best", epochs=3, **tiny)
    callback = quality.quality_callback(config, every=1, samples=SAMPLES, progress=False,
                                           keep_best=True, **CLASSIFIER)
    result = dcgan.train(config, callbacks=[callback])
    run = RunFolder(workspace["runs_dir"] / "best")
    history = run.read_history()
    kids = [row["kid_mean"] for row in history]
    best = quality.read_best(run.root)
    assert best["epoch"] == history[kids.index(min(kids))]["epoch"]
    assert best["kid_mean"] == pytest.approx(min(kids), rel=1e-5) and best["images_seen"] == best["epoch"] * 160
    assert "keep_best: generator.keras is epoch" in capfd.readouterr().err
    from sketchdraw import sampling

    def drawings(path):
        import keras

        return sampling.generate(keras.models.load_model(path, compile=False), 8, seed=5)

    page = (run.root / "index.html").read_text()
    assert all(f'href="{name}"' in page for name in ("best.json", "generator_last.keras", "generators/"))
    assert sorted(path.name for path in run.measured_generators_dir.iterdir()) == [
        "epoch_0001.keras", "epoch_0002.keras", "epoch_0003.keras"]
    np.testing.assert_array_equal(drawings(run.generator_path),
                                  drawings(run.measured_generator_path(best["epoch"])))
    np.testing.assert_array_equal(sampling.generate(result.generator, 8, seed=5), drawings(run.generator_path))
    assert run.last_generator_path.is_file()
    if best["epoch"] != 3:  # the last epoch's generator is kept beside it, and differs
        assert not np.array_equal(drawings(run.last_generator_path), drawings(run.generator_path))
    document = quality.evaluate(run.root, samples=SAMPLES, progress=False, **CLASSIFIER)
    assert document["generator_epoch"] == best["epoch"] and document["epochs"] == 3
    figure = quality.plot_final_grids([run.root])  # the kept epoch's grid, not the newest
    assert figure.axes[0].get_title() == f"best, epoch {best['epoch']} (kept)"

    # With a tolerance, the highest CS of the epochs whose KID is within it of the lowest is kept.
    kept = quality.keep_best_generator(run, result.generator, tolerance=1.0, images_per_epoch=160)
    near = [row for row in history if row["kid_mean"] <= min(kids) + abs(min(kids))]
    highest = max(near, key=lambda row: (row["cs"], -row["kid_mean"], -row["epoch"]))
    assert quality.read_best(run.root)["epoch"] == highest["epoch"]
    np.testing.assert_array_equal(sampling.generate(kept, 8, seed=5),
                                  drawings(run.measured_generator_path(highest["epoch"])))

    # Measured again from the kept generators (after a judge change): the callback's own numbers.
    before = {row["epoch"]: row for row in run.read_history()}
    judge = quality.domain_classifier(CATEGORIES, 300, str(workspace["mirror"]), progress=False, epochs=2)
    again = quality.remeasure_curve(run.root, judge, progress=False, samples=SAMPLES)
    assert [row["epoch"] for row in again] == [1, 2, 3]
    for row in again:  # history.csv keeps 6 significant digits: a relative 5e-6 of rounding
        assert row["cs"] == pytest.approx(before[row["epoch"]]["cs"], rel=1e-5)
        assert row["kid_mean"] == pytest.approx(before[row["epoch"]]["kid_mean"], rel=1e-5)
        assert row["cs_low"] <= row["cs"] <= row["cs_high"]
    with pytest.raises(FileNotFoundError, match="keeps no measured generators"):
        quality.remeasure_curve(workspace["upsample"], judge, progress=False)

    # Without a quality callback keep_best has nothing to keep: it says so, the last one is saved.
    plain = dcgan.resolve("rabbit", name="best-unmeasured", epochs=1, **tiny)
    dcgan.train(plain)
    assert "no measured generator in" in capfd.readouterr().err
    assert (workspace["runs_dir"] / "best-unmeasured" / "generator.keras").is_file()


def test_choose_best_keeps_the_highest_cs_among_the_epochs_near_the_lowest_kid():
    rows = [{"epoch": 1, "cs": None, "kid_mean": None},
            {"epoch": 25, "cs": 0.70, "kid_mean": 0.0153},
            {"epoch": 50, "cs": 0.66, "kid_mean": 0.0137},
            {"epoch": 75, "cs": 0.62, "kid_mean": 0.0126},
            {"epoch": 100, "cs": 0.66, "kid_mean": 0.0137}]
    assert quality.choose_best(rows)["epoch"] == 75  # tolerance 0: the lowest KID
    assert quality.choose_best(rows, 0.1)["epoch"] == 50  # 0.0137 <= 0.0126 * 1.1; the tie: earlier
    assert quality.choose_best(rows, 0.25)["epoch"] == 25
    assert quality.choose_best(rows[:1], 0.1) is None
    # An unbiased KID can be negative: the tolerance is a fraction of its size, not of its sign.
    negative = [{"epoch": 1, "cs": 0.5, "kid_mean": -0.010}, {"epoch": 2, "cs": 0.9, "kid_mean": -0.0095},
                {"epoch": 3, "cs": 0.95, "kid_mean": 0.002}]
    assert quality.choose_best(negative, 0.1)["epoch"] == 2
    record = quality.best_record(rows[2], 0.1, images_per_epoch=448)
    assert record["images_seen"] == 50 * 448 and record["tolerance"] == 0.1
    assert "within 10% of the lowest" in record["chosen_by"]
    for bad in (-0.1, 1.5, float("nan"), True, "0.1"):
        with pytest.raises(ValueError, match="keep_best_tolerance"):
            quality.choose_best(rows, bad)
    with pytest.raises(ValueError, match="keep_best_tolerance"):
        dcgan.resolve("rabbit", keep_best_tolerance=2.0, progress=False)
    with pytest.raises(ValueError, match="set keep_best=true"):
        dcgan.resolve("rabbit", keep_best_tolerance=0.1, progress=False)
    assert dcgan.resolve("rabbit_small", keep_best_tolerance=0.1, progress=False).keep_best_tolerance == 0.1


def test_evaluate_writes_metrics_json_with_the_real_reference_row(workspace):
    document = quality.evaluate(workspace["curve"], samples=SAMPLES, progress=False, **CLASSIFIER)
    saved = json.loads((workspace["curve"] / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(document))
    assert saved["category"] == "rabbit"
    assert saved["classifier"]["categories"] == sorted(CATEGORIES)
    assert 0.0 <= saved["classifier"]["held_out_accuracy"] <= 1.0
    assert saved["images_seen"] == 2 * (160 // 32) * 32
    for row in ("generated", "real_held_out"):
        assert set(saved[row]) == ROW_KEYS
        assert all(math.isfinite(value) for value in saved[row].values()), saved[row]
    assert saved["generated"]["count"] == saved["real_held_out"]["count"] == SAMPLES
    # The reference drawings are unseen by the GAN: none is a copy of a training drawing.
    assert saved["real_held_out"]["memorisation_distance"] > 0
    # Every figure of both rows with its 95% bootstrap interval, around the figure itself.
    bars = saved["intervals"]
    assert bars["confidence"] == 0.95 and bars["resamples"] == quality.intervals.RESAMPLES
    for row in ("generated", "real_held_out"):
        assert set(bars[row]) == ROW_KEYS - {"count", "kid_std"}
        for figure in ("cs", "gd", "memorisation_distance", "fid"):
            low, high = bars[row][figure]
            assert low <= saved[row][figure] <= high, (row, figure)
    assert set(bars["generated_over_real"]) == {"cs", "gd", "memorisation_distance"}
    assert set(bars["generated_minus_real"]) == {"kid_mean", "fid"}
    # The gallery shows the generated row's numbers on the run's card.
    from sketchdraw import gallery

    headline = dict(gallery.headline_metrics(saved))
    assert {"fid", "kid_mean", "cs", "gd"} <= set(headline)
    assert "real held-out" not in " ".join(headline)


def test_evaluate_averages_the_generated_row_over_noise_draws(workspace, capsys):
    single = quality.evaluate(workspace["curve"], samples=SAMPLES, progress=False, resamples=RESAMPLES,
                              **CLASSIFIER)
    assert single["draws"] == 1 and "generated_draws" not in single
    assert quality.draw_spread(single) == {}
    document = quality.evaluate(workspace["curve"], samples=SAMPLES, progress=False, draws=3, resamples=RESAMPLES,
                                **CLASSIFIER)
    saved = json.loads((workspace["curve"] / "metrics.json").read_text())
    assert saved["draws"] == 3 and len(saved["generated_draws"]) == 3
    draws = saved["generated_draws"]
    # The first draw is the single-draw evaluation (same seed); the others are new noise.
    assert draws[0] == pytest.approx(single["generated"])
    assert len({row["cs"] for row in draws} | {row["kid_mean"] for row in draws}) > 2
    for key in ROW_KEYS - {"count"}:
        assert saved["generated"][key] == pytest.approx(np.mean([row[key] for row in draws]))
    assert saved["generated"]["count"] == SAMPLES
    assert saved["real_held_out"] == pytest.approx(single["real_held_out"])  # the same references
    mean, std, low, high = quality.draw_spread(document)["cs"]
    assert low <= mean <= high and std >= 0
    with pytest.raises(ValueError, match="draws must be a whole number >= 1"):
        quality.evaluate(workspace["curve"], samples=SAMPLES, progress=False, draws=0, **CLASSIFIER)
    # The interval of the mean of 3 draws is narrower than one draw's (GD: the tiny run's CS can
    # be 0 for every drawing, an interval of width 0).
    single_width = np.diff(single["intervals"]["generated"]["gd"])[0]
    assert 0 < np.diff(saved["intervals"]["generated"]["gd"])[0] < single_width
    with pytest.raises(ValueError, match="resamples must be 0"):
        quality.evaluate(workspace["curve"], samples=SAMPLES, progress=False, resamples=3, **CLASSIFIER)
    plain = quality.evaluate(workspace["curve"], samples=SAMPLES, progress=False, resamples=0, **CLASSIFIER)
    assert "intervals" not in plain


def test_evaluate_measures_with_the_truncation_asked_for(workspace):
    # No intervals (resamples=0): this test is about the noise, and the bootstrap is most of the time.
    plain = quality.evaluate(workspace["curve"], samples=SAMPLES, progress=False, resamples=0, **CLASSIFIER)
    assert plain["truncation"] == 0.0  # the run's own setting (a run saved without one: 0)
    truncated = quality.evaluate(workspace["curve"], samples=SAMPLES, progress=False, truncation=0.5,
                                 resamples=0, **CLASSIFIER)
    assert json.loads((workspace["curve"] / "metrics.json").read_text())["truncation"] == 0.5
    assert truncated["generated"]["gd"] != plain["generated"]["gd"]
    assert truncated["real_held_out"] == pytest.approx(plain["real_held_out"])
    with pytest.raises(ValueError, match="truncation is 0"):
        quality.evaluate(workspace["curve"], samples=SAMPLES, progress=False, truncation=-1, **CLASSIFIER)


def test_reference_drawings_exclude_everything_the_gan_trained_on(workspace):
    config = quality.load_run_config(workspace["curve"])
    trained = quality.domain_classifier(CATEGORIES, 300, config.mirror, progress=False, epochs=2)
    everything = np.load(workspace["mirror"] / "rabbit.npy")
    reference = quality.reference_drawings(config, trained, 10_000, everything[:160], progress=False)
    training_rows = {row.tobytes() for row in everything[:160]}
    classifier_training = set(range(300)) - set(trained.held_out_indices["rabbit"].tolist())
    assert not any(row.tobytes() in training_rows for row in reference)
    assert not any(everything[index].tobytes() in {r.tobytes() for r in reference} for index in classifier_training)
    assert len(reference) == (len(everything) - 300) + int(np.sum(trained.held_out_indices["rabbit"] >= 160))
    with pytest.raises(ValueError, match="smaller limit"):
        quality.reference_drawings(config, trained, 100, everything, progress=False)


def test_compare_table_puts_the_real_row_after_the_runs(workspace):
    # The tests before it may have left metrics.json measured without intervals (resamples=0).
    if "intervals" not in (quality.read_metrics(workspace["curve"]) or {}):
        quality.evaluate(workspace["curve"], samples=SAMPLES, progress=False, resamples=RESAMPLES, **CLASSIFIER)
    rows = quality.compare_table([workspace["curve"], workspace["upsample"]])
    assert [row["run"] for row in rows] == ["curve", "upsample", "real held-out rabbit"]
    assert rows[1]["note"].startswith("not evaluated")
    text = quality.format_table(rows)
    assert "real held-out rabbit" in text and "memorisation_distance" in text
    document = quality.read_metrics(workspace["curve"])
    low, high = document["intervals"]["generated"]["cs"]
    assert f"{document['generated']['cs']:.4g} [{low:.3g}, {high:.3g}]" in text
    lines = quality.interval_summary(document)
    # (a ratio to a real CS of 0, possible with this 2-epoch judge, has no interval and no line)
    assert lines[0].startswith("95% bootstrap intervals")
    assert any(line.startswith("kid_mean: generated - real = ") and "interval)" in line for line in lines)
    figure = quality.plot_quality_curves([workspace["curve"], workspace["upsample"]])
    assert len(figure.axes) == 3  # CS and KID for `curve`, losses for `upsample`
    by_images = quality.plot_quality_curves([workspace["curve"]], by_images=True, log_kid=True)
    config = json.loads((workspace["curve"] / "config.json").read_text())
    per_epoch = config["limit"] // config["batch_size"] * config["batch_size"]
    cs_axis, kid_axis = by_images.axes
    [curve] = [line for line in cs_axis.get_lines() if line.get_label() == workspace["curve"].name]
    epochs = [row["epoch"] for row in RunFolder(workspace["curve"]).read_history()
              if isinstance(row.get("cs"), (int, float))]
    assert list(curve.get_xdata()) == [epoch * per_epoch for epoch in epochs]
    assert cs_axis.get_xlabel() == "images seen" and kid_axis.get_yscale() == "log"
    assert len(quality.plot_final_grids([workspace["curve"], workspace["upsample"]]).axes) == 2
    # The discriminator's balance: one point per window of images, the mean gap of its epochs.
    history = RunFolder(workspace["curve"]).read_history()
    ends, gaps = quality.discriminator_balance(workspace["curve"], window_images=per_epoch)
    assert ends == [row["epoch"] * per_epoch for row in history]
    assert gaps == pytest.approx([row["discriminator_real_probability"] - row["discriminator_fake_probability"]
                                  for row in history])
    ends, gaps = quality.discriminator_balance(workspace["curve"], window_images=10 * per_epoch)
    assert ends == [len(history) * per_epoch] and len(gaps) == 1
    balance = quality.plot_discriminator_balance([workspace["curve"], workspace["upsample"]])
    assert [line.get_label() for line in balance.axes[0].get_lines()][:2] == ["curve", "upsample"]


def test_the_cli_hook_parses_and_fails_clearly(workspace, tmp_path):
    parser = argparse.ArgumentParser()
    cli.add_evaluate_parser(parser.add_subparsers(dest="command"))
    arguments = parser.parse_args(["evaluate", "--run", str(tmp_path), "--categories", "rabbit,cat"])
    assert arguments.handler is cli.evaluate_command and arguments.categories == "rabbit,cat"
    assert arguments.draws == 1
    assert parser.parse_args(["evaluate", "--run", "r", "--draws", "4"]).draws == 4
    assert arguments.resamples == quality.intervals.RESAMPLES
    assert parser.parse_args(["evaluate", "--run", "r", "--resamples", "0"]).resamples == 0
    with pytest.raises(FileNotFoundError, match="no config.json"):
        arguments.handler(arguments)
    with pytest.raises(ValueError, match="did you mean 'rabbit'"):
        quality.choose_categories("rabbit", "rabit,cat")
    with pytest.raises(ValueError, match="at least 2 categories"):
        quality.choose_categories("rabbit", ["rabbit"])
    assert quality.choose_categories("rabbit", None, mirror=workspace["mirror"])[:3] == ["apple", "bear", "bee"]


@pytest.mark.slow  # ~50 s: a kernel evaluating two runs; the comparison itself is tested above without papermill
def test_the_compare_notebook_evaluates_and_compares_two_runs(workspace):
    import papermill

    from tests.test_notebooks import REPO

    executed = workspace["root"] / "compare_runs.ipynb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SKETCHDRAW_CACHE", str(workspace["root"] / "cache"))
        papermill.execute_notebook(
            str(REPO / "notebooks" / "compare_runs.ipynb"), str(executed), cwd=str(REPO),
            kernel_name="python3", progress_bar=False,
            parameters={"runs": ["curve", "upsample"], "runs_dir": str(workspace["runs_dir"]),
                        "evaluate_missing": True, "categories": CATEGORIES, "samples": SAMPLES,
                        "drawings_per_category": 300, "classifier_epochs": 2})
    for run in ("curve", "upsample"):
        assert (workspace[run] / "metrics.json").exists(), run
    outputs = [output for cell in json.loads(executed.read_text())["cells"] for output in cell.get("outputs", [])]
    text = "".join("".join(output.get("text", "")) for output in outputs)
    assert "real held-out rabbit" in text and "upsample" in text
    assert sum(output.get("output_type") == "display_data" for output in outputs) >= 2  # grids, curves
