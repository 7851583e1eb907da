"""Sketch/photo pairs for Sketch2Img: the loaders for two folder layouts, the seed's normalisation
and the tf.data chain.

Normalisation (decided here): the seed centres photos and sketches on the dataset mean and divides
by max(|min|, |max|) of the centred values. That keeps every value within [-1, 1], which the
generator's tanh can reach, so we keep the seed's scheme: per-channel mean, one scale per domain,
computed on the training pairs and saved as `data_statistics.json` in the run folder (`draw` needs
it to prepare a new sketch and to turn generated values back into colours). Colour jitter happens
before normalisation and can push a photo slightly outside the training range, so the normalised
photo is clipped to [-1, 1].
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from sketchdraw.registry import unknown_name_message

LAYOUTS = ("simple", "sketchy")
# The seed's choice of Sketchy augmentation folders: photos whose object bounding box is scaled to
# the canvas (+10% margin), sketches centred and uniformly scaled (both keep the aspect ratio).
SKETCHY_PHOTO_AUGMENTATION = "tx_000100000000"
SKETCHY_SKETCH_AUGMENTATION = "tx_000100000000"
SKETCHY_ERROR_LIST = Path("info") / "invalid-error.txt"
DATA_STATISTICS_FILE = "data_statistics.json"
HELD_OUT_FOLDER = "held_out"
DRAWINGS_FOLDER = "drawings"

@dataclass
class SketchPairs:
    """Matched pairs as uint8 arrays: sketches (N, H, W, 1) with 255 = line (white lines on black,
    the seed's inversion), photos (N, H, W, 3) RGB, labels (N,) int32 indexing `categories`."""

    sketches: np.ndarray
    photos: np.ndarray
    labels: np.ndarray
    categories: list[str]
    names: list[str]  # "<category>/<sketch file stem>" per pair
    unmatched_sketches: list[str] = field(default_factory=list)
    unmatched_photos: list[str] = field(default_factory=list)
    dropped_as_error: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sketches)

    def subset(self, rows) -> SketchPairs:
        rows = np.asarray(rows, dtype=np.int64)
        return dataclasses.replace(self, sketches=self.sketches[rows], photos=self.photos[rows],
                                   labels=self.labels[rows],
                                   names=[self.names[row] for row in rows])

    def report(self, shown: int = 10) -> str:
        lines = [f"{len(self)} sketch/photo pairs in {len(self.categories)} "
                 f"categor{'y' if len(self.categories) == 1 else 'ies'}"]
        for title, items in (("sketches without a photo", self.unmatched_sketches),
                             ("photos without a sketch", self.unmatched_photos),
                             ("sketches dropped as 'Error'", self.dropped_as_error),
                             ("unreadable files", [f"{n} ({why})" for n, why in self.unreadable])):
            if items:
                listed = ", ".join(items[:shown]) + (f", ... ({len(items) - shown} more)"
                                                      if len(items) > shown else "")
                lines.append(f"{len(items)} {title}: {listed}")
        return "\n".join(lines)


