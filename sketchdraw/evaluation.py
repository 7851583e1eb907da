"""Measure a Quick, Draw! run: `metrics.json` in the run folder, a quality curve during training,
and the tables and figures that compare runs.

- `evaluate(run_dir)`: reads the run's `config.json`, trains (or loads from the cache) the domain
  classifier on the categories at hand (`classifier.load_or_train`, fed by
  `partial_downloads.fetch_first_drawings`, so no whole 100 MB files are needed), draws `samples`
  drawings with the run's generator, and writes `metrics.evaluate_drawings`'s two rows, the
  generated drawings and real drawings of the same category, to `metrics.json`. With `draws=N`
  the generated row is the mean over N noise draws (`measure_draws`), each draw's row kept beside it.
- `quality_callback(config, every=K)`: an epoch callback for `training.train(..., callbacks=[...])`
  that adds `cs` and `kid_mean` to history.csv every K epochs and redraws `quality.png`; with
  `keep_best` it also saves each measured epoch's generator (`generators/`), and at the end
  `training.train` makes the one `choose_best` picks the run's `generator.keras` (`best.json`).
- `compare_table`, `format_table`, `plot_final_grids`, `plot_quality_curves`: what
  `notebooks/compare_runs.ipynb` shows.
- `add_evaluate_parser`, `evaluate_command`: `python -m sketchdraw evaluate --run runs/rabbit`.

The real reference row uses drawings that *neither* network trained on: the classifier's held-out
drawings of the category and the drawings after the first N it was trained on, minus every drawing
in the GAN's training set (compared by content). A run trained on every drawing of its category
has none left, and is refused with a message saying so (train it with `limit=`).

What it is not: the metrics themselves (`metrics.py`), the classifier (`classifier.py`), or the
training loop (`training.py`). Paintings runs are not handled here (no domain classifier).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from sketchdraw import quickdraw
from sketchdraw.artifacts import RunFolder
from sketchdraw.atomicfiles import atomic_write_text
from sketchdraw.experiments import RunConfig

DEFAULT_SAMPLES = 1000
DEFAULT_DRAWINGS_PER_CATEGORY = 2000
DEFAULT_CLASSIFIER_EPOCHS = 5
REFERENCE_WANTED = 450  # unseen real drawings of the run's category for the reference row
QUALITY_COLUMNS = ("cs", "kid_mean")
QUALITY_PLOT = "quality.png"
# The quality curve draws its noise from seeds QUALITY_NOISE_SEED + seed, apart from the seeds 0, 1, ...
# that `evaluate` draws: a generator picked on the curve (keep_best) is judged on other drawings.
QUALITY_NOISE_SEED = 1_000
# Drawings per point of the quality curve. A CS of 0.65 from n drawings moves by sqrt(0.65 * 0.35 / n):
# 0.021 at 500, as far as the curve moves in 100 epochs late in a run; 0.011 at 2,000. About 2 s on 2 cores.
QUALITY_SAMPLES = 2_000
REAL_ROW = "real_held_out"
TABLE_COLUMNS = ("run", "model", "epochs", "images_seen", "count", "fid", "kid_mean", "kid_std", "cs",
                 "gd", "memorisation_distance")


# ----------------------------------------------------------------------------------------------
# The run and the classifier


def load_run_config(run_dir: str | os.PathLike) -> RunConfig:
    """The run's settings from its config.json, checked; ValueError for anything but Quick, Draw!."""
    run = RunFolder(run_dir)
    if not run.config_path.is_file():
        raise FileNotFoundError(f"{run.root} is not a run folder (it has no config.json); "
                                "train it first, e.g. `make run NAME=...`")
    config = RunConfig.from_dict(run.load_config(), where=str(run.config_path))
    if config.source != "quickdraw":
        raise ValueError(f"{run.root} trained on {config.source!r} data; only runs on Quick, Draw! "
                         "numpy_bitmap drawings (source 'quickdraw') can be measured here: the real "
                         "reference row needs the same files the run trained on")
    return config


def available_categories(mirror=None, cache=None) -> list[str]:
    """Categories whose drawings are at hand: the files of a mirror folder, else those in the cache
    (whole files and first-N files). Sorted; only real category names."""
    source = quickdraw.resolve_mirror(mirror)
    if isinstance(source, Path):
        names = {path.stem for path in source.glob("*.npy")}
    else:
        names = {path.stem for path in quickdraw.cache_dir("numpy_bitmap", cache).glob("*.npy")}
        from sketchdraw.partial_downloads import PARTIAL_KIND

        names |= {path.name.split(".first")[0]
                  for path in quickdraw.cache_dir(PARTIAL_KIND, cache).glob("*.first*.npy")}
    return sorted(name for name in names if name in quickdraw.CATEGORIES)


