"""`evaluate(run)`: measure a trained Quick, Draw! run into `metrics.json` in its folder.

It reads the run's `config.json`, trains (or loads from the cache) the domain classifier on the
categories at hand (`judge.domain_classifier`, fed by `partial_downloads.fetch_first_drawings`, so
no whole 100 MB files are needed), draws `samples` drawings with the run's generator, and writes
`metrics.evaluate_drawings`'s two rows, the generated drawings and real drawings of the same
category, to `metrics.json`. With `draws=N` the generated row is the mean over N noise draws
(`measure_draws`), each draw's row kept beside it. Painting runs are measured by
`painting_evaluation.evaluate_paintings`, with the same rows and format.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
from collections.abc import Sequence

import numpy as np

from sketchdraw import pipeline
from sketchdraw.artifacts import RunFolder
from sketchdraw.atomicfiles import atomic_write_text
from sketchdraw.dcgan.keep_best import read_best
from sketchdraw.gallery import publish_pages
from sketchdraw.quality import intervals
from sketchdraw.quality.compare import REAL_ROW
from sketchdraw.quality.judge import (
    DEFAULT_CLASSIFIER_EPOCHS,
    DEFAULT_DRAWINGS_PER_CATEGORY,
    choose_categories,
    domain_classifier,
    load_run_config,
    reference_drawings,
)

DEFAULT_SAMPLES = 1000


def images_seen(run: RunFolder, training_count: int, batch_size: int) -> int:
    """Epochs in history.csv x whole batches per epoch x batch size (the loop drops the remainder)."""
    return len(run.read_history()) * pipeline.images_per_epoch(training_count, batch_size)


def run_record(run: RunFolder, config, training_count: int, samples: int, seed: int, draws: int,
               truncation: float, *, keep_best: bool) -> dict:
    """What a metrics.json says about the run and the measurement, for doodles and paintings alike:
    images seen, epochs, the sampling settings, when, and which epoch's generator was measured
    when the run kept its best generator (`keep_best`: generator.keras is then that epoch's, not the
    last one's)."""
    record = {
        "images_seen": images_seen(run, training_count, config.batch_size),
        "epochs": len(run.read_history()),
        "samples": samples,
        "seed": seed,
        "draws": draws,
        "truncation": truncation,
        "evaluated": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    best = read_best(run.root) if keep_best else None
    if best is not None:
        record["generator_epoch"] = best["epoch"]
        record["generator_images_seen"] = best["images_seen"]
        record["generator_chosen_by"] = best["chosen_by"]
    return record


def measure_draws(generator, draws: int, samples: int, category: str, classifier, reference,
                  training_images, seed: int = 0, kid_subsets: int = 100,
                  truncation: float = 0.0, resamples: int = intervals.RESAMPLES, label: int | None = None) -> dict:
    """Measure `draws` sets of `samples` drawings from `generator` (noise seeds seed, seed+1, ...;
    a class-conditional generator drawing category number `label`) against the same references; returns {"generated": the mean of every metric over the draws,
    "generated_draws": each draw's row, REAL_ROW: the real held-out row (the same for every draw),
    "intervals": `intervals.bootstrap_intervals` of both rows (`resamples` 0: none)}.

    One draw's CS and KID move with the noise alone (the small-data study measured +-0.02 in CS and
    +-0.003 to 0.006 in KID over draws of 1,000 rabbits), so a score to hold against a target is a mean."""
    from sketchdraw import sampling
    from sketchdraw.quality import metrics

    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise ValueError(f"draws must be a whole number >= 1, got {draws!r}")
    rows, real, generated_items = [], None, []
    for index in range(draws):
        drawings = sampling.generate(generator, samples, seed=seed + index, truncation=truncation,
                                     labels=None if label is None else np.full(samples, label))
        measured = metrics.evaluate_drawings(drawings, category, classifier, reference, training_images,
                                             kid_subsets=kid_subsets, seed=seed, keep_items=True)
        rows.append(measured["generated"])
        real = measured[REAL_ROW]
        generated_items.append(measured["items"]["generated"])
    mean = {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}
    mean["count"] = rows[0]["count"]
    result = {"generated": mean, "generated_draws": rows, REAL_ROW: real}
    if resamples:
        items = measured["items"]
        result["intervals"] = intervals.bootstrap_intervals(
            {"generated": generated_items, REAL_ROW: [items[REAL_ROW]]}, items["training_features"],
            resamples=resamples, seed=seed)
    return result


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
             truncation: float | None = None, resamples: int = intervals.RESAMPLES) -> dict:
    """Measure a trained Quick, Draw! run and write `metrics.json` in its folder; return the document.

    `classifier_categories`: None for every category at hand (the run's mirror folder, else the
    cache), or a list / "a,b,c". A `classifier` (`TrainedClassifier`) given replaces training one.
    `drawings_per_category`: the classifier's first N per category (None: 5,000, every drawing
    of a shared mirror file); it holds out the last 450 of them.
    Both rows (generated, real_held_out) hold count, fid, kid_mean, kid_std, cs, gd and
    memorisation_distance, measured against the GAN's training drawings. `draws` > 1: the generated
    row is the mean over that many noise draws (seeds seed..seed+draws-1), each draw's row in
    "generated_draws". `truncation` None: the run's own (`RunConfig.truncation`); 0 measures the
    plain normal noise. `resamples`: bootstrap resamples for the 95% intervals in "intervals"
    (`intervals.bootstrap_intervals`: noise draws, real held-out drawings and the training
    reference all redrawn); 0 leaves them out.
    """
    from sketchdraw import sampling
    from sketchdraw.dcgan.data import load_training_images

    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2:
        raise ValueError(f"samples must be a whole number >= 2, got {samples!r}")
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise ValueError(f"draws must be a whole number >= 1, got {draws!r}")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or 0 < resamples < 10 or resamples < 0:
        raise ValueError(f"resamples must be 0 (no intervals) or a whole number >= 10, got {resamples!r}")
    run = RunFolder(run_dir)
    config = dataclasses.replace(load_run_config(run.root), progress=progress)
    truncation = config.truncation if truncation is None else sampling.check_truncation(truncation)
    generator = sampling.load_generator(run.root)  # fails fast for an unfinished run
    training_images = load_training_images(config)
    if classifier is None:
        categories = choose_categories(config.category, classifier_categories, config.mirror, cache)
        classifier = domain_classifier(categories, drawings_per_category or DEFAULT_DRAWINGS_PER_CATEGORY,
                                       config.mirror, cache,
                                       classifier_epochs, seed=seed, progress=progress)
    reference = reference_drawings(config, classifier, samples, training_images, cache, seed, progress)
    measured = measure_draws(generator, draws, samples, config.category, classifier, reference,
                             training_images, seed=seed, kid_subsets=kid_subsets,
                             truncation=truncation, resamples=resamples)
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
        "training_drawings": int(len(training_images)),
        **run_record(run, config, len(training_images), samples, seed, draws, truncation,
                     keep_best=config.keep_best),
    }
    if draws > 1:
        document["generated_draws"] = measured["generated_draws"]
    if "intervals" in measured:
        document["intervals"] = measured["intervals"]
    atomic_write_text(run.metrics_path, json.dumps(document, indent=2) + "\n")
    publish_pages(run)
    return document
