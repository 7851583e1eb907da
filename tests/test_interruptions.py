"""Doing the bad thing for real: killed and interrupted training, two writers on one run folder and
a full disk while saving.

The training processes here are real (`tests/train_worker.py`: the `rabbit` recipe on 160
drawings, batch 32) and are killed with real signals at seeded random moments. What
`test_training.py` / `test_quickdraw.py` already cover (in-process resume, a planted pickle in the
cache, a stalled download, resolve-level bad settings) is not repeated here; hostile names, planted
pickles and bad parameters are in test_bad_input.py.

Figures the issue asks for (kills survived, hostile inputs tried) are written to the terminal at the
end of the module, also without `-s`.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import os
import queue
import random
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sketchdraw import atomicfiles, cli, dcgan, quickdraw
from sketchdraw.artifacts import RunFolder
from sketchdraw.atomicfiles import SaveError
from tests import robustness
from tests.test_training import tiny_config

REPO = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("train_worker.py")
EPOCH_IMAGE = re.compile(r"^image_at_epoch_(\d{4})\.png$")
FINAL_NAMES = {"config.json", "reals.png", "history.csv", "losses.png", "progress.gif",
               "samples.png", "generator.keras", "index.html", "metrics.json"}

# -- the figures the closing note asks for ------------------------------------------------
FIGURES: dict[str, list] = {"kills": [], "interrupts": []}


@pytest.fixture(scope="module", autouse=True)
def figures(request):
    yield FIGURES
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        _write_figures()


def _write_figures() -> None:
    write = print
    if FIGURES["kills"]:
        write(f"[interruptions] SIGKILLs at random points survived with nothing lost: "
              f"{len(FIGURES['kills'])} (delays after an epoch marker, s: "
              f"{', '.join(f'{d:.2f}' for d in FIGURES['kills'])})")
    if FIGURES["interrupts"]:
        write(f"[interruptions] SIGINTs mid-epoch: {len(FIGURES['interrupts'])} (process stopped, "
              "checkpoint saved, rerun resumed)")


@pytest.fixture(scope="module")
def rabbits(quickdraw_mirror) -> np.ndarray:
    return quickdraw.load_bitmaps("rabbit", limit=160, mirror=quickdraw_mirror, progress=False)


# -- a training process we can kill ---------------------------------------------------------------
class Worker:
    """`tests/train_worker.py` in a subprocess; stdout markers arrive on a queue as they are printed."""

    def __init__(self, runs_dir: Path, epochs: int, mirror: Path, checkpoint_every: int = 1,
                 slow_epoch_seconds: float | None = None):
        command = [sys.executable, "-u", str(WORKER), str(runs_dir), str(epochs), str(mirror),
                   str(checkpoint_every)]
        if slow_epoch_seconds:
            command += ["--slow-steps", str(slow_epoch_seconds)]
        self.stderr_path = Path(runs_dir) / f".worker-stderr-{time.monotonic_ns()}.txt"
        self.started = time.monotonic()
        with open(self.stderr_path, "w") as stderr:
            self.process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=REPO,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg"})
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait_for(self, prefix: str, timeout: float = 120) -> str | None:
        """The next stdout line starting with `prefix`; None if the process ended first."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                raise AssertionError(f"no {prefix!r} within {timeout} s; stdout {self.seen}, "
                                     f"stderr:\n{self.stderr()[-3000:]}") from None
            if line is None:
                self.lines.put(None)
                return None
            self.seen.append(line)
            if line.startswith(prefix):
                return line

    def ready(self) -> int:
        """Wait until the folder is locked and restored; return the epoch training resumes after."""
        line = self.wait_for("WORKER-READY")
        assert line is not None, f"the worker ended before starting: {self.stderr()[-3000:]}"
        return int(line.rsplit("start=", 1)[1])

    def finish(self, timeout: float = 120) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        self.process.wait(timeout=60)


