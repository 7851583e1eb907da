"""`evaluate_paintings(run)`: measure a trained painting run (DCGAN family, source "paintings")
into `metrics.json` in its folder, as `evaluation.evaluate` does for a doodle run.

A painting run holds out a share of its folder (`held_out_share`, 0.1 in the painting presets;
`paintings.split_held_out`): paintings neither network saw. The painting judge
(`painting_judge.py`) is trained with the same split, so they are unseen by it too. The generator
draws `samples` paintings (default: as many as are held out, at least 40) per noise draw, and two
rows are measured the same way:

- generated: the generated paintings against the held-out paintings;
- real_held_out: the held-out paintings against the paintings the run trained on;

each with KID and FID in the judge's feature space, the share the judge recognises as the run's
folder ("cs", as CS for doodles), GD, the memorisation distance (to the nearest training painting,
in the judge's features, for both rows), the sliced Wasserstein distance per Laplacian-pyramid level
(no network), the share of near copies (`metrics.near_copy_share`: generated paintings nearer a
training painting than 95% of the held-out ones are; the closest pairs are drawn on
nearest_training.png in the run folder), and KID in ImageNet InceptionV3 features when Keras can load those weights (else the
reason is recorded; the evaluation goes on). A generator that draws like the folder is as far from
the held-out paintings as they are from the training ones. The judge's figures get 95% bootstrap
intervals (`intervals.bootstrap_intervals`, each row against its own reference); SWD and Inception
KID are reported without. FID is biased upwards by small sets and the two rows compare sets of
different sizes (N with the held-out count, the held-out count with the training count): read KID,
which is unbiased, first. Coverage (`metrics.coverage`), the share of held-out paintings with a
generated one among their nearest neighbours, is what sees a collapsed generator that the judge
recognises; its real row is that of as many training paintings as a draw generates.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from sketchdraw.artifacts import RunFolder
from sketchdraw.atomicfiles import atomic_write_text
from sketchdraw.dcgan.settings import RunConfig
from sketchdraw.quality import intervals
from sketchdraw.quality.compare import REAL_ROW

MINIMUM_SAMPLES = 40  # generated paintings per draw when fewer are held out
NEAREST_SHEET = "nearest_training.png"  # in the run folder, beside metrics.json
RESAMPLED = ("each noise draw's generated paintings, the held-out paintings and the training paintings "
             "(each row's FID and KID reference), with replacement; memorisation keeps every training painting")
REFERENCES = {"generated": "the held-out paintings (neither network saw them)",
              REAL_ROW: "the paintings the run trained on"}


def is_painting_run(run_dir: str | os.PathLike) -> bool:
    """Whether a run folder's config.json is a DCGAN run on a folder of paintings."""
    run = RunFolder(run_dir)
    try:
        settings = run.load_config()
    except (OSError, ValueError):
        return False
    return isinstance(settings, dict) and settings.get("source") == "paintings" and "categories" not in settings


def load_painting_config(run_dir: str | os.PathLike) -> RunConfig:
    """The run's settings from its config.json, checked; ValueError for anything but a painting run."""
    run = RunFolder(run_dir)
    if not run.config_path.is_file():
        raise FileNotFoundError(f"{run.root} is not a run folder (it has no config.json); "
                                "train it first, e.g. `make run EXPERIMENT=vangogh DATA=...`")
    config = RunConfig.from_dict(run.load_config(), where=str(run.config_path))
    if config.source != "paintings":
        raise ValueError(f"{run.root} trained on {config.source!r} data, not paintings; measure it "
                         "with quality.evaluate (make evaluate does this by itself)")
    if config.held_out_share == 0:
        raise ValueError(
            f"{run.root} trained on every painting of {config.data} (held_out_share=0: it was made "
            "before the setting, or with it off), so no real painting is left that neither network "
            "saw. Train it again with held_out_share=0.1 (the painting presets' value; "
            "HELD_OUT_SHARE=0.1 on make run) under another NAME")
    return config


def judge_target(judge, folder: str | os.PathLike) -> str:
    """The class of a painting judge whose folder is `folder` (the same folder, however named)."""
    wanted = Path(folder).expanduser().resolve()
    for name, judge_folder in judge.folders.items():
        if Path(judge_folder).expanduser().resolve() == wanted:
            return name
    raise ValueError(f"the painting judge was trained on {', '.join(sorted(judge.folders))} "
                     f"({', '.join(str(path) for path in judge.folders.values())}), not on the run's "
                     f"folder {folder}; train one with it (leave judge=None)")


