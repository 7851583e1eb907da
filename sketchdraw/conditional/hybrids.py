"""Drawing from a class-conditional run: any category, or a hybrid of two.

The generator learned one embedding vector per category. A hybrid gives it a blend of two
categories' vectors, (1 - w) * embed(a) + w * embed(b), in place of a label: with the same noise,
w = 0 draws an `a`, w = 1 a `b`, and between them a drawing that is a bit of both (a "cat-rabbit").
`make sample RUN=runs/doodles3 CATEGORY=cat` or `HYBRID=cat,rabbit` writes them.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np

from sketchdraw.conditional.networks import EMBEDDING_LAYER


def run_categories(run_dir) -> list[str]:
    """The categories a conditional run learned, in the order of their labels."""
    from sketchdraw.artifacts import RunFolder

    settings = RunFolder(run_dir).load_config()
    if not isinstance(settings, dict) or "categories" not in settings:
        raise ValueError(f"{run_dir} is not a class-conditional run (its config.json names no categories): "
                         "CATEGORY= and HYBRID= choose among a conditional run's categories")
    return [name.strip() for name in str(settings["categories"]).split(",") if name.strip()]


def embedding_generator(generator):
    """A model of (noise, an embedding vector) that draws what `generator` draws from (noise,
    label) when given the label's embedding: the generator's own graph with the embedding layer's
    output as an input, wherever (and however often) the embedding is used."""
    import keras

    embedding = generator.get_layer(EMBEDDING_LAYER)
    return keras.Model([generator.inputs[0], embedding.output], generator.outputs[0],
                       name="embedding_generator")


def blended_embedding(generator, first: int, second: int, weight: float) -> np.ndarray:
    if not 0 <= weight <= 1:
        raise ValueError(f"the hybrid's weight is between 0 (all the first category) and 1 (all the "
                         f"second), got {weight!r}")
    table = generator.get_layer(EMBEDDING_LAYER).get_weights()[0]
    return ((1 - weight) * table[first] + weight * table[second]).astype(np.float32)


def draw(run_dir, count: int, seed: int = 0, truncation: float | None = None, category: str | None = None,
         hybrid: tuple[str, str] | None = None, weight: float = 0.5) -> tuple[np.ndarray, np.ndarray | None]:
    """`count` uint8 drawings of a conditional run: of `category`, of the `hybrid` of two
    categories, or (neither) of every category in turn; with their labels (None for a hybrid)."""
    import tensorflow as tf

    from sketchdraw import artifacts, sampling

    categories = run_categories(run_dir)

    def label_of(name: str) -> int:
        if name not in categories:
            raise ValueError(f"this run learned {', '.join(categories)}; not {name!r}")
        return categories.index(name)

    if category is not None and hybrid is not None:
        raise ValueError("ask for a category or a hybrid of two, not both")
    generator = sampling.load_generator(run_dir)
    truncation = sampling.run_truncation(run_dir) if truncation is None else sampling.check_truncation(truncation)
    if hybrid is None:
        labels = np.full(count, label_of(category)) if category is not None else np.arange(count) % len(categories)
        return sampling.generate(generator, count, seed, truncation=truncation, labels=labels), labels
    first, second = (label_of(name) for name in hybrid)
    vector = blended_embedding(generator, first, second, weight)
    model = embedding_generator(generator)
    noise = sampling.noise(count, int(generator.inputs[0].shape[-1]), seed, truncation=truncation)
    images = model([noise, tf.constant(np.repeat(vector[None], count, axis=0))], training=False).numpy()
    return artifacts.to_uint8(images), None


def sample(run_dir: str | os.PathLike, count: int = 1000, seed: int = 0, truncation: float | None = None,
           category: str | None = None, hybrid: tuple[str, str] | None = None,
           weight: float = 0.5) -> tuple[Path, Path]:
    """`draw`, written as `samples/samples_<count>_<what>_seed<seed>.npy` (numpy_bitmap rows) and
    `.png` in the run folder (never over an existing file); returns both paths."""
    from sketchdraw.artifacts import RunFolder, grid_image, save_png
    from sketchdraw.atomicfiles import atomic_write_bytes
    from sketchdraw.sampling import free_stem

    images, labels = draw(run_dir, count, seed, truncation, category, hybrid, weight)
    what = category or (f"{hybrid[0]}+{hybrid[1]}" + (f"@{weight:g}" if weight != 0.5 else "") if hybrid else "all")
    folder = RunFolder(run_dir).root / "samples"
    stem = free_stem(folder, f"samples_{count}_{re.sub(r'[^A-Za-z0-9_.+@-]+', '_', what)}_seed{seed}")
    buffer = io.BytesIO()
    np.save(buffer, images.reshape(len(images), -1), allow_pickle=False)
    array_path = folder / f"{stem}.npy"
    atomic_write_bytes(array_path, buffer.getvalue())
    if labels is not None and category is None:  # every category in turn: the labels beside them
        buffer = io.BytesIO()
        np.save(buffer, labels.astype(np.int32), allow_pickle=False)
        atomic_write_bytes(folder / f"{stem}.labels.npy", buffer.getvalue())
        picture = category_sheet(images, labels, run_categories(run_dir))
    else:
        picture = grid_image(images[:100], columns=10, invert=True, scale=3)
    grid_path = folder / f"{stem}.png"
    save_png(picture, grid_path)
    return array_path, grid_path


def category_sheet(images: np.ndarray, labels: np.ndarray, categories: list[str], per_row: int = 8,
                   rows_per_panel: int = 12):
    """A picture of drawings a row per category, each row named: up to `per_row` drawings of each
    category, the rows in panels of `rows_per_panel` side by side so that 35 categories fit a page."""
    from PIL import Image

    from sketchdraw.artifacts import grid_image

    per_row = max(1, min(per_row, max(np.bincount(labels, minlength=len(categories)))))
    rows = []
    for label in range(len(categories)):
        drawn = images[labels == label][:per_row]
        blank = np.zeros((per_row - len(drawn), *images.shape[1:]), images.dtype)
        rows.append(np.concatenate([drawn, blank]))
    panels = [grid_image(np.concatenate(rows[start:start + rows_per_panel]), columns=per_row, invert=True,
                         scale=3, row_labels=categories[start:start + rows_per_panel])
              for start in range(0, len(categories), rows_per_panel)]
    gap = 30  # between panels, so that a name reads as its own row's and not the panel's before
    sheet = Image.new("L", (sum(panel.width for panel in panels) + gap * (len(panels) - 1), panels[0].height), 255)
    left = 0
    for panel in panels:
        sheet.paste(panel, (left, 0))
        left += panel.width + gap
    return sheet
