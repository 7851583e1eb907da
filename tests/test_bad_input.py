"""Hostile input refused before anything is touched: hostile run names, planted pickles, a generator
file that carries code, hand-edited settings files and bad parameters on the command line.

Each is refused with a message that names the problem and the fix, never a raw traceback, before a
kernel starts, a file is written or a request is made. Every hostile case runs inside
`robustness.attempt`, so the suite's summary line counts it. Killed and interrupted training, two
writers and a full disk are in test_interruptions.py; crafted model and image files in
test_hostile_files.py.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sketchdraw import cli, dcgan, loop, quickdraw, sampling
from sketchdraw.artifacts import RunFolder
from sketchdraw.quickdraw import CorruptFileError
from tests import robustness
from tests.http_server import Route
from tests.test_quickdraw import cache_files, npy_bytes
from tests.test_training import tiny_config

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rabbits(quickdraw_mirror) -> np.ndarray:
    return quickdraw.load_bitmaps("rabbit", limit=160, mirror=quickdraw_mirror, progress=False)


# -- hostile names and files ------------------------------------------------------------------
HOSTILE_NAMES = ["../../etc", "/etc/passwd", "a;rm -rf ~", "$(reboot)", "`reboot`", "x%2F..",
                 "name\x00", "cat?x=1#frag", "cat&y=2", "http://evil.example/cat", "..", ".", "~",
                 "C:\\Windows\\system32", "cat\nrm -rf /", "-rf", " rabbit", ""]


@pytest.mark.parametrize("field", ["--category", "--name", "--experiment"])
@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=[ascii(n) for n in HOSTILE_NAMES])
def test_hostile_names_are_refused_before_any_file_or_request(tmp_path, server, isolated_cache,
                                                              monkeypatch, capsys, field, name):
    with robustness.attempt("run names", f"{field}={name!r}"):
        import papermill

        monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: pytest.fail("kernel started"))
        runs_dir = tmp_path / "runs"
        runs_dir.mkdir()
        code = cli.main(["run", f"{field}={name}", "--runs-dir", str(runs_dir),
                         "--mirror", server.base_url, "--limit", "160", "--batch", "32"])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("sketchdraw: error: "), err
        assert "Traceback" not in err
        assert list(runs_dir.iterdir()) == []
        assert server.requests == []
        assert not isolated_cache.exists()
        with pytest.raises(ValueError):  # the same through the library (what the notebook calls)
            if field == "--experiment":
                dcgan.resolve(name, runs_dir=str(runs_dir), mirror=server.base_url)
            else:
                dcgan.resolve("rabbit", **{field[2:]: name}, runs_dir=str(runs_dir),
                              mirror=server.base_url)
        assert list(runs_dir.iterdir()) == []


def test_a_run_name_with_a_trailing_newline_is_refused(tmp_path):
    with robustness.attempt("run names", "--name=rabbit\\n"):
        with pytest.raises(ValueError, match="run name"):
            dcgan.resolve("rabbit", name="rabbit\n", runs_dir=str(tmp_path))


class _Trap:
    """A pickle that would create `marker` when unpickled: proof that nothing unpickled it."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickle_bearing_files_are_refused_from_the_network_and_from_a_mirror(
        tmp_path, server, isolated_cache):
    with robustness.attempt("planted pickles", "object .npy and raw pickle: HTTP, cache, mirror"):
        marker = tmp_path / "UNPICKLED"
        trap = np.empty(2, dtype=object)
        trap[:] = [_Trap(marker), "x"]
        object_npy = npy_bytes(trap, allow_pickle=True)
        raw_pickle = pickle.dumps(_Trap(marker))

        # served over HTTP: refused after the download, and nothing stays in the cache
        server.routes["/cat.npy"] = Route(object_npy)
        with pytest.raises(CorruptFileError, match="pickle"):
            quickdraw.load_bitmaps("cat", mirror=server.base_url, progress=False)
        assert cache_files(isolated_cache) == []
        server.routes["/dog.npy"] = Route(raw_pickle)
        with pytest.raises(CorruptFileError, match="not a .npy file"):
            quickdraw.load_bitmaps("dog", mirror=server.base_url, progress=False)
        assert cache_files(isolated_cache) == []

        # a plain pickle planted in the cache under a .npy name: refused and removed, no request
        folder = isolated_cache / "quickdraw" / "numpy_bitmap"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "bee.npy").write_bytes(raw_pickle)
        with pytest.raises(CorruptFileError, match="not a .npy file"):
            quickdraw.load_bitmaps("bee", mirror=server.base_url, progress=False)
        assert cache_files(isolated_cache) == []
        assert [path for path, _ in server.requests] == ["/cat.npy", "/dog.npy"]

        # in a local mirror folder (the user's own files): refused, and left where it is
        mirror = tmp_path / "mirror"
        mirror.mkdir()
        (mirror / "cat.npy").write_bytes(object_npy)
        with pytest.raises(CorruptFileError, match="pickle"):
            quickdraw.load_bitmaps("cat", mirror=mirror, progress=False)
        assert (mirror / "cat.npy").read_bytes() == object_npy
        for sample_seed in (None, 3):  # both reading paths
            with pytest.raises(CorruptFileError, match="pickle"):
                quickdraw.load_bitmaps("cat", limit=1, sample_seed=sample_seed, mirror=mirror)
        assert not marker.exists(), "a pickle was loaded"


