"""Colab: the notebooks' setup cell, executed as Colab and as a local kernel would run it, and the
run folders on Google Drive (a stand-in `google.colab` module records the mount)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from sketchdraw import colab

REPO = Path(__file__).resolve().parents[1]
SETTINGS_NOTEBOOKS = ["quickdraw_dcgan.ipynb", "wikiart_dcgan.ipynb", "cyclegan.ipynb",
                      "sketch2img.ipynb"]


def setup_cell(notebook: str) -> str:
    cells = json.loads((REPO / "notebooks" / notebook).read_text())["cells"]
    sources = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]
    return next(source for source in sources if "SKETCHDRAW_SOURCE" in source)


@pytest.fixture
def on_colab(monkeypatch, tmp_path):
    """A stand-in google.colab whose drive.mount records its calls and makes the folder."""
    mounts = []
    google = types.ModuleType("google")
    package = types.ModuleType("google.colab")
    drive = types.ModuleType("google.colab.drive")

    def mount(path):
        mounts.append(path)
        (Path(path) / "MyDrive").mkdir(parents=True, exist_ok=True)

    drive.mount = mount
    package.drive = drive
    google.colab = package
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", package)
    monkeypatch.setitem(sys.modules, "google.colab.drive", drive)
    return mounts


@pytest.fixture
def pip_calls(monkeypatch):
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda command, **kwargs: calls.append(command))
    return calls


def _without_sketchdraw(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "sketchdraw" else real(name, *args))


@pytest.mark.parametrize("notebook", SETTINGS_NOTEBOOKS)
def test_the_setup_cell_says_it_is_installed_and_goes_on(notebook, pip_calls, capsys):
    exec(setup_cell(notebook), {})
    assert "sketchdraw is installed" in capsys.readouterr().out
    assert pip_calls == []


def test_on_colab_the_setup_cell_installs_from_its_parameter(monkeypatch, on_colab, pip_calls,
                                                            capsys):
    _without_sketchdraw(monkeypatch)
    exec(setup_cell("quickdraw_dcgan.ipynb"), {})
    assert pip_calls == [[sys.executable, "-m", "pip", "install", "-q", "sketchdraw-gan"]]
    assert "installing sketchdraw from sketchdraw-gan" in capsys.readouterr().out


def test_a_local_kernel_without_the_package_is_told_to_run_make_setup(monkeypatch, pip_calls):
    _without_sketchdraw(monkeypatch)
    with pytest.raises(ModuleNotFoundError, match="make setup"):
        exec(setup_cell("quickdraw_dcgan.ipynb"), {})
    assert pip_calls == []


@pytest.mark.parametrize("runs_dir, expected", [
    (None, "MyDrive/sketchdraw/runs"), ("runs", "MyDrive/sketchdraw/runs"),
    ("experiments/gan", "MyDrive/experiments/gan")])
def test_google_drive_mounts_and_puts_the_runs_there(tmp_path, on_colab, runs_dir, expected):
    lines = []
    folder = colab.runs_folder(runs_dir, True, mount_point=tmp_path / "drive", log=lines.append)
    assert on_colab == [str(tmp_path / "drive")]
    assert folder == str(tmp_path / "drive" / expected) and Path(folder).is_dir()
    assert "Google Drive" in lines[0]


def test_an_absolute_runs_dir_is_kept_on_drive(tmp_path, on_colab):
    chosen = tmp_path / "drive" / "MyDrive" / "mine"
    assert colab.runs_folder(str(chosen), True, mount_point=tmp_path / "drive",
                             log=lambda line: None) == str(chosen)


def test_without_google_drive_colab_warns_that_the_runs_are_wiped(on_colab):
    lines = []
    assert colab.runs_folder(None, False, log=lines.append) is None
    assert on_colab == [] and "wipes" in lines[0]


def test_off_colab_google_drive_changes_nothing(tmp_path):
    lines = []
    assert colab.runs_folder("runs", True, log=lines.append) == "runs"
    assert "only applies on Colab" in lines[0]
