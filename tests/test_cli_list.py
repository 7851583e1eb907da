"""`sketchdraw list presets|categories|runs` and `--version`: finding names without reading code."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from sketchdraw import cli, quickdraw
from sketchdraw.artifacts import RunFolder
from sketchdraw.families import experiments

REPO_ROOT = Path(__file__).resolve().parents[1]


def _list(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(["list", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_presets_names_each_preset_with_its_family_and_what_it_trains(capsys):
    code, out, _ = _list(capsys, "presets")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line.strip()}
    for name, family in experiments().items():
        assert name in lines, f"{name} is not listed"
        assert f" {family.name} " in lines[name]
    assert "(default)" in lines[cli.DEFAULT_EXPERIMENT]
    assert "Quick, Draw! rabbit, first 450 drawings" in lines["rabbit_small"]
    assert "paintings (DATA=folder)" in lines["vangogh"]
    assert "photo <-> Van Gogh" in lines["photo2vangogh"]
    assert "sketch/photo pairs" in lines["faces_sketch2photo"]


def test_list_categories_gives_the_345_names(capsys, monkeypatch):
    monkeypatch.delenv("SKETCHDRAW_QUICKDRAW_MIRROR", raising=False)
    code, out, err = _list(capsys, "categories")
    assert code == 0
    assert out.splitlines() == list(quickdraw.CATEGORIES)
    assert "345 categories" in err and "no mirror folder" in err


def test_list_categories_marks_those_in_the_mirror_folder(capsys, monkeypatch, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in ("cat", "The Eiffel Tower"):
        np.save(mirror / f"{name}.npy", np.zeros((1, 784), np.uint8))
    (mirror / "dog.npy").mkdir()  # not a file: not marked
    (mirror / "not_a_category.npy").write_bytes(b"")
    monkeypatch.setenv("SKETCHDRAW_QUICKDRAW_MIRROR", str(mirror))
    for argv in ((), ("--mirror", str(mirror))):
        if argv:
            monkeypatch.delenv("SKETCHDRAW_QUICKDRAW_MIRROR")
        code, out, err = _list(capsys, "categories", *argv)
        assert code == 0
        lines = out.splitlines()
        assert len(lines) == 345
        assert [line[2:] for line in lines if line.startswith("* ")] == ["The Eiffel Tower", "cat"]
        assert "  dog" in lines and "  rabbit" in lines
        assert f"in the mirror folder {mirror} (2 of them)" in err


def test_list_categories_with_a_mirror_url_or_a_missing_folder(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("SKETCHDRAW_QUICKDRAW_MIRROR", raising=False)
    code, out, err = _list(capsys, "categories", "--mirror", "https://example.org/numpy_bitmap")
    assert code == 0 and len(out.splitlines()) == 345
    assert "is a URL: not checked" in err
    code, _, err = _list(capsys, "categories", "--mirror", str(tmp_path / "nowhere"))
    assert code == 2 and "is not a folder" in err


def _make_run(runs: Path, name: str, epochs_done: int, planned: int, **config) -> None:
    folder = RunFolder(runs / name)
    folder.root.mkdir(parents=True)
    folder.save_config({"experiment": "rabbit_small", "category": "rabbit", "epochs": planned,
                        "name": name, **config})
    folder.images_dir.mkdir()
    for epoch in range(1, epochs_done + 1):
        folder.append_history({"epoch": epoch, "generator_loss": 1.0})
        folder.epoch_image_path(epoch).write_bytes(b"")


def test_list_runs_gives_name_experiment_epochs_and_last_update(capsys, tmp_path):
    runs = tmp_path / "runs"
    _make_run(runs, "small", 3, 857)
    _make_run(runs, "flowers", 50, 50, experiment="flower", category="flower")
    (runs / "not_a_run").mkdir()  # no config.json, no images/: not listed
    (runs / "broken").mkdir()
    (runs / "broken" / "config.json").write_text("{not json")
    code, out, _ = _list(capsys, "runs", "--runs-dir", str(runs))
    assert code == 0
    header, *rows = [line for line in out.splitlines() if line.strip()][:-1]
    assert header.split()[:3] == ["run", "experiment", "epochs"] and "last update" in header
    by_name = {row.split()[0]: row for row in rows}
    assert set(by_name) == {"broken", "flowers", "small"}
    assert "rabbit_small" in by_name["small"] and "3 of 857" in by_name["small"]
    assert "flower" in by_name["flowers"] and "50 of 50" in by_name["flowers"]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", by_name["small"])
    assert "not valid JSON" in by_name["broken"]


def test_list_runs_without_runs(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    code, out, _ = _list(capsys, "runs", "--runs-dir", str(tmp_path / "empty"))
    assert code == 0 and "no runs in" in out
    code, _, err = _list(capsys, "runs", "--runs-dir", str(tmp_path / "missing"))
    assert code == 2 and "no such folder of runs" in err


def test_list_wants_one_of_the_three(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["list", "settings"])
    assert stop.value.code == 2
    assert "choose from 'presets', 'categories', 'runs'" in capsys.readouterr().err


def test_version(capsys):
    from importlib import metadata

    import sketchdraw

    with pytest.raises(SystemExit) as stop:
        cli.main(["--version"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    try:
        version = metadata.version(cli.DISTRIBUTION)
    except metadata.PackageNotFoundError:
        version = sketchdraw.__version__
    assert out.startswith(f"sketchdraw-gan {version} (")
    assert str(Path(sketchdraw.__file__).resolve().parent) in out


def test_an_unknown_category_points_at_the_list():
    with pytest.raises(ValueError) as error:
        quickdraw.check_category("rabit")
    message = str(error.value)
    assert "did you mean 'rabbit'" in message
    assert "sketchdraw list categories" in message and "make list WHAT=categories" in message


@pytest.mark.skipif(not (REPO_ROOT / ".venv" / ".installed").exists(),
                    reason="needs the project's virtual environment (make setup)")
def test_make_list_passes_values_by_the_environment(tmp_path):
    runs = tmp_path / "runs"
    _make_run(runs, "small", 2, 10)
    marker = tmp_path / "PWNED"
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    listed = subprocess.run(["make", "-s", "list", "WHAT=runs", f"RUNS={runs}"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=300, env=environment)
    assert listed.returncode == 0, listed.stderr
    assert "small" in listed.stdout and "2 of 10" in listed.stdout
    hostile = subprocess.run(["make", "-s", "list", f"WHAT=$(touch {marker})",
                              f"MIRROR=`touch {marker}`"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=300, env=environment)
    assert hostile.returncode != 0 and "invalid choice" in hostile.stderr
    assert not marker.exists()
    help_text = subprocess.run(["make", "-s", "help"], cwd=REPO_ROOT, capture_output=True,
                               text=True, timeout=60).stdout
    assert "make list WHAT=presets|categories|runs" in help_text

