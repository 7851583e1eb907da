"""Quick, Draw! simplified stroke files (ndjson) and a rasteriser to numpy_bitmap-style 28x28 images.

A simplified ndjson file holds one drawing per line: `word`, `countrycode`, `timestamp`,
`recognized` (did the game's classifier guess it), `key_id` and `drawing`, a list of strokes
`[[x0, x1, ...], [y0, y1, ...]]` in a 256x256 box (aligned to the top-left corner, longest side
scaled to 255). `read_ndjson` streams such a file line by line and reports a malformed line with
its file and 1-based line number; `rasterize` / `rasterize_many` draw strokes into uint8 images in
Google's numpy_bitmap convention (0 = background, 255 = ink).

The rasteriser draws with Pillow on a canvas `supersample` times larger than the output and
averages it down with a box filter, which is area-coverage anti-aliasing. Its defaults were chosen
by a grid search against the real numpy_bitmap drawings (see `LINE_WIDTH`): the same categories'
mean ink, share of inked pixels and share of dark pixels agree to a few percent.

This module only reads a local path; downloading, caching and mirroring the files is
`quickdraw.py`'s job.
"""

from __future__ import annotations

import json
import numbers
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

# The simplified files' coordinate box: every coordinate lies in [0, 255].
STROKE_BOX = 256

# Chosen by a grid search against numpy_bitmap (36 categories, 25 drawings each, see the note):
# a pen 16 units wide in the 256 box, plus 16 units of empty margin on each side, reproduces the
# real images' ink statistics and their one-pixel border. These are also the values of the
# vector_to_raster recipe Quick, Draw!'s authors posted (googlecreativelab/quickdraw-dataset#19).
LINE_WIDTH = 16.0
PADDING = 16.0
# 8x8 sub-pixels per output pixel: 65 grey levels and a pen of 12 sub-pixels (16 * 224 / 304 =
# 11.8). At 4x the pen rounds to 6 of 5.9 sub-pixels and the share of inked pixels comes out 8%
# low and the grey-level histogram further off; 8x costs about 25% more time.
SUPERSAMPLE = 8


@dataclass(frozen=True)
class Drawing:
    """One line of a simplified ndjson file."""

    word: str
    countrycode: str
    timestamp: str
    recognized: bool
    key_id: str
    strokes: tuple  # ((xs, ys), ...) with xs, ys tuples of numbers in the 256 box
    line_number: int  # 1-based, in the file it came from


def _problem_in_strokes(drawing) -> str | None:
    """What is wrong with a `drawing` value, or None when it is a valid list of strokes."""
    if not isinstance(drawing, (list, tuple)):
        return f'"drawing" must be a list of strokes, got {type(drawing).__name__}'
    for index, stroke in enumerate(drawing):
        # The raw (unsimplified) files add a third list of times; the first two are x and y.
        if not isinstance(stroke, (list, tuple)) or len(stroke) < 2:
            return f"stroke {index} must be a list [[x...], [y...]]"
        xs, ys = stroke[0], stroke[1]
        if not isinstance(xs, (list, tuple)) or not isinstance(ys, (list, tuple)):
            return f"stroke {index} must hold a list of x and a list of y coordinates"
        if len(xs) != len(ys) or not xs:
            return f"stroke {index} has {len(xs)} x and {len(ys)} y coordinates (need equal, at least 1)"
        for value in (*xs, *ys):
            # bool is an int subclass; true/false in a coordinate list means a broken file.
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                return f"stroke {index} has a non-numeric coordinate {value!r}"
    return None


def _parse_line(text: str, path: str, line_number: int) -> Drawing:
    where = f"{path}: line {line_number}"
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{where}: not valid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(record).__name__}")
    if "drawing" not in record:
        raise ValueError(f'{where}: no "drawing" field (keys: {", ".join(sorted(record))})')
    problem = _problem_in_strokes(record["drawing"])
    if problem:
        raise ValueError(f"{where}: {problem}")
    recognized = record.get("recognized", False)
    if not isinstance(recognized, bool):
        raise ValueError(f'{where}: "recognized" must be true or false, got {recognized!r}')
    strokes = tuple((tuple(stroke[0]), tuple(stroke[1])) for stroke in record["drawing"])
    return Drawing(
        word=str(record.get("word", "")),
        countrycode=str(record.get("countrycode", "")),
        timestamp=str(record.get("timestamp", "")),
        recognized=recognized,
        key_id=str(record.get("key_id", "")),
        strokes=strokes,
        line_number=line_number,
    )


def iter_ndjson(path: str | os.PathLike, recognized_only: bool = False) -> Iterator[Drawing]:
    """Yield the drawings of a simplified ndjson file one line at a time (the full files are GBs).

    Blank lines are skipped; any other malformed line raises ValueError naming the file and the
    1-based line number. With `recognized_only`, drawings the game did not recognise are dropped
    (seed 002 trained only on recognised cats and dogs).
    """
    path = os.fspath(path)
    with open(path, encoding="utf-8") as lines:
        for line_number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            drawing = _parse_line(text, path, line_number)
            if recognized_only and not drawing.recognized:
                continue
            yield drawing