def latest_checkpoint_epoch(run: RunFolder) -> int:
    """The epoch the newest checkpoint holds, read and checked the way a rerun would (0: none)."""
    import tensorflow as tf

    prefix = tf.train.latest_checkpoint(str(run.checkpoints_dir))
    if prefix is None:
        return 0
    reader = tf.train.load_checkpoint(prefix)  # fails on a missing or half-written index
    key = next(k for k in reader.get_variable_to_shape_map() if k.startswith("completed_epochs"))
    epoch = int(reader.get_tensor(key))
    assert prefix.endswith(f"ckpt-{epoch}"), (prefix, epoch)
    return epoch


def check_nothing_lost(run: RunFolder) -> dict:
    """What every reader of the run folder relies on, whatever moment the writer died at.

    Every file under a final name is whole (PNGs decode, history.csv and config.json parse), the
    history has one row per epoch 1..n with no duplicate, every checkpointed epoch has its row and
    its grid, and nothing but temporaries (dot-names) lies around under unexpected names.
    Returns the checkpoint epoch, the history epochs and the temporaries left by kills.
    """
    settings = json.loads(run.config_path.read_text())
    dcgan.RunConfig.from_dict(settings, where=str(run.config_path))
    for path in sorted(run.root.rglob("*.png")) + sorted(run.root.rglob("*.gif")):
        if path.name.startswith("."):
            continue
        with Image.open(path) as picture:
            picture.verify()
        with Image.open(path) as picture:
            picture.load()
    epochs: list[int] = []
    if run.history_path.exists():
        with open(run.history_path, newline="") as handle:
            reader = csv.DictReader(handle)
            assert reader.fieldnames and reader.fieldnames[0] == "epoch", reader.fieldnames
            for row in reader:
                epochs.append(int(row["epoch"]))
                assert np.isfinite(float(row["generator_loss"])), row
                assert None not in row and None not in row.values(), f"ragged row {row}"
    assert epochs == list(range(1, len(epochs) + 1)), f"history epochs {epochs}"
    checkpoint = latest_checkpoint_epoch(run)
    assert len(epochs) >= checkpoint, f"checkpoint {checkpoint} but history {epochs}"
    grids = sorted(int(EPOCH_IMAGE.match(p.name)[1]) for p in run.epoch_images())
    assert grids[:checkpoint] == list(range(1, checkpoint + 1)), f"grids {grids}, ckpt {checkpoint}"
    temporaries = []
    for path in run.root.rglob("*"):
        if path.is_dir() or path.name.startswith(".worker-"):
            continue
        if path.name.startswith("."):
            if path.name != ".lock":
                temporaries.append(path)
            continue
        relative = path.relative_to(run.root).parts
        if relative[0] == "images":
            assert EPOCH_IMAGE.match(path.name), path
            assert len(relative) == 2 or relative[1].startswith("set_aside_"), path
        elif relative[0] == "checkpoints":
            if len(relative) > 2 and relative[1].endswith("_temp"):  # TensorFlow's own temporaries
                temporaries.append(path)
                continue
            if re.match(r"^checkpoint\.tmp[0-9a-f]+$", path.name):
                temporaries.append(path)
                continue
            assert re.match(r"^(checkpoint|ckpt-\d+\.(index|data-\d+-of-\d+))$", path.name), path
        elif relative[0] == "logs":  # TensorBoard's event files (appended; a cut record is skipped)
            assert path.name.startswith("events.out.tfevents.") or path.name == "kernel.log", path
        else:
            assert path.name in FINAL_NAMES, f"unexpected file {path}"
    for path in temporaries:  # a temporary never passes for a final name
        assert path.name.startswith(".") or "checkpoints" in path.parts, path
    return {"checkpoint": checkpoint, "history": epochs, "temporaries": temporaries}


