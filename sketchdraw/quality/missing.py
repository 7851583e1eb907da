"""Measure every run of a list that has not been measured yet, each by its own kind's evaluation
(the comparison notebook's `evaluate_missing`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sketchdraw.artifacts import RunFolder
from sketchdraw.quality.evaluation import evaluate
from sketchdraw.quality.painting_evaluation import evaluate_paintings, is_painting_run
from sketchdraw.quality.per_category import evaluate_conditional, is_conditional_run

# What each kind of run's evaluation takes of evaluate_missing's options: a painting run has its
# own judge (trained on image folders, not on drawings) and measures as many paintings as it holds
# out unless told, so the doodle classifier's options and sample count do not apply to it.
PAINTING_ONLY = ("judge_data", "judge_folders", "judge_options", "inception")
PAINTING_OPTIONS = ("draws", "seed", "truncation", "resamples", "cache") + PAINTING_ONLY
CONDITIONAL_OPTIONS = ("samples", "draws", "seed", "classifier_categories", "drawings_per_category",
                       "classifier_epochs", "resamples", "cache")


def evaluate_missing(run_dirs: Iterable, progress: bool = True, **options) -> list[Path]:
    """Measure every run folder that has a generator but no metrics.json; return those measured.

    Each run is measured by its own kind's evaluation: `evaluate` for a doodle run,
    `evaluate_conditional` for a class-conditional one, `evaluate_paintings` for a painting run
    (which takes `draws`, `seed`, `truncation`, `resamples`, `cache` and the `judge_*` and
    `inception` options, and measures as many paintings as the run holds out)."""
    def chosen(names) -> dict:
        return {name: value for name, value in options.items() if name in names}

    done = []
    for run_dir in run_dirs:
        run = RunFolder(run_dir)
        if run.metrics_path.is_file():
            continue
        if not run.generator_path.is_file():
            print(f"skipping {run.root}: no generator.keras yet (the run has not finished)")
            continue
        print(f"evaluating {run.root} ...")
        if is_painting_run(run.root):
            evaluate_paintings(run.root, progress=progress, **chosen(PAINTING_OPTIONS))
        elif is_conditional_run(run.root):
            evaluate_conditional(run.root, progress=progress, **chosen(CONDITIONAL_OPTIONS))
        else:
            evaluate(run.root, progress=progress,
                     **{name: value for name, value in options.items() if name not in PAINTING_ONLY})
        done.append(run.root)
    return done
