"""One careful HTTP download: streamed, with a progress bar, resumable, checked, then moved in place.

The bytes go to `<target>.part`. When the connection stalls or drops, the `.part` file stays and
the next attempt asks the server for the rest (`Range: bytes=<size>-`); a server that ignores
Range gets a fresh start. Only a file that passes `validate` is renamed to its final name, so the
cache never holds a half file or an error page under a real name.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import requests
from tqdm import tqdm

CHUNK_BYTES = 1 << 16  # small enough that a dropped connection keeps most of what came


class DownloadError(ValueError):
    """The bucket or mirror could not be reached, answered with an error, or sent too little."""


def download(url: str, target: str | os.PathLike, validate: Callable[[Path], object] | None = None,
             progress: bool = True, timeout: float = 60.0, mirror_hint: str = "",
             session: requests.Session | None = None) -> Path:
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    have = partial.stat().st_size if partial.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    http = session or requests
    try:
        # (connect timeout, read timeout): the read timeout is the longest silence we accept.
        response = http.get(url, stream=True, timeout=(min(timeout, 15.0), timeout), headers=headers)
    except requests.exceptions.Timeout:
        raise DownloadError(f"no answer from {url} within {timeout:.0f} s. {mirror_hint}") from None
    except requests.exceptions.ConnectionError as error:
        raise DownloadError(f"could not reach {url} ({_short(error)}). {mirror_hint}") from None

    with response:
        if response.status_code == 416 and have:
            # We already hold every byte the server has; let validation decide.
            pass
        elif response.status_code == 404:
            raise DownloadError(f"{url} was not found (HTTP 404). Check the category name, or "
                                f"that the mirror holds this file.")
        elif response.status_code not in (200, 206):
            raise DownloadError(f"{url} answered HTTP {response.status_code} "
                                f"{response.reason or ''}".rstrip() + ". Try again later. " + mirror_hint)
        else:
            append = response.status_code == 206 and have > 0
            if not append:
                have = 0
            expected = _expected_total(response, have)
            try:
                _stream(response, partial, append, have, expected, progress, target.name)
            except requests.exceptions.RequestException as error:
                size = partial.stat().st_size if partial.exists() else 0
                raise DownloadError(
                    f"the download of {url} stopped after {size} bytes ({_short(error)}); "
                    f"run again to resume from there ({partial} is kept for that).") from None
            size = partial.stat().st_size
            if expected is not None and size < expected:
                raise DownloadError(
                    f"the download of {url} ended after {size} of {expected} bytes (the connection "
                    f"closed early); run again to resume ({partial} is kept for that).")

    if validate is not None:
        try:
            validate(partial)
        except Exception:
            partial.unlink(missing_ok=True)
            raise
    os.replace(partial, target)
    return target


def _expected_total(response: requests.Response, already: int) -> int | None:
    length = response.headers.get("Content-Length")
    if length is None or not length.isdigit():
        return None
    return already + int(length)


def _stream(response, partial: Path, append: bool, have: int, expected: int | None,
            progress: bool, label: str) -> None:
    with open(partial, "ab" if append else "wb") as handle, tqdm(
        total=expected, initial=have, unit="B", unit_scale=True, unit_divisor=1024,
        desc=f"downloading {label}", disable=not progress, mininterval=0.5,
    ) as bar:
        for chunk in response.iter_content(chunk_size=CHUNK_BYTES):
            handle.write(chunk)
            bar.update(len(chunk))
        handle.flush()
        os.fsync(handle.fileno())


def _short(error: Exception) -> str:
    text = str(error)
    return text if len(text) < 200 else text[:200] + "..."