def load_sketch_pairs(root: str | os.PathLike, layout: str = "simple", image_size: int = 64,
                      limit: int | None = None, log: Callable[[str], None] | None = None,
                      sketch_augmentation: str = SKETCHY_SKETCH_AUGMENTATION,
                      photo_augmentation: str = SKETCHY_PHOTO_AUGMENTATION) -> SketchPairs:
    """Decode matched sketch/photo pairs under `root`; report files without a partner.

    Layouts:
    - "simple": `<root>/sketch/[<category>/]<id>.<ext>` and `<root>/photo/[<category>/]<id>.<ext>`;
      a sketch and a photo pair up when category folder and file stem are equal. Without category
      folders everything is one category named after `root`.
    - "sketchy": the Sketchy database: `<root>/photo/<photo_augmentation>/<category>/<id>.jpg` and
      `<root>/sketch/<sketch_augmentation>/<category>/<id>-<n>.png` (n-th sketch of photo <id>;
      every sketch pairs with its photo, so a photo appears once per sketch). Assumed, following
      the database's info files: `<root>/info/invalid-error.txt`, if present, lists one sketch per
      line by file name (with or without extension or folder); those sketches are dropped.

    Sketches are read as greyscale and inverted (white lines on black); both are centre-cropped
    to a square and resized to `image_size` with the same transform, so a pair stays aligned.
    `limit` keeps the first N pairs in sorted order. The report (counts and names of unmatched,
    dropped and unreadable files) goes to `log` (stderr by default) and stays on the result.
    """
    from sketchdraw import paintings

    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    root = Path(root)
    if layout not in LAYOUTS:
        raise ValueError(unknown_name_message("pair layout", layout, LAYOUTS))
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive number of pairs or None, got {limit!r}")
    if layout == "simple":
        sketch_dir, photo_dir = root / "sketch", root / "photo"
    else:
        sketch_dir = root / "sketch" / sketch_augmentation
        photo_dir = root / "photo" / photo_augmentation
    for folder, what in ((sketch_dir, "sketch"), (photo_dir, "photo")):
        if not folder.is_dir():
            hint = ("expected <root>/sketch/ and <root>/photo/ (layout='simple')" if layout == "simple"
                    else f"expected <root>/{what}/{sketch_augmentation if what == 'sketch' else photo_augmentation}/"
                         "<category>/ (layout='sketchy')")
            other = "sketchy" if layout == "simple" else "simple"
            raise ValueError(f"no {what} folder {folder}: {hint}; check data_root, or try "
                             f"layout={other!r}")

    def keyed(folder: Path, key_of: Callable[[str], str]) -> dict[tuple[str, str], Path]:
        files, _ = paintings.find_image_files(folder)
        found: dict[tuple[str, str], Path] = {}
        for path in files:
            relative = path.relative_to(folder)
            category = relative.parent.as_posix() if relative.parent != Path(".") else root.name
            found.setdefault((category, key_of(path.stem)), path)
        return found

    photos = keyed(photo_dir, lambda stem: stem)
    dropped: list[str] = []
    if layout == "simple":
        sketches = keyed(sketch_dir, lambda stem: stem)
        pairs = [(key, sketches[key], photos[key]) for key in sorted(sketches) if key in photos]
        unmatched_sketches = [_label(key) for key in sorted(sketches) if key not in photos]
        unmatched_photos = [_label(key) for key in sorted(photos) if key not in sketches]
    else:
        errors = _sketchy_errors(root / SKETCHY_ERROR_LIST)
        sketch_files, _ = paintings.find_image_files(sketch_dir)
        pairs, unmatched_sketches, used_photos = [], [], set()
        for path in sketch_files:
            category = path.parent.relative_to(sketch_dir).as_posix()
            if path.stem in errors:
                dropped.append(f"{category}/{path.stem}")
                continue
            photo_key = (category, re.sub(r"-\d+$", "", path.stem))
            if photo_key in photos:
                pairs.append(((category, path.stem), path, photos[photo_key]))
                used_photos.add(photo_key)
            else:
                unmatched_sketches.append(f"{category}/{path.stem}")
        unmatched_photos = [_label(key) for key in sorted(photos) if key not in used_photos]
    if limit is not None:
        pairs = pairs[:limit]

    sketch_rows, photo_rows, categories, names, unreadable = [], [], [], [], []
    for (category, stem), sketch_path, photo_path in pairs:
        try:
            sketch_rgb = paintings.decode_image(sketch_path, image_size, "crop")
            photo = paintings.decode_image(photo_path, image_size, "crop")
        except paintings.UnreadableImage as error:
            unreadable.append((f"{category}/{stem}", str(error)))
            continue
        sketch_rows.append(_inverted_grey(sketch_rgb))
        photo_rows.append(photo)
        categories.append(category)
        names.append(f"{category}/{stem}")
    if not sketch_rows:
        raise ValueError(f"no readable sketch/photo pairs under {root} (layout={layout!r}): "
                         f"{len(unmatched_sketches)} sketches and {len(unmatched_photos)} photos had "
                         "no partner; pairs need the same category folder and file name")
    category_names = sorted(set(categories))
    index = {name: number for number, name in enumerate(category_names)}
    result = SketchPairs(np.stack(sketch_rows), np.stack(photo_rows),
                         np.array([index[c] for c in categories], np.int32), category_names, names,
                         unmatched_sketches, unmatched_photos, dropped, unreadable)
    log(result.report())
    return result


def _label(key: tuple[str, str]) -> str:
    return f"{key[0]}/{key[1]}"


def _sketchy_errors(path: Path) -> set[str]:
    if not path.exists():
        return set()
    return {Path(line.strip()).stem for line in path.read_text().splitlines() if line.strip()}