def painting_curve_reference(config: RunConfig, cache: str | os.PathLike | None = None, judge=None,
                             progress: bool = True) -> tuple:
    """(judge, the class index of the run's folder, judge features of the held-out paintings): what
    the quality curve of a painting run measures against, the same judge and held-out paintings
    as `evaluate_paintings` (the cached judge of the shared layout above the run's folder unless
    `judge` is given)."""
    from sketchdraw import paintings
    from sketchdraw.dcgan.data import load_painting_set
    from sketchdraw.quality.painting_judge import (
        judge_features,
        judge_folders,
        load_or_train_painting_judge,
    )

    if not config.held_out_share:
        raise ValueError("the quality curve of a painting run measures against paintings that neither "
                         "network saw: set held_out_share (0.1, the painting presets' value)")
    if judge is None:
        folders, target = judge_folders(config.data)
        judge = load_or_train_painting_judge(folders, held_out_share=config.held_out_share, cache=cache,
                                             progress=progress)
    else:
        target = judge_target(judge, config.data)
    found = load_painting_set(dataclasses.replace(config, progress=False))
    _, reference_rows = paintings.split_held_out(found, min(config.held_out_share, judge.held_out_share))
    if len(reference_rows) < 2:
        raise ValueError(f"only {len(reference_rows)} paintings of {config.data} are held out; the "
                         "quality curve needs at least 2: use a larger folder or held_out_share")
    return judge, judge.category_index(target), judge_features(judge, found.images[reference_rows])[0]


# ----------------------------------------------------------------------------------------------
# One set of paintings, measured


@dataclasses.dataclass
class MeasuredSet:
    """A set of uint8 paintings and what the judge makes of them."""

    images: np.ndarray
    features: np.ndarray
    probabilities: np.ndarray
    inception: np.ndarray | None = None


def measure_set(images: np.ndarray, judge, network=None) -> MeasuredSet:
    """The judge's features and probabilities of `images`, and their InceptionV3 features when a
    `network` (`metrics.inception_network()`) is given."""
    from sketchdraw.quality import metrics
    from sketchdraw.quality.painting_judge import judge_features

    features, probabilities = judge_features(judge, images)
    inception = metrics.inception_features(images, network=network) if network is not None else None
    return MeasuredSet(images, features, probabilities, inception)


def measure_row(items: MeasuredSet, reference: MeasuredSet, training: MeasuredSet, target_index: int,
                kid_subsets: int = 100, seed: int = 0) -> dict:
    """One row: the judge's figures (`metrics.feature_row`) of `items` against `reference`,
    memorisation against `training`; SWD per pyramid level against `reference`'s images
    ("swd" their mean, "swd_<size>px" each level, x10^3); "inception_kid" when both sets have
    InceptionV3 features."""
    from sketchdraw.quality import metrics

    row = metrics.feature_row(items.probabilities, items.features, reference.features, training.features,
                              target_index, kid_subsets, seed)
    row["coverage"] = metrics.coverage(items.features, reference.features)
    swd = metrics.sliced_wasserstein_distance(items.images, reference.images, seed=seed)
    row["swd"] = swd["mean"]
    for resolution, distance in zip(swd["resolutions"], swd["levels"], strict=True):
        row[f"swd_{resolution}px"] = distance
    if items.inception is not None and reference.inception is not None:
        row["inception_kid"] = metrics.kid(items.inception, reference.inception, subsets=kid_subsets, seed=seed)[0]
    return row


def _item_set(measured: MeasuredSet, nearest_training: np.ndarray, target_index: int):
    return intervals.item_set(measured.features, measured.probabilities, target_index, nearest_training)


NEAREST_PAIRS = 8  # generated paintings on nearest_training.png


def save_nearest_sheet(path: str | os.PathLike, generated: np.ndarray, training: np.ndarray,
                       distances: np.ndarray, neighbours: np.ndarray, threshold: float,
                       pairs: int = NEAREST_PAIRS) -> None:
    """The `pairs` generated paintings nearest a training painting (top row, nearest first) above
    those training paintings (bottom row), each pair's judge-feature distance written under it
    (red below `threshold`, the real held-out paintings' 5th percentile): what to look at before
    believing a low memorisation distance means copies."""
    from PIL import Image, ImageDraw

    from sketchdraw.artifacts import grid_image, save_png

    order = np.argsort(distances)[:pairs]
    sheet = grid_image(np.concatenate([generated[order], training[neighbours[order]]]), columns=len(order), scale=2)
    caption = 28
    picture = Image.new("RGB", (sheet.width, sheet.height + caption), "white")
    picture.paste(sheet.convert("RGB"), (0, 0))
    draw = ImageDraw.Draw(picture)
    cell = sheet.width / len(order)
    for column, row in enumerate(order):
        colour = (200, 0, 0) if distances[row] < threshold else (0, 0, 0)
        draw.text((column * cell + 4, sheet.height + 2), f"{distances[row]:.2f}", fill=colour)
    draw.text((4, sheet.height + 14), f"top: generated, nearest first; bottom: nearest training painting; "
              f"real held-out 5th percentile {threshold:.2f}", fill=(0, 0, 0))
    save_png(picture, path)


