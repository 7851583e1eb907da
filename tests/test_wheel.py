"""The wheel is enough to train: built, installed into a fresh virtual environment and run from a
folder outside the checkout, `sketchdraw run` trains an epoch with the wheel's own copy of the
package and its notebook, in a kernel of that environment's Python.

Installing TensorFlow and the rest into the fresh environment would take minutes, so it sees the
project environment's site-packages through a `.pth` line. A path line in a `.pth` file adds the
folder to sys.path without reading the `.pth` files inside it, so the checkout's editable install
(a `.pth` there) never loads: the test checks that `sketchdraw` comes from the fresh environment. About 50 seconds on 2 cores:
building and installing take a few, the rest is three TensorFlow imports and the epoch.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "notebooks", "sketchdraw")

# Loaded by every Python of the fresh environment (a `.pth` line imports it); when
# SKETCHDRAW_TEST_PROBE names a file, each Python writes at exit its command line, which Python
# it was, where `sketchdraw` came from, its sys.path and its cwd.
PROBE = """
import atexit
import json
import os
import sys


def _report():
    sketchdraw = sys.modules.get("sketchdraw")
    with open(os.environ["SKETCHDRAW_TEST_PROBE"], "a") as handle:
        handle.write(json.dumps({"argv": sys.orig_argv, "executable": sys.executable,
                                 "path": sys.path, "cwd": os.getcwd(),
                                 "sketchdraw": getattr(sketchdraw, "__file__", None)}) + "\\n")


if os.environ.get("SKETCHDRAW_TEST_PROBE"):
    atexit.register(_report)
"""


def _run(command, **options) -> subprocess.CompletedProcess:
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True,
                          **options)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done


def _build_wheel(tmp_path: Path) -> Path:
    """The wheel, built from a copy of the sources (the checkout gets no build/ folder)."""
    source = tmp_path / "source"
    source.mkdir()
    for name in BUILD_INPUTS:
        if (REPO_ROOT / name).is_dir():
            shutil.copytree(REPO_ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO_ROOT / name, source / name)
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
          "--wheel-dir", dist, source], cwd=tmp_path)
    (wheel,) = dist.glob("sketchdraw_gan-*.whl")
    return wheel


def _fresh_environment(tmp_path: Path, wheel: Path) -> Path:
    """A new virtual environment with the wheel installed and a `python3` kernel of its own."""
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
                .stdout.strip())
    project = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "_project_packages.pth").write_text("".join(f"{path}\n" for path in sorted(project)))
    (site / "_kernel_probe.py").write_text(PROBE)
    (site / "zz_kernel_probe.pth").write_text("import _kernel_probe\n")
    # --ignore-installed: the project environment's editable sketchdraw-gan is visible too, and
    # must be neither taken as "already installed" nor uninstalled.
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed",
          "--quiet", wheel], cwd=tmp_path)
    _run([python, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"], cwd=tmp_path)
    return venv


def test_the_wheel_trains_an_epoch_from_outside_the_checkout(tmp_path, quickdraw_mirror):
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        for notebook in sorted((REPO_ROOT / "notebooks").glob("*.ipynb")):
            assert archive.read(f"sketchdraw/notebooks/{notebook.name}") == notebook.read_bytes()
        # every file the package reads at run time: the category list, the pages and their scripts
        for data in sorted((REPO_ROOT / "sketchdraw").rglob("*")):
            if data.is_file() and data.suffix not in (".py", ".pyc"):
                assert archive.read(data.relative_to(REPO_ROOT).as_posix()) == data.read_bytes(), data

    venv = _fresh_environment(tmp_path, wheel)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("PYTHONPATH", "PYTHONHOME", "JUPYTER_PATH", "JUPYTER_DATA_DIR",
                                  "VIRTUAL_ENV", "SKETCHDRAW_QUICKDRAW_MIRROR")}
    environment.update(
        PYTHONNOUSERSITE="1", TF_CPP_MIN_LOG_LEVEL="3", MPLBACKEND="Agg",
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter"),  # no kernel of the user's can answer python3
        SKETCHDRAW_CACHE=str(tmp_path / "cache"), PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        SKETCHDRAW_TEST_PROBE=str(tmp_path / "kernels.jsonl"))

    # The package the fresh environment imports is the wheel's, with the wheel's notebooks.
    facts = json.loads(_run([venv / "bin" / "python", "-c", (
        "import json, sys, sketchdraw\n"
        "from sketchdraw import notebook_files\n"
        "print(json.dumps({'file': sketchdraw.__file__, 'path': sys.path,\n"
        "    'checkout': str(notebook_files.checkout_root()),\n"
        "    'notebook': str(notebook_files.notebook_path('quickdraw_dcgan.ipynb')),\n"
        "    'finders': [type(finder).__module__ for finder in sys.meta_path]}))")],
        cwd=elsewhere, env=environment).stdout)
    assert Path(facts["file"]).is_relative_to(venv), facts["file"]
    assert Path(facts["notebook"]).is_relative_to(venv / "lib"), facts["notebook"]
    assert facts["checkout"] == "None"
    assert str(REPO_ROOT) not in facts["path"]
    assert not any("__editable__" in module for module in facts["finders"]), facts["finders"]
    version = _run([venv / "bin" / "sketchdraw", "--version"], cwd=elsewhere, env=environment)
    assert str(venv) in version.stdout

    runs = tmp_path / "runs"
    trained = subprocess.run(
        [str(venv / "bin" / "sketchdraw"), "run", "--category", "rabbit", "--epochs", "1",
         "--limit", "64", "--batch", "32", "--mirror", str(quickdraw_mirror),
         "--runs-dir", str(runs)],
        cwd=elsewhere, env=environment, capture_output=True, text=True, timeout=900)
    assert trained.returncode == 0, trained.stdout[-4000:] + trained.stderr[-4000:]

    run = runs / "rabbit"
    assert (run / "images" / "image_at_epoch_0001.png").is_file()
    executed = json.loads((run / "quickdraw_dcgan.ipynb").read_text())
    assert executed["metadata"]["papermill"]["exception"] in (None, False)
    errors = [output for cell in executed["cells"] for output in cell.get("outputs", [])
              if output.get("output_type") == "error"]
    assert not errors, errors
    assert not list(elsewhere.iterdir()), "the run wrote into the current folder"

    # The kernel that ran the notebook was the fresh environment's Python, importing the wheel.
    reports = [json.loads(line) for line in (tmp_path / "kernels.jsonl").read_text().splitlines()]
    kernels = [report for report in reports if "ipykernel_launcher" in " ".join(report["argv"])]
    assert kernels, f"no kernel reported back: {reports}"
    for kernel in kernels:
        assert Path(kernel["executable"]).parent == venv / "bin", kernel["executable"]
        assert kernel["sketchdraw"] and Path(kernel["sketchdraw"]).is_relative_to(venv), kernel
        assert str(REPO_ROOT) not in kernel["path"]
        assert Path(kernel["cwd"]) == elsewhere
