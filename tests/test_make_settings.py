"""`make run` takes every setting as a variable (its name in capitals), by name and through the
environment: the values never reach a shell line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from sketchdraw import cli

REPO_ROOT = Path(__file__).resolve().parents[1]


def _parameters(monkeypatch, variables: dict, *argv) -> dict:
    """The papermill parameters `make run` with these command-line variables would execute."""
    captured = {}

    def execute(notebook, run_dir, parameters, kernel, verbose=False):
        captured.update(notebook=Path(notebook).name, run_dir=run_dir, **parameters)
        return 0

    monkeypatch.setattr(cli, "_execute", execute)
    monkeypatch.setenv("SKETCHDRAW_MAKE_VARIABLES", " ".join(variables))
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["run", "--from-make", *argv]) == 0
    return captured


def test_every_setting_is_a_make_variable(monkeypatch, tmp_path):
    parameters = _parameters(monkeypatch, {
        "EXPERIMENT": "rabbit_small", "CATEGORY": "cat", "EMA_DECAY": "0.99", "BATCH": "16",
        "NAME": "1", "RUNS": str(tmp_path), "SET": "seed=3 augment=page_cutout",
        "PYTHON": "python3"})
    assert parameters["experiment"] == "rabbit_small"
    assert parameters["category"] == "cat"
    assert parameters["ema_decay"] == 0.99
    assert parameters["batch_size"] == 16
    assert parameters["name"] == "1"  # a text setting keeps the text: the run folder is "1"
    assert parameters["seed"] == 3 and parameters["augment"] == "page_cutout"
    assert parameters["runs_dir"] == str(tmp_path.resolve())
    assert parameters["notebook"] == "quickdraw_dcgan.ipynb"
    assert "python" not in parameters


def test_other_families_settings_are_make_variables_too(monkeypatch, tmp_path):
    parameters = _parameters(monkeypatch, {
        "EXPERIMENT": "photo2vangogh", "DOMAIN_X": str(tmp_path), "DOMAIN_Y": str(tmp_path),
        "LEARNING_RATE": "0.0001", "CYCLE_WEIGHT": "5", "RUNS": str(tmp_path)})
    assert parameters["learning_rate"] == 0.0001 and parameters["cycle_weight"] == 5
    assert parameters["notebook"] == "cyclegan.ipynb"
    parameters = _parameters(monkeypatch, {
        "EXPERIMENT": "faces_sketch2photo", "DATA": str(tmp_path), "L1_WEIGHT": "2",
        "RUNS": str(tmp_path)})
    assert parameters["data_root"] == str(tmp_path.resolve()) and parameters["l1_weight"] == 2


def test_an_unknown_make_variable_names_the_close_setting(monkeypatch, capsys):
    monkeypatch.setenv("SKETCHDRAW_MAKE_VARIABLES", "CATEGORI")
    monkeypatch.setenv("CATEGORI", "cat")
    assert cli.main(["run", "--from-make"]) == 2
    error = capsys.readouterr().err
    assert "make variable CATEGORI" in error and "did you mean 'category'" in error


@pytest.mark.skipif(not (REPO_ROOT / ".venv" / ".installed").exists(),
                    reason="needs the project's virtual environment (make setup)")
def test_make_run_never_hands_a_value_to_the_shell(tmp_path):
    marker = tmp_path / "PWNED"
    for value in (f"`touch {marker}`", f'x"; touch {marker}; echo "', f"$(touch {marker})"):
        completed = subprocess.run(
            ["make", "-s", "run", f"CATEGORY={value}", f"RUNS={tmp_path / 'runs'}"],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        assert completed.returncode != 0
        assert "Quick, Draw! category" in completed.stderr
        assert not marker.exists()


def test_a_refused_make_variable_is_named_as_the_user_typed_it(monkeypatch, capsys):
    monkeypatch.setenv("SKETCHDRAW_MAKE_VARIABLES", "EPOCHS BATCH")
    monkeypatch.setenv("EPOCHS", "0")
    monkeypatch.setenv("BATCH", "32")
    assert cli.main(["run", "--from-make"]) == 2
    error = capsys.readouterr().err
    assert "epochs must be at least 1" in error and "(on the make command line: EPOCHS=)" in error
