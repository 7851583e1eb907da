"""Google's Quick, Draw! data: the 345 categories, and their files fetched, cached and checked.

What it does:
- `CATEGORIES`: the 345 category names, shipped with the package (no network needed).
- `fetch_file(category)`: the `numpy_bitmap` `.npy` of a category (or, with `kind="simplified"`,
  the stroke `.ndjson`) as a local path. It comes from Google's public bucket, streamed with a
  progress bar into a cache folder and reused afterwards with no request at all; or from a mirror
  (a local folder, read in place, or another base URL) for offline machines, tests and CI.
- `load_bitmaps(category, limit=...)`: the drawings as one uint8 array (N, 784), 0 = background and
  255 = ink, never converted to float here (a full category is 100-300 MB of uint8).

What it refuses, with a message that says what to do: unknown or path-like category names (checked
before any file or request is made; close names are suggested), HTTP errors, HTML error pages saved
under a `.npy` name, wrong dtype or shape, Fortran-order files, truncated files, pickled `.npy`
files, and a folder, FIFO or device under a file's name. Nothing that fails a check stays in the
cache (a folder or FIFO is named, never removed). A download interrupted by a stall or a dropped
connection keeps its `.part` file and resumes with an HTTP Range request on the next attempt.

Settings (parameter first, then environment variable, then default):
- mirror: `SKETCHDRAW_QUICKDRAW_MIRROR` (numpy_bitmap) / `SKETCHDRAW_QUICKDRAW_NDJSON_MIRROR` (simplified)
- cache: `SKETCHDRAW_CACHE` (default `~/.cache/sketchdraw`); files go to `<cache>/quickdraw/<kind>/`.
"""

from __future__ import annotations

import os
import urllib.parse
from importlib import resources
from pathlib import Path

import numpy as np

from sketchdraw.downloads import DownloadError, download  # noqa: F401  (DownloadError is part of this module's API)
from sketchdraw.registry import unknown_name_message

BUCKET_URL = "https://storage.googleapis.com/quickdraw_dataset/full"
MIRROR_ENVIRONMENT = {
    "numpy_bitmap": "SKETCHDRAW_QUICKDRAW_MIRROR",
    "simplified": "SKETCHDRAW_QUICKDRAW_NDJSON_MIRROR",
}
SUFFIX = {"numpy_bitmap": ".npy", "simplified": ".ndjson"}
CACHE_ENVIRONMENT = "SKETCHDRAW_CACHE"
PIXELS = 28 * 28

CATEGORIES: tuple[str, ...] = tuple(
    line.strip()
    for line in resources.files("sketchdraw").joinpath("categories.txt").read_text().splitlines()
    if line.strip()
)


class QuickDrawError(ValueError):
    """A Quick, Draw! file could not be had or is not what it should be."""


class CorruptFileError(QuickDrawError):
    """A file is not a valid numpy_bitmap `.npy` (or ndjson); it has been removed from the cache."""


# -- names -------------------------------------------------------------------------------------
def check_category(name) -> str:
    """Return `name` if it is a Quick, Draw! category; otherwise a ValueError before any I/O.

    Only the 345 known names pass, so a hostile name (`../../etc`, an absolute path, shell or URL
    metacharacters) can never reach a file path or a URL.
    """
    if not isinstance(name, str):
        raise ValueError(f"a category name must be a string, got {type(name).__name__}")
    if name in CATEGORIES:
        return name
    if any(mark in name for mark in ("/", "\\", "..", "\x00")) or os.path.isabs(name):
        raise ValueError(f"{name!r} looks like a path, not a Quick, Draw! category name "
                         "(e.g. 'rabbit', 'The Eiffel Tower')")
    lowered = {category.lower(): category for category in CATEGORIES}
    if name.lower() in lowered:
        raise ValueError(f"unknown Quick, Draw! category {name!r}; did you mean "
                         f"{lowered[name.lower()]!r}? (names are case-sensitive)")
    raise ValueError(unknown_name_message("Quick, Draw! category", name, CATEGORIES)
                     + " All 345 names: sketchdraw list categories (or make list WHAT=categories).")


# -- where files come from -----------------------------------------------------------------------
def cache_dir(kind: str = "numpy_bitmap", cache: str | os.PathLike | None = None) -> Path:
    root = Path(cache or os.environ.get(CACHE_ENVIRONMENT) or Path.home() / ".cache" / "sketchdraw")
    return root.expanduser() / "quickdraw" / kind


