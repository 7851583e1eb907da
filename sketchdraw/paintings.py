"""Image-folder datasets (WikiArt painting sets): discovery, decoding, crop or pad, bad-file report.

`load_painting_folder(folder)` walks a folder and its subfolders for jpg, jpeg, png and webp files
(any letter case), decodes each one once with Pillow to RGB (grayscale, palette, RGBA composited on
white, CMYK and 16-bit files converted; EXIF orientation honoured), center-crops it to a square (or
pads it to one) and resizes it with Lanczos to `image_size`, and returns the uint8 array
(N, size, size, 3) that the tf.data pipeline batches from, so epochs never decode again. Files that
cannot be read (zero bytes, truncated, not an image) and images far smaller than `image_size`
(shorter side under a quarter of it, see UPSCALE_LIMIT) are skipped and reported, never fatal;
only a missing folder or one without a single usable image is an error. An optional `cache_dir`
keeps the decoded array on disk, keyed by the folder's file list, sizes and modification times.
`split_held_out(painting_set, share)` divides a loaded folder into the paintings a run may train on
and the share kept unseen for evaluation, by a hash of each file's path (see `held_out_position`).
This module does not scale to [-1, 1], shuffle, flip or batch (that is `pipeline.py`), and it does
no colour management (ICC profiles are ignored; the pixel values are taken as sRGB).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sys
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import numpy as np
import tqdm
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from sketchdraw.atomicfiles import SaveError, atomic_write
from sketchdraw.registry import unknown_name_message

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
FITS = ("crop", "pad")
PAD_COLOR = (0, 0, 0)  # black bars, the usual letterbox; they become -1 in the model's [-1, 1]
TRANSPARENT_BACKGROUND = (255, 255, 255)  # transparent pixels are shown on white, like a page
NAMES_IN_REPORT = 5  # "a few names" of skipped files in messages; the full list is in .skipped
CACHE_FORMAT = 2  # bump when the decoding changes, so old caches are not reused
# An image whose shorter side is under 1/UPSCALE_LIMIT of the target size is skipped: blown up
# more than 4x (a 1x1 thumbnail to 64x64 is one flat colour) it is a blur, not a painting, and the
# generator would learn to draw blurs. A quarter keeps every real WikiArt scan and small crops.
UPSCALE_LIMIT = 4
TOO_SMALL = "too small"  # the start of a skipped image's reason when it is under the minimum side


@dataclass
class PaintingSet:
    """The decoded images of a folder, and what was left out of it."""

    images: np.ndarray  # uint8 (N, size, size, 3), RGB
    paths: list[Path]  # the file behind each row of `images`, in the same order
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (file, why it could not be read)
    folder: Path | None = None
    fit: str = "crop"
    ignored: list[Path] = field(default_factory=list)  # files without an image extension
    from_cache: bool = False

    def __len__(self) -> int:
        return len(self.images)

    def report(self) -> str:
        """A few readable lines: how many images were loaded, and which files were skipped and why."""
        size = self.images.shape[1] if self.images.ndim == 4 else "?"
        where = f" from {self.folder}" if self.folder is not None else ""
        lines = [f"loaded {len(self.images)} images ({size}x{size} RGB, {self.fit}){where}"
                 + (" [from cache]" if self.from_cache else "")]
        small = [(path, reason) for path, reason in self.skipped if _is_too_small(reason)]
        unreadable = [(path, reason) for path, reason in self.skipped if not _is_too_small(reason)]
        if small:
            lines.append(_too_small_line(small, size, self._name))
        if unreadable:
            lines.append(f"skipped {len(unreadable)} file(s) that could not be read:")
            for path, reason in unreadable[:NAMES_IN_REPORT]:
                lines.append(f"  {self._name(path)}: {reason}")
            if len(unreadable) > NAMES_IN_REPORT:
                lines.append(f"  ... and {len(unreadable) - NAMES_IN_REPORT} more (see .skipped)")
        if self.ignored:
            examples = ", ".join(self._name(path) for path in self.ignored[:NAMES_IN_REPORT])
            lines.append(f"ignored {len(self.ignored)} file(s) without an image extension "
                         f"(e.g. {examples})")
        return "\n".join(lines)

    def _name(self, path: Path) -> str:
        if self.folder is not None:
            with contextlib.suppress(ValueError):
                return str(Path(path).relative_to(self.folder))
        return str(path)


# -- the held-out share of a folder ----------------------------------------------------------------

HELD_OUT_SHARE_LIMIT = 0.5  # a held-out share must stay below it: the run trains on the larger part
# Part of every hashed name: changing it would move files between the two sides of every split.
HELD_OUT_SALT = "sketchdraw held-out split 1\0"


def check_held_out_share(share) -> float:
    """A held-out share: a number from 0 (nothing held out) up to, not including, 0.5."""
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not math.isfinite(share) \
            or not 0 <= share < HELD_OUT_SHARE_LIMIT:
        raise ValueError(
            f"held_out_share is the share of a painting folder kept unseen by both networks for "
            f"`make evaluate`, from 0 (none) up to but not including {HELD_OUT_SHARE_LIMIT}; got "
            f"{share!r}. Use e.g. held_out_share=0.1 (HELD_OUT_SHARE=0.1 on `make run`)")
    return float(share)


def held_out_position(relative_path: str | os.PathLike) -> float:
    """A number in [0, 1) fixed by a file's path relative to its folder: the file is held out
    under every share above it.

    A hash of the path, not a random draw or a position in the listing, so the split does not
    depend on the order files are found or loaded in, nor on which other files are there (adding a
    painting never moves another one across the split), and the run, the painting judge and the
    evaluation agree on it without storing a list. Shares are nested: what 0.05 holds out, 0.1
    holds out too. The path is taken with "/" separators and in Unicode NFC, so the same folder
    splits the same way on Windows and macOS.
    """
    name = unicodedata.normalize("NFC", PurePath(relative_path).as_posix())
    digest = hashlib.blake2b((HELD_OUT_SALT + name).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0 ** 64


def split_held_out(painting_set: PaintingSet, share: float) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, held-out rows) of `painting_set.images`, each in file order: a file is held
    out when its `held_out_position` (its path relative to the loaded folder) is below `share`, so
    about `share` of the folder is held out (for 398 paintings and 0.1: 40 ± 6)."""
    share = check_held_out_share(share)
    if painting_set.folder is None:
        raise ValueError("split_held_out needs the folder the paintings were loaded from "
                         "(PaintingSet.folder), whose relative paths decide the split")
    positions = np.array([held_out_position(Path(path).relative_to(painting_set.folder))
                          for path in painting_set.paths], dtype=np.float64)
    held_out = positions < share
    return np.flatnonzero(~held_out), np.flatnonzero(held_out)