def test_a_generator_file_with_a_code_carrying_lambda_is_refused_by_safe_mode(tmp_path, capsys):
    with robustness.attempt("code in a generator file", "generator.keras with a Lambda"):
        import keras

        marker = tmp_path / "CODE_RAN"
        payload = eval(f"lambda x: (__import__('pathlib').Path({str(marker)!r}).touch(), x)[1]")
        model = keras.Sequential([keras.Input((100,)), keras.layers.Lambda(payload),
                                  keras.layers.Dense(784)])
        run = RunFolder(tmp_path / "runs" / "planted")
        run.root.mkdir(parents=True)
        run.save_config(dcgan.resolve("rabbit", name="planted", runs_dir=str(tmp_path / "runs")).to_dict())
        model.save(run.generator_path)
        marker.unlink()  # building the model ran it once; from here on nothing may run it

        with pytest.raises(ValueError, match="safe_mode"):
            sampling.load_generator(run.root)
        assert not marker.exists()
        code = cli.main(["sample", "--run", str(run.root), "-n", "4"])
        err = capsys.readouterr().err
        assert code == 2 and "safe_mode" in err and "Traceback" not in err
        assert not marker.exists()
        assert not (run.root / "samples").exists()
        # the control: the same file loaded unsafely does run the code, so the refusal is what saved us
        keras.models.load_model(run.generator_path, safe_mode=False, compile=False)
        assert marker.exists()


@pytest.mark.parametrize("edit, message", [
    ({"epochs": "ten"}, "epochs must be int, got 'ten'"),
    ({"generator_learning_rate": "fast"}, "generator_learning_rate must be float, got 'fast'"),
    ({"grid_size": 2.5}, "grid_size must be int, got 2.5"),
    ({"limit": [160]}, r"limit must be int \| None, got \[160\]"),
    ({"progress": "yes"}, "progress must be bool"),
    ({"seed": None}, "seed must be int, got None"),
    ({"checkpoint_every": True}, "checkpoint_every must be int, got True"),
    ({"mirror": {"url": "x"}}, "mirror must be"),
    ({"name": "../../etc"}, "run name '../../etc' is not allowed"),
    ({"category": "/etc/passwd"}, "looks like a path"),
    ({"epochz": 3}, "did you mean 'epochs'"),
])
def test_a_hand_edited_settings_file_gets_an_error_naming_the_field(tmp_path, edit, message):
    with robustness.attempt("edited settings files", f"config.json {edit}"):
        config = tiny_config(tmp_path)
        run = RunFolder(config.run_dir)
        run.save_config(config.to_dict())
        run.config_path.write_text(json.dumps({**config.to_dict(), **edit}))
        with pytest.raises(ValueError, match=message) as caught:
            loop.check_run_folder(run, config)
        assert "were edited" in str(caught.value) and str(run.root) in str(caught.value)
        assert not run.checkpoints_dir.exists()


@pytest.mark.parametrize("content, message", [
    ('{"epochs": 3, ', "config.json is not valid JSON"),
    ('"rabbit"', "config.json: the settings must be a JSON object"),
    ("[1, 2]", "config.json: the settings must be a JSON object"),
])
def test_a_settings_file_that_is_not_a_settings_object_is_named(tmp_path, content, message):
    with robustness.attempt("edited settings files", f"config.json {content!r}"):
        config = tiny_config(tmp_path)
        run = RunFolder(config.run_dir)
        run.root.mkdir(parents=True)
        run.config_path.write_text(content)
        with pytest.raises(ValueError, match=message):
            loop.check_run_folder(run, config)


