"""`evaluate_conditional(run)`: measure a class-conditional run, category by category.

Each category the run learned is measured as the single-category run it stands beside would be:
the generator draws `samples` drawings of that label, and `evaluation.measure_draws` compares them
with the category's training drawings (`conditional.run.training_drawings`) and its real drawings that
neither network saw, with the same judge and intervals as `make evaluate` of a doodle run. Across
categories: the semantic diversity score (SDS) of every generated drawing, beside the real
drawings' own. metrics.json holds the mean over the categories as its "generated" and
"real_held_out" rows (what the run page and the comparison table show), "per_category" and "sds".
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

from sketchdraw.artifacts import RunFolder
from sketchdraw.atomicfiles import atomic_write_text
from sketchdraw.quality import intervals
from sketchdraw.quality.compare import REAL_ROW
from sketchdraw.quality.judge import (
    DEFAULT_CLASSIFIER_EPOCHS,
    DEFAULT_DRAWINGS_PER_CATEGORY,
    available_categories,
    domain_classifier,
    reference_drawings,
)

DEFAULT_SAMPLES = 450  # per category: the held-out reference of a shared mirror file holds 450
HALF = 0.5  # a category whose CS is below half its real drawings' is named in the summary


def is_conditional_run(run_dir) -> bool:
    run = RunFolder(run_dir)
    try:
        settings = run.load_config()
    except (OSError, ValueError):
        return False
    return isinstance(settings, dict) and "categories" in settings


def category_view(config, category: str):
    """The single-category doodle settings (`dcgan.RunConfig`) of one of a conditional run's
    categories: its mirror and limit (its training drawings come from `training_drawings`)."""
    from sketchdraw.dcgan.settings import RunConfig

    return RunConfig(experiment="rabbit_small", name="per_category", source="quickdraw", category=category,
                     limit=config.limit, mirror=config.mirror, progress=config.progress).validate()


def evaluate_conditional(run_dir: str | os.PathLike, samples: int = DEFAULT_SAMPLES, draws: int = 1,
                         seed: int = 0, classifier=None, classifier_categories=None,
                         drawings_per_category: int | None = None,
                         classifier_epochs: int = DEFAULT_CLASSIFIER_EPOCHS, cache=None,
                         kid_subsets: int = 100, resamples: int = intervals.RESAMPLES,
                         progress: bool = True, categories=None) -> dict:
    """Measure every category of a class-conditional run (or those in `categories`) and write
    metrics.json; return the document. The options are `evaluation.evaluate`'s."""
    from tqdm import tqdm

    from sketchdraw import sampling
    from sketchdraw.conditional.run import training_drawings
    from sketchdraw.conditional.settings import ConditionalConfig
    from sketchdraw.gallery import publish_pages
    from sketchdraw.quality import metrics
    from sketchdraw.quality.classifier import features_and_probabilities
    from sketchdraw.quality.evaluation import measure_draws, run_record

    run = RunFolder(run_dir)
    config = dataclasses.replace(ConditionalConfig.from_dict(run.load_config(), where=str(run.config_path)),
                                 progress=False)
    learned = config.category_list
    wanted = learned if categories is None else [name.strip() for name in
                                                 (categories.split(",") if isinstance(categories, str) else categories)]
    unknown = [name for name in wanted if name not in learned]
    if unknown:
        raise ValueError(f"{run.root} learned {', '.join(learned)}; it cannot be measured on {', '.join(unknown)}")
    generator = sampling.load_generator(run.root)
    if classifier is None:
        if classifier_categories is None:
            chosen = available_categories(config.mirror, cache)
        else:
            chosen = list(classifier_categories.split(",") if isinstance(classifier_categories, str)
                          else classifier_categories)
        classifier = domain_classifier(sorted(set(chosen) | set(learned)),
                                       drawings_per_category or DEFAULT_DRAWINGS_PER_CATEGORY,
                                       config.mirror, cache, classifier_epochs, seed=seed, progress=progress)
    per_category, generated_probabilities, real_probabilities, training_count = {}, [], [], 0
    for category in tqdm(wanted, desc="categories", unit="category", disable=not progress):
        view = category_view(config, category)
        training = training_drawings(config, category)
        training_count += len(training)
        reference = reference_drawings(view, classifier, samples, training, cache, seed, progress=False)
        measured = measure_draws(generator, draws, samples, category, classifier, reference, training,
                                 seed=seed, kid_subsets=kid_subsets, truncation=config.truncation,
                                 resamples=resamples, label=learned.index(category))
        per_category[category] = {key: measured[key] for key in ("generated", REAL_ROW, "intervals")
                                  if key in measured}
        drawings = sampling.generate(generator, samples, seed=seed, truncation=config.truncation,
                                     labels=np.full(samples, learned.index(category)))
        generated_probabilities.append(features_and_probabilities(classifier, drawings)[1])
        real_probabilities.append(features_and_probabilities(classifier, reference)[1])
    indices = [classifier.category_index(name) for name in wanted]
    sds = {"generated": metrics.semantic_diversity_score(np.concatenate(generated_probabilities), indices),
           REAL_ROW: metrics.semantic_diversity_score(np.concatenate(real_probabilities), indices),
           "most": float(np.log(len(wanted)))}
    document = {
        "family": "conditional",
        "categories": wanted,
        "classifier": {"key": classifier.key, "categories": list(classifier.categories),
                       "held_out_accuracy": classifier.held_out_accuracy, "epochs": classifier.epochs},
        "generated": _mean_row(per_category, "generated"),
        REAL_ROW: _mean_row(per_category, REAL_ROW),
        "sds": sds,
        "summary": summary(per_category),
        "per_category": per_category,
        **run_record(run, config, training_count, samples, seed, draws, config.truncation,
                     keep_best=False),  # the conditional family has no keep_best
    }
    atomic_write_text(run.metrics_path, json.dumps(document, indent=2) + "\n")
    publish_pages(run)
    return document


