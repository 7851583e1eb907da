"""Section 5: seconds from process start to the first finished train step.

A fresh process runs a tiny real training through `dcgan.train` (rabbit preset, 256 drawings,
one epoch) with `make_train_step` wrapped (the name the DCGAN run calls) so the first step's completion is timed (its statistics
are read, so the step has really finished). For comparison a second fresh process runs the seed 001
code (`seed001_tutorial.py`) up to its first `train_step`. Times are measured from the kernel's
process start (`psutil.Process().create_time()`), so interpreter and import time count.
Run as `python bench/startup.py --child sketchdraw|seed001 MIRROR RUNS_DIR` it is such a process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _since_start() -> float:
    import psutil

    return time.time() - psutil.Process().create_time()


def child_sketchdraw(mirror: str, runs_dir: str) -> dict:
    from sketchdraw import dcgan
    from sketchdraw.dcgan import run as dcgan_run

    imported = _since_start()
    first: dict = {}
    make_train_step = dcgan_run.make_train_step

    def timed_make_train_step(*args, **kwargs):
        step = make_train_step(*args, **kwargs)

        def step_that_reports(batch):
            statistics = step(batch)
            if "seconds" not in first:
                float(statistics["generator_loss"])  # the step has finished
                first["seconds"] = _since_start()
            return statistics

        return step_that_reports

    dcgan_run.make_train_step = timed_make_train_step
    config = dcgan.resolve("rabbit", name="startup", runs_dir=runs_dir, epochs=1, limit=256,
                                 checkpoint_every=1, progress=False, mirror=mirror)
    dcgan.train(config)
    return {"first_step": first["seconds"], "imported": imported, "whole_run": _since_start()}


def child_seed001(mirror: str) -> dict:
    import numpy as np
    import seed001_tutorial as seed

    imported = _since_start()
    seed.setup(np.load(Path(mirror) / "rabbit.npy")[:256])
    seed.train_step(next(iter(seed.train_dataset)))
    seed.generator.trainable_variables[0].numpy()
    return {"first_step": _since_start(), "imported": imported}


def _run_child(kind: str, mirror: str, runs_dir: str) -> dict:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, __file__, "--child", kind, mirror, runs_dir],
                          capture_output=True, text=True, env=environment, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"the start-up child ({kind}) failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(mirror: Path, log: Callable[[str], None] = print) -> list:
    from common import Row

    log("section 5: fresh processes to the first finished train step")
    with tempfile.TemporaryDirectory(prefix="sketchdraw-bench-") as runs_dir:
        ours = _run_child("sketchdraw", str(mirror), runs_dir)
        seed = _run_child("seed001", str(mirror), runs_dir)
    return [Row("5 start-up", "process start to first finished train step (dcgan.train)",
                f"{ours['first_step']:.1f} s", "none set", "-",
                f"imports done at {ours['imported']:.1f} s; tiny run (1 step, grid, checkpoint, "
                f"GIF, plots, generator.keras, pages) finished at {ours['whole_run']:.1f} s; "
                f"seed 001 code: first step at {seed['first_step']:.1f} s "
                f"(imports {seed['imported']:.1f} s)")]


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--child":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        if sys.argv[2] == "sketchdraw":
            result = child_sketchdraw(sys.argv[3], sys.argv[4])
        else:
            result = child_seed001(sys.argv[3])
        print(json.dumps(result))
    else:
        raise SystemExit("usage: python bench/startup.py --child sketchdraw|seed001 MIRROR RUNS_DIR "
                         "(run by bench/run.py)")
