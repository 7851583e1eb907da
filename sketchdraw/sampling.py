"""Draw with a trained generator: N drawings as a uint8 `.npy` plus a PNG grid.

Quick, Draw! generators write (N, 784) uint8 with 0 = background and 255 = ink, exactly Google's
numpy_bitmap convention, so the output can be fed to anything that reads the data set. Colour
generators write (N, H, W, 3) uint8. The generator is loaded with Keras' safe mode (no arbitrary
code from the file).
"""

from __future__ import annotations

import io
import math
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


def save_generator(generator, path: Path) -> None:
    """`generator.save` into a temporary `.keras` file, then rename: never half a model file."""
    from sketchdraw.atomicfiles import SaveError

    path = Path(path)
    temporary = path.with_name(f".{path.stem}.tmp{os.getpid()}.keras")
    try:
        generator.save(temporary)
        os.replace(temporary, path)
    except OSError as error:
        raise SaveError(error.errno, f"could not save {path}: {error.strerror or error} (check free "
                        "disk space; the checkpoints still hold the trained weights)") from error
    finally:
        temporary.unlink(missing_ok=True)


def check_truncation(truncation) -> float:
    """The truncation threshold checked: 0 (the plain normal) or a positive number of standard
    deviations."""
    if isinstance(truncation, bool) or not isinstance(truncation, (int, float)) \
            or not math.isfinite(truncation) or truncation < 0:
        raise ValueError(f"truncation is 0 (off) or the threshold in standard deviations that each "
                         f"noise value is kept within (e.g. 2.0), got {truncation!r}")
    return float(truncation)


def noise(count: int, noise_dim: int, seed: int, start: int = 0, truncation: float = 0.0):
    """Seeded noise vectors (count, noise_dim): the standard normal, or with `truncation` t > 0 the
    standard normal truncated to [-t, t] (the "truncation trick": fewer unusual vectors, so more
    typical drawings and less variety; `studies/metric_noise.py --truncation` measures the trade). Deterministic in
    (seed, start); the truncated draw is exact (inverse CDF of a uniform over [Phi(-t), Phi(t)])."""
    import tensorflow as tf

    truncation = check_truncation(truncation)
    if truncation == 0:
        return tf.random.stateless_normal([count, noise_dim], seed=[seed, start])
    low = 0.5 * math.erfc(truncation / math.sqrt(2))  # Phi(-t)
    uniform = tf.random.stateless_uniform([count, noise_dim], seed=[seed, start],
                                          minval=low, maxval=1 - low, dtype=tf.float64)
    return tf.cast(tf.clip_by_value(tf.math.ndtri(uniform), -truncation, truncation), tf.float32)


def generate(generator, count: int, seed: int = 0, batch_size: int = 500,
             truncation: float = 0.0) -> np.ndarray:
    """`count` uint8 images from seeded noise (`noise`), generated in batches."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"the number of drawings must be a positive whole number, got {count!r}")
    noise_dim = int(generator.input_shape[-1])
    parts = []
    for start in range(0, count, batch_size):
        size = min(batch_size, count - start)
        vectors = noise(size, noise_dim, seed, start, truncation)
        parts.append(to_uint8(generator(vectors, training=False).numpy()))
    return np.concatenate(parts)


def sample(run_dir: str | os.PathLike, count: int = 1000, seed: int = 0,
           truncation: float | None = None) -> tuple[Path, Path]:
    """Write `samples/samples_<count>_seed<seed>[_trunc<t>].npy` and `.png` in the run folder;
    return both paths. `truncation` None: the run's own setting (config.json; 0 when it has none).

    An existing file of the same name is never overwritten: a numbered name is chosen instead.
    """
    run = RunFolder(run_dir)
    generator = load_generator(run_dir)
    truncation = run_truncation(run_dir) if truncation is None else check_truncation(truncation)
    images = generate(generator, count, seed, truncation=truncation)
    grayscale = images.shape[-1] == 1
    stored = images.reshape(len(images), -1) if grayscale else images
    folder = run.root / "samples"
    suffix = f"_trunc{truncation:g}" if truncation else ""
    stem = _free_stem(folder, f"samples_{count}_seed{seed}{suffix}")
    buffer = io.BytesIO()
    np.save(buffer, stored, allow_pickle=False)
    array_path = folder / f"{stem}.npy"
    atomic_write_bytes(array_path, buffer.getvalue())
    grid_path = folder / f"{stem}.png"
    shown = images[:100]
    save_png(grid_image(shown, columns=10, invert=grayscale, scale=3 if grayscale else 1), grid_path)
    return array_path, grid_path


def run_truncation(run_dir: str | os.PathLike) -> float:
    """The truncation a run samples with: its config.json's, 0 for runs saved before the setting."""
    run = RunFolder(run_dir)
    settings = run.load_config() if run.config_path.is_file() else {}
    return check_truncation(settings.get("truncation", 0.0))


def _free_stem(folder: Path, stem: str) -> str:
    candidate, number = stem, 2
    while (folder / f"{candidate}.npy").exists() or (folder / f"{candidate}.png").exists():
        candidate, number = f"{stem}-{number}", number + 1
    return candidate