def choose_categories(category: str, categories=None, mirror=None, cache=None) -> list[str]:
    """The classifier's categories: `categories` (a list or "a,b,c"), or all at hand; always
    including the run's own `category`. Sorted, so the same set gives the same cached classifier."""
    if categories is None:
        chosen = available_categories(mirror, cache)
        where = f"the mirror {mirror}" if mirror else "the mirror or cache"
    else:
        if isinstance(categories, str):
            categories = [name.strip() for name in categories.split(",") if name.strip()]
        chosen = [quickdraw.check_category(name) for name in categories]
        where = "the list given"
    chosen = sorted(set(chosen) | {quickdraw.check_category(category)})
    if len(chosen) < 2:
        raise ValueError(f"the classifier needs at least 2 categories, but {where} gives only "
                         f"{chosen}; pass classifier_categories=['rabbit', 'cat', ...] (they are "
                         "fetched with Range requests, a few MB each)")
    return chosen


def domain_classifier(categories: Sequence[str], drawings_per_category: int = DEFAULT_DRAWINGS_PER_CATEGORY,
                      mirror=None, cache=None, epochs: int = DEFAULT_CLASSIFIER_EPOCHS,
                      held_out_fraction: float = 0.1, seed: int = 0, progress: bool = True):
    """The cached classifier trained on the first `drawings_per_category` drawings of each category
    (trained and saved under `<cache>/classifier/<key>/` the first time)."""
    from sketchdraw.classifier import collect_arrays, load_or_train
    from sketchdraw.partial_downloads import fetch_first_drawings

    if isinstance(drawings_per_category, bool) or not isinstance(drawings_per_category, int) \
            or drawings_per_category < 2:
        raise ValueError(f"drawings_per_category must be a whole number >= 2, got {drawings_per_category!r}")

    def first_drawings(category: str, limit: int) -> np.ndarray:
        return fetch_first_drawings(category, limit, mirror=mirror, cache=cache, progress=progress)

    arrays = collect_arrays(categories, first_drawings, limit=drawings_per_category)
    return load_or_train(arrays, cache_dir=cache, held_out_fraction=held_out_fraction, epochs=epochs,
                         seed=seed, progress=progress)


def reference_drawings(config: RunConfig, trained, count: int, training_images: np.ndarray,
                       cache=None, seed: int = 0, progress: bool = True) -> np.ndarray:
    """Up to `count` real drawings of the run's category that neither network trained on.

    Candidates: the classifier's held-out rows of the category and every row after the first M it
    was given (`trained.counts`; the classifier must come from the first M drawings of the file, as
    `domain_classifier` makes it); minus any drawing equal to one the GAN trained on. Drawn at
    random with `seed`, returned in file order.
    """
    category = config.category
    trained.category_index(category)
    path = quickdraw.fetch_file(category, mirror=config.mirror, cache=cache, progress=progress)
    total, _ = quickdraw.read_bitmap_header(path)
    given = trained.counts[category]["train"] + trained.counts[category]["held_out"]
    candidates = np.concatenate([np.asarray(trained.held_out_indices[category]), np.arange(given, total)])
    gan_training = {_digest(row) for row in np.asarray(training_images).reshape(len(training_images), -1)}
    mapped = np.load(path, mmap_mode="r", allow_pickle=False)
    chosen = []
    for row in np.random.default_rng(seed).permutation(candidates):
        if _digest(mapped[row]) not in gan_training:
            chosen.append(row)
            if len(chosen) == count:
                break
    if len(chosen) < 2:
        raise ValueError(
            f"no real {category} drawings are left for the reference row: the run trained on "
            f"{len(gan_training)} of the {total} drawings and the classifier on the first {given}. "
            f"Train the run with a smaller limit (e.g. limit={max(1, total * 3 // 4)}), so that "
            "some drawings stay unseen by both networks.")
    return np.ascontiguousarray(mapped[np.sort(chosen)])


def _digest(row: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(row).tobytes(), digest_size=16).digest()


