"""Hostile input through the front doors: make variables, run names, settings, refusals that must
come before a kernel starts, and a full disk. Each case is counted by `tests/robustness.py`; the
suite's last line says how many were tried and how many were refused (or survived) cleanly.

Downloads from misbehaving servers are in test_hostile_servers.py, crafted files in
test_hostile_files.py, kills in test_interruptions.py.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import tensorflow as tf

from sketchdraw import cli, dcgan, gallery
from sketchdraw.artifacts import RunFolder
from sketchdraw.atomicfiles import SaveError
from sketchdraw.loop import ResumableLoop
from tests import robustness

REPO = Path(__file__).resolve().parents[1]


# -- make variables never reach a shell as code ----------------------------------------------------
FAKE_PYTHON = """#!{python}
import json, os, sys
names = "NAME SET RUN N TRUNCATION INPUT DIRECTION SKETCH CATEGORIES PER_CATEGORY DRAWS RUNS QUICK CATEGORY SETTINGS SEEDS IMAGES WORKERS SKETCHDRAW_MAKE_VARIABLES".split()
with open(os.environ["ARGV_LOG"], "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "env": {{n: os.environ.get(n) for n in names}}}}) + "\\n")
"""


@pytest.fixture
def fake_venv(tmp_path) -> Path:
    """A virtual environment whose python only records how it was called (no training, no
    TensorFlow): what each make target hands over is then read back exactly."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(FAKE_PYTHON.format(python=sys.executable))
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    (venv / ".installed").touch()  # newer than requirements.txt: make does not reinstall
    return venv


HOSTILE_VALUES = ["`touch {marker}`", "$(touch {marker})", "$(shell touch {marker})", 'x"; touch {marker}; echo "',
                  "x'; touch {marker}; echo '", "x\ntouch {marker}", "a b; touch {marker}"]
# each target and the variable it passes on (value checked in argv or, for `run`, in the environment)
TARGETS = [("sample", "RUN"), ("sample", "TRUNCATION"), ("translate", "INPUT"),
           ("translate", "DIRECTION"), ("evaluate", "CATEGORIES"), ("evaluate", "DRAWS"),
           ("draw", "SKETCH"), ("serve", "PORT"), ("sample", "HYBRID"), ("gallery", "RUNS"), ("ablation", "SEEDS"),
           ("ablation", "CATEGORY"), ("run", "CATEGORY"), ("run", "SET"), ("run", "NAME")]


@pytest.mark.parametrize("target, variable", TARGETS, ids=[f"{t}-{v}" for t, v in TARGETS])
def test_no_make_target_runs_code_from_a_variable(tmp_path, fake_venv, target, variable):
    marker = tmp_path / "PWNED"
    log = tmp_path / "argv.jsonl"
    for template in HOSTILE_VALUES:
        value = template.format(marker=marker)
        with robustness.attempt("make variables", f"make {target} {variable}={value!r}"):
            completed = subprocess.run(
                ["make", "-s", target, f"VENV={fake_venv}", f"{variable}={value}"], cwd=REPO,
                capture_output=True, text=True, timeout=60, env={**os.environ, "ARGV_LOG": str(log)})
            assert completed.returncode == 0, completed.stderr
            assert not marker.exists(), f"make {target} ran code from {variable}"
            call = json.loads(log.read_text().splitlines()[-1])
            if target == "run":
                assert variable in call["env"]["SKETCHDRAW_MAKE_VARIABLES"].split()
                assert call["env"][variable] == value
            elif variable == "SKETCH":  # a list of files: split on blanks, never evaluated
                assert call["argv"][call["argv"].index("--sketch") + 1:] == value.split()
            else:
                assert value in call["argv"], call["argv"]


# -- run names that collide with the runs folder's own files ---------------------------------------
@pytest.fixture
def no_kernel(monkeypatch):
    import papermill

    def refuse(*args, **kwargs):
        raise AssertionError("a notebook kernel was started")

    monkeypatch.setattr(papermill, "execute_notebook", refuse)


def _cli_run(capsys, *argv) -> tuple[int, str]:
    code = cli.main(["run", *argv])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("name", ["index.html", "INDEX.HTML", "nul", "con.txt", "rabbit.",
                                  "rabbit "])
def test_a_run_name_the_runs_folder_keeps_for_itself_is_refused(tmp_path, capsys, no_kernel, name):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "index.html").write_text("<html>the runs page</html>")
    with robustness.attempt("run names", f"NAME={name!r}"):
        code, err = _cli_run(capsys, "--name", name, "--runs-dir", str(runs), "--epochs", "1")
        assert code == 2 and "run name" in err and "Traceback" not in err, err
        assert [path.name for path in runs.iterdir()] == ["index.html"]
        assert (runs / "index.html").read_text() == "<html>the runs page</html>"


