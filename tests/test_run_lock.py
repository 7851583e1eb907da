"""`RunFolder.lock()`: one process trains in a run folder at a time, on Linux, macOS and Windows.

The OS lock (through filelock) refuses a second holder at once, in another process or in the same
one, and names the live holder from `.lock`; the OS drops it when its holder is killed, so the
next run takes it over. Without fcntl (as on Windows) the package still imports and locks.
The training-sized versions of these checks are in test_interruptions.py and test_robustness.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sketchdraw.artifacts import RunFolder, RunLockedError

REPOSITORY = Path(__file__).resolve().parents[1]


def python(code: str, **options) -> subprocess.Popen:
    paths = [str(REPOSITORY), *filter(None, [os.environ.get("PYTHONPATH")])]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **options)


def test_a_second_lock_in_the_same_process_is_refused_and_names_the_holder(tmp_path):
    run = RunFolder(tmp_path / "rabbit")
    with run.lock():
        holder = f"process {os.getpid()} on "
        assert holder in (run.root / ".lock").read_text()
        with pytest.raises(RunLockedError, match=f"is being trained by {holder}.*choose another run name"):
            with RunFolder(run.root).lock():
                pytest.fail("a second lock on a held run folder was granted")
        with pytest.raises(RunLockedError):  # the same RunFolder asking again
            with run.lock():
                pytest.fail("the lock was granted twice")
        assert holder in (run.root / ".lock").read_text(), "a refused attempt erased the holder's text"
    with RunFolder(run.root).lock():  # free again once released
        pass
    assert sorted(path.name for path in run.root.iterdir()) == [".lock"]


def test_a_lock_left_by_a_killed_process_is_taken_over_and_a_live_one_is_named(tmp_path):
    run = RunFolder(tmp_path / "rabbit")
    holder = python(f"""
        import time
        from sketchdraw.artifacts import RunFolder
        with RunFolder({str(run.root)!r}).lock():
            print("HELD", flush=True)
            time.sleep(120)
        """)
    try:
        assert holder.stdout.readline().strip() == "HELD", holder.stderr.read()
        with pytest.raises(RunLockedError, match=f"being trained by process {holder.pid} on "):
            with run.lock():
                pass
    finally:
        holder.kill()  # SIGKILL: no cleanup runs, its .lock stays behind naming it
        holder.wait(timeout=30)
    assert f"process {holder.pid} " in (run.root / ".lock").read_text()
    with run.lock():
        assert f"process {os.getpid()} " in (run.root / ".lock").read_text()


def test_the_package_imports_and_locks_without_fcntl(tmp_path):
    """Windows has no fcntl: importing sketchdraw must not need it, and the lock still holds."""
    checked = python(f"""
        import os, sys, warnings
        sys.modules["fcntl"] = None  # what `import fcntl` meets on Windows
        warnings.simplefilter("ignore")  # filelock says it has only its marker lock here
        import sketchdraw, sketchdraw.artifacts, sketchdraw.cli, sketchdraw.gallery
        from sketchdraw.artifacts import RunFolder, RunLockedError

        run = RunFolder({str(tmp_path / "rabbit")!r})
        with run.lock():
            try:
                with RunFolder(run.root).lock():
                    sys.exit("a second lock on a held run folder was granted")
            except RunLockedError as error:
                assert f"being trained by process {{os.getpid()}} on " in str(error), error
        with run.lock():  # free again once released
            pass
        print("LOCKED WITHOUT FCNTL")
        """)
    out, err = checked.communicate(timeout=120)
    assert checked.returncode == 0 and "LOCKED WITHOUT FCNTL" in out, err
