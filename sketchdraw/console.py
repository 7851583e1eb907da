"""A quiet console: TensorFlow's C++ start-up lines and the notebook kernel's own log go to a file
in the run folder instead of the terminal, unless asked for (`--verbose`, `make run VERBOSE=1`,
or SKETCHDRAW_VERBOSE=1).

TensorFlow writes its start-up lines ("oneDNN custom operations are on", "Could not find cuda
drivers", "failed call to cuInit", "remapper failed") from C++ straight to file descriptor 2,
some before its own log level is read, so no Python setting hides them; the kernel's "running over
TCP without encryption" warning comes the same way. What a run prints for its user (progress
bars, epoch lines, errors) goes through Python and is not touched.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

KERNEL_LOG = "kernel.log"


def verbose_requested() -> bool:
    return os.environ.get("SKETCHDRAW_VERBOSE", "").strip().lower() not in ("", "0", "false", "no")


@contextlib.contextmanager
def native_stderr_silenced(enabled: bool = True) -> Iterator[None]:
    """Send what C/C++ code writes to file descriptor 2 to /dev/null inside the block (Python's
    own sys.stderr is flushed first and writes again normally afterwards)."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def quiet_kernel_options(run_dir: Path, verbose: bool) -> dict:
    """papermill keyword arguments that start the kernel with its native output in
    `run_dir/logs/kernel.log` (and TensorFlow's C++ logging at errors only); {} when verbose."""
    if verbose:
        return {}
    from jupyter_client import AsyncKernelManager

    log_path = run_dir / "logs" / KERNEL_LOG
    log_path.parent.mkdir(parents=True, exist_ok=True)

    class QuietKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kwargs):
            handle = open(log_path, "ab")  # the kernel process holds it; closed when it ends
            kwargs.setdefault("stderr", handle)
            kwargs.setdefault("stdout", handle)
            kwargs["env"] = {**(kwargs.get("env") or os.environ), "TF_CPP_MIN_LOG_LEVEL":
                             os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")}
            try:
                return await super().start_kernel(**kwargs)
            finally:
                handle.close()  # the kernel has its own copy of the descriptor

    # capture_fd_output off: ipykernel would otherwise copy descriptor 2 back into the notebook
    # and onto our terminal
    return {"kernel_manager_class": QuietKernelManager,
            "extra_arguments": ["--IPKernelApp.capture_fd_output=False"]}