def default_drawings_per_category(total: int, training_count: int) -> int:
    """The classifier's first-N per category when none is given: DEFAULT_DRAWINGS_PER_CATEGORY,
    unless the run's category file is too small to leave REFERENCE_WANTED unseen drawings after
    it (the shared mirror has 900 rabbits); then the GAN's own training count (its first `limit`
    drawings), so both networks learn the same first drawings and the rest is the reference."""
    if total >= DEFAULT_DRAWINGS_PER_CATEGORY + REFERENCE_WANTED:
        return DEFAULT_DRAWINGS_PER_CATEGORY
    if training_count < total:
        return max(2, training_count)
    return max(2, total // 2)  # trained on everything: refused later with a message saying so


def _drawings_per_category_for(config: RunConfig, training_count: int, cache, progress: bool) -> int:
    total, _ = quickdraw.read_bitmap_header(
        quickdraw.fetch_file(config.category, mirror=config.mirror, cache=cache, progress=progress))
    chosen = default_drawings_per_category(total, training_count)
    if progress and chosen != DEFAULT_DRAWINGS_PER_CATEGORY:
        print(f"the {config.category} file has {total:,} drawings and the run trains on "
              f"{training_count:,}: the classifier learns the first {chosen:,} of each category, "
              "so the rest stay unseen for the reference row")
    return chosen


def images_seen(run: RunFolder, training_count: int, batch_size: int) -> int:
    """Epochs in history.csv x whole batches per epoch x batch size (the loop drops the remainder)."""
    from sketchdraw.training import images_per_epoch

    return len(run.read_history()) * images_per_epoch(training_count, batch_size)


# ----------------------------------------------------------------------------------------------
# metrics.json


def measure_draws(generator, draws: int, samples: int, category: str, classifier, reference,
                  training_images, seed: int = 0, kid_subsets: int = 100,
                  truncation: float = 0.0) -> dict:
    """Measure `draws` sets of `samples` drawings from `generator` (noise seeds seed, seed+1, ...)
    against the same references; returns {"generated": the mean of every metric over the draws,
    "generated_draws": each draw's row, REAL_ROW: the real held-out row (the same for every draw)}.

    One draw's CS and KID move with the noise alone (issue 11 measured +-0.02 in CS and +-0.003 to
    0.006 in KID over draws of 1,000 rabbits), so a score to hold against a target is a mean."""
    from sketchdraw import metrics, sampling

    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise ValueError(f"draws must be a whole number >= 1, got {draws!r}")
    rows, real = [], None
    for index in range(draws):
        drawings = sampling.generate(generator, samples, seed=seed + index, truncation=truncation)
        measured = metrics.evaluate_drawings(drawings, category, classifier, reference, training_images,
                                             kid_subsets=kid_subsets, seed=seed)
        rows.append(measured["generated"])
        real = measured[REAL_ROW]
    mean = {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}
    mean["count"] = rows[0]["count"]
    return {"generated": mean, "generated_draws": rows, REAL_ROW: real}


def draw_spread(document: dict, keys: Sequence[str] = ("cs", "kid_mean")) -> dict:
    """{key: (mean, sample std, min, max)} over a metrics.json's noise draws; {} for a single draw."""
    rows = document.get("generated_draws") or []
    if len(rows) < 2:
        return {}
    return {key: (float(np.mean(values)), float(np.std(values, ddof=1)), min(values), max(values))
            for key in keys for values in [[row[key] for row in rows]]}


def evaluate(run_dir: str | os.PathLike, samples: int = DEFAULT_SAMPLES, classifier_categories=None,
             drawings_per_category: int | None = None, seed: int = 0,
             progress: bool = True, classifier=None, classifier_epochs: int = DEFAULT_CLASSIFIER_EPOCHS,
             cache=None, kid_subsets: int = 100, draws: int = 1,
             truncation: float | None = None) -> dict:
    """Measure a trained Quick, Draw! run and write `metrics.json` in its folder; return the document.

    `classifier_categories`: None for every category at hand (the run's mirror folder, else the
    cache), or a list / "a,b,c". A `classifier` (`TrainedClassifier`) given replaces training one.
    `drawings_per_category`: the classifier's first N per category; None picks
    `default_drawings_per_category` (2000, or the run's training count for small files).
    Both rows (generated, real_held_out) hold count, fid, kid_mean, kid_std, cs, gd and
    memorisation_distance, measured against the GAN's training drawings. `draws` > 1: the generated
    row is the mean over that many noise draws (seeds seed..seed+draws-1), each draw's row in
    "generated_draws". `truncation` None: the run's own (`RunConfig.truncation`); 0 measures the
    plain normal noise.
    """
    from sketchdraw import sampling, training

    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2:
        raise ValueError(f"samples must be a whole number >= 2, got {samples!r}")
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise ValueError(f"draws must be a whole number >= 1, got {draws!r}")
    run = RunFolder(run_dir)
    config = dataclasses.replace(load_run_config(run.root), progress=progress)
    truncation = config.truncation if truncation is None else sampling.check_truncation(truncation)
    generator = sampling.load_generator(run.root)  # fails fast for an unfinished run
    training_images = training.load_training_images(config)
    if classifier is None and drawings_per_category is None:
        drawings_per_category = _drawings_per_category_for(config, len(training_images), cache, progress)
    if classifier is None:
        categories = choose_categories(config.category, classifier_categories, config.mirror, cache)
        classifier = domain_classifier(categories, drawings_per_category, config.mirror, cache,
                                       classifier_epochs, seed=seed, progress=progress)
    reference = reference_drawings(config, classifier, samples, training_images, cache, seed, progress)
    measured = measure_draws(generator, draws, samples, config.category, classifier, reference,
                             training_images, seed=seed, kid_subsets=kid_subsets,
                             truncation=truncation)
    document = {
        "category": config.category,
        "model": config.model,
        "classifier": {
            "key": classifier.key,
            "categories": list(classifier.categories),
            "held_out_accuracy": classifier.held_out_accuracy,
            "category_accuracy": classifier.per_category_accuracy[config.category],
            "epochs": classifier.epochs,
        },
        "generated": measured["generated"],
        REAL_ROW: measured["real_held_out"],
        "images_seen": images_seen(run, len(training_images), config.batch_size),
        "epochs": len(run.read_history()),
        "training_drawings": int(len(training_images)),
        "samples": samples,
        "seed": seed,
        "draws": draws,
        "truncation": truncation,
        "evaluated": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    best = read_best(run.root) if config.keep_best else None
    if best is not None:  # generator.keras is this measured epoch's generator, not the last one
        document["generator_epoch"] = best["epoch"]
        document["generator_images_seen"] = best["images_seen"]
        document["generator_chosen_by"] = best["chosen_by"]
    if draws > 1:
        document["generated_draws"] = measured["generated_draws"]
    atomic_write_text(run.metrics_path, json.dumps(document, indent=2) + "\n")
    _refresh_pages(run)
    return document


def _refresh_pages(run: RunFolder) -> None:
    from sketchdraw import gallery

    gallery.write_run_page(run.root)
    gallery.write_runs_index(run.root.parent)


def read_metrics(run_dir: str | os.PathLike) -> dict | None:
    path = RunFolder(run_dir).metrics_path
    return json.loads(path.read_text()) if path.is_file() else None


def evaluate_missing(run_dirs: Iterable, progress: bool = True, **options) -> list[Path]:
    """`evaluate` every run folder that has a generator but no metrics.json; return those evaluated."""
    done = []
    for run_dir in run_dirs:
        run = RunFolder(run_dir)
        if run.metrics_path.is_file():
            continue
        if not run.generator_path.is_file():
            print(f"skipping {run.root}: no generator.keras yet (the run has not finished)")
            continue
        print(f"evaluating {run.root} ...")
        evaluate(run.root, progress=progress, **options)
        done.append(run.root)
    return done


# ----------------------------------------------------------------------------------------------
# The quality curve during training


def quality_callback(config: RunConfig, every: int = 5, samples: int = QUALITY_SAMPLES, classifier=None,
                     classifier_categories=None, drawings_per_category: int | None = None,
                     classifier_epochs: int = DEFAULT_CLASSIFIER_EPOCHS, kid_subsets: int = 20,
                     seed: int = 0, cache=None, progress: bool = True, keep_best: bool = False) -> Callable:
    """An epoch callback: every `every` epochs (and at the last), CS and KID of `samples` drawings
    from that epoch's checkpoint, written into history.csv as `cs` and `kid_mean`, and `quality.png`.
    `keep_best`: every measured epoch's generator is saved as `generators/epoch_NNNN.keras`, for
    `training.train` to choose from at the end (`choose_best`; a resumed run keeps the earlier ones).

    The callback sees no model (`training.train` passes (epoch, run, row)), so it restores the
    generator from the checkpoint saved at that epoch: `every` must be a multiple of
    `config.checkpoint_every`. KID is measured against the run's training drawings.
    """
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be a positive whole number of epochs, got {every!r}")
    if every % config.checkpoint_every:
        raise ValueError(f"every={every} is not a multiple of checkpoint_every={config.checkpoint_every}: "
                         "the quality is measured on the generator saved in that epoch's checkpoint; "
                         f"use every={config.checkpoint_every * max(1, every // config.checkpoint_every)} "
                         f"or checkpoint_every={every}")
    state: dict = {"classifier": classifier}

    def measure(epoch: int, run: RunFolder, row: dict) -> None:
        if epoch % every and epoch != config.epochs:
            return
        from sketchdraw import classifier as classifier_module
        from sketchdraw import metrics, training

        if "training_images" not in state:
            state["training_images"] = training.load_training_images(
                dataclasses.replace(config, progress=False))
        if state["classifier"] is None:
            categories = choose_categories(config.category, classifier_categories, config.mirror, cache)
            per_category = drawings_per_category or _drawings_per_category_for(
                config, len(state["training_images"]), cache, progress)
            state["classifier"] = domain_classifier(categories, per_category, config.mirror,
                                                    cache, classifier_epochs, seed=seed, progress=progress)
        trained = state["classifier"]
        if "training_features" not in state:
            state["training_features"] = classifier_module.features(trained, state["training_images"])
        generated = _generate_from_checkpoint(run, config, epoch, samples, seed, state)
        features, probabilities = classifier_module.features_and_probabilities(trained, generated)
        reference = state["training_features"]
        subset_size = min(1000, len(features), len(reference))
        kid_mean, _ = metrics.kid(features, reference, subsets=kid_subsets, subset_size=subset_size, seed=seed)
        quality = {"cs": metrics.characteristic_score(probabilities, trained.category_index(config.category)),
                   "kid_mean": kid_mean}
        rows = run.read_history()
        for history_row in rows:
            if int(history_row["epoch"]) == epoch:
                history_row.update(quality)
        run.write_history(rows)
        row.update(quality)
        save_quality_plot(run.root)
        if keep_best:  # the choice among them is made at the end (training.keep_best_generator)
            run.measured_generators_dir.mkdir(exist_ok=True)
            training.save_generator(state["generator"], run.measured_generator_path(epoch))
        if progress:
            print(f"epoch {epoch}: CS {quality['cs']:.3f}, KID {kid_mean:.4f}", flush=True)

    return measure


def choose_best(rows: Sequence[dict], tolerance: float = 0.0) -> dict | None:
    """The measured epoch keep_best keeps, from history rows with `cs` and `kid_mean`: of the epochs
    whose KID is within `tolerance` of the lowest (at most lowest + tolerance x |lowest|), the one
    of highest CS; ties go to the lower KID, then to the earlier epoch. `tolerance` 0 keeps the
    epoch of lowest KID. None when no row is measured.

    Why a tolerance: late in a small-data run KID stops falling while CS drifts (issue 11: a rabbit
    run's CS falls from 0.70 to 0.65 over its last 300 epochs at a flat KID), so the lowest KID alone
    picks among near-equal KIDs by the KID's own noise. Both numbers come from the quality curve:
    the run's generated drawings against its training drawings, never the held-out ones."""
    check_best_tolerance(tolerance)
    measured = [row for row in rows if row.get("cs") is not None and row.get("kid_mean") is not None]
    if not measured:
        return None
    lowest = min(row["kid_mean"] for row in measured)
    limit = lowest + tolerance * abs(lowest)
    near = [row for row in measured if row["kid_mean"] <= limit]
    return max(near, key=lambda row: (row["cs"], -row["kid_mean"], -row["epoch"]))


def kept_rows(run_dir: str | os.PathLike) -> list[dict]:
    """The history rows of a keep_best run whose epoch's generator is kept in `generators/`: what
    `choose_best` chooses from."""
    run = RunFolder(run_dir)
    return [row for row in run.read_history() if run.measured_generator_path(row["epoch"]).is_file()]


def check_best_tolerance(tolerance: float) -> float:
    """A keep_best tolerance: a fraction in [0, 1] of the lowest KID."""
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) \
            or not 0 <= tolerance <= 1:
        raise ValueError(f"keep_best_tolerance is the fraction of the lowest KID that a kept epoch's KID "
                         f"may exceed it by, in [0, 1] (0: the lowest KID; 0.1: within 10%), "
                         f"got {tolerance!r}")
    return float(tolerance)


def best_record(row: dict, tolerance: float, images_per_epoch: int) -> dict:
    """best.json: which measured epoch generator.keras is, its curve CS and KID, and the rule."""
    rule = ("lowest kid_mean of the quality curve" if tolerance == 0 else
            f"highest cs of the quality curve's epochs with kid_mean within {tolerance:.0%} of the lowest")
    return {"epoch": row["epoch"], "images_seen": row["epoch"] * images_per_epoch,
            "kid_mean": row["kid_mean"], "cs": row["cs"], "chosen_by": rule, "tolerance": tolerance}


def read_best(run_dir: str | os.PathLike) -> dict | None:
    """best.json of a keep_best run (which measured epoch generator.keras is), or None."""
    path = RunFolder(run_dir).best_path
    return json.loads(path.read_text()) if path.is_file() else None


def _generate_from_checkpoint(run: RunFolder, config: RunConfig, epoch: int, samples: int, seed: int,
                              state: dict) -> np.ndarray:
    import tensorflow as tf

    from sketchdraw import sampling, training

    checkpoint_path = run.checkpoints_dir / f"ckpt-{epoch}"
    if not Path(f"{checkpoint_path}.index").is_file():
        raise FileNotFoundError(f"no checkpoint for epoch {epoch} in {run.checkpoints_dir}; the quality "
                                "callback needs every to be a multiple of checkpoint_every")
    if "generator" not in state:
        state["generator"] = training.build_models(config)[0]  # the run's own options
    generator = state["generator"]
    # With ema_decay the run draws (and saves) its moving-average generator: measure that one.
    name = "ema_generator" if getattr(config, "ema_decay", 0) > 0 else "generator"
    status = tf.train.Checkpoint(**{name: generator}).restore(str(checkpoint_path))
    status.expect_partial()  # the optimizers and the discriminator are in the file too
    status.assert_existing_objects_matched()
    return sampling.generate(generator, samples, seed=QUALITY_NOISE_SEED + seed,
                             truncation=config.truncation)


# ----------------------------------------------------------------------------------------------
# Plots


def save_quality_plot(run_dir: str | os.PathLike) -> Path | None:
    """`quality.png`: CS and KID per epoch from history.csv, with the real reference from
    metrics.json as dashed lines when the run has been evaluated; KID on a log scale, so its last
    tenfold fall is not a flat line. None when nothing is measured."""
    run = RunFolder(run_dir)
    figure = plot_quality_curves([run.root], losses_when_unmeasured=False, log_kid=True)
    if figure is None:
        return None
    from sketchdraw.plots import save_figure

    path = run.root / QUALITY_PLOT
    save_figure(figure, path)
    return path


def _quality_points(rows: list[dict], column: str) -> tuple[list, list]:
    points = [(row["epoch"], row[column]) for row in rows
              if isinstance(row.get(column), (int, float)) and np.isfinite(row[column])]
    return [p[0] for p in points], [p[1] for p in points]


def plot_quality_curves(run_dirs: Sequence, losses_when_unmeasured: bool = True,
                        by_images: bool = False, log_kid: bool = False):
    """One figure: CS and KID (history columns) per epoch for every run that has them, with the
    real references as dashed lines (one per distinct value); for runs without them, their loss
    curves. `by_images`: x is images seen (whole batches of the run's training set per epoch), so
    runs with different batch sizes line up; `log_kid`: KID on a log scale.
    Returns the matplotlib figure, or None when there is nothing to draw."""
    import matplotlib.pyplot as plt

    from sketchdraw.plots import LOSS_COLUMNS

    runs = [RunFolder(run_dir) for run_dir in run_dirs]
    histories = {run.root: run.read_history() for run in runs}
    measured = [run for run in runs if _quality_points(histories[run.root], "cs")[0]]
    unmeasured = [run for run in runs if run not in measured and histories[run.root]]
    panels = (2 if measured else 0) + (1 if unmeasured and losses_when_unmeasured else 0)
    if panels == 0:
        return None
    figure, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 3.8), squeeze=False)
    axes = list(axes[0])
    if measured:
        scale = {run.root: _images_per_epoch(run) if by_images else 1 for run in measured}
        for axis, column, label in ((axes[0], "cs", "CS (share drawn as the category; higher is better)"),
                                    (axes[1], "kid_mean", "KID vs training drawings (lower is better)")):
            references = {}
            for run in measured:
                epochs, values = _quality_points(histories[run.root], column)
                line, = axis.plot([epoch * scale[run.root] for epoch in epochs], values, marker="o",
                                  markersize=3, label=run.root.name)
                reference = (read_metrics(run.root) or {}).get(REAL_ROW, {}).get(column)
                if reference is not None:
                    references.setdefault(round(reference, 6), (line.get_color(), run.root.name))
            for value, (color, name) in references.items():
                owner = "" if len(references) == 1 else f" ({name})"
                axis.axhline(value, color="black" if len(references) == 1 else color, linestyle="--",
                             linewidth=1, label=f"real held-out{owner}")
            axis.set_title(label, fontsize=10)
            axis.set_xlabel("images seen" if by_images else "epoch")
            if log_kid and column == "kid_mean":
                axis.set_yscale("log", nonpositive="mask")  # the unbiased KID can dip below 0
            axis.grid(alpha=0.3)
            axis.legend(fontsize=7)
    if unmeasured and losses_when_unmeasured:
        axis = axes[-1]
        for run in unmeasured:
            rows = histories[run.root]
            for column, style in zip(LOSS_COLUMNS, ("-", ":")):
                if column in rows[0]:
                    axis.plot([r["epoch"] for r in rows], [r[column] for r in rows], linestyle=style,
                              label=f"{run.root.name}: {column.replace('_', ' ')}")
        axis.set_title("losses (no quality columns in history.csv)", fontsize=10)
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def _images_per_epoch(run: RunFolder) -> int:
    """Whole batches of the training set per epoch, from config.json (limit and batch size)."""
    config = run.load_config()
    total = len(np.load(quickdraw.fetch_file(config["category"], mirror=config.get("mirror"),
                                             progress=False), mmap_mode="r"))
    from sketchdraw.training import images_per_epoch

    return images_per_epoch(min(config.get("limit") or total, total), config["batch_size"])


