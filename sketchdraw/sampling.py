"""Draw with a trained generator: N drawings as a uint8 `.npy` plus a PNG grid.

Quick, Draw! generators write (N, 784) uint8 with 0 = background and 255 = ink, exactly Google's
numpy_bitmap convention, so the output can be fed to anything that reads the data set. Colour
generators write (N, H, W, 3) uint8. The generator is loaded with Keras' safe mode (no arbitrary
code from the file).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from sketchdraw.artifacts import RunFolder, grid_image, save_png, to_uint8
from sketchdraw.atomicfiles import atomic_write_bytes


def load_generator(run_dir: str | os.PathLike, path: str | os.PathLike | None = None):
    """The run's generator.keras, or another saved generator file of the run (`path`, e.g. a
    keep_best run's generator_last.keras)."""
    import keras

    import sketchdraw.layers  # noqa: F401  (registers the project's custom layers for loading)

    path = Path(path) if path is not None else RunFolder(run_dir).generator_path
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: train the run to the end "
                                "first (the generator is saved when training finishes)")
    return keras.models.load_model(path, safe_mode=True, compile=False)


def generate(generator, count: int, seed: int = 0, batch_size: int = 500) -> np.ndarray:
    """`count` uint8 images from seeded noise, generated in batches."""
    import tensorflow as tf

    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"the number of drawings must be a positive whole number, got {count!r}")
    noise_dim = int(generator.input_shape[-1])
    parts = []
    for start in range(0, count, batch_size):
        size = min(batch_size, count - start)
        noise = tf.random.stateless_normal([size, noise_dim], seed=[seed, start])
        parts.append(to_uint8(generator(noise, training=False).numpy()))
    return np.concatenate(parts)


def sample(run_dir: str | os.PathLike, count: int = 1000, seed: int = 0) -> tuple[Path, Path]:
    """Write `samples/samples_<count>_seed<seed>.npy` and `.png` in the run folder; return both paths.

    An existing file of the same name is never overwritten: a numbered name is chosen instead.
    """
    run = RunFolder(run_dir)
    images = generate(load_generator(run_dir), count, seed)
    grayscale = images.shape[-1] == 1
    stored = images.reshape(len(images), -1) if grayscale else images
    folder = run.root / "samples"
    stem = _free_stem(folder, f"samples_{count}_seed{seed}")
    buffer = io.BytesIO()
    np.save(buffer, stored, allow_pickle=False)
    array_path = folder / f"{stem}.npy"
    atomic_write_bytes(array_path, buffer.getvalue())
    grid_path = folder / f"{stem}.png"
    shown = images[:100]
    save_png(grid_image(shown, columns=10, invert=grayscale, scale=3 if grayscale else 1), grid_path)
    return array_path, grid_path


def _free_stem(folder: Path, stem: str) -> str:
    candidate, number = stem, 2
    while (folder / f"{candidate}.npy").exists() or (folder / f"{candidate}.png").exists():
        candidate, number = f"{stem}-{number}", number + 1
    return candidate
