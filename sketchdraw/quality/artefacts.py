"""Procedural GAN failures made from real paintings: the negatives of a painting judge that is hard
to fool (`painting_judge`, `artefacts=True`).

A judge trained only to tell its folders apart learns what separates them, mostly palette and
exposure, so a generator that paints the target folder's average palette is "recognised" and sits
near the folder's centre in the judge's features: on the shared Van Gogh set, seed 004's collapsed,
striped run scored KID 0.04 and recognised 1.00 while varied runs scored 0.2–0.3. An extra class of
real paintings broken the ways small GANs break them teaches the features to see those failures:

- checkerboard: a period-2 or -4 grid added to the painting, the print of strided transposed
  convolutions;
- stripes: one band of the painting repeated down the whole page (a generator stuck on a texture);
- blur: the painting at 4–12 pixels, scaled back up (the soft blobs of an early generator);
- blend: the mean of 3–8 paintings (the muddy average of a collapsed or undertrained generator).

Every failure is made from a real painting, so the judge cannot tell them apart by palette alone.
No generator's output is used: a judge trained on the generators it measures would be measuring
itself.

    broken = break_paintings(images, np.random.default_rng(0))   # uint8 (N, H, W, 3) -> same shape
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

ARTEFACTS_CLASS = "artefacts"
# Part of a judge's cache key: bump when a failure is made differently, so cached judges are retrained.
ARTEFACTS_VERSION = 2


def checkerboard(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image plus a ±(12–40) grey-level grid of period 2 or 4, at a random phase and colour sign."""
    count, height, width, _ = images.shape
    out = np.empty_like(images)
    rows, columns = np.indices((height, width))
    for index in range(count):
        period = int(rng.choice([2, 4]))
        half = period // 2
        phase_row, phase_column = rng.integers(0, period, size=2)
        grid = (((rows + phase_row) % period < half) ^ ((columns + phase_column) % period < half)).astype(np.float32)
        amplitude = rng.uniform(12.0, 40.0) * rng.choice([-1.0, 1.0], size=3)
        stamped = images[index].astype(np.float32) + (grid[..., None] * 2.0 - 1.0) * amplitude
        out[index] = np.clip(np.rint(stamped), 0, 255).astype(np.uint8)
    return out


def stripes(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image's band of 3–12 rows (or columns, half the time) tiled across the whole image."""
    out = np.empty_like(images)
    for index in range(len(images)):
        across = rng.random() < 0.5  # columns: work on the transposed image, transpose back
        image = images[index].transpose(1, 0, 2) if across else images[index]
        size = int(rng.integers(3, 13))
        start = int(rng.integers(0, image.shape[0] - size + 1))
        band = image[start:start + size]
        tiled = np.tile(band, (-(-image.shape[0] // size), 1, 1))[:image.shape[0]]
        out[index] = tiled.transpose(1, 0, 2) if across else tiled
    return out


def blur(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image shrunk to 4–12 pixels a side and scaled back up (bilinear)."""
    from PIL import Image

    count, height, width, _ = images.shape
    out = np.empty_like(images)
    for index in range(count):
        side = int(rng.integers(4, 13))
        small = Image.fromarray(images[index]).resize((side, side), Image.Resampling.BOX)
        out[index] = np.asarray(small.resize((width, height), Image.Resampling.BILINEAR))
    return out


def _mix(image: np.ndarray, others: np.ndarray) -> np.ndarray:
    """The mean of `image` and `others`, its contrast stretched back to `image`'s spread."""
    mixed = np.concatenate([image[None], others]).astype(np.float32).mean(axis=0)
    # Averaging flattens contrast; stretch it back so "flat" alone does not give the class away.
    spread = image.astype(np.float32).std() / max(float(mixed.std()), 1.0)
    mixed = (mixed - mixed.mean()) * spread + mixed.mean()
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def blend(images: np.ndarray, rng: np.random.Generator, pool: np.ndarray | None = None) -> np.ndarray:
    """Each image averaged with 2–7 others drawn from `pool` (default: the same set)."""
    pool = images if pool is None else pool
    out = np.empty_like(images)
    for index in range(len(images)):
        others = rng.choice(len(pool), size=int(rng.integers(2, 8)), replace=len(pool) < 8)
        out[index] = _mix(images[index], pool[others])
    return out


BREAKERS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "checkerboard": checkerboard, "stripes": stripes, "blur": blur, "blend": blend}


def break_paintings(images: np.ndarray, rng: np.random.Generator, pool: np.ndarray | None = None) -> np.ndarray:
    """One broken copy of each uint8 RGB image (N, H, W, 3), each by a failure of `BREAKERS` chosen
    at random; blends mix each image with others of `pool` (default: `images`)."""
    images = np.asarray(images)
    pool = images if pool is None else np.asarray(pool)
    for name, array in (("images", images), ("pool", pool)):
        if array.ndim != 4 or array.shape[-1] != 3 or array.dtype != np.uint8:
            raise ValueError(f"break_paintings takes uint8 RGB {name} (N, H, W, 3), got {array.dtype} {array.shape}")
    if len(pool) < 2:
        raise ValueError("break_paintings needs a pool of at least 2 images (blends mix several)")
    kinds = rng.integers(0, len(BREAKERS), size=len(images))
    out = np.empty_like(images)
    for kind, breaker in enumerate(BREAKERS.values()):
        chosen = np.flatnonzero(kinds == kind)
        if len(chosen):
            out[chosen] = blend(images[chosen], rng, pool=pool) if breaker is blend else breaker(images[chosen], rng)
    return out