def read_ndjson(
    path: str | os.PathLike, recognized_only: bool = False, limit: int | None = None
) -> list[Drawing]:
    """All drawings of a simplified ndjson file (or the first `limit` kept ones), see `iter_ndjson`."""
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0 or None, got {limit}")
    drawings: list[Drawing] = []
    if limit == 0:
        return drawings
    for drawing in iter_ndjson(path, recognized_only=recognized_only):
        drawings.append(drawing)
        if limit is not None and len(drawings) >= limit:
            break  # stop reading: lines after the limit are never parsed
    return drawings


def _strokes_of(drawing) -> Sequence:
    return drawing.strokes if isinstance(drawing, Drawing) else drawing


def rasterize(
    strokes,
    size: int = 28,
    line_width: float = LINE_WIDTH,
    padding: float = PADDING,
    antialias: bool = True,
    supersample: int = SUPERSAMPLE,
) -> np.ndarray:
    """Draw one drawing's strokes into a (size, size) uint8 image, 0 = background, 255 = ink.

    `strokes` is a `Drawing` or its stroke list `[[xs, ys], ...]` in the 256 box. `line_width`
    and `padding` are in the box's units: the box plus `padding` on each side plus half a pen on
    each side is scaled to `size`, and the drawing is centred in it (numpy_bitmap drawings are
    centred: their top and bottom margins are equally distributed). Without `antialias` each
    pixel is either 0 or 255.
    """
    if size < 1:
        raise ValueError(f"size must be a positive number of pixels, got {size}")
    if line_width <= 0 or padding < 0:
        raise ValueError(f"need line_width > 0 and padding >= 0, got {line_width} and {padding}")
    if supersample < 1:
        raise ValueError(f"supersample must be >= 1, got {supersample}")
    if not isinstance(strokes, (Drawing, list, tuple)):
        raise ValueError(f"expected a Drawing or a list of strokes [[xs, ys], ...], got {type(strokes).__name__}")
    if not isinstance(strokes, Drawing):  # a Drawing was checked when its line was read
        problem = _problem_in_strokes(
            [[list(stroke[0]), list(stroke[1])] if isinstance(stroke, (list, tuple)) and len(stroke) >= 2
             else stroke for stroke in strokes])
        if problem:
            raise ValueError(problem)
    strokes = _strokes_of(strokes)

    factor = supersample if antialias else 1
    canvas_size = size * factor
    canvas = Image.new("L", (canvas_size, canvas_size), 0)
    if not strokes:
        return np.zeros((size, size), np.uint8)

    all_x = [x for stroke in strokes for x in stroke[0]]
    all_y = [y for stroke in strokes for y in stroke[1]]
    # Centre the drawing's bounding box in the box (simplified files align it to the top-left).
    shift_x = (STROKE_BOX - 1 - (max(all_x) + min(all_x))) / 2.0
    shift_y = (STROKE_BOX - 1 - (max(all_y) + min(all_y))) / 2.0
    margin = padding + line_width / 2.0
    scale = canvas_size / (STROKE_BOX + 2.0 * margin)
    # Box coordinate c stands for the cell [c, c+1), whose centre is c + 0.5; Pillow puts pixel
    # centres at integer coordinates, hence the -0.5 after scaling. This keeps the drawing
    # centred at every supersampling factor.
    offset = margin + 0.5

    pen = max(1, round(line_width * scale))
    radius = pen / 2.0
    draw = ImageDraw.Draw(canvas)
    for xs, ys in strokes:
        points = [((x + shift_x + offset) * scale - 0.5, (y + shift_y + offset) * scale - 0.5)
                  for x, y in zip(xs, ys, strict=True)]
        if len(points) > 1:
            draw.line(points, fill=255, width=pen)
        if pen > 2:
            # A round pen: Pillow's wide lines end square-cut and flush with their end points and
            # leave notches at sharp corners, so a disc at every point gives round caps and joins
            # (and a dot for a one-point stroke). Cheaper than joint="curve", which draws pie slices.
            for x, y in points:
                draw.ellipse((x - radius + 0.5, y - radius + 0.5, x + radius - 0.5, y + radius - 0.5),
                             fill=255)
        elif len(points) == 1:
            draw.point(points[0], fill=255)

    if factor > 1:
        # BOX averages each factor x factor block: the ink share of the pixel, like cairo's coverage.
        canvas = canvas.resize((size, size), Image.BOX)
    return np.asarray(canvas, dtype=np.uint8)


def rasterize_many(drawings: Iterable, size: int = 28, **options) -> np.ndarray:
    """Rasterise drawings into an (N, size*size) uint8 array, the layout of numpy_bitmap files."""
    images = [rasterize(drawing, size=size, **options).reshape(-1) for drawing in drawings]
    if not images:
        return np.zeros((0, size * size), np.uint8)
    return np.stack(images)


def ink_statistics(images: np.ndarray) -> dict[str, float]:
    """Mean ink and the shares of inked (> 0) and dark (> 128) pixels of uint8 images, for comparisons."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images, got {images.dtype}")
    return {
        "mean_ink": float(images.mean()),
        "share_inked": float((images > 0).mean()),
        "share_dark": float((images > 128).mean()),
    }