# ----------------------------------------------------------------------------------------------
# The evaluation


def evaluate_paintings(run_dir: str | os.PathLike, samples: int | None = None, draws: int = 1, seed: int = 0,
                       judge=None, judge_folders: Mapping | str | None = None,
                       judge_data: str | os.PathLike | None = None, judge_options: Mapping | None = None,
                       cache: str | os.PathLike | None = None, kid_subsets: int = 100,
                       truncation: float | None = None, resamples: int = intervals.RESAMPLES,
                       inception: bool = True, progress: bool = True) -> dict:
    """Measure a painting run and write `metrics.json` in its folder; return the document.

    `samples`: generated paintings per noise draw (None: as many as are held out, at least 40);
    `draws` > 1: the generated row is the mean over that many noise draws (seeds seed..), each in
    "generated_draws". `judge` (a `PaintingJudge`) replaces the cached one; otherwise its folders
    are `judge_folders` ({name: folder} or "name=folder,..."), or the shared layout under
    `judge_data` or above the run's folder (`painting_judge.judge_folders`), trained with the run's
    held_out_share and `judge_options` (`load_or_train_painting_judge`'s, e.g. epochs).
    `truncation` None: the run's own. `resamples` 0: no intervals. `inception` False: no
    InceptionV3 KID (it needs the ImageNet weights; without them the reason is recorded).
    """
    from sketchdraw import paintings, sampling
    from sketchdraw.dcgan.data import load_painting_set, painting_training_rows
    from sketchdraw.gallery import publish_pages
    from sketchdraw.quality import metrics
    from sketchdraw.quality.evaluation import run_record
    from sketchdraw.quality.painting_judge import judge_folders as choose_folders
    from sketchdraw.quality.painting_judge import load_or_train_painting_judge

    if samples is not None and (isinstance(samples, bool) or not isinstance(samples, int) or samples < 2):
        raise ValueError(f"samples must be a whole number >= 2 (or None: as many as are held out), got {samples!r}")
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise ValueError(f"draws must be a whole number >= 1, got {draws!r}")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or 0 < resamples < 10 or resamples < 0:
        raise ValueError(f"resamples must be 0 (no intervals) or a whole number >= 10, got {resamples!r}")
    run = RunFolder(run_dir)
    config = dataclasses.replace(load_painting_config(run.root), progress=progress)
    truncation = config.truncation if truncation is None else sampling.check_truncation(truncation)
    generator = sampling.load_generator(run.root)  # fails fast for an unfinished run

    if judge is None:
        folders, target = choose_folders(config.data, judge_folders, judge_data)
        judge = load_or_train_painting_judge(folders, held_out_share=config.held_out_share, cache=cache,
                                             progress=progress, **dict(judge_options or {}))
    else:
        target = judge_target(judge, config.data)
    target_index = judge.category_index(target)

    found = load_painting_set(dataclasses.replace(config, progress=False))
    training_images = found.images[painting_training_rows(found, dataclasses.replace(config, progress=False))]
    # Unseen by both: the shares are nested (paintings.held_out_position), so the smaller one's files.
    _, reference_rows = paintings.split_held_out(found, min(config.held_out_share, judge.held_out_share))
    if len(reference_rows) < 2:
        raise ValueError(f"only {len(reference_rows)} of the {len(found)} paintings of {config.data} are held "
                         "out; at least 2 are needed to measure against. Use a larger folder or "
                         "held_out_share")
    samples = samples or max(len(reference_rows), MINIMUM_SAMPLES)

    network, inception_reason = None, "not asked for (inception=False)"
    if inception:
        try:
            network = metrics.inception_network()
            inception_reason = None
        except RuntimeError as error:
            inception_reason = str(error)
    reference = measure_set(found.images[reference_rows], judge, network)
    training = measure_set(training_images, judge, network)
    real_nearest = metrics.nearest_distances(reference.features, training.features)

    from tqdm.auto import tqdm

    rows, item_sets = [], []
    for index in tqdm(range(draws), desc="noise draws", unit="draw", disable=not progress or draws == 1):
        generated = measure_set(sampling.generate(generator, samples, seed=seed + index, truncation=truncation),
                                judge, network)
        distances, neighbours = metrics.nearest_neighbours(generated.features, training.features)
        rows.append(measure_row(generated, reference, training, target_index, kid_subsets, seed))
        rows[-1]["near_copies"] = metrics.near_copy_share(distances, real_nearest)
        item_sets.append(_item_set(generated, distances, target_index))
        if index == 0:
            save_nearest_sheet(run.root / NEAREST_SHEET, generated.images, training.images, distances, neighbours,
                               float(np.quantile(real_nearest, metrics.NEAR_COPY_QUANTILE)))
    mean = {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}
    mean["count"] = rows[0]["count"]
    real = measure_row(reference, training, training, target_index, kid_subsets, seed)
    real["near_copies"] = metrics.near_copy_share(real_nearest, real_nearest)
    # Coverage depends on both sets' sizes: the real row's is that of as many training paintings as
    # a draw generates (each draw another sample), over the same held-out paintings.
    rng = np.random.default_rng(seed)
    real["coverage"] = float(np.mean([
        metrics.coverage(training.features[rng.choice(len(training.features), min(samples, len(training.features)),
                                                      replace=False)], reference.features)
        for _ in range(draws)]))

    document = {
        "family": "paintings",
        "category": target,
        "data": config.data,
        "model": config.model,
        "classifier": {
            "key": judge.key,
            "kind": "painting judge",
            "categories": list(judge.categories),
            "folders": dict(judge.folders),
            "held_out_share": judge.held_out_share,
            "held_out_accuracy": judge.held_out_accuracy,
            "balanced_held_out_accuracy": judge.balanced_accuracy,
            "category_accuracy": judge.per_category_accuracy[target],
            "per_category_accuracy": dict(judge.per_category_accuracy),
            "epochs": judge.epochs,
        },
        "generated": mean,
        REAL_ROW: real,
        "references": REFERENCES,
        "swd_resolutions": [int(key[4:-2]) for key in real if key.startswith("swd_")],
        "inception": {"available": inception_reason is None, "reason": inception_reason},
        "held_out_share": config.held_out_share,
        "held_out_paintings": int(len(reference_rows)),
        "training_paintings": int(len(training_images)),
        **run_record(run, config, len(training_images), samples, seed, draws, truncation,
                     keep_best=config.keep_best),
    }
    if draws > 1:
        document["generated_draws"] = rows
    if resamples:
        document["intervals"] = intervals.bootstrap_intervals(
            {"generated": item_sets, REAL_ROW: [_item_set(reference, real_nearest, target_index)]},
            {"generated": reference.features, REAL_ROW: training.features}, resamples=resamples, seed=seed)
        document["intervals"]["resampled"] = RESAMPLED
    atomic_write_text(run.metrics_path, json.dumps(document, indent=2) + "\n")
    publish_pages(run)
    return document


