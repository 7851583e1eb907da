"""Runs that survive a recycled Colab runtime: the run folders on Google Drive.

A Colab runtime's disk (/content) is wiped when the runtime is recycled, and with it every
checkpoint, so "run the notebook again and it resumes" would start over. With the notebook
parameter `google_drive = True` the runs go to Drive instead (mounted on first use), where the
next runtime finds them and resumes.
"""

from __future__ import annotations

import sys
from pathlib import Path

DRIVE_MOUNT = Path("/content/drive")
DRIVE_RUNS = Path("MyDrive") / "sketchdraw" / "runs"  # under the mount, when runs_dir is relative


def on_colab() -> bool:
    return "google.colab" in sys.modules


def runs_folder(runs_dir: str | None, google_drive: bool, mount_point: Path = DRIVE_MOUNT,
                log=print) -> str | None:
    """The runs folder to use: on Colab with `google_drive`, Drive is mounted and a relative (or
    unset) `runs_dir` is placed under MyDrive/sketchdraw/ (an absolute one is kept as given).
    Elsewhere `runs_dir` is returned unchanged (None keeps the preset's)."""
    if not google_drive:
        if on_colab() and not (runs_dir and Path(runs_dir).is_absolute()):
            log("note: runs are written under /content, which Colab wipes when it recycles the "
                "runtime; set google_drive = True to keep them on Google Drive and resume there")
        return runs_dir
    if not on_colab():
        log("google_drive = True only applies on Colab; runs stay in "
            f"{runs_dir or 'the preset runs folder'}")
        return runs_dir
    from google.colab import drive

    drive.mount(str(mount_point))
    if runs_dir and Path(runs_dir).is_absolute():
        folder = Path(runs_dir)
    elif runs_dir and runs_dir != "runs":
        folder = mount_point / "MyDrive" / runs_dir
    else:
        folder = mount_point / DRIVE_RUNS
    folder.mkdir(parents=True, exist_ok=True)
    log(f"runs on Google Drive: {folder} (a new runtime resumes from there)")
    return str(folder)