def resolve_mirror(mirror: str | os.PathLike | None, kind: str = "numpy_bitmap") -> str | Path | None:
    """The mirror in force: a base URL (str) or a local folder (Path), or None for Google's bucket."""
    mirror = mirror or os.environ.get(MIRROR_ENVIRONMENT[kind]) or None
    if mirror is None:
        return None
    mirror = str(mirror)
    if mirror.startswith(("http://", "https://")):
        return mirror.rstrip("/")
    folder = Path(mirror).expanduser()
    if not folder.is_dir():
        raise ValueError(f"the Quick, Draw! mirror {folder} is not a folder; set "
                         f"{MIRROR_ENVIRONMENT[kind]} (or the `mirror` parameter) to a folder of "
                         f"<category>{SUFFIX[kind]} files or to a base URL")
    return folder


def file_url(category: str, kind: str = "numpy_bitmap", base: str | None = None) -> str:
    """`<base>/<category>.npy` with the name URL-quoted ('The Eiffel Tower' -> The%20Eiffel%20Tower)."""
    base = base or f"{BUCKET_URL}/{kind}"
    return f"{base}/{urllib.parse.quote(check_category(category))}{SUFFIX[kind]}"


def fetch_file(category: str, kind: str = "numpy_bitmap", mirror=None, cache=None,
               progress: bool = True, timeout: float = 60.0) -> Path:
    """A checked local file for `category`: from a mirror folder in place, else the cache, else downloaded."""
    category = check_category(category)
    if kind not in SUFFIX:
        raise ValueError(unknown_name_message("Quick, Draw! file kind", kind, SUFFIX))
    source = resolve_mirror(mirror, kind)
    filename = category + SUFFIX[kind]
    if isinstance(source, Path):
        path = source / filename
        _refuse_non_file(path, "mirror folder")
        if not path.is_file():
            available = sorted(p.stem for p in source.glob(f"*{SUFFIX[kind]}") if p.is_file())
            hint = f" It has {len(available)}: {', '.join(available[:12])}" + (
                ", ..." if len(available) > 12 else "") if available else " It has none."
            raise QuickDrawError(f"the mirror folder {source} has no {filename}.{hint}")
        _validate(path, kind, remove_if_bad=False)
        return path

    target = cache_dir(kind, cache) / filename
    _refuse_non_file(target, "cache")
    if target.is_file():
        _validate(target, kind, remove_if_bad=True)  # a header read: cheap, and no request at all
        return target
    url = file_url(category, kind, base=source)

    download(url, target, validate=lambda path: _validate(path, kind, remove_if_bad=True),
             progress=progress, timeout=timeout, mirror_hint=_mirror_hint(kind))
    return target


def _refuse_non_file(path: Path, where: str) -> None:
    """A folder, FIFO or device under a data file's name: named as such (reading a FIFO or
    /dev/zero would block or never end, and a folder is no missing file). Never removed: it is
    not a file this project wrote."""
    if path.is_dir():
        raise QuickDrawError(f"{path} is a folder, not a file: the {where} needs {path.name} to be "
                             "a file. Move or rename the folder (or put the file there).")
    if path.exists() and not path.is_file():
        raise QuickDrawError(f"{path} is not a regular file (a device, FIFO or socket, or a link "
                             f"to one): the {where} needs {path.name} to be a file. Replace it "
                             "with the file.")


def _mirror_hint(kind: str) -> str:
    return (f"On a machine without internet, set {MIRROR_ENVIRONMENT[kind]} (or the notebook's "
            f"`mirror` parameter) to a folder of <category>{SUFFIX[kind]} files or to another base URL.")


# -- checking files ------------------------------------------------------------------------------
def _validate(path: Path, kind: str, remove_if_bad: bool) -> None:
    try:
        if kind == "numpy_bitmap":
            read_bitmap_header(path)
        else:
            _check_ndjson_start(path)
    except CorruptFileError as error:
        if remove_if_bad:
            path.unlink(missing_ok=True)
            raise CorruptFileError(f"{error} It was removed from the cache; the next run downloads "
                                   "it again.") from None
        raise


