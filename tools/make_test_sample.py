"""Write tests/sample_data/, the small real data set the tests use when ../shared/data is absent.

    python tools/make_test_sample.py [--shared ../shared/data] [--output tests/sample_data]

It reads the project's shared data folder and writes a copy with the same layout, cut down to
what the tests need (about 2.6 MB), so a fresh clone runs the same tests:

- quickdraw/numpy_bitmap/<category>.npy: the first rows of the shared file, unchanged. rabbit
  keeps all 900 (the rabbit_small recipe trains on the first 450 and measures against the other
  450; the download tests cut the file at byte 300,000); cat keeps 500 (a 450-drawing judge plus
  unseen cats for the small-data table's "real cat drawings" row); apple and flower 450 (the
  classifier tests' four categories); six more categories 100 each, so the pooled ink-statistics
  test still compares ten categories.
- quickdraw/numpy_bitmap/provenance.json: the shared file's entries for those categories.
- quickdraw/ndjson_25/<category>.ndjson: copied whole (25 drawings) for those ten categories and
  the two more the stroke tests read.
- wikiart/vangogh/NNN.jpg: the first 40 Van Gogh paintings, downscaled 128 -> 64 px.
- wikiart/vangogh_drawings/<title>.jpg: the first 8 Van Gogh drawings, short side 128 -> 64 px;
  the CycleGAN notebook test uses them as its second folder of images.

Left out on purpose: the landscape photos (no licence stated for them), the CUFS face photos and
sketches (research use only; the tests draw their own pairs, tests/face_pairs.py) and the
Expressionism images (many are still under copyright).

The output is deterministic: files are taken in sorted order, the same first rows each time, and
the images are resized with Lanczos and saved as baseline JPEG q90 without metadata. The folder is
written afresh; SOURCES.md next to the data is kept (it is written by hand).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]

NUMPY_BITMAP_ROWS = {
    "rabbit": 900, "cat": 500, "apple": 450, "flower": 450,
    "bear": 100, "bee": 100, "dog": 100, "fish": 100, "sheep": 100, "sun": 100,
}
# tests/test_strokes.py also reads these two stroke files (a name with a space among them)
EXTRA_NDJSON = ["panda", "sleeping bag"]
PAINTINGS = 40
PAINTING_SIZE = 64
DRAWINGS = 8
DRAWING_SHORT_SIDE = 64
JPEG_QUALITY = 90


def save_jpeg(image: Image.Image, path: Path) -> None:
    image.convert("RGB").save(path, "JPEG", quality=JPEG_QUALITY, optimize=False, progressive=False)


def write_numpy_bitmaps(shared: Path, output: Path) -> None:
    source, target = shared / "quickdraw" / "numpy_bitmap", output / "quickdraw" / "numpy_bitmap"
    target.mkdir(parents=True)
    for category, rows in NUMPY_BITMAP_ROWS.items():
        everything = np.load(source / f"{category}.npy", mmap_mode="r", allow_pickle=False)
        if len(everything) < rows:
            raise SystemExit(f"{source / category}.npy has {len(everything)} rows, {rows} wanted")
        np.save(target / f"{category}.npy", np.ascontiguousarray(everything[:rows]), allow_pickle=False)
    provenance = json.loads((source / "provenance.json").read_text())
    kept = {key: value for key, value in provenance.items() if key.startswith("_")}
    kept["_sample"] = ("tests/sample_data keeps the first rows of the shared <category>.npy "
                       "(counts under each category's 'sample_rows'); the shared file is a seeded "
                       "random 90% of the merged rows that 'parts' describe")
    for category, rows in NUMPY_BITMAP_ROWS.items():
        kept[category] = {"sample_rows": rows, **provenance[category]}
    (target / "provenance.json").write_text(json.dumps(kept, indent=1) + "\n")


def write_ndjson(shared: Path, output: Path) -> None:
    source, target = shared / "quickdraw" / "ndjson_25", output / "quickdraw" / "ndjson_25"
    target.mkdir(parents=True)
    for category in sorted([*NUMPY_BITMAP_ROWS, *EXTRA_NDJSON]):
        shutil.copyfile(source / f"{category}.ndjson", target / f"{category}.ndjson")


def write_paintings(shared: Path, output: Path) -> None:
    target = output / "wikiart" / "vangogh"
    target.mkdir(parents=True)
    for path in sorted((shared / "wikiart" / "vangogh").glob("*.jpg"))[:PAINTINGS]:
        with Image.open(path) as image:
            small = image.convert("RGB").resize((PAINTING_SIZE, PAINTING_SIZE), Image.Resampling.LANCZOS)
        save_jpeg(small, target / path.name)


def write_drawings(shared: Path, output: Path) -> None:
    target = output / "wikiart" / "vangogh_drawings"
    target.mkdir(parents=True)
    for path in sorted((shared / "wikiart" / "vangogh_drawings").glob("*.jpg"))[:DRAWINGS]:
        with Image.open(path) as image:
            scale = DRAWING_SHORT_SIDE / min(image.size)
            size = (round(image.width * scale), round(image.height * scale))
            small = image.convert("RGB").resize(size, Image.Resampling.LANCZOS)
        save_jpeg(small, target / path.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "tests" / "sample_data")
    args = parser.parse_args(argv)
    if not (args.shared / "quickdraw" / "numpy_bitmap").is_dir():
        parser.error(f"{args.shared} is not the shared data folder (no quickdraw/numpy_bitmap)")
    for part in ("quickdraw", "wikiart"):
        shutil.rmtree(args.output / part, ignore_errors=True)
    write_numpy_bitmaps(args.shared, args.output)
    write_ndjson(args.shared, args.output)
    write_paintings(args.shared, args.output)
    write_drawings(args.shared, args.output)
    size = sum(path.stat().st_size for path in args.output.rglob("*") if path.is_file())
    print(f"wrote {args.output}: {size / 1e6:.2f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