def _mean_row(per_category: dict, row: str) -> dict:
    keys = [key for key in next(iter(per_category.values()))[row] if key != "count"]
    return {key: float(np.mean([entry[row][key] for entry in per_category.values()])) for key in keys}


def summary(per_category: dict) -> dict:
    """CS of each category over its real drawings' CS: the lowest, the mean, and the categories
    below half."""
    ratios = {name: entry["generated"]["cs"] / entry[REAL_ROW]["cs"] if entry[REAL_ROW]["cs"] > 0 else 0.0
              for name, entry in per_category.items()}
    lowest = min(ratios, key=ratios.get)
    return {"cs_over_real_mean": float(np.mean(list(ratios.values()))),
            "cs_over_real_lowest": float(ratios[lowest]), "lowest_category": lowest,
            "below_half": sorted(name for name, ratio in ratios.items() if ratio < HALF)}


def format_per_category(document: dict) -> str:
    """A plain-text table: one line per category (CS, KID, GD, memorisation, each beside the real
    drawings'), then the mean and SDS."""
    head = f"{'category':<12} {'CS':>6} {'real':>6} {'ratio':>6} {'KID':>7} {'real':>7} {'GD':>6} {'real':>6} " \
           f"{'memo':>6} {'real':>6}"
    lines = [head]
    for name, entry in document["per_category"].items():
        generated, real = entry["generated"], entry[REAL_ROW]
        ratio = generated["cs"] / real["cs"] if real["cs"] else 0.0
        lines.append(f"{name:<12} {generated['cs']:6.3f} {real['cs']:6.3f} {ratio:6.2f} {generated['kid_mean']:7.4f} "
                     f"{real['kid_mean']:7.4f} {generated['gd']:6.2f} {real['gd']:6.2f} "
                     f"{generated['memorisation_distance']:6.2f} {real['memorisation_distance']:6.2f}")
    mean, real = document["generated"], document[REAL_ROW]
    lines.append(f"{'mean':<12} {mean['cs']:6.3f} {real['cs']:6.3f} {'':>6} {mean['kid_mean']:7.4f} "
                 f"{real['kid_mean']:7.4f} {mean['gd']:6.2f} {real['gd']:6.2f} "
                 f"{mean['memorisation_distance']:6.2f} {real['memorisation_distance']:6.2f}")
    sds, info = document["sds"], document["summary"]
    lines.append(f"SDS across the {len(document['categories'])} categories: {sds['generated']:.3f} "
                 f"(real drawings {sds[REAL_ROW]:.3f}; at most {sds['most']:.3f})")
    lines.append(f"CS over the real drawings' CS: mean {info['cs_over_real_mean']:.2f}, lowest "
                 f"{info['cs_over_real_lowest']:.2f} ({info['lowest_category']}); below half: "
                 f"{', '.join(info['below_half']) or 'none'}")
    return "\n".join(lines)