def read_bitmap_header(path: str | os.PathLike) -> tuple[int, int]:
    """Check a numpy_bitmap `.npy` without loading it; return (number of drawings, data offset).

    Checks: the numpy magic (an HTML error page saved as `.npy` is named as such), uint8 dtype
    (object arrays, which need pickle, are refused), shape (N, 784), C order (a Fortran-order file
    is refused by name, with the command that rewrites it), and that the file holds exactly
    N * 784 bytes of data (a truncated download fails here).
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as handle:
        start = handle.read(64)
        handle.seek(0)
        if not start.startswith(b"\x93NUMPY"):
            stripped = start.lstrip().lower()
            if stripped.startswith((b"<!doctype", b"<html", b"<?xml", b"<")):
                raise CorruptFileError(f"{path} is an HTML/XML page, not a .npy file (the server "
                                       "answered with an error page instead of the data).")
            if size == 0:
                raise CorruptFileError(f"{path} is empty (0 bytes).")
            raise CorruptFileError(f"{path} is not a .npy file (it does not start with the "
                                   "numpy magic bytes).")
        shape, fortran_order, dtype = parse_npy_header(handle, str(path))
        offset = handle.tell()
    if dtype.hasobject:
        raise CorruptFileError(f"{path} holds Python objects (it needs pickle to load); refused: "
                               "numpy_bitmap files are plain uint8 arrays.")
    if dtype != np.uint8:
        raise CorruptFileError(f"{path} has dtype {dtype}, expected uint8 numpy_bitmap drawings.")
    if len(shape) != 2 or shape[1] != PIXELS or shape[0] < 1:
        raise CorruptFileError(f"{path} has shape {shape}, expected (N, {PIXELS}) for 28x28 drawings.")
    if fortran_order:
        # Valid numpy, but refused rather than read: every reader here (this module's first-N
        # read, the partial-download cache, partial HTTP downloads) takes the first N drawings as
        # the first N x 784 bytes, which holds only in C order. One rewrite fixes the file for all.
        raise CorruptFileError(
            f"{path} is stored in Fortran (column-major) order; numpy_bitmap files are in C "
            "(row-major) order, one drawing after another. Rewrite it (or, for a downloaded copy, the "
            "file it came from) in C order: python -c "
            f"\"import numpy as np; p = {str(path)!r}; np.save(p, np.ascontiguousarray(np.load(p)))\"")
    expected = offset + shape[0] * PIXELS
    if size != expected:
        raise CorruptFileError(f"{path} holds {size - offset} bytes of drawings but its header "
                               f"promises {shape[0]} x {PIXELS} = {shape[0] * PIXELS} (truncated "
                               "or padded download).")
    return int(shape[0]), offset


def parse_npy_header(handle, name: str) -> tuple[tuple, bool, np.dtype]:
    """(shape, fortran_order, dtype) from a `.npy` header at the handle's position (after it, the
    handle stands at the data); an unreadable header is a CorruptFileError naming `name`."""
    try:
        version = np.lib.format.read_magic(handle)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        return read_header(handle, max_header_size=10000)
    except ValueError as error:
        raise CorruptFileError(f"{name} has an unreadable .npy header ({error}).") from None


def _check_ndjson_start(path: Path) -> None:
    with open(path, "rb") as handle:
        start = handle.read(256).lstrip()
    if not start:
        raise CorruptFileError(f"{path} is empty.")
    if not start.startswith(b"{"):
        kind = "an HTML page" if start.lower().startswith((b"<!doctype", b"<html", b"<")) else \
            "not ndjson"
        raise CorruptFileError(f"{path} is {kind} (its first line is not a JSON object).")


# -- loading -------------------------------------------------------------------------------------
def load_bitmaps(category: str, limit: int | None = None, sample_seed: int | None = None,
                 mirror=None, cache=None, progress: bool = True) -> np.ndarray:
    """The drawings of `category` as uint8 (N, 784), 0 = background, 255 = ink.

    `limit`: keep N drawings: the first N, or with `sample_seed` a seeded random N (in file order).
    Only the rows kept are read into memory, and never as float.
    """
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
            raise ValueError(f"limit must be a positive whole number of drawings or None, got {limit!r}")
    path = fetch_file(category, "numpy_bitmap", mirror=mirror, cache=cache, progress=progress)
    count, offset = read_bitmap_header(path)
    keep = count if limit is None else min(int(limit), count)
    if sample_seed is not None and keep < count:
        rows = np.sort(np.random.default_rng(sample_seed).choice(count, size=keep, replace=False))
        mapped = np.load(path, mmap_mode="r", allow_pickle=False)
        return np.ascontiguousarray(mapped[rows])
    return _read_rows(path, offset, keep)


def _read_rows(path: Path, offset: int, rows: int) -> np.ndarray:
    """Read the first `rows` drawings into memory (once: the tf.data chain gathers from it in place)."""
    nbytes = rows * PIXELS
    array = np.fromfile(path, dtype=np.uint8, count=nbytes, offset=offset)
    if array.size != nbytes:
        raise CorruptFileError(f"{path} ended after {array.size} of {nbytes} bytes while reading.")
    return array.reshape(rows, PIXELS)

