"""The first N drawings of a Quick, Draw! category without the whole 100-300 MB file.

A `numpy_bitmap` `.npy` is a small header followed by N x 784 bytes, one drawing after another, so
the first N drawings are one contiguous byte range. `fetch_first_drawings` asks the bucket (or a
mirror URL) for the header with an HTTP Range request (`Range: bytes=0-4095`), reads the data
offset and the total count from it with numpy's own format functions, then asks for exactly
`bytes=<offset>-<offset + N*784 - 1>`. The result is saved as a small valid `.npy` in
`<cache>/quickdraw/numpy_bitmap_first/<category>.first<N>.npy` (atomically) and reused afterwards
with no request at all. This is what lets the domain classifier train on many categories.

Answers are checked: a 206 must carry the Content-Range that was asked for; a server that ignores
Range and answers 200 with the whole file is read only as far as needed and then closed (with a
warning, since every call then starts a full-size transfer); 404s, HTML error pages and files whose
header does not match their size are refused with a message that says what to do.

What it is not: the full-file downloader with resume (`downloads.py`), nor the cache of whole files
(`quickdraw.fetch_file`). When a whole file is already cached, or the mirror is a local folder, the
first N rows are simply read from it with `quickdraw.load_bitmaps(category, limit=N)`.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import requests

from sketchdraw import quickdraw
from sketchdraw.atomicfiles import atomic_write_bytes
from sketchdraw.downloads import check_content_range
from sketchdraw.quickdraw import PIXELS, CorruptFileError, DownloadError

PARTIAL_KIND = "numpy_bitmap_first"
HEADER_BYTES = 4096  # numpy headers are 128 bytes for these files; 4 KiB leaves room for any
CHUNK_BYTES = 1 << 16


class RangeIgnoredWarning(UserWarning):
    """The server answered a Range request with the whole file (HTTP 200)."""


def partial_path(category: str, count: int, cache=None) -> Path:
    """`<cache>/quickdraw/numpy_bitmap_first/<category>.first<count>.npy`."""
    return quickdraw.cache_dir(PARTIAL_KIND, cache) / f"{quickdraw.check_category(category)}.first{count}.npy"


def fetch_first_drawings(category: str, count: int, mirror=None, cache=None, progress: bool = True,
                         timeout: float = 60.0) -> np.ndarray:
    """The first `count` drawings of `category` as uint8 (count', 784); count' = min(count, all there are).

    Sources, in order: a local mirror folder (read in place), a whole file already in the cache,
    a partial file already in the cache (this count or a larger one), and only then two Range
    requests to the mirror URL or Google's bucket.
    """
    category = quickdraw.check_category(category)
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"count must be a positive whole number of drawings, got {count!r}")
    count = int(count)
    source = quickdraw.resolve_mirror(mirror)
    whole_file = quickdraw.cache_dir("numpy_bitmap", cache) / f"{category}.npy"
    if isinstance(source, Path) or whole_file.is_file():
        return quickdraw.load_bitmaps(category, limit=count, mirror=source, cache=cache, progress=progress)

    cached = _cached_partial(category, count, cache)
    if cached is not None:
        return cached

    url = quickdraw.file_url(category, base=source)
    with requests.Session() as session:
        response = _get(session, url, 0, HEADER_BYTES - 1, timeout)
        with response:
            honoured = response.status_code == 206
            file_size = _checked_size(response, url, 0, HEADER_BYTES - 1)
            body = _Body(response)
            total_drawings, offset = _parse_header(body.read_until(HEADER_BYTES), url)
            if file_size is not None and file_size != offset + total_drawings * PIXELS:
                raise CorruptFileError(
                    f"{url} is {file_size} bytes but its header promises {total_drawings} drawings "
                    f"({offset + total_drawings * PIXELS} bytes); the server holds a truncated or "
                    "different file.")
            keep = min(count, total_drawings)
            end = offset + keep * PIXELS  # exclusive
            label = f"first {keep:,} {category}"
            if not honoured:
                # The whole file is coming anyway: read on to the last byte needed, then hang up.
                data = body.read_until(end, progress, label)[offset:]
        if honoured:
            response = _get(session, url, offset, end - 1, timeout)
            with response:
                _checked_size(response, url, offset, end - 1)
                skip = offset if response.status_code == 200 else 0
                data = _Body(response).read_until(skip + end - offset, progress, label)[skip:]
    if len(data) != keep * PIXELS:
        raise DownloadError(f"{url} sent {len(data)} of the {keep * PIXELS} bytes asked for "
                            "(the connection closed early); run again.")
    drawings = np.frombuffer(data, dtype=np.uint8).reshape(keep, PIXELS).copy()
    buffer = io.BytesIO()
    np.save(buffer, drawings, allow_pickle=False)
    atomic_write_bytes(partial_path(category, count, cache), buffer.getvalue())
    return drawings


# -- the cache -------------------------------------------------------------------------------------
def _cached_partial(category: str, count: int, cache) -> np.ndarray | None:
    """This count's file, or the smallest cached file of a larger count, sliced; None if neither."""
    folder = quickdraw.cache_dir(PARTIAL_KIND, cache)
    candidates = []
    for path in folder.glob(f"{category}.first*.npy") if folder.is_dir() else ():
        suffix = path.name[len(category) + len(".first"):-len(".npy")]
        if suffix.isdigit() and int(suffix) >= count:
            candidates.append((int(suffix), path))
    for _, path in sorted(candidates):
        try:
            stored, offset = quickdraw.read_bitmap_header(path)
        except CorruptFileError:
            path.unlink(missing_ok=True)  # a bad cache file is fetched again, never trusted
            continue
        keep = min(count, stored)
        return np.fromfile(path, dtype=np.uint8, count=keep * PIXELS, offset=offset).reshape(keep, PIXELS)
    return None


# -- HTTP ------------------------------------------------------------------------------------------
def _get(session: requests.Session, url: str, start: int, end: int, timeout: float) -> requests.Response:
    """A streamed GET of bytes start..end (inclusive); errors other than 200/206 raised here."""
    hint = quickdraw._mirror_hint("numpy_bitmap")
    try:
        response = session.get(url, headers={"Range": f"bytes={start}-{end}"}, stream=True,
                               timeout=(min(timeout, 15.0), timeout))
    except requests.exceptions.Timeout:
        raise DownloadError(f"no answer from {url} within {timeout:.0f} s. {hint}") from None
    except requests.exceptions.ConnectionError as error:
        raise DownloadError(f"could not reach {url} ({str(error)[:200]}). {hint}") from None
    if response.status_code in (200, 206):
        content_type = response.headers.get("Content-Type", "")
        if "html" not in content_type.lower():
            return response
        response.close()
        raise CorruptFileError(f"{url} answered with an HTML page ({content_type}), not a .npy file "
                               "(the server sent an error page instead of the data).")
    response.close()
    if response.status_code == 404:
        raise DownloadError(f"{url} was not found (HTTP 404). Check the category name, or that the "
                            "mirror holds this file.")
    if response.status_code == 416:
        raise DownloadError(f"{url} holds fewer than {start + 1} bytes (HTTP 416 for bytes "
                            f"{start}-{end}); the file on the server is truncated.")
    raise DownloadError(f"{url} answered HTTP {response.status_code} {response.reason or ''}".rstrip()
                        + f". Try again later. {hint}")


def _checked_size(response: requests.Response, url: str, start: int, end: int) -> int | None:
    """The file's total size when the answer says it; refuses a 206 for other bytes than asked.

    A 200 means the server ignored Range and sends the whole file from byte 0: allowed (callers
    read only what they need and close), with a warning, since each call then starts a full-size
    transfer.
    """
    if response.status_code == 200:
        warnings.warn(f"{url} ignored the HTTP Range request and sends the whole file; reading only "
                      "the bytes needed and closing the connection.", RangeIgnoredWarning, stacklevel=3)
        length = response.headers.get("Content-Length", "")
        return int(length) if length.isdigit() else None
    return check_content_range(response, url, start, end)


class _Body:
    """A streamed response body read up to a growing number of bytes, never further."""

    def __init__(self, response: requests.Response):
        self.response = response
        self.chunks = response.iter_content(chunk_size=CHUNK_BYTES)
        self.buffer = bytearray()

    def read_until(self, total: int, progress: bool = False, label: str = "") -> bytes:
        """The first `total` bytes of the body (fewer when it ends first)."""
        from tqdm import tqdm

        with tqdm(total=total, initial=min(len(self.buffer), total), unit="B", unit_scale=True,
                  unit_divisor=1024, desc=f"downloading {label}", disable=not progress,
                  mininterval=0.5) as bar:
            try:
                while len(self.buffer) < total:
                    chunk = next(self.chunks, None)
                    if chunk is None:
                        break
                    self.buffer += chunk
                    bar.update(min(len(chunk), total - bar.n))
            except requests.exceptions.RequestException as error:
                raise DownloadError(f"the transfer from {self.response.url} stopped after "
                                    f"{len(self.buffer)} of {total} bytes ({str(error)[:200]}); "
                                    "run again.") from None
        return bytes(self.buffer[:total])


# -- the .npy header -------------------------------------------------------------------------------
def _parse_header(start: bytes, url: str) -> tuple[int, int]:
    """(number of drawings, data offset) from the first bytes of a .npy, checked like
    `quickdraw.read_bitmap_header` checks a whole file."""
    if not start.startswith(b"\x93NUMPY"):
        if start.lstrip().lower().startswith((b"<!doctype", b"<html", b"<?xml", b"<")):
            raise CorruptFileError(f"{url} is an HTML/XML page, not a .npy file (the server answered "
                                   "with an error page instead of the data).")
        raise CorruptFileError(f"{url} is not a .npy file (it does not start with the numpy magic bytes).")
    handle = io.BytesIO(start)
    shape, fortran_order, dtype = quickdraw.parse_npy_header(handle, url)
    if dtype.hasobject or dtype != np.uint8:
        raise CorruptFileError(f"{url} has dtype {dtype}, expected uint8 numpy_bitmap drawings.")
    if fortran_order or len(shape) != 2 or shape[1] != PIXELS or shape[0] < 1:
        raise CorruptFileError(f"{url} has shape {shape}, expected (N, {PIXELS}) for 28x28 drawings.")
    offset = handle.tell()
    if offset > len(start):
        raise CorruptFileError(f"{url} has a .npy header longer than the {len(start)} bytes read; "
                               "this is not a numpy_bitmap file.")
    return int(shape[0]), offset

