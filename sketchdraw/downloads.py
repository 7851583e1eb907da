"""One careful HTTP download: streamed, with a progress bar, resumable, checked, then moved in place.

The bytes go to `<target>.part`. When the connection stalls or drops, the `.part` file stays and
the next attempt asks the server for the rest (`Range: bytes=<size>-`); a server that ignores
Range gets a fresh start. Only a file that passes `validate` is renamed to its final name, so the
cache never holds a half file or an error page under a real name.

Replies are checked before a byte is kept: a 206 must carry the Content-Range asked for (and a
Content-Length that agrees with it); a 416 is taken as "you have it all" only when it says the
file is exactly the size of the `.part`. A resume answered otherwise discards the `.part` and
starts over from byte 0 once (with a `ResumeRefusedWarning`). A transfer that brings fewer than
`MIN_BYTES_PER_WINDOW` bytes in `RATE_WINDOW_SECONDS` seconds fails (a trickle of one byte now
and then never trips the socket's read timeout); its `.part` stays for the next attempt.
"""

from __future__ import annotations

import os
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
import urllib3
from tqdm import tqdm

CHUNK_BYTES = 1 << 16  # small enough that a dropped connection keeps most of what came
# The slowest transfer accepted: about 270 B/s averaged over a minute, slower than a dial-up modem,
# so only a stuck or trickling server fails it. Read at each call, so it can be changed here.
MIN_BYTES_PER_WINDOW = 16 * 1024
RATE_WINDOW_SECONDS = 60.0
CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$")
UNSATISFIED_RANGE = re.compile(r"^\s*bytes\s+\*/(\d+)\s*$")


class DownloadError(ValueError):
    """The bucket or mirror could not be reached, answered with an error, or sent too little."""


class RangeMismatchError(DownloadError):
    """A reply to a Range request that is not for the bytes asked for."""


class ResumeRefusedWarning(UserWarning):
    """A resumed download was answered with the wrong bytes, so it starts over from byte 0."""


def check_content_range(response: requests.Response, url: str, start: int, end: int | None = None,
                        advice: str = "") -> int | None:
    """The file's total size from a 206 reply (None when its Content-Range says `*`).

    Raises RangeMismatchError unless the reply is for bytes start..end (end None: to the end of the
    file). A server may stop short of `end` only where the file ends, and may send more than asked.
    """
    header = response.headers.get("Content-Range", "")
    asked = f"bytes {start}-{'' if end is None else end}"
    match = CONTENT_RANGE.match(header)
    if not match:
        raise RangeMismatchError(f"{url} answered HTTP 206 to a request for {asked} without a valid "
                                 f"Content-Range header ({header!r}); cannot tell which bytes were "
                                 f"sent. {advice}".rstrip())
    first, last = int(match.group(1)), int(match.group(2))
    total = None if match.group(3) == "*" else int(match.group(3))
    length = response.headers.get("Content-Length", "")
    reaches_end = total is not None and last == total - 1
    short = (end is None or last < end) and not reaches_end
    if (first != start or last < first or short or (total is not None and last >= total)
            or (length.isdigit() and int(length) != last - first + 1)):
        raise RangeMismatchError(f"{url} answered a request for {asked} with Content-Range "
                                 f"{header!r} (Content-Length {length or 'missing'}); refusing "
                                 f"bytes other than the ones asked for. {advice}".rstrip())
    return total


