"""Face sketch/photo pairs drawn here, for the Sketch2Img tests when the CUFS pairs are absent.

The CUHK face sketches (CUFS) are for research use only, so the shipped sample leaves them out.
`write_face_pairs` draws a folder in the same "simple" layout instead: `photo/<id>.jpg`, a
cartoon face in colour (skin, hair, eyes, mouth, background vary with a seeded generator), and
`sketch/<id>.jpg`, its edge map as dark lines on white paper, like an artist's pencil sketch. Both
are 64x64 RGB JPEGs named like CUFS's (f005.jpg, f006.jpg, ...), so a pair is aligned exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

FIRST_ID = 5  # CUFS's first student id; the tests name f005...f009


def face_photo(rng: np.random.Generator, size: int = 64) -> Image.Image:
    """A front-facing cartoon face with per-face colours, proportions and expression."""
    scale = 4  # drawn large, then shrunk: smooth edges like a photo's
    canvas = size * scale

    def colour(low, high):
        return tuple(int(value) for value in rng.integers(low, high, size=3))

    image = Image.new("RGB", (canvas, canvas), colour(90, 230))
    draw = ImageDraw.Draw(image)
    centre = canvas / 2 + rng.uniform(-0.03, 0.03) * canvas
    half_width = rng.uniform(0.26, 0.33) * canvas
    top, bottom = rng.uniform(0.14, 0.22) * canvas, rng.uniform(0.84, 0.92) * canvas
    skin = tuple(int(value) for value in np.array([225, 180, 150]) * rng.uniform(0.55, 1.05))
    draw.ellipse([centre - half_width * 1.08, top - 0.06 * canvas, centre + half_width * 1.08,
                  top + 0.45 * canvas], fill=colour(10, 120))  # hair
    draw.rectangle([centre - 0.09 * canvas, bottom - 0.1 * canvas, centre + 0.09 * canvas, canvas],
                   fill=skin)  # neck
    draw.ellipse([centre - half_width, top, centre + half_width, bottom], fill=skin)
    eye_y = top + (bottom - top) * rng.uniform(0.40, 0.47)
    eye_dx, eye_r = half_width * rng.uniform(0.38, 0.48), canvas * rng.uniform(0.025, 0.04)
    iris = colour(20, 110)
    for side in (-1, 1):
        x = centre + side * eye_dx
        draw.ellipse([x - 2 * eye_r, eye_y - eye_r, x + 2 * eye_r, eye_y + eye_r], fill=(245, 245, 240))
        draw.ellipse([x - eye_r, eye_y - eye_r, x + eye_r, eye_y + eye_r], fill=iris)
        draw.line([x - 2.4 * eye_r, eye_y - 2.2 * eye_r, x + 2.4 * eye_r, eye_y - 2.6 * eye_r],
                  fill=(40, 30, 25), width=scale * 2)  # eyebrow
    nose_y = top + (bottom - top) * rng.uniform(0.60, 0.66)
    draw.line([centre, eye_y + eye_r, centre + 0.02 * canvas, nose_y], fill=tuple(v - 40 for v in skin),
              width=scale * 2)
    mouth_y = top + (bottom - top) * rng.uniform(0.75, 0.8)
    mouth_w, smile = half_width * rng.uniform(0.3, 0.5), canvas * rng.uniform(0.0, 0.06)
    draw.chord([centre - mouth_w, mouth_y - smile, centre + mouth_w, mouth_y + smile + scale * 3],
               0, 180, fill=(150, 50, 60))
    return image.resize((size, size), Image.Resampling.LANCZOS)


def sketch_of(photo: Image.Image) -> Image.Image:
    """The photo's edges as dark strokes on white paper."""
    gray = photo.convert("L").filter(ImageFilter.GaussianBlur(0.6))
    edges = np.asarray(gray.filter(ImageFilter.FIND_EDGES), dtype=np.float64)
    strokes = np.clip(edges * 4.0, 0, 255)
    strokes[[0, -1], :] = strokes[:, [0, -1]] = 0  # FIND_EDGES outlines the image border too
    paper = Image.fromarray((255 - strokes).astype(np.uint8))
    return ImageOps.autocontrast(paper).convert("RGB")


def write_face_pairs(root: Path, count: int = 16, size: int = 64, seed: int = 0) -> Path:
    """`count` pairs under root/photo and root/sketch; returns root."""
    rng = np.random.default_rng(seed)
    for folder in ("photo", "sketch"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for number in range(FIRST_ID, FIRST_ID + count):
        photo = face_photo(rng, size)
        name = f"f{number:03d}.jpg"
        photo.save(root / "photo" / name, quality=90)
        sketch_of(photo).save(root / "sketch" / name, quality=90)
    return root
