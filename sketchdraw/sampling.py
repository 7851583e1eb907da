"""Draw with a trained generator: N drawings as a uint8 `.npy` plus a PNG grid.

Quick, Draw! generators write (N, 784) uint8 with 0 = background and 255 = ink, exactly Google's
numpy_bitmap convention, so the output can be fed to anything that reads the data set. Colour
generators write (N, H, W, 3) uint8. The generator is loaded with Keras' safe mode (no arbitrary
code from the file).
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from sketchdraw.artifacts import RunFolder, grid_image, save_png, to_uint8
from sketchdraw.atomicfiles import atomic_write_bytes


class GeneratorFileError(ValueError):
    """A saved generator file is damaged, crafted or not a generator; names the file and the fix."""


# A generator's config.json is a few kilobytes; a larger one is refused before the JSON parser
# (or Keras) is asked to hold it in memory.
CONFIG_LIMIT_BYTES = 16 * 1024 * 1024
IMAGE_CHANNELS = (1, 3)  # grayscale (Quick, Draw!) or RGB (paintings)


def load_generator(run_dir: str | os.PathLike, path: str | os.PathLike | None = None):
    """The run's generator.keras, or another saved generator file of the run (`path`, e.g. a
    keep_best run's generator_last.keras).

    Loaded with Keras' safe mode (no code from the file runs). Anything that is not a generator
    drawing images from noise (a folder, a FIFO, an empty or damaged file, a crafted config, a
    model of another shape) is a GeneratorFileError naming the file; the file is left as it is.
    """
    path = Path(path) if path is not None else RunFolder(run_dir).generator_path
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: train the run to the end "
                                "first (the generator is saved when training finishes)")
    model = load_model_file(path)
    _check_generator_shape(path, model)
    return model


def load_model_file(path: str | os.PathLike):
    """A saved `.keras` model of a run, loaded in safe mode, whatever its inputs and outputs; any
    file Keras cannot load (or would hang on) is a GeneratorFileError naming it and the fix."""
    import keras

    import sketchdraw.layers  # noqa: F401  (registers the project's custom layers for loading)

    path = Path(path)
    _check_generator_file(path)
    try:
        return keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises TypeError, KeyError, OSError, ... on crafted files
        raise GeneratorFileError(_unusable(path, _loader_reason(error))) from error


def _unusable(path: Path, problem: str) -> str:
    # The fix: a finished run rerun with the same settings restores its last checkpoint and
    # saves the generator again (skeleton.train calls finish even when no epoch is left).
    return (f"{path} is not a usable generator file: {problem}. The file was left as it is. To "
            "get a good one, run the run's training command again with the same settings (with "
            "its checkpoints/ it saves the generator anew without retraining), or train it again.")


def _check_generator_file(path: Path) -> None:
    """Refuse what Keras would hang on (a FIFO, /dev/zero) or explain badly, before it reads."""
    if path.is_dir():
        raise GeneratorFileError(_unusable(path, "it is a folder, not a file (move it away "
                                           "first: a generator cannot be saved over it)"))
    if not path.is_file():  # after symlinks: a FIFO, a device such as /dev/zero, a socket
        raise GeneratorFileError(_unusable(path, "it is not a regular file (a device, FIFO or "
                                           "socket); reading it could block or never end"))
    if path.suffix != ".keras":
        raise GeneratorFileError(_unusable(path, f"its name ends in {path.suffix or 'no suffix'!r}, "
                                           "not '.keras' (the only format read, in safe mode)"))
    try:
        with open(path, "rb") as handle:
            start = handle.read(8)
    except OSError as error:  # no permission to read it, an I/O error
        raise GeneratorFileError(_unusable(path, f"it cannot be read ({error.strerror or error})")) \
            from error
    if not start:
        raise GeneratorFileError(_unusable(path, "it is empty (0 bytes)"))
    if start.startswith(b"\x89HDF"):
        raise GeneratorFileError(_unusable(path, "it is an HDF5 (.h5) file, not a .keras zip "
                                           "archive"))
    if not zipfile.is_zipfile(path):
        raise GeneratorFileError(_unusable(path, "it is not a .keras zip archive (truncated, "
                                           "damaged, or another kind of file)"))
    try:
        with zipfile.ZipFile(path) as archive:
            if "config.json" not in archive.namelist():
                raise GeneratorFileError(_unusable(path, "the archive has no config.json"))
            with archive.open("config.json") as member:
                text = member.read(CONFIG_LIMIT_BYTES + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError,
            RuntimeError) as error:
        # RuntimeError: an encrypted member; NotImplementedError: an unknown compression method
        raise GeneratorFileError(_unusable(path, f"its zip archive cannot be read ({error})")) \
            from error
    if len(text) > CONFIG_LIMIT_BYTES:
        raise GeneratorFileError(_unusable(path, f"its config.json is over "
                                           f"{CONFIG_LIMIT_BYTES // 2**20} MB"))
    try:
        config = json.loads(text)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise GeneratorFileError(_unusable(path, f"its config.json is not valid JSON ({error})")) \
            from error
    if not isinstance(config, dict):
        raise GeneratorFileError(_unusable(path, f"its config.json is {_json_kind(config)}, not "
                                           "the JSON object that describes a model"))


def _json_kind(value) -> str:
    if value is None or isinstance(value, bool):
        return f"JSON {json.dumps(value)}"
    kinds = {list: "a JSON array", str: "a JSON string", int: "a JSON number", float: "a JSON number"}
    return kinds.get(type(value), f"a JSON {type(value).__name__}")


def _loader_reason(error: Exception) -> str:
    message = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(error)).split())
    if "safe_mode" in message:
        return ("it holds Python code (a lambda or function), which Keras' safe_mode refuses to "
                "run; only load it with safe_mode=False if you wrote it yourself")
    if len(message) > 300:
        message = message[:300] + "..."
    return f"Keras could not load it ({type(error).__name__}: {message or 'no message'})"


def _check_generator_shape(path: Path, model) -> None:
    """One input (batch, noise), or two (noise and a label) for a class-conditional generator,
    and one output (batch, height, width, 1 or 3): what `generate` needs."""
    import keras

    if not isinstance(model, keras.Model):
        raise GeneratorFileError(_unusable(path, f"it holds a {type(model).__name__}, not a model"))
    try:
        inputs = [tuple(tensor.shape) for tensor in model.inputs]
        outputs = [tuple(tensor.shape) for tensor in model.outputs]
    except Exception as error:  # a model Keras could load but not describe
        raise GeneratorFileError(_unusable(path, f"its inputs and outputs cannot be read ({error})")) \
            from error
    # a class-conditional generator takes a category label beside the noise
    label_ok = len(inputs) == 1 or (len(inputs) == 2 and inputs[1] in ((None,), (None, 1)))
    noise_ok = 1 <= len(inputs) <= 2 and len(inputs[0]) == 2 and _positive(inputs[0][1]) and label_ok
    image_ok = (len(outputs) == 1 and len(outputs[0]) == 4 and all(map(_positive, outputs[0][1:3]))
                and outputs[0][3] in IMAGE_CHANNELS)
    if not (noise_ok and image_ok):
        shown_in = ", ".join(map(str, inputs)) or "none"
        shown_out = ", ".join(map(str, outputs)) or "none"
        raise GeneratorFileError(_unusable(path, f"it is a model of input {shown_in} and output "
                                           f"{shown_out}, not a generator of images (one input "
                                           "(None, noise_dim), one output (None, height, width, "
                                           "1 or 3); a conditional one also takes a label (None,))"))


def _positive(size) -> bool:
    return isinstance(size, int) and not isinstance(size, bool) and size > 0


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


def is_conditional(generator) -> bool:
    """Whether the generator takes a category label beside the noise."""
    return len(generator.inputs) == 2


def generate(generator, count: int, seed: int = 0, batch_size: int = 500,
             truncation: float = 0.0, labels=None) -> np.ndarray:
    """`count` uint8 images from seeded noise (`noise`), generated in batches. A class-conditional
    generator draws image i as category `labels[i]` (`count` whole numbers)."""
    import tensorflow as tf

    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"the number of drawings must be a positive whole number, got {count!r}")
    conditional = is_conditional(generator)
    if conditional:
        if labels is None:
            raise ValueError("this generator draws a category asked for by label: give the labels")
        labels = np.asarray(labels, np.int32).reshape(-1)
        if len(labels) != count:
            raise ValueError(f"{count} drawings need {count} labels, got {len(labels)}")
    elif labels is not None:
        raise ValueError("this generator draws one category: it takes no labels")
    noise_dim = int(generator.inputs[0].shape[-1])
    parts = []
    for start in range(0, count, batch_size):
        size = min(batch_size, count - start)
        vectors = noise(size, noise_dim, seed, start, truncation)
        inputs = [vectors, tf.constant(labels[start:start + size])] if conditional else vectors
        parts.append(to_uint8(generator(inputs, training=False).numpy()))
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
    stem = free_stem(folder, f"samples_{count}_seed{seed}{suffix}")
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
    fix = "fix or restore it, or give the truncation (--truncation, make's TRUNCATION=)"
    try:
        settings = run.load_config() if run.config_path.is_file() else {}
    except UnicodeDecodeError:
        raise ValueError(f"{run.config_path} is not text (not UTF-8 JSON); {fix}") from None
    if not isinstance(settings, dict):
        raise ValueError(f"{run.config_path} is a JSON {type(settings).__name__}, not the run's "
                         f"settings (a JSON object); {fix}")
    try:
        return check_truncation(settings.get("truncation", 0.0))
    except ValueError as error:
        raise ValueError(f"{run.config_path}: {error}; {fix}") from None


def free_stem(folder: Path, stem: str) -> str:
    candidate, number = stem, 2
    while (folder / f"{candidate}.npy").exists() or (folder / f"{candidate}.png").exists():
        candidate, number = f"{stem}-{number}", number + 1
    return candidate
