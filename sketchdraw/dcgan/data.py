"""The DCGAN family's training data: Quick, Draw! bitmaps or strokes, or a folder of paintings."""

from __future__ import annotations

import sys

import numpy as np

from sketchdraw.dcgan.settings import RunConfig


def load_training_images(config: RunConfig) -> np.ndarray:
    """The run's training data as a uint8 array, from the configured source.

    quickdraw: numpy_bitmap rows (N, 784); strokes: the ndjson drawings rasterised to the same
    convention; paintings: decoded RGB (N, size, size, 3) from the `data` folder.
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
        from sketchdraw import paintings

        found = paintings.load_painting_folder(config.data, image_size=config.image_size,
                                               fit=config.fit, progress=config.progress)
        if found.skipped:
            print(found.report(), file=sys.stderr, flush=True)
        return _limit(found.images, config.limit, config.limit_seed)
    raise ValueError(f"unknown data source {config.source!r}")


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