def download(url: str, target: str | os.PathLike, validate: Callable[[Path], object] | None = None,
             progress: bool = True, timeout: float = 60.0, mirror_hint: str = "",
             session: requests.Session | None = None, min_bytes_per_window: int | None = None,
             rate_window: float | None = None) -> Path:
    """`url` saved as `target`. `timeout` is the longest silence accepted; a transfer must also
    bring `min_bytes_per_window` bytes (default MIN_BYTES_PER_WINDOW) in every `rate_window`
    seconds (default RATE_WINDOW_SECONDS)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    job = _Job(url=url, partial=target.with_name(target.name + ".part"), http=session or requests,
               timeout=timeout, hint=mirror_hint, progress=progress, label=target.name,
               min_bytes=MIN_BYTES_PER_WINDOW if min_bytes_per_window is None else min_bytes_per_window,
               window=RATE_WINDOW_SECONDS if rate_window is None else rate_window)
    _fetch_restarting_once(job)
    if validate is not None:
        try:
            validate(job.partial)
        except Exception:
            job.partial.unlink(missing_ok=True)
            raise
    os.replace(job.partial, target)
    return target


@dataclass(frozen=True)
class _Job:
    url: str
    partial: Path
    http: object  # the requests module or a Session
    timeout: float
    hint: str
    progress: bool
    label: str
    min_bytes: int
    window: float


def _fetch_restarting_once(job: _Job) -> None:
    """Resume the .part file; a resume answered with the wrong bytes starts over from byte 0."""
    have = _size(job.partial)
    try:
        _fetch(job, have)
        return
    except RangeMismatchError as mismatch:
        if not have:
            raise
        warnings.warn(f"{mismatch} Discarding the {have:,} bytes of {job.partial.name} and "
                      "downloading the file again from byte 0.", ResumeRefusedWarning, stacklevel=3)
    job.partial.unlink()
    _fetch(job, 0)


def _fetch(job: _Job, have: int) -> None:
    response = _get(job, have)
    with response:
        if response.status_code == 416 and have:
            _check_complete(response, job.url, have)
            return
        _check_status(response, job)
        start = have if response.status_code == 206 else 0  # a 200 is the whole file from byte 0
        if response.status_code == 206:
            advice = "" if have else f"Try again later, or use another mirror. {job.hint}"
            check_content_range(response, job.url, start, advice=advice)
        expected = _expected_total(response, start)
        try:
            _stream(job, response, start, expected)
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as error:
            raise DownloadError(
                f"the download of {job.url} stopped after {_size(job.partial)} bytes ({_short(error)}); "
                f"run again to resume from there ({job.partial} is kept for that).") from None
    size = _size(job.partial)
    if expected is not None and size < expected:
        raise DownloadError(
            f"the download of {job.url} ended after {size} of {expected} bytes (the connection "
            f"closed early); run again to resume ({job.partial} is kept for that).")


def _get(job: _Job, have: int) -> requests.Response:
    # identity: Range offsets count the bytes on the wire, which must be the bytes of the file.
    headers = {"Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        # (connect timeout, read timeout): the read timeout is the longest silence we accept.
        return job.http.get(job.url, stream=True, headers=headers,
                            timeout=(min(job.timeout, 15.0), job.timeout))
    except requests.exceptions.Timeout:
        raise DownloadError(f"no answer from {job.url} within {job.timeout:.0f} s. {job.hint}") from None
    except requests.exceptions.ConnectionError as error:
        raise DownloadError(f"could not reach {job.url} ({_short(error)}). {job.hint}") from None


def _check_status(response: requests.Response, job: _Job) -> None:
    if response.status_code == 404:
        raise DownloadError(f"{job.url} was not found (HTTP 404). Check the category name, or "
                            f"that the mirror holds this file.")
    if response.status_code not in (200, 206):
        raise DownloadError(f"{job.url} answered HTTP {response.status_code} "
                            f"{response.reason or ''}".rstrip() + ". Try again later. " + job.hint)


def _check_complete(response: requests.Response, url: str, have: int) -> None:
    """A 416 to `bytes=<have>-` is "nothing after byte have" only if it says the file is `have` long."""
    header = response.headers.get("Content-Range", "")
    match = UNSATISFIED_RANGE.match(header)
    if not match or int(match.group(1)) != have:
        raise RangeMismatchError(f"{url} answered HTTP 416 (range not satisfiable) to a request for "
                                 f"bytes {have}- with Content-Range {header!r}, which does not say "
                                 f"the file is the {have:,} bytes already downloaded.")


def _expected_total(response: requests.Response, already: int) -> int | None:
    length = response.headers.get("Content-Length")
    if length is None or not length.isdigit():
        return None
    return already + int(length)


def _stream(job: _Job, response: requests.Response, start: int, expected: int | None) -> None:
    pace = _Pace(job, start)
    with open(job.partial, "ab" if start else "wb") as handle, tqdm(
        total=expected, initial=start, unit="B", unit_scale=True, unit_divisor=1024,
        desc=f"downloading {job.label}", disable=not job.progress, mininterval=0.5,
    ) as bar:
        for chunk in _arriving(response):
            handle.write(chunk)
            bar.update(len(chunk))
            pace.count(len(chunk))
        handle.flush()
        os.fsync(handle.fileno())


def _arriving(response: requests.Response):
    """The body in pieces as they arrive, so that a trickle is seen byte by byte (a plain read
    waits until a whole chunk is there) and a dropped connection keeps every byte that came."""
    raw = response.raw
    if not hasattr(raw, "read1"):  # urllib3 1.x
        yield from response.iter_content(chunk_size=CHUNK_BYTES)
        return
    while chunk := raw.read1(CHUNK_BYTES, decode_content=True):
        yield chunk


class _Pace:
    """Fails a transfer that brings fewer than `job.min_bytes` in a `job.window`-second stretch."""

    def __init__(self, job: _Job, have: int):
        self.job, self.have = job, have
        self.started = self.window_started = time.monotonic()
        self.received = self.in_window = 0

    def count(self, size: int) -> None:
        self.received += size
        self.in_window += size
        now = time.monotonic()
        if now - self.window_started < self.job.window:
            return
        if self.in_window < self.job.min_bytes:
            job = self.job
            raise DownloadError(
                f"{job.url} is sending too slowly: {self.in_window:,} bytes in the last "
                f"{now - self.window_started:.1f} s, fewer than the {job.min_bytes:,} per "
                f"{job.window:g} s this download needs ({self.have + self.received:,} bytes "
                f"received in all, {self.received:,} of them in the {now - self.started:.1f} s of "
                f"this attempt). Try again later to resume from there ({job.partial} is kept for "
                f"that), or use a mirror. {job.hint}".rstrip())
        self.window_started, self.in_window = now, 0


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _short(error: Exception) -> str:
    text = str(error)
    return text if len(text) < 200 else text[:200] + "..."