def check_complete(run: RunFolder, epochs: int) -> None:
    state = check_nothing_lost(run)
    assert state["history"] == list(range(1, epochs + 1))
    assert state["checkpoint"] == epochs
    assert [p.name for p in run.epoch_images()] == [f"image_at_epoch_{e:04d}.png"
                                                    for e in range(1, epochs + 1)]
    with Image.open(run.gif_path) as gif:
        assert gif.n_frames == epochs
    for path in (run.samples_path, run.losses_plot_path, run.generator_path):
        assert path.exists(), path


# -- 1. killed mid-epoch, nothing lost -------------------------------------------------------------
def kill_and_resume(runs_dir: Path, mirror: Path, kills: int, epochs: int, checkpoint_every: int,
                    seed: int, longest_delay: float = 1.5,
                    slow_epoch_seconds: float | None = None) -> tuple[int, list[float]]:
    """SIGKILL a real training process `kills` times at seeded random moments after the first
    epoch marker of each attempt, check the folder after every kill, then rerun to completion.
    `slow_epoch_seconds`: each epoch takes at least that long, so the run cannot finish before
    the kills on a fast, idle machine."""
    rng = random.Random(seed)
    run = RunFolder(runs_dir / "rabbit")
    expected_start, delays = 0, []
    for _ in range(kills):
        worker = Worker(runs_dir, epochs, mirror, checkpoint_every, slow_epoch_seconds)
        start = worker.ready()
        assert start == expected_start, "a rerun must resume from the newest whole checkpoint"
        if worker.wait_for("EPOCH-DONE") is None:
            break
        delay = rng.uniform(0.0, longest_delay)
        time.sleep(delay)
        if worker.process.poll() is not None:  # finished before the kill: nothing to count
            worker.kill()  # reap it
            expected_start = latest_checkpoint_epoch(run)  # the last epoch: a rerun has no work
            break
        worker.kill(signal.SIGKILL)
        delays.append(delay)
        state = check_nothing_lost(run)
        print(f"SIGKILL {len(delays)} at +{delay:.2f} s after the first epoch of an attempt from "
              f"epoch {start}: checkpoint {state['checkpoint']}, history rows "
              f"{len(state['history'])}, temporaries left {len(state['temporaries'])}")
        assert state["checkpoint"] >= start, "epochs continue, never go back"
        expected_start = state["checkpoint"]
    final = Worker(runs_dir, epochs, mirror, checkpoint_every, slow_epoch_seconds)
    assert final.ready() == expected_start
    assert final.wait_for("TRAINED") is not None, final.stderr()[-3000:]
    assert final.finish() == 0, final.stderr()[-3000:]
    check_complete(run, epochs)
    FIGURES["kills"].extend(delays)
    return len(delays), delays


def test_sigkill_at_random_points_loses_nothing_and_resumes(tmp_path, quickdraw_mirror):
    began = time.monotonic()
    with robustness.attempt("kills", "SIGKILL at a random point, then resume"):
        survived, delays = kill_and_resume(tmp_path, quickdraw_mirror, kills=1, epochs=4,
                                           checkpoint_every=2, seed=8, slow_epoch_seconds=0.5)
    print(f"survived {survived} SIGKILLs (delays {delays}) in {time.monotonic() - began:.1f} s")
    assert survived >= 1


@pytest.mark.slow
def test_many_sigkills_in_a_row_lose_nothing(tmp_path, quickdraw_mirror):
    began = time.monotonic()
    # At >= 1 s an epoch, an attempt gets at most 2 epochs past its first marker before the kill,
    # so the checkpoint moves by at most 2 per kill and 4 kills land before epoch 10.
    with robustness.attempt("kills", "five SIGKILLs in a row, then resume"):
        survived, delays = kill_and_resume(tmp_path, quickdraw_mirror, kills=5, epochs=10,
                                           checkpoint_every=2, seed=2024, longest_delay=2.0,
                                           slow_epoch_seconds=1.0)
    print(f"survived {survived} SIGKILLs (delays {delays}) in {time.monotonic() - began:.1f} s")
    assert survived >= 4