class UnreadableImage(Exception):
    """One file could not be decoded; the message is the reason shown in the report."""


class ImageTooSmall(UnreadableImage):
    """One image is far smaller than the target size (see UPSCALE_LIMIT); skipped like a bad file."""


def minimum_side(image_size: int) -> int:
    """The smallest shorter side (pixels) an image may have to be resized to `image_size`."""
    return max(1, -(-image_size // UPSCALE_LIMIT))


def _is_too_small(reason: str) -> bool:
    return reason.startswith(TOO_SMALL)


def _too_small_line(small: list[tuple[Path, str]], size, name) -> str:
    """One line: how many images were too small, the rule, and the first few with their sizes."""
    rule = (f"far smaller than {size}x{size} (shorter side under {minimum_side(size)} px; "
            "upscaled they would be a blur)" if isinstance(size, int) else "far smaller than the "
            "image size")
    shown = ", ".join(f"{name(path)} ({reason[len(TOO_SMALL):].lstrip(': ')})"
                      for path, reason in small[:NAMES_IN_REPORT])
    more = f", ... and {len(small) - NAMES_IN_REPORT} more (see .skipped)" \
        if len(small) > NAMES_IN_REPORT else ""
    return f"skipped {len(small)} image(s) {rule}: {shown}{more}"


def find_image_files(folder: str | os.PathLike) -> tuple[list[Path], list[Path]]:
    """(image files, other files) under `folder`, subfolders included, each sorted by path.

    Hidden files and folders (names starting with ".", e.g. .DS_Store or macOS "._x.jpg" resource
    forks) are left out. Symbolic links to folders are followed, each real folder once.
    """
    folder = Path(folder)
    images, others = [], []
    seen_folders = set()
    for root, folder_names, file_names in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen_folders:  # a link cycle, or two links to one folder
            folder_names[:] = []
            continue
        seen_folders.add(real)
        folder_names[:] = sorted(name for name in folder_names if not name.startswith("."))
        for name in file_names:
            if name.startswith("."):
                continue
            path = Path(root) / name
            (images if path.suffix.lower() in IMAGE_EXTENSIONS else others).append(path)
    return sorted(images), sorted(others)


def load_painting_folder(folder: str | os.PathLike, image_size: int = 64, fit: str = "crop",
                         progress: bool = True, cache_dir: str | os.PathLike | None = None,
                         workers: int | None = None) -> PaintingSet:
    """Decode every image under `folder` to a uint8 (N, image_size, image_size, 3) RGB array.

    fit: "crop" takes the centered square of the short side (the seed's choice: no bars, loses the
    edges of long paintings); "pad" keeps the whole painting and fills the rest of the square with
    black. cache_dir: where to keep the decoded array (.npz) for the next load of the same files.
    workers: decoding threads (Pillow releases the GIL while decoding and resizing).
    Raises ValueError for a missing folder or one with no readable image; unreadable files are
    listed in `.skipped` and in `.report()`.
    """
    folder = Path(folder).expanduser()
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ValueError("image_size must be a positive integer number of pixels (e.g. 64), "
                         f"got {image_size!r}")
    if fit not in FITS:
        raise ValueError(unknown_name_message("fit", str(fit), FITS))
    if not folder.exists():
        raise ValueError(f"painting folder {folder} does not exist; give the folder that holds the "
                         "jpg/jpeg/png/webp images (subfolders are searched too)")
    if not folder.is_dir():
        raise ValueError(f"{folder} is a file, not a folder; give the folder that holds the images")

    image_files, other_files = find_image_files(folder)
    if not image_files:
        raise ValueError(_nothing_found_message(folder, other_files))

    cache_path = None
    if cache_dir is not None:
        cache_path = _cache_path(Path(cache_dir), folder, image_files, image_size, fit)
        cached = _read_cache(cache_path, folder, image_size)
        if cached is not None:
            images, paths, skipped = cached
            return PaintingSet(images, paths, skipped, folder, fit, other_files, from_cache=True)

    images, paths, skipped = _decode_all(image_files, image_size, fit, progress, workers,
                                         description=f"decoding {folder.name or folder}")
    if not paths:
        raise ValueError(_nothing_readable_message(folder, skipped, other_files, image_size))
    painting_set = PaintingSet(images, paths, skipped, folder, fit, other_files)
    if cache_path is not None:
        _write_cache(cache_path, painting_set)
    return painting_set


def decode_image(path: str | os.PathLike, image_size: int = 64, fit: str = "crop",
                 smallest_side: int = 1) -> np.ndarray:
    """One file -> uint8 (image_size, image_size, 3) RGB; raises UnreadableImage with the reason.

    smallest_side: an image whose shorter side is under it raises ImageTooSmall (an
    UnreadableImage); `load_painting_folder` passes `minimum_side(image_size)`.

    Truncated files are only detected while Pillow's ImageFile.LOAD_TRUNCATED_IMAGES is False (its
    default); `load_painting_folder` makes sure of that around its decoding.
    """
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise UnreadableImage("empty file (0 bytes)")
        with Image.open(path) as image:
            if min(image.size) < smallest_side:  # from the header: nothing decoded yet
                raise ImageTooSmall(f"{TOO_SMALL}: {image.width}x{image.height} px")
            if image.format == "JPEG":
                # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the file is much larger than
                # needed (a big speed-up on full-size WikiArt scans), but keep at least twice the
                # target size so the final Lanczos resize still does the smoothing.
                image.draft("RGB", (2 * image_size, 2 * image_size))
            # load() decodes everything now, so a truncated file fails here and not later.
            image.load()
            image = ImageOps.exif_transpose(image)
            image = _to_rgb(image)
            return np.asarray(_fit_square(image, image_size, fit), dtype=np.uint8)
    except UnreadableImage:
        raise
    except (FileNotFoundError, PermissionError, IsADirectoryError) as error:
        raise UnreadableImage(f"could not be opened ({error.strerror or error})") from None
    except UnidentifiedImageError:
        raise UnreadableImage("not an image Pillow can read "
                              "(wrong extension or damaged header)") from None
    except OSError as error:
        raise UnreadableImage(f"truncated or damaged ({error})") from None
    except Exception as error:
        # Pillow's format plugins raise many types on damaged files (SyntaxError, ValueError,
        # struct.error, DecompressionBombError, ...); one bad painting must not stop the folder.
        raise UnreadableImage(f"could not be decoded ({type(error).__name__}: {error})") from None


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        # 16-bit grayscale PNGs: convert("L") would clip everything above 255 to white.
        values = np.asarray(image, dtype=np.float64) / 257.0
        image = Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))
    elif image.mode == "F":
        image = Image.fromarray(np.clip(np.rint(np.asarray(image)), 0, 255).astype(np.uint8))
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if has_alpha:
        # Composite on white: converting RGBA straight to RGB would show the (often black)
        # colour hidden under transparent pixels.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*TRANSPARENT_BACKGROUND, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB") if image.mode != "RGB" else image


