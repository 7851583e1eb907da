"""Run commands as subprocesses, a few at a time, each logging to its own file: how the studies
train many (setting, seed) runs at once on a machine's cores.

    failed = run_jobs([("rabbit-base-s0", [sys.executable, "study.py", "--one", ...]), ...],
                      workers=2, log_dir="runs/ablation")
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


def threads_per_worker(workers: int) -> int:
    """This machine's CPU threads shared between `workers` subprocesses (at least one each)."""
    return max(1, (os.cpu_count() or 1) // workers)


def run_jobs(jobs: Sequence[tuple[str, list[str]]], workers: int, log_dir: str | os.PathLike,
             poll_seconds: float = 2.0) -> list[str]:
    """Run each (name, command) in order, `workers` at a time, appending its output to
    `<log_dir>/<name>.log`; print a line as each starts and ends (with its log's last line) and
    return the names of those that failed. A failure does not stop the others."""
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    waiting = list(jobs)
    running: list[tuple[subprocess.Popen, str]] = []
    failed = []
    while waiting or running:
        while waiting and len(running) < workers:
            name, command = waiting.pop(0)
            with open(log_dir / f"{name}.log", "a") as log:  # the child keeps its own handle
                print(f"start {name}", flush=True)
                running.append((subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT), name))
        time.sleep(poll_seconds)
        for process, name in list(running):
            if process.poll() is None:
                continue
            running.remove((process, name))
            tail = (log_dir / f"{name}.log").read_text().strip().splitlines()[-1:] or [""]
            print(f"{'finished' if process.returncode == 0 else 'FAILED'} {name}: {tail[0]}", flush=True)
            if process.returncode:
                failed.append(name)
    return failed