# -- 2. SIGINT (Ctrl-C) mid-epoch --------------------------------------------------------------------
@pytest.fixture(scope="module")
def interrupted(tmp_path_factory, quickdraw_mirror) -> dict:
    """A run with checkpoint_every=2 gets SIGINT inside epoch 2 (epoch 1 done, not checkpointed),
    then the same command is run again to the end (3 epochs)."""
    runs_dir = tmp_path_factory.mktemp("sigint")
    run = RunFolder(runs_dir / "rabbit")
    worker = Worker(runs_dir, 3, quickdraw_mirror, checkpoint_every=2, slow_epoch_seconds=3.0)
    worker.ready()
    assert worker.wait_for("EPOCH-DONE 1") is not None, worker.stderr()[-3000:]
    time.sleep(1.0)  # epoch 2 takes at least 3 s: this lands mid-epoch
    assert worker.process.poll() is None
    worker.process.send_signal(signal.SIGINT)
    code = worker.finish(timeout=60)
    after_interrupt = {"code": code, "stderr": worker.stderr(), "checkpoint": latest_checkpoint_epoch(run),
                       "state": check_nothing_lost(run)}
    rerun = Worker(runs_dir, 3, quickdraw_mirror, checkpoint_every=2)
    start = rerun.ready()
    trained = rerun.wait_for("TRAINED")
    rerun_code = rerun.finish()
    FIGURES["interrupts"].append(code)
    return {"run": run, **after_interrupt, "rerun_start": start, "rerun_trained": trained,
            "rerun_code": rerun_code, "rerun_stderr": rerun.stderr()}


def test_sigint_mid_epoch_stops_the_process_and_a_rerun_completes(interrupted):
    with robustness.attempt("kills", "SIGINT mid-epoch, then resume"):
        _check_interrupted_then_completed(interrupted)


def _check_interrupted_then_completed(interrupted):
    assert interrupted["code"] != 0  # it stopped, and did not pretend to have finished
    assert "KeyboardInterrupt" in interrupted["stderr"]
    assert interrupted["state"]["history"] == [1]  # epoch 2 was cut short: no row for it
    assert interrupted["rerun_code"] == 0, interrupted["rerun_stderr"][-3000:]
    assert interrupted["rerun_trained"] is not None
    check_complete(interrupted["run"], 3)


def test_sigint_mid_epoch_saves_a_checkpoint_and_says_so(interrupted):
    assert "checkpoint saved after epoch 1" in interrupted["stderr"], interrupted["stderr"][-2000:]
    assert interrupted["checkpoint"] == 1
    assert interrupted["rerun_start"] == 1


# -- 3. one run folder, one writer ---------------------------------------------------------------
def test_a_second_process_is_refused_at_once_and_a_stale_lock_is_taken_over(tmp_path,
                                                                            quickdraw_mirror):
    run = RunFolder(tmp_path / "rabbit")
    first = Worker(tmp_path, 30, quickdraw_mirror, checkpoint_every=1, slow_epoch_seconds=1.0)
    first.ready()
    second = Worker(tmp_path, 30, quickdraw_mirror, checkpoint_every=1)
    code = second.finish(timeout=90)
    waited = time.monotonic() - second.started
    message = second.stderr()
    assert code == 2, message[-3000:]
    assert f"being trained by process {first.pid} on " in message, message[-3000:]
    assert "choose another run name" in message
    assert not any(line.startswith("WORKER-READY") for line in second.seen)
    assert waited < 60, f"the second process took {waited:.0f} s to give up"
    assert first.process.poll() is None, "the refused process must not disturb the running one"
    assert f"process {first.pid} " in (run.root / ".lock").read_text()

    assert first.wait_for("EPOCH-DONE 1") is not None
    first.kill(signal.SIGKILL)  # its .lock file stays behind, naming a dead process
    assert f"process {first.pid} " in (run.root / ".lock").read_text()
    checkpoint = check_nothing_lost(run)["checkpoint"]
    assert checkpoint >= 1

    third = Worker(tmp_path, checkpoint + 2, quickdraw_mirror, checkpoint_every=1)
    assert third.ready() == checkpoint
    assert third.wait_for("TRAINED") is not None, third.stderr()[-3000:]
    assert third.finish() == 0
    assert f"process {third.pid} " in (run.root / ".lock").read_text()
    check_complete(run, checkpoint + 2)


