"""Using a trained Sketch2Img run: turn a user's sketches into images."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

from sketchdraw import artifacts
from sketchdraw.artifacts import RunFolder
from sketchdraw.registry import unknown_name_message
from sketchdraw.sampling import load_model_file
from sketchdraw.sketch2img.data import (
    DATA_STATISTICS_FILE,
    denormalize_to_uint8,
    normalize,
    sketch_as_rgb,
    sketch_from_file,
)

DRAWINGS_FOLDER = "drawings"


def draw(run_dir: str | os.PathLike, sketch_png: str | os.PathLike | Sequence[str | os.PathLike],
         samples: int = 6, seed: int = 0, category: str | None = None,
         output_dir: str | os.PathLike | None = None) -> Path:
    """Turn sketches (image files, dark lines on light paper) into `samples` images each.

    Writes one sheet, a row per sketch: the sketch as the model saw it, then the images from
    `samples` noise vectors (seeded by `seed`). The sheet goes to `<run>/drawings/` (or
    `output_dir`) as `<first sketch's name>_NNN.png` with the next free number: an earlier sheet
    is never overwritten. Returns the sheet's path.
    """

    from sketchdraw.sketch2img import networks  # noqa: F401  (registers the layers)

    run = RunFolder(run_dir)
    paths = [sketch_png] if isinstance(sketch_png, (str, os.PathLike)) else list(sketch_png)
    if not paths:
        raise ValueError("draw needs at least one sketch file")
    if not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a positive integer, got {samples!r}")
    if not run.generator_path.exists():
        raise ValueError(f"{run.generator_path} does not exist: train the run first "
                         "(make run EXPERIMENT=faces_sketch2photo) or check RUN=")
    statistics_path = run.root / DATA_STATISTICS_FILE
    if not statistics_path.exists():
        raise ValueError(f"{statistics_path} is missing: {run.root} is not a sketch2img run")
    statistics = json.loads(statistics_path.read_text())
    categories = statistics["categories"]
    if category is None:
        label = 0
    elif category in categories:
        label = categories.index(category)
    else:
        raise ValueError(unknown_name_message("category", category, categories))
    generator = load_model_file(run.generator_path)
    image_size = int(generator.inputs[0].shape[1])
    noise_dim = int(generator.inputs[1].shape[1])
    for path in paths:
        if not Path(path).is_file():
            raise ValueError(f"sketch file {path} does not exist")
    sketches = np.stack([sketch_from_file(path, image_size) for path in paths])
    repeated = normalize(np.repeat(sketches, samples, axis=0), statistics["sketch_mean"],
                         statistics["sketch_scale"])
    noise = tf.random.stateless_normal([len(paths) * samples, noise_dim], seed=[seed, 3])
    labels = tf.fill([len(paths) * samples], label)
    generated = denormalize_to_uint8(generator([repeated, noise, labels], training=False).numpy(),
                                     statistics["photo_mean"], statistics["photo_scale"])
    generated = generated.reshape(len(paths), samples, *generated.shape[1:])
    rows = np.concatenate([sketch_as_rgb(sketches)[:, None], generated], axis=1)
    sheet = artifacts.grid_image(rows.reshape(-1, *rows.shape[2:]), columns=samples + 1, scale=2)
    folder = Path(output_dir) if output_dir is not None else run.root / DRAWINGS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(paths[0]).stem) or "sketch"
    target = _next_free(folder, stem)
    artifacts.save_png(sheet, target)
    return target


def _next_free(folder: Path, stem: str) -> Path:
    """`<stem>_NNN.png` with the first number not taken; the name is claimed with O_EXCL so two
    processes drawing at once never pick the same one (the atomic write then replaces the empty
    placeholder)."""
    number = 1
    while True:
        candidate = folder / f"{stem}_{number:03d}.png"
        try:
            os.close(os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            return candidate
        except FileExistsError:
            number += 1
