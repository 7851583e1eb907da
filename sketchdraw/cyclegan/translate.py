"""Using a trained CycleGAN run: translate an image or a folder of images."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sketchdraw import artifacts, paintings, pipeline
from sketchdraw.artifacts import RunFolder
from sketchdraw.cyclegan.run import GENERATOR_FILES, grid_scale
from sketchdraw.registry import unknown_name_message
from sketchdraw.sampling import load_model_file

DIRECTIONS = ("x2y", "y2x")
TRANSLATE_BATCH = 16  # images per generator call in `translate`: bounded memory for big folders


@dataclass
class Translation:
    """What `translate` wrote: one PNG per readable input, the before/after sheet, what was skipped.

    Iterating it (or len) gives the translated image paths.
    """

    outputs: list[Path]
    sheet: Path | None
    skipped: list[tuple[Path, str]]

    def __iter__(self):
        return iter(self.outputs)

    def __len__(self) -> int:
        return len(self.outputs)


def _free_path(path: Path) -> Path:
    """`path`, or `name_2.png`, `name_3.png`, ... when taken: nothing is overwritten silently."""
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem}_{number}{path.suffix}")
    return candidate


def load_generator(run_dir, direction: str = "x2y"):
    """The trained generator of a run for `direction` ("x2y" or "y2x"), loaded in safe mode."""

    if direction not in DIRECTIONS:
        raise ValueError(unknown_name_message("direction", str(direction), DIRECTIONS))
    path = Path(run_dir) / GENERATOR_FILES[direction]
    if not path.exists():
        raise ValueError(f"{path} does not exist: {run_dir} is not a finished CycleGAN run (train "
                         "it to the end first, or give the run folder that holds generator_x2y.keras)")
    return load_model_file(path)


def translate(run_dir, input_path, direction: str = "x2y", output_dir=None,
              log: Callable[[str], None] | None = None) -> Translation:
    """Translate an image or every image under a folder with a trained run's generator.

    Writes `<name>_<direction>.png` per readable input and `sheet.png` (each input beside its
    translation) into output_dir (default: <run>/translated/<direction>/); existing files are kept
    and new ones get a number. Unreadable inputs are skipped and reported by name.
    """
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    generator = load_generator(run_dir, direction)
    image_size = int(generator.input_shape[1])
    input_path = Path(input_path).expanduser()
    if input_path.is_dir():
        files, _ = paintings.find_image_files(input_path)
        if not files:
            raise ValueError(f"{input_path} holds no jpg/jpeg/png/webp images")
    elif input_path.exists():
        files = [input_path]
    else:
        raise ValueError(f"input {input_path} does not exist; give an image file or a folder")
    fit = "crop"
    config_path = Path(run_dir) / "config.json"
    if config_path.exists():
        fit = RunFolder(run_dir).load_config().get("fit", "crop")

    decoded, readable, skipped = [], [], []
    for path in files:
        try:
            decoded.append(paintings.decode_image(path, image_size, fit))
            readable.append(path)
        except paintings.UnreadableImage as error:
            skipped.append((path, str(error)))
    for path, reason in skipped:
        log(f"skipped {path.name}: {reason}")
    if not readable:
        raise ValueError(f"none of the {len(files)} input file(s) could be read: "
                         + "; ".join(f"{path.name}: {reason}" for path, reason in skipped[:5]))

    inputs = np.stack(decoded)
    translated = []
    for start in range(0, len(inputs), TRANSLATE_BATCH):
        batch = pipeline.scale_to_unit_range(inputs[start:start + TRANSLATE_BATCH])
        translated.append(artifacts.to_uint8(generator(batch, training=False).numpy()))
    translated = np.concatenate(translated)

    output_dir = Path(output_dir) if output_dir else Path(run_dir) / "translated" / direction
    output_dir.mkdir(parents=True, exist_ok=True)
    outputs = []
    for path, image in zip(readable, translated):
        target = _free_path(output_dir / f"{path.stem}_{direction}.png")
        artifacts.save_png(artifacts.grid_image(image[None], columns=1, scale=1, padding=0), target)
        outputs.append(target)
    pairs = np.stack([image for pair in zip(inputs, translated) for image in pair])
    sheet = _free_path(output_dir / "sheet.png")
    artifacts.save_png(artifacts.grid_image(pairs, columns=2 * min(4, len(inputs)),
                                            scale=grid_scale(image_size)), sheet)
    log(f"translated {len(outputs)} image(s) ({direction}) into {output_dir}; before/after: {sheet}")
    return Translation(outputs, sheet, skipped)