def discriminator_balance(run_dir, window_images: int = 16_000) -> tuple[list[int], list[float]]:
    """(images seen at each window's end, mean of discriminator_real_probability minus
    discriminator_fake_probability over the window's epochs) from a Quick, Draw! run's history.csv.
    0 means the discriminator cannot tell real from generated; the seeds of issue 11 that learned
    slowly kept a gap of about 0.16 where the fast ones fell to 0.08."""
    run = RunFolder(run_dir)
    rows = [row for row in run.read_history()
            if isinstance(row.get("discriminator_real_probability"), (int, float))
            and isinstance(row.get("discriminator_fake_probability"), (int, float))]
    if not rows:
        return [], []
    per_epoch = _images_per_epoch(run)
    window = max(1, round(window_images / per_epoch))
    ends, gaps = [], []
    for start in range(0, len(rows), window):
        chunk = rows[start:start + window]
        ends.append(int(chunk[-1]["epoch"]) * per_epoch)
        gaps.append(float(np.mean([row["discriminator_real_probability"] - row["discriminator_fake_probability"]
                                   for row in chunk])))
    return ends, gaps


def plot_discriminator_balance(run_dirs: Sequence, window_images: int = 16_000):
    """One figure: `discriminator_balance` of every run against images seen. None when no run has
    the discriminator's probabilities in its history."""
    import matplotlib.pyplot as plt

    curves = {RunFolder(run_dir).root.name: discriminator_balance(run_dir, window_images)
              for run_dir in run_dirs}
    curves = {name: curve for name, curve in curves.items() if curve[0]}
    if not curves:
        return None
    figure, axis = plt.subplots(figsize=(6.4, 3.8))
    for name, (ends, gaps) in curves.items():
        axis.plot(ends, gaps, marker="o", markersize=3, label=name)
    axis.axhline(0.0, color="grey", linestyle="--", linewidth=1)
    axis.set_xlabel("images seen")
    axis.set_ylabel("D(real) - D(generated), mean probability")
    axis.set_title(f"How easily the discriminator tells them apart (per {window_images:,} images)")
    axis.legend(fontsize=7)
    figure.tight_layout()
    return figure


