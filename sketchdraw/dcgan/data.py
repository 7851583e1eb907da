"""The DCGAN family's training data: Quick, Draw! bitmaps or strokes, or a folder of paintings."""

from __future__ import annotations

import sys

import numpy as np

from sketchdraw.dcgan.settings import RunConfig


def load_training_images(config: RunConfig) -> np.ndarray:
    """The run's training data as a uint8 array, from the configured source.

    quickdraw: numpy_bitmap rows (N, 784); strokes: the ndjson drawings rasterised to the same
    convention; paintings: decoded RGB (N, size, size, 3) from the `data` folder, less its
    held-out share (`painting_training_rows`).
    """
    if config.source == "quickdraw":
        from sketchdraw import quickdraw

        return quickdraw.load_bitmaps(config.category, limit=config.limit,
                                      sample_seed=config.limit_seed, mirror=config.mirror,
                                      progress=config.progress)
    if config.source == "strokes":
        from sketchdraw import quickdraw, strokes

        path = quickdraw.fetch_file(config.category, "simplified", mirror=config.mirror,
                                    progress=config.progress)
        drawings = strokes.read_ndjson(path, recognized_only=config.recognized_only)
        drawings = _limit(drawings, config.limit, config.limit_seed)
        if not drawings:
            raise ValueError(f"{path} has no drawings"
                             + (" marked recognised" if config.recognized_only else ""))
        return strokes.rasterize_many(drawings)
    if config.source == "paintings":
        found = load_painting_set(config)
        return found.images[painting_training_rows(found, config)]
    raise ValueError(f"unknown data source {config.source!r}")


def load_painting_set(config: RunConfig):
    """The run's whole painting folder, decoded (`paintings.PaintingSet`); unreadable files reported."""
    from sketchdraw import paintings

    found = paintings.load_painting_folder(config.data, image_size=config.image_size,
                                           fit=config.fit, progress=config.progress)
    if found.skipped:
        print(found.report(), file=sys.stderr, flush=True)
    return found


def painting_training_rows(found, config: RunConfig) -> np.ndarray:
    """The rows of `found.images` a painting run trains on: the folder less its held-out share
    (`paintings.split_held_out`, the same split the painting judge and `make evaluate` use), then
    `limit` of those."""
    from sketchdraw import paintings

    training_rows, held_out_rows = paintings.split_held_out(found, config.held_out_share)
    if not len(training_rows):
        raise ValueError(f"all {len(found)} paintings of {config.data} fall in the held-out share "
                         f"(held_out_share={config.held_out_share}); add paintings or lower held_out_share")
    if len(held_out_rows) and config.progress:
        print(f"held out {len(held_out_rows)} of {len(found)} paintings (held_out_share="
              f"{config.held_out_share:g}): neither network sees them; `make evaluate` measures "
              "against them", file=sys.stderr, flush=True)
    return _limit(training_rows, config.limit, config.limit_seed)


def _limit(items, limit: int | None, seed: int | None):
    if limit is None or limit >= len(items):
        return items
    if seed is None:
        return items[:limit]
    rows = np.sort(np.random.default_rng(seed).choice(len(items), size=limit, replace=False))
    return items[rows] if isinstance(items, np.ndarray) else [items[row] for row in rows]


def image_shape_of(config: RunConfig) -> tuple[int, int, int]:
    if config.source == "paintings":
        return (config.image_size, config.image_size, 3)
    return (28, 28, 1)
