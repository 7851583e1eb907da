"""Section 4: peak resident memory for a 150,000-drawing category through the real loader.

A temporary mirror folder gets a `rabbit.npy` of 150,000 rows (real rabbit drawings tiled, the size
of a large category file: ~118 MB). A fresh Python process imports TensorFlow and sketchdraw, takes
its resident memory as the baseline, resets the kernel's peak counter, then runs
`quickdraw.load_bitmaps` and one full epoch of `pipeline.quickdraw_dataset`; the figure is
(peak - baseline) / file size. Run as `python bench/memory.py --child FOLDER` it is that process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

FILE_DRAWINGS = 150_000
TARGET_MULTIPLE = 1.3


def child(folder: str) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import resource

    import psutil
    import tensorflow  # noqa: F401  (the baseline is measured after importing TensorFlow)

    from sketchdraw import pipeline, quickdraw

    baseline = psutil.Process().memory_info().rss
    try:  # "5" resets the peak resident size (VmHWM) to the current one (Linux >= 4.0)
        Path("/proc/self/clear_refs").write_text("5")
        peak_source = "VmHWM after a reset"
    except OSError:
        peak_source = "ru_maxrss (no reset: includes the import's peak)"
    images = quickdraw.load_bitmaps("rabbit", mirror=folder, progress=False)
    after_load = psutil.Process().memory_info().rss
    batches = 0
    for _ in pipeline.quickdraw_dataset(images, 256, seed=0):
        batches += 1
    from common import status_kilobytes

    high_water = status_kilobytes("VmHWM")
    if peak_source.startswith("VmHWM") and high_water is not None:
        peak = high_water * 1024
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"baseline": baseline, "after_load": after_load, "peak": peak,
                      "batches": batches, "drawings": int(len(images)), "peak_source": peak_source}))


def measure(rows: np.ndarray, log: Callable[[str], None] = print) -> list:
    from common import Row, judged, tiled

    with tempfile.TemporaryDirectory(prefix="sketchdraw-bench-mirror-") as folder:
        path = Path(folder) / "rabbit.npy"
        np.save(path, tiled(rows, FILE_DRAWINGS))
        size = path.stat().st_size
        log(f"section 4: a fresh process loads and iterates {FILE_DRAWINGS:,} drawings "
            f"({size / 1e6:.0f} MB file)")
        environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        environment.pop("SKETCHDRAW_QUICKDRAW_MIRROR", None)
        done = subprocess.run([sys.executable, __file__, "--child", folder], capture_output=True,
                              text=True, env=environment, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"the memory child failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    multiple = (result["peak"] - result["baseline"]) / size
    loaded = (result["after_load"] - result["baseline"]) / size
    return [Row("4 memory", f"peak RSS above baseline / file size ({FILE_DRAWINGS:,} drawings)",
                f"{multiple:.2f}x", f"<= {TARGET_MULTIPLE}x", judged(multiple, TARGET_MULTIPLE, False),
                f"baseline {result['baseline'] / 1e6:.0f} MB after importing TF; +{loaded:.2f}x after "
                f"load_bitmaps; peak {result['peak'] / 1e6:.0f} MB ({result['peak_source']}) over "
                f"{result['batches']} batches; file {size / 1e6:.1f} MB")]


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        raise SystemExit("usage: python bench/memory.py --child MIRROR_FOLDER (run by bench/run.py)")