def test_the_cli_refuses_a_locked_run_folder_before_touching_it(tmp_path, monkeypatch, capsys):
    import papermill

    def no_kernel(*args, **kwargs):
        raise AssertionError("a kernel was started for a run folder another process holds")

    monkeypatch.setattr(papermill, "execute_notebook", no_kernel)
    run = RunFolder(tmp_path / "rabbit")
    run.root.mkdir()
    live_notebook = run.root / "quickdraw_dcgan.ipynb"
    live_notebook.write_text("{}")
    with run.lock():
        code = cli.main(["run", "--runs-dir", str(tmp_path), "--epochs", "2"])
    assert live_notebook.exists(), "the live run's notebook was renamed"
    assert code == 2
    assert f"process {os.getpid()}" in capsys.readouterr().err


# -- 4. a full disk while saving an epoch ----------------------------------------------------------
def full_disk_on(monkeypatch, name: str, occurrence: int) -> list[str]:
    """Make the `occurrence`-th atomic save of a file called `name` fail with ENOSPC at fsync."""
    real_fsync, hits = atomicfiles.os.fsync, []

    def fsync(descriptor):
        target = os.readlink(f"/proc/self/fd/{descriptor}")
        if os.path.basename(target).startswith(f".{name}."):
            hits.append(target)
            if len(hits) == occurrence:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(descriptor)

    monkeypatch.setattr(atomicfiles.os, "fsync", fsync)
    return hits


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name the file")
@pytest.mark.parametrize("name, occurrence", [("image_at_epoch_0002.png", 1), ("history.csv", 2)])
def test_a_full_disk_stops_training_clearly_and_the_last_checkpoint_resumes(
        tmp_path, rabbits, monkeypatch, name, occurrence):
    config = tiny_config(tmp_path, epochs=3, checkpoint_every=1)
    run = RunFolder(config.run_dir)
    hits = full_disk_on(monkeypatch, name, occurrence)
    with pytest.raises(SaveError, match="No space left on device") as caught:
        dcgan.train(config, images=rabbits)
    assert caught.value.errno == errno.ENOSPC
    assert name in str(caught.value) and "free disk space" in str(caught.value)
    assert len(hits) == occurrence
    monkeypatch.undo()

    state = check_nothing_lost(run)
    assert state["temporaries"] == [], "the failed save left its temporary file"
    assert state["checkpoint"] == 1 and state["history"] == [1]
    assert not run.generator_path.exists()
    first_grid = run.epoch_image_path(1).read_bytes()

    resumed = dcgan.train(tiny_config(tmp_path, epochs=3, checkpoint_every=1), images=rabbits)
    assert resumed.epochs_trained == 2
    check_complete(run, 3)
    assert run.epoch_image_path(1).read_bytes() == first_grid
    set_aside = list(run.images_dir.glob("set_aside_*/image_at_epoch_0002.png"))
    assert len(set_aside) == (1 if name == "history.csv" else 0)


def test_saved_files_get_the_usual_permissions(tmp_path):
    previous = os.umask(0o022)
    try:
        atomicfiles.atomic_write_text(tmp_path / "history.csv", "epoch\n")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "history.csv").stat().st_mode) == 0o644


def test_unused_path_never_names_something_already_saved(tmp_path):
    first = tmp_path / "table.md"
    assert atomicfiles.unused_path(first) == first
    first.write_text("the morning's table")
    second = atomicfiles.unused_path(first)
    assert second.name == "table-2.md"
    second.write_text("the afternoon's table")
    assert atomicfiles.unused_path(first).name == "table-3.md"
    assert first.read_text() == "the morning's table"