def _inverted_grey(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 drawing, dark lines on light paper -> (H, W, 1) uint8 with 255 = line."""
    grey = np.rint(rgb.astype(np.float32).mean(axis=-1, keepdims=True))
    return (255 - grey).astype(np.uint8)


def sketch_from_file(path: str | os.PathLike, image_size: int) -> np.ndarray:
    """A user's sketch (any image file, dark lines on light paper) -> (H, W, 1) uint8, 255 = line."""
    from sketchdraw import paintings

    try:
        return _inverted_grey(paintings.decode_image(path, image_size, "crop"))
    except paintings.UnreadableImage as error:
        raise ValueError(f"sketch {path}: {error}") from None


# -- normalisation (the seed's) -----------------------------------------------------------------
def data_statistics(pairs: SketchPairs) -> dict:
    """Per-channel means of sketches and photos in [0, 1] and the scale max(|min|, |max|) of the
    centred values, one per domain (see the module docstring)."""
    statistics = {}
    for key, images in (("sketch", pairs.sketches), ("photo", pairs.photos)):
        values = images.astype(np.float32) / 255.0
        mean = values.reshape(-1, values.shape[-1]).mean(axis=0)
        centred_minimum = float((values.min(axis=(0, 1, 2)) - mean).min())
        centred_maximum = float((values.max(axis=(0, 1, 2)) - mean).max())
        scale = max(abs(centred_minimum), abs(centred_maximum)) or 1.0
        statistics[f"{key}_mean"] = [float(value) for value in mean]
        statistics[f"{key}_scale"] = float(scale)
    statistics["categories"] = list(pairs.categories)
    return statistics


def normalize(images_uint8, mean, scale) -> tf.Tensor:
    return (tf.cast(images_uint8, tf.float32) / 255.0 - tf.constant(mean, tf.float32)) / scale


def denormalize_to_uint8(values, mean, scale) -> np.ndarray:
    unit = np.asarray(values, np.float32) * scale + np.asarray(mean, np.float32)
    return np.clip(np.rint(unit * 255.0), 0, 255).astype(np.uint8)


def pair_dataset(pairs: SketchPairs, statistics: dict, batch_size: int, seed: int,
                 brightness_jitter: float = 0.1, contrast_jitter: float = 0.2) -> tf.data.Dataset:
    """Shuffled batches (sketch, photo, label), normalised, photos colour-jittered per example.

    Shuffles indices and gathers each batch from the uint8 arrays in place, like `pipeline`.
    Jitter (the seed's photo augmentation): contrast factor in [1 - c, 1 + c] around the image's
    mean, then a brightness shift in [-b, b], on [0, 1] values, clipped back to [0, 1].
    """
    count = len(pairs)
    if batch_size > count:
        raise ValueError(f"batch_size {batch_size} is larger than the {count} training pairs; use "
                         f"batch_size <= {count}, more data, or a smaller holdout")
    sketches, photos, labels = pairs.sketches, pairs.photos, pairs.labels
    size = sketches.shape[1]

    def take(indices):
        return sketches[indices], photos[indices], labels[indices]

    def gather(indices):
        sketch, photo, label = tf.numpy_function(take, [indices], (tf.uint8, tf.uint8, tf.int32),
                                                 stateful=False)
        sketch = tf.reshape(sketch, (-1, size, size, 1))
        photo = tf.cast(tf.reshape(photo, (-1, size, size, 3)), tf.float32) / 255.0
        batch = tf.shape(photo)[0]
        contrast = tf.random.uniform([batch, 1, 1, 1], 1 - contrast_jitter, 1 + contrast_jitter)
        brightness = tf.random.uniform([batch, 1, 1, 1], -brightness_jitter, brightness_jitter)
        mean = tf.reduce_mean(photo, axis=[1, 2, 3], keepdims=True)
        photo = tf.clip_by_value((photo - mean) * contrast + mean + brightness, 0.0, 1.0)
        photo = (photo - tf.constant(statistics["photo_mean"], tf.float32)) / statistics["photo_scale"]
        return (normalize(sketch, statistics["sketch_mean"], statistics["sketch_scale"]),
                tf.clip_by_value(photo, -1.0, 1.0), tf.reshape(label, (-1,)))

    dataset = tf.data.Dataset.range(count).shuffle(count, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=True)
    return dataset.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def load_pairs_for(config, log=None) -> SketchPairs:
    if not config.data_root:
        raise ValueError("data_root is not set: give the folder of sketch/photo pairs "
                         "(e.g. data_root='../shared/data/sketchy/cufs_faces')")
    return load_sketch_pairs(config.data_root, config.layout, config.image_size, config.limit,
                             log=log)


def split_pairs(pairs: SketchPairs, holdout: int, seed: int) -> tuple[SketchPairs, SketchPairs]:
    """(training pairs, held-out pairs): `holdout` pairs picked by `seed`, kept out of training."""
    if holdout >= len(pairs):
        raise ValueError(f"holdout {holdout} leaves no training pairs out of {len(pairs)}; use "
                         f"holdout < {len(pairs)}")
    held = np.sort(np.random.default_rng(seed).choice(len(pairs), size=holdout, replace=False))
    rest = np.setdiff1d(np.arange(len(pairs)), held)
    return pairs.subset(rest), pairs.subset(held)


def sketch_as_rgb(sketches_uint8: np.ndarray) -> np.ndarray:
    """White-on-black model sketches -> black-on-white RGB, as people draw them."""
    return np.repeat(255 - sketches_uint8, 3, axis=-1)