def test_a_run_name_that_is_a_file_in_the_runs_folder_is_refused(tmp_path, capsys, no_kernel):
    runs = tmp_path / "runs"
    runs.mkdir()
    notes = runs / "notes"
    notes.write_text("mine")
    with robustness.attempt("run names", "NAME=<an existing file>"):
        code, err = _cli_run(capsys, "--name", "notes", "--runs-dir", str(runs), "--epochs", "1")
        assert code == 2 and "is a file, not a folder" in err and "NAME=" in err, err
        assert notes.read_text() == "mine"


def test_a_runs_folder_poisoned_by_an_old_index_html_run_names_the_fix(tmp_path):
    runs = tmp_path / "runs"
    (runs / "index.html").mkdir(parents=True)
    with robustness.attempt("run names", "runs/index.html is a folder"):
        with pytest.raises(ValueError, match="is a folder.*mv "):
            gallery.rebuild_all(runs)
        assert (runs / "index.html").is_dir()


# -- settings through the CLI: refused in a second, nothing written -------------------------------
BAD_SETTINGS = ["seed=-1", f"seed={2 ** 32}", "generator_learning_rate=Infinity",
                "generator_learning_rate=-Infinity", "r1_weight=NaN", "l2=NaN",
                "gradient_penalty_weight=NaN", "stuck_tolerance=NaN", "epochs=0", "batch_size=0",
                "batch_size=true", "limit=-5", "model=no_such_model", "loss=no_such_loss",
                "experiment=flower experiment=cat", "stuck_window=5 stuck_factor=-5",
                "name=../x", "category=../../etc", "no_such_setting=1"]


@pytest.mark.parametrize("settings", BAD_SETTINGS)
def test_bad_settings_are_refused_before_a_kernel_or_a_file(tmp_path, capsys, no_kernel, settings):
    runs = tmp_path / "runs"
    with robustness.attempt("settings", settings):
        argv = [f"--set={item}" for item in settings.split()]
        code, err = _cli_run(capsys, *argv, "--runs-dir", str(runs))
        assert code == 2 and err.startswith("sketchdraw: error: ") and "Traceback" not in err, err
        assert not runs.exists() or list(runs.iterdir()) == []


def test_set_experiment_picks_the_preset(monkeypatch):
    captured = {}
    monkeypatch.setattr(cli, "_execute", lambda notebook, run_dir, parameters, kernel, verbose=False:
                        captured.update(parameters) or 0)
    monkeypatch.setattr(cli, "check_run_can_start", lambda config: None)
    assert cli.main(["run", "--set", "experiment=flower"]) == 0
    assert captured["experiment"] == "flower" and captured["name"] == "flower"


# -- refusals come from the CLI, before papermill, and cost no file --------------------------------
def _finished_run(runs: Path, **settings) -> RunFolder:
    config = dcgan.resolve("rabbit", runs_dir=str(runs), **settings)
    run = RunFolder(config.run_dir)
    run.root.mkdir(parents=True)
    run.save_config(config.to_dict())
    (run.root / "quickdraw_dcgan.ipynb").write_text('{"cells": []}')
    return run


def _files(folder: Path) -> dict:
    return {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}


def test_a_settings_conflict_is_refused_before_papermill_and_renames_nothing(
        tmp_path, capsys, no_kernel):
    run = _finished_run(tmp_path, batch_size=64)
    before = _files(run.root)
    with robustness.attempt("refusals", "rerun with other settings"):
        code, err = _cli_run(capsys, "--runs-dir", str(tmp_path), "--batch", "32")
        assert code == 2 and "other settings" in err and "batch_size: saved 64, asked 32" in err
        assert "NAME=" in err
        assert _files(run.root) == {**before, ".lock": _files(run.root)[".lock"]}


def test_a_locked_run_is_refused_before_papermill_and_renames_nothing(tmp_path, capsys, no_kernel):
    run = _finished_run(tmp_path)
    with robustness.attempt("refusals", "a second process on a live run"):
        with run.lock():
            code, err = _cli_run(capsys, "--runs-dir", str(tmp_path))
        assert code == 2 and "is being trained by" in err, err
        assert sorted(path.name for path in run.root.glob("*.ipynb")) == ["quickdraw_dcgan.ipynb"]


