"""The judge of doodle runs: the Quick, Draw! domain classifier and the real reference drawings.

The real reference row uses drawings that *neither* network trained on: the classifier's held-out
drawings of the category (the last 450 of the first N it was given) and the drawings after those
N, minus every drawing in the GAN's training set (compared by content). A GAN run trains on the
first `limit` drawings of its file, so with the shared mirror's 900 rabbits and `limit=450` the
reference row is the other 450. A run trained on every drawing of its category has none left,
and is refused with a message saying so (train it with `limit=`).
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

# The classifier learns the first 5,000 drawings of each category (all of every shared mirror file,
# 446 to 4,500; about 4 MB per category from Google's bucket by Range requests) but the last 450 of
# those, which it holds out (`classifier.split_held_out`).
DEFAULT_DRAWINGS_PER_CATEGORY = 5000
DEFAULT_CLASSIFIER_EPOCHS = 30  # classifier.DEFAULT_EPOCHS, without importing TensorFlow here
REFERENCE_WANTED = 450  # unseen real drawings of the run's category for the quality curve's reference


def load_run_config(run_dir: str | os.PathLike) -> RunConfig:
    """The run's settings from its config.json, checked; ValueError for anything but Quick, Draw!."""
    run = RunFolder(run_dir)
    if not run.config_path.is_file():
        raise FileNotFoundError(f"{run.root} is not a run folder (it has no config.json); "
                                "train it first, e.g. `make run NAME=...`")
    config = RunConfig.from_dict(run.load_config(), where=str(run.config_path))
    if config.source != "quickdraw":
        painting = (" A painting run is measured by quality.evaluate_paintings (make evaluate "
                    "picks it by itself)." if config.source == "paintings" else "")
        raise ValueError(f"{run.root} trained on {config.source!r} data; only runs on Quick, Draw! "
                         "numpy_bitmap drawings (source 'quickdraw') can be measured here: the real "
                         "reference row needs the same files the run trained on." + painting)
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
                      seed: int = 0, progress: bool = True):
    """The cached classifier trained on the first `drawings_per_category` drawings of each category
    but the last 450 of those (trained and saved under `<cache>/classifier/<key>/` the first time;
    about 40 minutes on 2 CPU cores for the shared 35 categories)."""
    from sketchdraw.partial_downloads import fetch_first_drawings
    from sketchdraw.quality.classifier import collect_arrays, load_or_train

    if isinstance(drawings_per_category, bool) or not isinstance(drawings_per_category, int) \
            or drawings_per_category < 2:
        raise ValueError(f"drawings_per_category must be a whole number >= 2, got {drawings_per_category!r}")

    def first_drawings(category: str, limit: int) -> np.ndarray:
        return fetch_first_drawings(category, limit, mirror=mirror, cache=cache, progress=progress)

    arrays = collect_arrays(categories, first_drawings, limit=drawings_per_category)
    return load_or_train(arrays, cache_dir=cache, epochs=epochs, seed=seed, progress=progress)


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