def _fit_square(image: Image.Image, image_size: int, fit: str) -> Image.Image:
    width, height = image.size
    if fit == "crop":
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        # resize(box=...) crops and resizes in one resampling pass.
        return image.resize((image_size, image_size), Image.Resampling.LANCZOS,
                            box=(left, top, left + side, top + side))
    scale = image_size / max(width, height)
    new_width, new_height = max(1, round(width * scale)), max(1, round(height * scale))
    canvas = Image.new("RGB", (image_size, image_size), PAD_COLOR)
    canvas.paste(image.resize((new_width, new_height), Image.Resampling.LANCZOS),
                 ((image_size - new_width) // 2, (image_size - new_height) // 2))
    return canvas


@contextlib.contextmanager
def _truncated_images_are_errors() -> Iterator[None]:
    # With LOAD_TRUNCATED_IMAGES = True (some notebooks set it globally), Pillow silently fills a
    # truncated file with grey and we would train on it. Force it off while decoding, then restore.
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _decode_all(files: list[Path], image_size: int, fit: str, progress: bool, workers: int | None,
                description: str) -> tuple[np.ndarray, list[Path], list[tuple[Path, str]]]:
    images = np.zeros((len(files), image_size, image_size, 3), dtype=np.uint8)
    readable = np.zeros(len(files), dtype=bool)
    skipped: list[tuple[Path, str]] = []

    smallest_side = minimum_side(image_size)

    def decode(path: Path):
        try:
            return decode_image(path, image_size, fit, smallest_side), None
        except UnreadableImage as error:
            return None, str(error)

    if workers is None:
        workers = min(8, os.cpu_count() or 1)
    with _truncated_images_are_errors(), \
            ThreadPoolExecutor(max_workers=max(1, workers)) as pool, \
            tqdm.tqdm(total=len(files), desc=description, unit="image", file=sys.stderr,
                      disable=not progress) as bar:
        results = zip(files, pool.map(decode, files), strict=True)
        for index, (path, (pixels, reason)) in enumerate(results):
            if pixels is None:
                skipped.append((path, reason))
            else:
                images[index] = pixels
                readable[index] = True
            bar.update(1)
    paths = [path for path, ok in zip(files, readable, strict=True) if ok]
    # Boolean indexing copies only when something was skipped; either way one compact array.
    return (images if readable.all() else images[readable]), paths, skipped


def _nothing_found_message(folder: Path, other_files: list[Path]) -> str:
    expected = "expected jpg/jpeg/png/webp images (any letter case; subfolders are searched too)"
    if not other_files:
        return f"no images in {folder}: the folder is empty (hidden files aside); {expected}"
    counts = Counter(path.suffix.lower() or "(no extension)" for path in other_files)
    summary = ", ".join(f"{count} {suffix}" for suffix, count in counts.most_common())
    return f"no images in {folder}: found {len(other_files)} file(s): {summary}; {expected}"


def _nothing_readable_message(folder: Path, skipped: list[tuple[Path, str]],
                              other_files: list[Path], image_size: int) -> str:
    others = (f" ({len(other_files)} other file(s) without an image extension were ignored)"
              if other_files else "")
    small = sum(_is_too_small(reason) for _, reason in skipped)
    if small == len(skipped):
        line = _too_small_line(skipped, image_size, lambda path: _relative(path, folder))
        return (f"none of the {len(skipped)} image file(s) in {folder} can be used{others}: "
                f"every one was {line.removeprefix(f'skipped {small} image(s) ')}. Add images "
                f"at least {minimum_side(image_size)} px on their shorter side")
    examples = "; ".join(f"{_relative(path, folder)} ({reason})"
                         for path, reason in skipped[:NAMES_IN_REPORT])
    more = f"; ... and {len(skipped) - NAMES_IN_REPORT} more" if len(skipped) > NAMES_IN_REPORT else ""
    verdict = (f"could be read or used ({small} too small for {image_size}x{image_size}, "
               f"{len(skipped) - small} unreadable)" if small else "could be read")
    return (f"none of the {len(skipped)} image file(s) in {folder} {verdict}{others}: "
            f"{examples}{more}")


def _relative(path: Path, folder: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(folder))
    return str(path)


# --- the optional on-disk cache of the decoded array ---------------------------------------------

def _cache_path(cache_dir: Path, folder: Path, files: list[Path], image_size: int, fit: str) -> Path:
    # Any added, removed, replaced or touched file changes the key, so a stale cache is never read.
    entries = []
    for path in files:
        status = path.stat()
        entries.append([str(path.relative_to(folder)), status.st_mtime_ns, status.st_size])
    key = json.dumps({"format": CACHE_FORMAT, "folder": str(folder.resolve()), "image_size": image_size,
                      "fit": fit, "files": entries}, sort_keys=True)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]
    readable_name = "".join(character if character.isalnum() or character in "-_" else "_"
                            for character in folder.resolve().name) or "folder"
    return cache_dir.expanduser() / f"{readable_name}-{image_size}px-{fit}-{digest}.npz"


def _read_cache(cache_path: Path, folder: Path, image_size: int):
    if not cache_path.is_file():
        return None
    try:
        with np.load(cache_path, allow_pickle=False) as stored:
            images = stored["images"]
            relative_paths = [str(name) for name in stored["paths"]]
            skipped_pairs = zip(stored["skipped_paths"], stored["skipped_reasons"], strict=True)
            skipped = [(folder / str(name), str(reason)) for name, reason in skipped_pairs]
    except Exception as error:
        # A damaged cache only costs a fresh decode; it is rewritten afterwards.
        warnings.warn(f"ignoring unreadable painting cache {cache_path}: {error}", stacklevel=3)
        return None
    if images.dtype != np.uint8 or images.shape != (len(relative_paths), image_size, image_size, 3):
        warnings.warn(f"ignoring painting cache {cache_path}: unexpected array "
                      f"{images.dtype} {images.shape}", stacklevel=3)
        return None
    return images, [folder / name for name in relative_paths], skipped


def _write_cache(cache_path: Path, painting_set: PaintingSet) -> None:
    folder = painting_set.folder
    try:
        with atomic_write(cache_path, "wb") as handle:
            # One .npz (uncompressed .npy arrays in a zip) so images and their file names are
            # replaced together, atomically.
            np.savez(handle, images=painting_set.images,
                     paths=_names(path.relative_to(folder) for path in painting_set.paths),
                     skipped_paths=_names(path.relative_to(folder) for path, _ in painting_set.skipped),
                     skipped_reasons=_names(reason for _, reason in painting_set.skipped))
    except SaveError as error:
        # The images are decoded and in memory; a cache that cannot be saved is not worth failing for.
        warnings.warn(f"could not save the painting cache: {error}", stacklevel=3)


def _names(values) -> np.ndarray:
    # A unicode array (not objects), so np.load works with allow_pickle=False.
    return np.array([str(value) for value in values], dtype=str)