def plot_final_grids(run_dirs: Sequence):
    """The newest epoch grid of every run, side by side, titled with the run name and epoch; for a
    keep_best run, the grid of the epoch its generator.keras is (best.json)."""
    import matplotlib.pyplot as plt
    from PIL import Image

    runs = [RunFolder(run_dir) for run_dir in run_dirs]
    if not runs:
        raise ValueError("no runs to show; pass run folders, e.g. ['runs/rabbit', 'runs/flower']")
    figure, axes = plt.subplots(1, len(runs), figsize=(4 * len(runs), 4.3), squeeze=False)
    for axis, run in zip(axes[0], runs):
        grids = run.epoch_images()
        axis.axis("off")
        if not grids:
            axis.set_title(f"{run.root.name}: no grid yet", fontsize=10)
            continue
        best = read_best(run.root)
        kept = best is not None and run.epoch_image_path(best["epoch"]).is_file()
        grid = run.epoch_image_path(best["epoch"]) if kept else grids[-1]
        with Image.open(grid) as picture:
            axis.imshow(np.asarray(picture.convert("L")), cmap="gray", vmin=0, vmax=255,
                        interpolation="nearest")
        axis.set_title(f"{run.root.name}, epoch {int(grid.stem.rsplit('_', 1)[-1])}"
                       + (" (kept)" if kept else ""), fontsize=10)
    figure.tight_layout()
    return figure


