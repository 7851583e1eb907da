"""The sketchdraw benchmark suite (issue 6): `python bench/run.py [--quick] [--output FILE]`.

Measures training throughput against the seeds' own code, the input pipeline, epoch bookkeeping,
memory, start-up, quality per compute, the input chain's two sources (numpy and tensor: memory
and speed), one device's speed with the devices settings (steps per call, XLA, mixed precision),
the drawing page's wait for suggestions and what the painting networks cost (64x64 and 128x128),
prints one markdown table and writes it (atomically) to
`bench/results/<date>-<host>.md` (`-quick.md` for --quick) with the machine and settings.
Throughput figures are ratios of interleaved runs in this one process, so they hold on a busy
machine; the absolute images/s beside them are context. `--quick` (~2 minutes on 2 CPU cores)
runs every section with fewer rounds and tiny budgets: it checks the suite works, its figures are
rough. Each section lives in its own module next to this file.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    RESULTS_DIR,
    Row,
    cpu_description,
    format_table,
    gpu_names,
    load_average,
    log,
)

BATCH_SIZE = 256  # the rabbit preset's (seed 001's) batch size, for every contestant
THROUGHPUT_DRAWINGS = 10_000


@dataclass(frozen=True)
class Settings:
    rounds: int
    steps_per_round: int
    warm_up_steps: int
    bookkeeping_drawings: int
    quality_images: int
    quality_samples: int


FULL = Settings(rounds=7, steps_per_round=6, warm_up_steps=2, bookkeeping_drawings=10_000,
                quality_images=49_920, quality_samples=450)
QUICK = Settings(rounds=3, steps_per_round=2, warm_up_steps=1, bookkeeping_drawings=1_024,
                 quality_images=768, quality_samples=200)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="every section, fewer rounds and tiny budgets (~2 minutes)")
    parser.add_argument("--output", type=Path, default=None,
                        help="results file (default: bench/results/<date>-<host>[-quick].md)")
    parser.add_argument("--gpu-section", action="store_true",
                        help="run section 7 (mixed precision, steps per call) even without a GPU")
    arguments = parser.parse_args(argv)
    settings = QUICK if arguments.quick else FULL
    started = time.perf_counter()
    load_before = load_average()

    import bookkeeping
    import common
    import data_paths
    import drawing_page
    import keras
    import memory
    import numpy as np
    import paintings
    import quality
    import scaling
    import startup
    import tensorflow as tf
    import throughput

    mirror = common.mirror_folder()
    rabbits = common.rabbit_rows()
    images = common.tiled(rabbits, THROUGHPUT_DRAWINGS)
    gpus = gpu_names()
    rows: list[Row] = []

    section_rows = throughput.measure(images, BATCH_SIZE, settings.rounds,
                                                settings.steps_per_round, settings.warm_up_steps, log)
    rows += section_rows
    rows += bookkeeping.measure(common.tiled(rabbits, settings.bookkeeping_drawings), log)
    rows += memory.measure(rabbits, log)
    rows += startup.measure(mirror, log)
    rows += quality.measure(settings.quality_images, settings.quality_samples, log)
    if gpus or arguments.gpu_section:
        rows += throughput.measure_gpu(images, BATCH_SIZE, settings.rounds,
                                       settings.steps_per_round, settings.warm_up_steps, log=log)
    else:
        rows.append(Row("7 GPU", "throughput with mixed precision on/off, several steps per call",
                        "no GPU here", "-", "skipped",
                        "tf.config.list_physical_devices('GPU') is empty; run `make bench` on a GPU"))
    rows += data_paths.measure(rabbits, data_paths.QUICK if arguments.quick else data_paths.FULL, log)
    rows += scaling.measure(images, scaling.QUICK if arguments.quick else scaling.FULL,
                            gpu=bool(gpus), log=log)
    rows += drawing_page.measure(mirror, log, drawings=4 if arguments.quick else 12)
    rows += paintings.measure(paintings.QUICK if arguments.quick else paintings.FULL, log)

    today = datetime.date.today().isoformat()
    host = socket.gethostname()
    missed = [row for row in rows if row.status == "missed"]
    header = [
        f"# sketchdraw benchmarks, {today}, {host}{' (--quick)' if arguments.quick else ''}",
        "",
        f"- CPU: {cpu_description()}",
        f"- GPU: {', '.join(gpus) if gpus else 'none'}",
        f"- TensorFlow {tf.__version__}, Keras {keras.__version__}, numpy {np.__version__}, "
        f"Python {platform.python_version()}, {platform.platform()}",
        f"- load average (1/5/15 min) before: {load_before}; after: {load_average()}",
        f"- data: real rabbit drawings from {mirror} ({len(rabbits)} drawings), tiled to "
        f"{THROUGHPUT_DRAWINGS:,} in memory for throughput",
        f"- settings: batch {BATCH_SIZE}, tutorial models for every contestant; {settings.rounds} "
        f"interleaved rounds x {settings.steps_per_round} batches (warm-up {settings.warm_up_steps} "
        f"untimed); bookkeeping on {settings.bookkeeping_drawings:,}-drawing epochs; quality "
        f"budget {settings.quality_images:,} images seen, {settings.quality_samples} samples",
        f"- took {time.perf_counter() - started:.0f} s; targets met "
        f"{sum(row.status == 'met' for row in rows)}, missed {len(missed)}"
        + (f" ({', '.join(row.figure for row in missed)})" if missed else ""),
        "",
    ]
    document = "\n".join(header) + format_table(rows) + "\n"
    print(document)
    from sketchdraw.atomicfiles import atomic_write_text

    output = arguments.output or RESULTS_DIR / f"{today}-{host}{'-quick' if arguments.quick else ''}.md"
    output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output, document)
    log(f"written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
