"""A count of the hostile things the suite tries, printed as one summary line at the end of the run.

    with robustness.attempt("hostile names", "NAME=index.html"):
        ...  # do the bad thing, then assert it was refused clearly and nothing saved was lost

An attempt whose block finishes is counted "refused cleanly" (the block's assertions are what
make that claim); one whose block raises is counted "lost" and the error goes on to fail the test.
The line is written by `pytest_terminal_summary` in conftest.py, also without `-s`; under
pytest-xdist each worker hands its counts to the main process when it finishes.
"""

from __future__ import annotations

import contextlib
from collections import Counter

TRIED: Counter = Counter()
REFUSED: Counter = Counter()
LOST: list[tuple[str, str]] = []


@contextlib.contextmanager
def attempt(kind: str, what: str):
    TRIED[kind] += 1
    try:
        yield
    except BaseException:
        LOST.append((kind, what))
        raise
    REFUSED[kind] += 1


def state() -> dict:
    """This process's counts, for a test worker to hand to the process that prints the line."""
    return {"tried": dict(TRIED), "refused": dict(REFUSED), "lost": [list(pair) for pair in LOST]}


def merge(other: dict) -> None:
    """Add a worker's counts (from `state`) to this process's."""
    TRIED.update(other["tried"])
    REFUSED.update(other["refused"])
    LOST.extend(tuple(pair) for pair in other["lost"])


def summary() -> str | None:
    if not TRIED:
        return None
    kinds = ", ".join(f"{kind} {REFUSED[kind]}/{TRIED[kind]}" for kind in sorted(TRIED))
    line = (f"robustness: {sum(TRIED.values())} tried, {sum(REFUSED.values())} refused or "
            f"survived cleanly, {len(LOST)} lost ({kinds})")
    if LOST:
        line += "; lost: " + "; ".join(f"{kind}: {what!r}" for kind, what in LOST)
    return line