# ----------------------------------------------------------------------------------------------
# The printed table


TABLE_ROWS = (("kid_mean", "KID, judge features"), ("fid", "FID, judge features"),
              ("cs", "recognised as {target}"), ("gd", "GD, diversity"),
              ("coverage", "coverage of the held-out paintings"),
              ("memorisation_distance", "memorisation distance"),
              ("near_copies", "near copies (real: 5th percentile)"), ("swd", "SWD x10^3, mean"))


def format_painting_table(document: dict) -> str:
    """A plain-text table: each figure of the generated row beside the real held-out row's, with
    their 95% intervals where metrics.json has them, then what each row was compared with."""
    generated, real = document["generated"], document[REAL_ROW]
    bars = document.get("intervals") or {}
    labels = [(key, label.format(target=document["category"])) for key, label in TABLE_ROWS]
    labels += [(f"swd_{size}px", f"SWD x10^3, {size}x{size} level") for size in document.get("swd_resolutions", [])]
    lines = [("metric", "generated", "real held-out")]
    for key, label in labels:
        if key not in generated or key not in real:  # measured before the figure existed
            continue
        lines.append((label, *(intervals.format_interval(row[key], (bars.get(name) or {}).get(key), digits=4)
                               for name, row in (("generated", generated), (REAL_ROW, real)))))
    inception = "KID, ImageNet InceptionV3"
    if "inception_kid" in generated:
        lines.append((inception, f"{generated['inception_kid']:.4f}", f"{real['inception_kid']:.4f}"))
    widths = [max(len(line[column]) for line in lines) for column in range(2)]
    text = ["  ".join([line[0].ljust(widths[0]), line[1].ljust(widths[1]), line[2]]).rstrip() for line in lines]
    text.insert(1, "  ".join(["-" * widths[0], "-" * widths[1], "-" * len(lines[0][2])]))
    if "inception_kid" not in generated:
        reason = (document.get("inception") or {}).get("reason") or "not measured"
        text.append(f"{inception.ljust(widths[0])}  unavailable: {reason}")
    text.append(f"generated: {generated['count']} paintings per noise draw x {document['draws']}, against the "
                f"{document['held_out_paintings']} held-out paintings; real held-out: those against the "
                f"{document['training_paintings']} training paintings (memorisation: distance to the "
                "nearest training painting, both rows)")
    return "\n".join(text)