def test_a_missing_data_folder_is_refused_before_a_run_folder_exists(tmp_path, capsys, no_kernel):
    with robustness.attempt("refusals", "DATA=<no such folder>"):
        code, err = _cli_run(capsys, "--experiment", "vangogh", "--data", str(tmp_path / "nope"),
                             "--runs-dir", str(tmp_path / "runs"))
        assert code == 2 and "DATA=" in err and "no such folder" in err, err
        assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("what", ["typo", "a runs folder", "a file"])
def test_commands_on_a_run_name_what_is_wrong_with_it(tmp_path, capsys, what):
    _finished_run(tmp_path / "runs")
    target = {"typo": tmp_path / "runs" / "rabit", "a runs folder": tmp_path / "runs",
              "a file": tmp_path / "runs" / "rabbit" / "config.json"}[what]
    expected = {"typo": "no such run folder; runs in", "a runs folder": "a folder of runs",
                "a file": "is a file"}[what]
    for command in ("sample", "evaluate", "translate", "draw", "serve"):
        extra = {"translate": ["--input", "x.png"], "draw": ["--sketch", "x.png"]}.get(command, [])
        with robustness.attempt("refusals", f"{command} RUN=<{what}>"):
            assert cli.main([command, "--run", str(target), *extra]) == 2
            err = capsys.readouterr().err
            assert expected in err and "train the run to the end" not in err, err


