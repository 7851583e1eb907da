"""Write files so that a crash, a kill or a full disk never leaves half a file under its final name.

Everything the project saves (downloads, epoch grids, history, settings, plots) goes through
`atomic_write`: the bytes land in a temporary file in the same folder, are flushed to disk, and only
then renamed over the final name (`os.replace` is atomic on POSIX and Windows).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates files readable by their owner only; saved files get the usual permissions.
FILE_MODE = 0o666 & ~_current_umask()


class SaveError(OSError):
    """A file could not be saved (full disk, no permission); names the file and what to do."""


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator:
    """Open a temporary sibling of `path` for writing; rename it to `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, mode) as handle:
            yield handle
            handle.flush()
            os.fchmod(handle.fileno(), FILE_MODE)
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        _remove_quietly(temporary)
        raise SaveError(
            error.errno, f"could not save {path}: {error.strerror or error} "
            "(check free disk space and permissions; nothing under that name was changed)"
        ) from error
    except BaseException:
        _remove_quietly(temporary)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_write(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_write(path, "w") as handle:
        handle.write(text)


def _remove_quietly(path: str | os.PathLike) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def unused_path(path: str | os.PathLike) -> Path:
    """`path`, or `<stem>-2<suffix>`, `-3`, ... when something is already saved there: for records
    such as a study's table of the day, which a second study the same day must not replace."""
    path = Path(path)
    candidate, number = path, 2
    while candidate.exists():
        candidate, number = path.with_name(f"{path.stem}-{number}{path.suffix}"), number + 1
    return candidate
