"""The judge of doodle runs: the Quick, Draw! domain classifier and the real reference drawings.

The real reference row uses drawings that *neither* network trained on: the classifier's held-out
drawings of the category and the drawings after the first N it was trained on, minus every drawing
in the GAN's training set (compared by content). A run trained on every drawing of its category
has none left, and is refused with a message saying so (train it with `limit=`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sketchdraw import quickdraw
from sketchdraw.artifacts import RunFolder
from sketchdraw.dcgan.settings import RunConfig

DEFAULT_DRAWINGS_PER_CATEGORY = 2000
DEFAULT_CLASSIFIER_EPOCHS = 5
REFERENCE_WANTED = 450  # unseen real drawings of the run's category for the reference row


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
    from sketchdraw.partial_downloads import fetch_first_drawings
    from sketchdraw.quality.classifier import collect_arrays, load_or_train

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


def drawings_per_category_for(config: RunConfig, training_count: int, cache, progress: bool) -> int:
    total, _ = quickdraw.read_bitmap_header(
        quickdraw.fetch_file(config.category, mirror=config.mirror, cache=cache, progress=progress))
    chosen = default_drawings_per_category(total, training_count)
    if progress and chosen != DEFAULT_DRAWINGS_PER_CATEGORY:
        print(f"the {config.category} file has {total:,} drawings and the run trains on "
              f"{training_count:,}: the classifier learns the first {chosen:,} of each category, "
              "so the rest stay unseen for the reference row")
    return chosen