def show_figure(figure) -> None:
    """Show a figure inline in a notebook (as a PNG, whatever the matplotlib backend) and close it."""
    import matplotlib.pyplot as plt

    if figure is None:
        return
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:
        return
    if get_ipython() is not None:
        display(Image(data=buffer.getvalue()))


# ----------------------------------------------------------------------------------------------
# Comparing runs


def resolve_runs(runs: Sequence | None, runs_dir: str | os.PathLike = "runs") -> list[Path]:
    """Run folders from names or paths (a name is looked up in `runs_dir`); None or [] means every
    run folder in `runs_dir`."""
    runs_dir = Path(runs_dir)
    if not runs:
        found = sorted(path.parent for path in runs_dir.glob("*/config.json"))
        if not found:
            raise ValueError(f"{runs_dir} holds no run folders; train one first (`make run`)")
        return found
    folders = []
    for run in runs:
        path = Path(run)
        for candidate in (path, runs_dir / path, runs_dir / path.name):
            if (candidate / "config.json").is_file():
                folders.append(candidate)
                break
        else:
            known = sorted(p.parent.name for p in runs_dir.glob("*/config.json"))
            raise ValueError(f"{run!r} is not a run folder (no config.json there or in {runs_dir}); "
                             f"run folders in {runs_dir}: {', '.join(known) or 'none'}")
    return folders


