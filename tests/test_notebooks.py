"""The committed notebooks: clean (no outputs), parameterised, and runnable end to end by papermill."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebooks_have_no_outputs_and_a_parameters_cell(path):
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        assert not cell.get("outputs"), f"{path.name}: a cell has outputs; clear them before committing"
        assert not cell.get("execution_count"), f"{path.name}: a cell has an execution count"
    tagged = [c for c in notebook["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    source = "".join(tagged[0]["source"])
    for line in source.splitlines():
        code = line.split("#")[0].strip()
        if code:
            name, _, value = code.partition("=")
            # literals only: papermill does not recompute derived values
            assert name.strip().isidentifier(), line
            compile(value.strip(), path.name, "eval")


def run_cli(*arguments, env_extra=None, timeout=400):
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "sketchdraw", *arguments], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, env=environment)


def test_papermill_runs_the_quickdraw_notebook_on_real_rabbits(tmp_path, quickdraw_mirror):
    result = run_cli("run", "--category", "rabbit", "--epochs", "2", "--limit", "128", "--batch",
                     "32", "--runs-dir", str(tmp_path), "--set", "label_treatment=smooth",
                     "--set", "quality_every=0",  # a run setting with its own line in the notebook
                     env_extra={"SKETCHDRAW_QUICKDRAW_MIRROR": str(quickdraw_mirror)})
    assert result.returncode == 0, result.stderr[-4000:]
    run = tmp_path / "rabbit"
    for name in ("config.json", "reals.png", "history.csv", "losses.png", "progress.gif",
                 "samples.png", "generator.keras", "quickdraw_dcgan.ipynb", "index.html",
                 "images/image_at_epoch_0001.png", "images/image_at_epoch_0002.png"):
        assert (run / name).exists(), name
    executed = json.loads((run / "quickdraw_dcgan.ipynb").read_text())
    outputs = [o for c in executed["cells"] for o in c.get("outputs", [])]
    assert any(o.get("output_type") == "display_data" for o in outputs)  # grids shown inline
    config = json.loads((run / "config.json").read_text())
    assert config["limit"] == 128 and config["epochs"] == 2 and config["category"] == "rabbit"
    assert config["label_treatment"] == "smooth"  # a --set setting the cell has no line for
    assert "epoch 2/2" in result.stderr  # cell output streamed

    again = run_cli("run", "--category", "rabbit", "--epochs", "3", "--limit", "128", "--batch",
                    "32", "--runs-dir", str(tmp_path), "--set", "label_treatment=smooth",
                    env_extra={"SKETCHDRAW_QUICKDRAW_MIRROR": str(quickdraw_mirror)})
    assert again.returncode == 0, again.stderr[-4000:]
    assert (run / "images" / "image_at_epoch_0003.png").exists()
    assert len(list(run.glob("quickdraw_dcgan.*.ipynb"))) == 1  # the first executed notebook kept


def test_the_cli_fails_fast_with_a_clear_message(tmp_path):
    result = run_cli("run", "--category", "rabit", "--runs-dir", str(tmp_path), timeout=120)
    assert result.returncode == 2
    assert "did you mean 'rabbit'" in result.stderr
    assert not any(tmp_path.iterdir())


def test_papermill_waits_for_slow_outputs_of_a_finished_cell(tmp_path, monkeypatch):
    # papermill's own 4 s wait for a cell's last outputs failed a 35-minute run in its final cell
    # (the run's pictures) on a busy 2-core machine; `make run` must wait longer than that.
    import papermill

    from sketchdraw import cli

    seen = {}

    def execute_notebook(source, target, **options):
        seen.update(options)
        Path(target).write_text(Path(source).read_text())

    monkeypatch.setattr(papermill, "execute_notebook", execute_notebook)
    notebook = tmp_path / "tiny.ipynb"
    notebook.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert cli._execute(notebook, tmp_path / "run", {}, "python3") == 0
    assert seen["iopub_timeout"] >= 60


def test_make_run_streams_each_line_of_the_notebook_once(tmp_path):
    # papermill's log_output also sent every stderr line (progress bars, epoch summaries) to its
    # logger, which printed it a second time.
    cell = {"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [],
            "source": ["import sys\n", "print('to stdout')\n", "print('to stderr', file=sys.stderr)"]}
    notebook = tmp_path / "tiny.ipynb"
    notebook.write_text(json.dumps({"cells": [cell], "metadata": {"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5}))
    # In a fresh process, as `make run` is: pytest's own logging capture would hide the repeat.
    script = f"from pathlib import Path; from sketchdraw import cli; " \
             f"cli._execute(Path({str(notebook)!r}), Path({str(tmp_path / 'run')!r}), {{}}, 'python3')"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("to stdout") == 1 and done.stderr.count("to stderr") == 1, done.stderr