# -- a full disk ------------------------------------------------------------------------------------
@contextlib.contextmanager
def small_disk(path: Path, size: str):
    """A real tmpfs of `size` at `path` where this process may mount one, else None."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True).returncode == 0 if os.geteuid() == 0 else False
    try:
        yield path if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], check=False)


def _checkpoint_loop(root: Path, weights: int) -> ResumableLoop:
    checkpoint = tf.train.Checkpoint(weights=tf.Variable(tf.zeros([weights])))
    return ResumableLoop(RunFolder(root), checkpoint, checkpoint_every=1, log=lambda message: None)


def test_a_checkpoint_that_fills_the_disk_leaves_no_unfinished_folder(tmp_path):
    with small_disk(tmp_path / "disk", "300k") as disk:
        if disk is None:
            pytest.skip("cannot mount a tmpfs here (needs root); the injected case below runs")
        with robustness.attempt("full disk", "checkpoint on a real 300 kB tmpfs"):
            loop = _checkpoint_loop(disk / "run", weights=40_000)  # 160 kB: one fits, not two
            loop.save(1)
            with pytest.raises(SaveError, match="free disk space") as caught:
                loop.save(2)
            assert caught.value.errno == errno.ENOSPC
            assert "resumes after epoch 1" in str(caught.value)
            names = sorted(path.name for path in loop.run.checkpoints_dir.iterdir())
            assert not [name for name in names if "_temp" in name], names
            assert loop.manager.latest_checkpoint.endswith("ckpt-1")


def test_an_unfinished_checkpoint_folder_is_removed_on_failure_and_on_resume(tmp_path, monkeypatch):
    loop = _checkpoint_loop(tmp_path / "run", weights=10)
    loop.save(1)

    def fill_the_disk(checkpoint_number):
        unfinished = loop.run.checkpoints_dir / f"ckpt-{checkpoint_number}_temp"
        unfinished.mkdir()
        (unfinished / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"\0" * 1000)
        raise tf.errors.ResourceExhaustedError(None, None, f"{unfinished}; No space left on device")

    with robustness.attempt("full disk", "checkpoint write fails (injected ENOSPC)"):
        monkeypatch.setattr(loop.manager, "save", fill_the_disk)
        with pytest.raises(SaveError, match="no space left on device.*resumes after epoch 1"):
            loop.save(2)
        assert not list(loop.run.checkpoints_dir.glob("*_temp"))
    with robustness.attempt("full disk", "an unfinished checkpoint folder left by a kill"):
        (loop.run.checkpoints_dir / "ckpt-2_temp").mkdir()
        resumed = _checkpoint_loop(tmp_path / "run", weights=10)
        assert resumed.restore() == 1
        assert not list(loop.run.checkpoints_dir.glob("*_temp"))


def _papermill_fills_the_disk(monkeypatch, half_written: bool):
    import papermill

    def execute_notebook(source, output, **kwargs):
        if half_written:
            Path(output).write_text('{"cells": [{"source": "trun')  # the write that failed
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(papermill, "execute_notebook", execute_notebook)


@pytest.mark.parametrize("half_written", [True, False])
def test_a_full_disk_under_papermill_gives_one_clear_line_and_keeps_the_notebook(
        tmp_path, capsys, monkeypatch, half_written):
    run = _finished_run(tmp_path)
    good = (run.root / "quickdraw_dcgan.ipynb").read_text()
    with robustness.attempt("full disk", f"papermill's write fails (half written: {half_written})"):
        _papermill_fills_the_disk(monkeypatch, half_written)
        code, err = _cli_run(capsys, "--runs-dir", str(tmp_path))
        assert code == 2 and "Traceback" not in err
        assert "disk holding" in err and "free disk space" in err and "resumes" in err, err
        assert (run.root / "quickdraw_dcgan.ipynb").read_text() == good
        assert sorted(path.name for path in run.root.glob("*.ipynb")) == ["quickdraw_dcgan.ipynb"]
        assert not list(run.root.glob(".*.ipynb"))


def test_a_finished_notebook_replaces_the_old_one_which_keeps_a_dated_name(tmp_path, monkeypatch):
    import papermill

    run = _finished_run(tmp_path)
    monkeypatch.setattr(papermill, "execute_notebook", lambda source, output, **kwargs:
                        Path(output).write_text('{"cells": [], "new": true}'))
    assert cli.main(["run", "--runs-dir", str(tmp_path)]) == 0
    assert json.loads((run.root / "quickdraw_dcgan.ipynb").read_text())["new"] is True
    dated = [path for path in run.root.glob("quickdraw_dcgan.*.ipynb")]
    assert len(dated) == 1 and dated[0].read_text() == '{"cells": []}'


@pytest.mark.slow  # two kernels on a real tmpfs, ~50 s; the injected cases above run in make test
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_real_run_on_a_full_disk_says_so_and_resumes_once_there_is_room(tmp_path, quickdraw_mirror):
    """The whole path for real: the CLI, papermill, the kernel, a 1.5 MB disk."""
    with small_disk(tmp_path / "disk", "1500k") as disk:
        if disk is None:
            pytest.skip("cannot mount a tmpfs here")
        with robustness.attempt("full disk", "make run on a real 1.5 MB tmpfs"):
            command = [sys.executable, "-m", "sketchdraw", "run", "--category", "rabbit",
                       "--epochs", "2", "--limit", "64", "--batch", "32", "--mirror",
                       str(quickdraw_mirror), "--runs-dir", str(disk)]
            completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                                       timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            assert completed.returncode == 2, completed.stderr[-3000:]
            last = completed.stderr.strip().splitlines()[-1]
            assert last.startswith("sketchdraw: error:") and "free disk space" in last, last
            assert "Traceback" not in completed.stderr.split("sketchdraw: error:")[-1]
            run = RunFolder(disk / "rabbit")
            unfinished = list(run.checkpoints_dir.glob("*_temp")) if run.checkpoints_dir.is_dir() \
                else []
            assert unfinished == []
            for notebook in run.root.glob("*.ipynb"):
                json.loads(notebook.read_text())  # whole, or not there
            assert not list(run.root.glob(".*.ipynb"))

            # room again: the same command finishes the run
            subprocess.run(["mount", "-o", "remount,size=100m", str(disk)], check=True)
            completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                                       timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            assert completed.returncode == 0, completed.stderr[-3000:]
            assert [int(row["epoch"]) for row in run.read_history()] == [1, 2]
            assert run.generator_path.is_file()


def test_a_workers_counts_reach_the_summary_line(monkeypatch):
    """Under pytest-xdist each worker's counts travel as JSON to the main process and add up there."""
    from collections import Counter

    monkeypatch.setattr(robustness, "TRIED", Counter())
    monkeypatch.setattr(robustness, "REFUSED", Counter())
    monkeypatch.setattr(robustness, "LOST", [])
    with robustness.attempt("run names", "index.html"):
        pass
    worker = json.loads(json.dumps(robustness.state()))
    with contextlib.suppress(ValueError), robustness.attempt("settings", "epochs=-1"):
        raise ValueError("refused too late")
    robustness.merge(worker)
    assert robustness.summary() == ("robustness: 3 tried, 2 refused or survived cleanly, 1 lost "
                                    "(run names 2/2, settings 0/1); lost: settings: 'epochs=-1'")