def compare_table(run_dirs: Sequence) -> list[dict]:
    """One row per run (its generated drawings) and, after them, one real held-out row per
    category and classifier, so each number can be read against real drawings measured the same
    way. Runs without metrics.json get a row of blanks saying so."""
    rows, references = [], {}
    for run_dir in run_dirs:
        run = RunFolder(run_dir)
        document = read_metrics(run.root)
        if document is None:
            rows.append({"run": run.root.name, "note": "not evaluated (no metrics.json)"})
            continue
        rows.append({"run": run.root.name, "model": document.get("model"),
                     "epochs": document.get("epochs"), "images_seen": document.get("images_seen"),
                     **document["generated"]})
        key = (document["category"], document["classifier"]["key"])
        references.setdefault(key, {"run": f"real held-out {document['category']}", "model": "-",
                                    **document[REAL_ROW]})
        rows[-1]["classifier"] = key[1]
    for (category, key), reference in references.items():
        if sum(1 for other in references if other[0] == category) > 1:
            # Numbers from different classifiers do not compare: say which reference is whose.
            reference["run"] += f" (classifier {key})"
            for row in rows:
                if row.get("classifier") == key:
                    row["note"] = f"classifier {key}"
    for row in rows:
        row.pop("classifier", None)
    return rows + list(references.values())


