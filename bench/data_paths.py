"""Section 8: the two sources of `pipeline.image_dataset`, extra memory and throughput side by side.

"numpy" gathers each batch from the uint8 array in place through `tf.numpy_function`; "tensor"
holds a copy of the array as a host tensor and gathers with `tf.gather` (no Python per batch, what
a TPUStrategy needs). A temporary `.npy` of 150,000 real rabbit drawings tiled (the size of a large
category, ~118 MB) is loaded by a fresh process per source and round, so one source's allocations
never count against the other. Each process imports TensorFlow and sketchdraw, loads the array,
takes its resident memory as the baseline (the array the caller holds anyway is in it), resets the
kernel's peak counter, builds the chain, pulls warm-up batches, times a few hundred batches of 256
and reads its resident memory (now and at peak). Memory figures are (RSS - baseline) / array size;
the sources run alternately (numpy, tensor, numpy, ...) and throughput is compared per round.

`python bench/data_paths.py [--quick] [--output FILE]` runs this section alone, prints its table and
writes it to `bench/results/<date>-<host>-data-paths[-quick].md`; `bench/run.py` runs it as
section 8. `python bench/data_paths.py --child SOURCE FILE BATCHES WARM_UP` is one such process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SECTION = "8 input sources"
SOURCES = ("numpy", "tensor")
DRAWINGS = 150_000
BATCH_SIZE = 256


@dataclass(frozen=True)
class Budget:
    rounds: int  # processes per source, alternating
    batches: int  # timed batches per process
    warm_up: int  # untimed batches per process first


FULL = Budget(rounds=3, batches=400, warm_up=20)
QUICK = Budget(rounds=1, batches=60, warm_up=5)


def child(source: str, file: str, batches: int, warm_up: int) -> dict:
    import resource

    import psutil
    import tensorflow as tf  # the baseline is measured after importing TensorFlow

    from sketchdraw import pipeline

    process = psutil.Process()
    images = np.load(file)
    baseline = process.memory_info().rss
    try:  # "5" resets the peak resident size (VmHWM) to the current one (Linux >= 4.0)
        Path("/proc/self/clear_refs").write_text("5")
        peak_source = "VmHWM after a reset"
    except OSError:
        peak_source = "ru_maxrss (no reset: includes the import's peak)"
    started = time.perf_counter()
    dataset = pipeline.image_dataset(images, BATCH_SIZE, (28, 28, 1), seed=0, source=source)
    built_s = time.perf_counter() - started
    after_build = process.memory_info().rss

    def endless():
        while True:  # epoch after epoch, as the training loop sees it
            yield from dataset

    batch_stream = endless()
    started = time.perf_counter()
    for _ in range(warm_up):
        next(batch_stream)
    first_batches_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(batches):
        next(batch_stream)
    rate = batches * BATCH_SIZE / (time.perf_counter() - started)
    after = process.memory_info().rss
    from common import status_kilobytes

    high_water = status_kilobytes("VmHWM")
    if peak_source.startswith("VmHWM") and high_water is not None:
        peak = high_water * 1024
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"source": source, "array_bytes": int(images.nbytes), "baseline": baseline,
            "after_build": after_build, "after": after, "peak": peak, "peak_source": peak_source,
            "images_per_s": rate, "built_s": built_s, "warm_up_s": first_batches_s,
            "tensorflow": tf.__version__}


def _run_child(source: str, file: Path, budget: Budget) -> dict:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, __file__, "--child", source, str(file),
                           str(budget.batches), str(budget.warm_up)],
                          capture_output=True, text=True, env=environment, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"the input-source child ({source}) failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(rows: np.ndarray, budget: Budget = FULL, log: Callable[[str], None] = print) -> list:
    return measure_with_details(rows, budget, log)[0]


def measure_with_details(rows: np.ndarray, budget: Budget = FULL,
                         log: Callable[[str], None] = print) -> tuple[list, dict[str, list[dict]]]:
    """The table's rows and every process's own figures, by source."""
    from common import Row, median, spread, tiled

    results: dict[str, list[dict]] = {source: [] for source in SOURCES}
    with tempfile.TemporaryDirectory(prefix="sketchdraw-bench-sources-") as folder:
        file = Path(folder) / "rabbit.npy"
        np.save(file, tiled(rows, DRAWINGS))
        log(f"section 8: numpy vs tensor source, a fresh process each, {budget.rounds} round(s) of "
            f"{budget.batches} batches of {BATCH_SIZE} on {DRAWINGS:,} drawings")
        for round_number in range(1, budget.rounds + 1):
            for source in SOURCES:
                results[source].append(_run_child(source, file, budget))
            log(f"  round {round_number}/{budget.rounds}: " + ", ".join(
                f"{source} {results[source][-1]['images_per_s']:,.0f} images/s, "
                f"+{_extra(results[source][-1], 'after'):.2f}x RSS" for source in SOURCES))

    array_mb = results["numpy"][0]["array_bytes"] / 1e6
    figures = {}
    table = []
    for source in SOURCES:
        runs = results[source]
        figures[source] = {key: median([_extra(run, key) for run in runs])
                           for key in ("after_build", "after", "peak")}
        rates = [run["images_per_s"] for run in runs]
        figures[source]["rate"] = median(rates)
        figure = figures[source]
        table.append(Row(
            SECTION, f"{source} source: extra RSS / array size; images/s ({DRAWINGS:,} drawings)",
            f"+{figure['after']:.2f}x; {figure['rate']:,.0f}/s", "-", "-",
            f"peak +{figure['peak']:.2f}x, +{figure['after_build']:.2f}x once built; "
            f"{array_mb:.0f} MB array; built in {median([r['built_s'] for r in runs]):.2f} s, "
            f"first {budget.warm_up} batches {median([r['warm_up_s'] for r in runs]):.2f} s; "
            f"rounds: {', '.join(f'{rate:,.0f}' for rate in rates)} images/s"))
    speed = [tensor["images_per_s"] / numpy_run["images_per_s"]
             for numpy_run, tensor in zip(results["numpy"], results["tensor"])]
    numpy_figure, tensor_figure = figures["numpy"], figures["tensor"]
    extra_mb = {source: figures[source]["after"] * array_mb for source in SOURCES}
    table.append(Row(
        SECTION, "tensor / numpy: extra memory; throughput",
        f"{extra_mb['tensor'] / extra_mb['numpy']:.1f}x ({extra_mb['tensor']:.0f} / "
        f"{extra_mb['numpy']:.0f} MB); {median(speed):.2f}x", "-", "-",
        f"peak {tensor_figure['peak'] * array_mb:.0f} / {numpy_figure['peak'] * array_mb:.0f} MB; "
        f"throughput: median of per-round ratios (range {spread(speed)}); "
        f"peak measured as {results['numpy'][0]['peak_source']}"))
    return table, results


def _extra(run: dict, key: str) -> float:
    return (run[key] - run["baseline"]) / run["array_bytes"]


def main(argv: list[str] | None = None) -> int:
    import argparse
    import datetime
    import platform
    import socket

    import common as suite
    from common import rabbit_rows

    parser = argparse.ArgumentParser(description="section 8 alone: " + __doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"one round of {QUICK.batches} batches per source (seconds)")
    parser.add_argument("--output", type=Path, default=None,
                        help="results file (default: bench/results/<date>-<host>-data-paths"
                             "[-quick].md)")
    arguments = parser.parse_args(argv)
    budget = QUICK if arguments.quick else FULL
    started = time.perf_counter()
    load_before = suite.load_average()
    rows, results = measure_with_details(rabbit_rows(), budget, suite.log)

    today, host = datetime.date.today().isoformat(), socket.gethostname()
    header = [
        f"# sketchdraw benchmarks, section 8 (input sources), {today}, {host}"
        f"{' (--quick)' if arguments.quick else ''}",
        "",
        f"- CPU: {suite.cpu_description()}",
        f"- TensorFlow {results['numpy'][0]['tensorflow']}, numpy {np.__version__}, "
        f"Python {platform.python_version()}",
        f"- load average (1/5/15 min) before: {load_before}; after: {suite.load_average()}",
        f"- data: real rabbit drawings tiled to {DRAWINGS:,} rows (uint8, a temporary .npy); "
        f"{budget.rounds} round(s) per source, each a fresh process: {budget.warm_up} warm-up + "
        f"{budget.batches} timed batches of {BATCH_SIZE}",
        f"- took {time.perf_counter() - started:.0f} s",
        "",
    ]
    document = "\n".join(header) + suite.format_table(rows) + "\n"
    print(document)
    from sketchdraw.atomicfiles import atomic_write_text

    name = f"{today}-{host}-data-paths{'-quick' if arguments.quick else ''}.md"
    output = arguments.output or suite.RESULTS_DIR / name
    output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output, document)
    suite.log(f"written to {output}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        print(json.dumps(child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))))
    else:
        sys.exit(main())