@pytest.mark.parametrize("content", ["[]", "null"])
def test_a_settings_file_that_is_not_an_object_is_named(tmp_path, content):
    with robustness.attempt("edited settings files", f"config.json {content!r}"):
        config = tiny_config(tmp_path)
        run = RunFolder(config.run_dir)
        run.root.mkdir(parents=True)
        run.config_path.write_text(content)
        with pytest.raises(ValueError, match="config.json"):
            loop.check_run_folder(run, config)


# -- bad parameters on the command line ----------------------------------------------------------
@pytest.mark.parametrize("arguments, message", [
    (["--epochs", "0"], "epochs must be at least 1, got 0"),
    (["--epochs", "-3"], "epochs must be at least 1, got -3"),
    (["--batch", "-1"], "batch_size must be at least 1, got -1"),
    (["--batch", "0"], "batch_size must be at least 1, got 0"),
    (["--limit", "0"], "limit must be a positive number"),
    (["--model", "tutorail"], "did you mean 'tutorial'"),
    (["--experiment", "rabit"], "did you mean 'rabbit'"),
    (["--category", "rabit"], "did you mean 'rabbit'"),
    (["--set", "loss=bec"], "did you mean 'bce'"),
    (["--set", "epochz=3"], "did you mean 'epochs'"),
    (["--set", "epochs=ten"], "epochs must be int, got 'ten'"),
    (["--set", "generator_learning_rate=-1"], "generator_learning_rate must be positive"),
    (["--set", "checkpoint_every=0"], "checkpoint_every must be at least 1"),
    (["--set", "seed"], "--set wants key=value"),
])
def test_bad_parameters_on_the_command_line_fail_at_once(tmp_path, monkeypatch, capsys, arguments,
                                                         message):
    import papermill

    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: pytest.fail("kernel started"))
    began = time.monotonic()
    code = cli.main(["run", "--runs-dir", str(tmp_path), *arguments])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("sketchdraw: error: ") and message in err, err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
    assert time.monotonic() - began < 5


def test_a_bad_parameter_from_a_real_command_exits_2_in_seconds(tmp_path):
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "sketchdraw", "run", "--epochs", "0", "--runs-dir", str(tmp_path)],
        capture_output=True, text=True, cwd=REPO, timeout=60,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    took = time.monotonic() - began
    assert result.returncode == 2, result.stderr[-2000:]
    assert "sketchdraw: error: epochs must be at least 1, got 0" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
    assert took < 30, f"{took:.1f} s"


@pytest.fixture(scope="module")
def batch_larger_than_data(tmp_path_factory, quickdraw_mirror) -> dict:
    """`python -m sketchdraw run --limit 100 --batch 256`: the notebook really runs (papermill)."""
    runs_dir = tmp_path_factory.mktemp("bigbatch")
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "sketchdraw", "run", "--limit", "100", "--batch", "256",
         "--epochs", "1", "--runs-dir", str(runs_dir), "--mirror", str(quickdraw_mirror),
         "--set", "progress=false"],
        capture_output=True, text=True, cwd=REPO, timeout=240,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return {"result": result, "seconds": time.monotonic() - began,
            "run": RunFolder(runs_dir / "rabbit")}


def test_a_batch_larger_than_the_data_is_refused_before_training(batch_larger_than_data):
    result, run = batch_larger_than_data["result"], batch_larger_than_data["run"]
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "batch_size 256 is larger than the 100 training images" in output
    assert "use batch_size <= 100" in output
    assert not run.checkpoints_dir.exists() and run.epoch_images() == []
    assert not run.history_path.exists()


def test_a_batch_larger_than_the_data_exits_2_with_one_line(batch_larger_than_data):
    result = batch_larger_than_data["result"]
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "sketchdraw: error: batch_size 256 is larger" in result.stderr


def test_fixing_a_too_large_batch_then_rerunning_the_same_name_works(tmp_path, rabbits):
    with pytest.raises(ValueError, match="larger than the 100"):
        dcgan.train(tiny_config(tmp_path, epochs=1, batch_size=256), images=rabbits[:100])
    fixed = dcgan.train(tiny_config(tmp_path, epochs=1, batch_size=32), images=rabbits[:100])
    assert fixed.epochs_trained == 1