def format_table(rows: list[dict], columns: Sequence[str] = TABLE_COLUMNS) -> str:
    """A plain-text table of `compare_table` rows (numbers to 4 significant digits)."""
    columns = list(columns) + (["note"] if any("note" in row for row in rows) else [])

    def cell(value) -> str:
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    cells = [[cell(row.get(column)) for column in columns] for row in rows]
    widths = [max([len(column)] + [len(line[index]) for line in cells]) for index, column in enumerate(columns)]
    lines = ["  ".join(column.ljust(width) for column, width in zip(columns, widths))]
    lines.append("  ".join("-" * width for width in widths))
    lines.extend("  ".join(value.ljust(width) for value, width in zip(line, widths)) for line in cells)
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# Command line (registered in cli.py)


def add_evaluate_parser(commands) -> argparse.ArgumentParser:
    """Add `evaluate` to the CLI's subcommands (the object `add_subparsers` returned)."""
    parser = commands.add_parser("evaluate", help="measure a run (FID, KID, CS, GD, memorisation) "
                                                  "into its metrics.json")
    parser.add_argument("--run", required=True, help="run folder, e.g. runs/rabbit")
    parser.add_argument("--categories", help="classifier categories, comma-separated "
                                             "(default: all in the mirror or cache)")
    parser.add_argument("--samples", type=int, default=DEFAULT_SAMPLES,
                        help=f"generated drawings to measure (default {DEFAULT_SAMPLES})")
    parser.add_argument("--drawings-per-category", type=int, default=None,
                        help=f"first N drawings per category for the classifier (default "
                             f"{DEFAULT_DRAWINGS_PER_CATEGORY}, or the run's training count when the "
                             "category's file is too small to leave unseen drawings after that)")
    parser.add_argument("--classifier-epochs", type=int, default=DEFAULT_CLASSIFIER_EPOCHS,
                        help=f"classifier training epochs (default {DEFAULT_CLASSIFIER_EPOCHS})")
    parser.add_argument("--seed", type=int, default=0, help="noise and sampling seed (default 0)")
    parser.add_argument("--draws", type=int, default=1,
                        help="noise draws to average the generated row over, seeds SEED.. SEED+N-1 "
                             "(default 1; one draw's CS moves by about +-0.02 with the noise alone)")
    parser.add_argument("--truncation", type=float, default=None,
                        help="keep each noise value within this many standard deviations (0: the "
                             "plain normal; default: the run's own setting)")
    parser.set_defaults(handler=evaluate_command)
    return parser


def evaluate_command(arguments: argparse.Namespace) -> int:
    document = evaluate(arguments.run, samples=arguments.samples, classifier_categories=arguments.categories,
                        drawings_per_category=arguments.drawings_per_category, seed=arguments.seed,
                        classifier_epochs=arguments.classifier_epochs, draws=arguments.draws,
                        truncation=arguments.truncation)
    classifier_info = document["classifier"]
    print(format_table(compare_table([arguments.run])))
    if "generator_epoch" in document:
        print(f"keep_best: the generator measured is epoch {document['generator_epoch']}'s "
              f"({document['generator_images_seen']:,} images seen): the "
              f"{document.get('generator_chosen_by', 'lowest kid_mean of the quality curve')}")
    if document["truncation"]:
        print(f"noise truncated to ±{document['truncation']:g} standard deviations "
              "(--truncation 0 measures the plain normal)")
    spread = draw_spread(document)
    if spread:
        print(f"generated row: the mean of {document['draws']} noise draws (seeds {document['seed']}-"
              f"{document['seed'] + document['draws'] - 1}); over the draws " + "; ".join(
                  f"{key} {mean:.4g} ± {std:.2g} (min {low:.4g}, max {high:.4g})"
                  for key, (mean, std, low, high) in spread.items()))
    print(f"classifier: {len(classifier_info['categories'])} categories, held-out accuracy "
          f"{classifier_info['held_out_accuracy']:.3f} ({document['category']}: "
          f"{classifier_info['category_accuracy']:.3f})")
    print(f"wrote {RunFolder(arguments.run).metrics_path}")
    return 0
