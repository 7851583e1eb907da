"""What every benchmark shares: the real rabbit drawings, interleaved timing, and the result rows.

Every figure the suite reports is either a ratio measured inside one process with the contestants
interleaved (A, B, C, A, B, C, ...; median over rounds), or a quantity that does not depend on how
busy the machine is (memory, a share of one epoch). A machine shared with other work therefore still
gives comparable numbers; absolute images/s are printed for context only.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "bench" / "results"
MIRROR_ENVIRONMENT = "SKETCHDRAW_QUICKDRAW_MIRROR"
CATEGORY = "rabbit"


def mirror_folder() -> Path:
    """The Quick, Draw! numpy_bitmap mirror: $SKETCHDRAW_QUICKDRAW_MIRROR or ../shared/data/..."""
    configured = os.environ.get(MIRROR_ENVIRONMENT)
    folder = Path(configured) if configured else REPO_ROOT.parent / "shared" / "data" / "quickdraw" / "numpy_bitmap"
    if not (folder / f"{CATEGORY}.npy").is_file():
        raise SystemExit(f"the benchmarks need real {CATEGORY} drawings: {folder / (CATEGORY + '.npy')} "
                         f"is missing; set {MIRROR_ENVIRONMENT} to a folder of numpy_bitmap .npy files")
    return folder


def rabbit_rows() -> np.ndarray:
    """Every rabbit drawing of the mirror, uint8 (N, 784), through the project's own loader."""
    from sketchdraw import quickdraw

    return quickdraw.load_bitmaps(CATEGORY, mirror=mirror_folder(), progress=False)


def tiled(rows: np.ndarray, count: int) -> np.ndarray:
    """`count` rows made by repeating `rows` (the shared file is small; throughput needs volume)."""
    repeats = -(-count // len(rows))
    return np.ascontiguousarray(np.tile(rows, (repeats, 1))[:count])


# -- timing ----------------------------------------------------------------------------------------
@dataclass
class Contestant:
    """Something that processes images: `run(steps)` does `steps` batches and returns images done."""

    name: str
    run: Callable[[int], int]
    rates: list[float] = field(default_factory=list)  # images/s of each timed round

    def timed(self, steps: int) -> float:
        start = time.perf_counter()
        images = self.run(steps)
        rate = images / (time.perf_counter() - start)
        self.rates.append(rate)
        return rate


def interleave(contestants: Sequence[Contestant], rounds: int, steps: int, warm_up_steps: int,
               log: Callable[[str], None] = print) -> None:
    """Warm every contestant up (not timed), then time them A, B, C, A, B, C, ... for `rounds`."""
    for contestant in contestants:
        contestant.run(warm_up_steps)
    for round_number in range(1, rounds + 1):
        rates = [f"{c.name} {c.timed(steps):.0f}" for c in contestants]
        log(f"  round {round_number}/{rounds}: " + ", ".join(rates) + " images/s")


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def round_ratios(numerator: Contestant, denominator: Contestant) -> list[float]:
    """Per-round ratios: each pair was measured back to back, so machine load cancels out."""
    return [a / b for a, b in zip(numerator.rates, denominator.rates)]


def spread(values: Sequence[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}" if values else "-"


# -- results ---------------------------------------------------------------------------------------
@dataclass
class Row:
    """One line of the results table."""

    section: str
    figure: str
    measured: str
    target: str = "-"
    status: str = "-"  # "met", "missed", "-" (no target), "skipped"
    notes: str = ""


def judged(value: float, target: float, at_least: bool) -> str:
    return "met" if (value >= target if at_least else value <= target) else "missed"


def status_kilobytes(field: str) -> int | None:
    """A field of /proc/self/status in kB (VmRSS, VmHWM), or None where there is no /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


# ----------------------------------------------------------------------------------------------
# Reports: what every section's results file says about the machine, and the table


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cpu_description() -> str:
    model, logical = platform.processor() or "unknown CPU", 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                logical += 1
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {logical or os.cpu_count()} logical cores ({usable} usable by this process)"


def load_average() -> str:
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def gpu_names() -> list[str]:
    import tensorflow as tf

    names = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        names.append(details.get("device_name", device.name))
    return names


def format_table(rows: list[Row]) -> str:
    lines = ["| section | figure | measured | target | status | notes |",
             "| --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        cells = [row.section, row.figure, row.measured, row.target, row.status, row.notes]
        lines.append("| " + " | ".join(str(cell).replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines)
