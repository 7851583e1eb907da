"""Hostile and broken files: crafted generator models, odd `.npy` files, tiny images among paintings.

Each one must be refused (or skipped) with a message that names the file, the problem and the fix,
never a raw traceback, and nothing already saved may be lost. Every hostile case runs inside
`robustness.attempt("corrupt files", ...)`, so the suite's summary line counts it. What
test_quickdraw.py / test_bad_input.py already try (an HTML page, wrong shape or dtype,
truncated downloads, pickles, a generator with a code-carrying Lambda) is not repeated here.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sketchdraw import cli, quickdraw, sampling
from sketchdraw.artifacts import RunFolder
from sketchdraw.paintings import UPSCALE_LIMIT, load_painting_folder, minimum_side
from sketchdraw.quickdraw import CorruptFileError, QuickDrawError
from tests import robustness
from tests.http_server import FileServer, Route

REPO = Path(__file__).resolve().parents[1]
KIND = "corrupt files"
FIX = "run the run's training command again"


# -- a run folder, and what "nothing saved was lost" means ------------------------------------------
def snapshot(folder: Path) -> dict:
    """Every entry under `folder` (links not followed): file bytes, link targets, folders, others."""
    entries = {}
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(root) / name
            key = str(path.relative_to(folder))
            if path.is_symlink():
                entries[key] = ("link", os.readlink(path))
            elif path.is_dir():
                entries[key] = ("folder",)
            elif path.is_file():
                entries[key] = ("file", path.read_bytes())
            else:
                entries[key] = ("other", path.lstat().st_mode)
    return entries


@pytest.fixture
def run(tmp_path) -> RunFolder:
    """A finished run's folder, minus its generator: settings, history, grids, a checkpoint."""
    run = RunFolder(tmp_path / "runs" / "rabbit")
    run.images_dir.mkdir(parents=True)
    run.config_path.write_text(json.dumps({"category": "rabbit", "epochs": 2, "truncation": 0.0}))
    (run.root / "history.csv").write_text("epoch,generator_loss\n1,0.7\n2,0.6\n")
    (run.images_dir / "image_at_epoch_0001.png").write_bytes(b"\x89PNG grid of epoch 1")
    (run.root / "checkpoints").mkdir()
    (run.root / "checkpoints" / "ckpt-2.index").write_bytes(os.urandom(64))
    return run


def keras_file_members(model) -> dict[str, bytes]:
    """The members of `model` saved as a .keras zip (metadata.json, config.json, model.weights.h5)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        with zipfile.ZipFile(path) as archive:
            return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture(scope="module")
def good_members() -> dict[str, bytes]:
    import keras

    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(28 * 28),
                              keras.layers.Reshape((28, 28, 1))])
    return keras_file_members(model)


def write_zip(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def with_config(members: dict, edit) -> dict:
    config = json.loads(members["config.json"])
    edit(config)
    return {**members, "config.json": json.dumps(config).encode()}


def set_top(**values):
    return lambda config: config.update(values)


def set_layer(index: int, **values):
    return lambda config: config["config"]["layers"][index]["config"].update(values)


def rename_layer(index: int, class_name: str):
    return lambda config: config["config"]["layers"][index].update(class_name=class_name)


def save_model(build):
    def craft(path: Path, members: dict) -> None:
        import keras

        build(keras).save(path)
    return craft


def two_inputs(keras):
    noise, label = keras.Input((8,)), keras.Input((3,))
    joined = keras.layers.Concatenate()([noise, label])
    image = keras.layers.Reshape((28, 28, 1))(keras.layers.Dense(784)(joined))
    return keras.Model([noise, label], image)


def lone_layer(path: Path, members: dict) -> None:
    import keras

    layer = keras.layers.Dense(3)
    layer.build((None, 8))
    write_zip(path, {**members, "config.json": json.dumps(
        keras.saving.serialize_keras_object(layer)).encode()})


# (description, how to craft the file at `path` from a good file's members, words the message has)
GENERATOR_FILES = [
    ("a folder named generator.keras",
     lambda path, members: (path.mkdir(), (path / "keep.txt").write_text("mine")), "is a folder"),
    ("an empty file", lambda path, members: path.write_bytes(b""), "is empty (0 bytes)"),
    ("random bytes", lambda path, members: path.write_bytes(np.random.default_rng(1).bytes(4096)),
     "not a .keras zip archive"),
    ("an HDF5 file under the .keras name",
     lambda path, members: path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(512)), "HDF5"),
    ("a zip cut in half", lambda path, members: (
        write_zip(path, members), path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])),
     "not a .keras zip archive"),
    ("a zip without config.json",
     lambda path, members: write_zip(path, {k: v for k, v in members.items() if k != "config.json"}),
     "no config.json"),
    ("config.json is a JSON list",
     lambda path, members: write_zip(path, {**members, "config.json": b"[1, 2]"}), "a JSON array"),
    ("config.json is a JSON string",
     lambda path, members: write_zip(path, {**members, "config.json": b'"model"'}), "a JSON string"),
    ("config.json is null",
     lambda path, members: write_zip(path, {**members, "config.json": b"null"}), "JSON null"),
    ("config.json is invalid JSON",
     lambda path, members: write_zip(path, {**members, "config.json": b'{"class_name": '}),
     "not valid JSON"),
    ("config.json is not UTF-8",
     lambda path, members: write_zip(path, {**members, "config.json": b"\xff\xfe{\x00}"}),
     "not valid JSON"),
    ("a 17 MB config.json (a small zip bomb)",
     lambda path, members: write_zip(path, {**members, "config.json": b" " * (17 * 2**20)},
                                     zipfile.ZIP_DEFLATED), "over 16 MB"),
    ("a config naming an unknown model class",
     lambda path, members: write_zip(path, with_config(members, set_top(class_name="Nonexistent"))),
     "Keras could not load it"),
    ("a config naming a class in a non-Keras module",
     lambda path, members: write_zip(path, with_config(
         members, set_top(module="os", class_name="system"))), "Keras could not load it"),
    ("a layer of an unknown class",
     lambda path, members: write_zip(path, with_config(members, rename_layer(1, "Bogus"))),
     "Keras could not load it"),
    ("a layer config Keras cannot build (units=-5)",
     lambda path, members: write_zip(path, with_config(members, set_layer(1, units=-5))),
     "Keras could not load it"),
    ("layers that do not fit together (784 -> 99 units)",
     lambda path, members: write_zip(path, with_config(members, set_layer(1, units=99))),
     "Keras could not load it"),
    ("the weights file missing",
     lambda path, members: write_zip(path, {k: v for k, v in members.items() if k != "model.weights.h5"}),
     "model.weights.h5"),
    ("the weights file is garbage",
     lambda path, members: write_zip(path, {**members, "model.weights.h5": b"garbage"}),
     "Keras could not load it"),
    ("a lone layer, not a model", lone_layer, "not a usable generator"),
    ("a model whose output is not an image",
     save_model(lambda keras: keras.Sequential([keras.Input((8,)), keras.layers.Dense(10)])),
     "not a generator of images"),
    ("a model with two inputs", save_model(two_inputs), "not a generator of images"),
    ("a model drawing from an image, not from noise",
     save_model(lambda keras: keras.Sequential([keras.Input((28, 28, 1)),
                                                keras.layers.Conv2D(1, 3, padding="same")])),
     "not a generator of images"),
    ("a model with 5 colour channels",
     save_model(lambda keras: keras.Sequential([keras.Input((8,)), keras.layers.Dense(4 * 4 * 5),
                                                keras.layers.Reshape((4, 4, 5))])),
     "not a generator of images"),
    ("a symlink to /dev/zero", lambda path, members: path.symlink_to("/dev/zero"),
     "not a regular file"),
    ("a FIFO", lambda path, members: os.mkfifo(path), "not a regular file"),
]


@pytest.mark.parametrize("description, craft, expected", GENERATOR_FILES,
                         ids=[case[0] for case in GENERATOR_FILES])
def test_a_crafted_generator_file_is_refused_with_one_clear_message(run, good_members, capsys,
                                                                    description, craft, expected):
    if description == "a symlink to /dev/zero" and not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    craft(run.generator_path, good_members)
    before = snapshot(run.root)
    with robustness.attempt(KIND, f"generator.keras: {description}"):
        with pytest.raises(sampling.GeneratorFileError) as refused:
            sampling.load_generator(run.root)
        message = str(refused.value)
        assert str(run.generator_path) in message and expected in message and FIX in message
        assert "\x1b[" not in message and len(message) < 1000

        code = cli.main(["sample", "--run", str(run.root), "-n", "4"])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("sketchdraw: error: ")
        assert str(run.generator_path) in err and expected in err and "Traceback" not in err
        assert snapshot(run.root) == before  # the generator file and everything else as they were
        assert not (run.root / "samples").exists()


CLI_CASES = [case for case in GENERATOR_FILES
             if case[0] in ("a folder named generator.keras", "config.json is a JSON list")]


@pytest.mark.parametrize("description, craft, expected", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_the_real_sample_command_exits_2_without_a_traceback(run, good_members, description, craft,
                                                             expected):
    craft(run.generator_path, good_members)
    before = snapshot(run.root)
    with robustness.attempt(KIND, f"python -m sketchdraw sample: {description}"):
        result = subprocess.run(
            [sys.executable, "-m", "sketchdraw", "sample", "--run", str(run.root), "-n", "4"],
            capture_output=True, text=True, cwd=REPO, timeout=120,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        assert result.returncode == 2, result.stderr[-2000:]
        assert f"sketchdraw: error: {run.generator_path} is not a usable generator file" \
            in result.stderr
        assert expected in result.stderr and "Traceback" not in result.stderr
        assert snapshot(run.root) == before


@pytest.mark.parametrize("description, content, expected", [
    ("config.json is a JSON list", b"[]", "is a JSON list"),
    ("config.json is not UTF-8", b"\xff\xfe\x00{", "is not text"),
    ("config.json truncation is a word", json.dumps({"truncation": "high"}).encode(),
     "truncation is 0 (off)"),
])
def test_a_broken_run_config_is_named_when_sampling(run, capsys, description, content, expected):
    import keras

    sampling.save_generator(keras.Sequential([keras.Input((8,)), keras.layers.Dense(16),
                                              keras.layers.Reshape((4, 4, 1))]), run.generator_path)
    run.config_path.write_bytes(content)
    before = snapshot(run.root)
    with robustness.attempt(KIND, f"sample: {description}"):
        code = cli.main(["sample", "--run", str(run.root), "-n", "4"])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith(f"sketchdraw: error: {run.config_path}")
        assert expected in err and "--truncation" in err and "Traceback" not in err
        assert snapshot(run.root) == before and not (run.root / "samples").exists()
    # the fix the message gives works
    assert cli.main(["sample", "--run", str(run.root), "-n", "4", "--truncation", "0"]) == 0


@pytest.mark.parametrize("build", ["quickdraw28 tutorial generator", "wikiart64 generator"])
def test_real_generators_still_load_and_sample(tmp_path, build):
    from sketchdraw.models import quickdraw28, wikiart64

    generator = (quickdraw28.tutorial_generator(noise_dim=8) if build.startswith("quickdraw")
                 else wikiart64.wikiart64_generator(noise_dim=8, image_size=16))
    run = RunFolder(tmp_path / "run")
    run.root.mkdir()
    sampling.save_generator(generator, run.generator_path)
    array_path, grid_path = sampling.sample(run.root, count=3, seed=1)
    assert np.load(array_path).shape[0] == 3 and grid_path.is_file()


# -- .npy files -------------------------------------------------------------------------------------
def npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def rabbits(quickdraw_mirror) -> np.ndarray:
    return np.load(quickdraw_mirror / "rabbit.npy")[:50]


@pytest.fixture
def unreachable() -> str:
    with socket.socket() as probe:  # a port nobody listens on: any request would fail
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_a_fortran_order_npy_in_a_mirror_folder_is_refused_by_name_and_the_fix_works(
        tmp_path, isolated_cache, rabbits):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    path = mirror / "rabbit.npy"
    np.save(path, np.asfortranarray(rabbits))
    saved = path.read_bytes()
    with robustness.attempt(KIND, "a Fortran-order rabbit.npy in a mirror folder"):
        for sample_seed in (None, 3):  # both reading paths
            with pytest.raises(CorruptFileError) as refused:
                quickdraw.load_bitmaps("rabbit", limit=10, sample_seed=sample_seed, mirror=mirror,
                                       progress=False)
            message = str(refused.value)
            assert str(path) in message and "Fortran (column-major) order" in message
            assert "has shape" not in message and "np.ascontiguousarray" in message
        assert path.read_bytes() == saved  # the user's file is left as it is
    # the command in the message rewrites it in C order, with the same drawings
    command = message.split("python -c ", 1)[1].strip('"')
    subprocess.run([sys.executable, "-c", command], check=True, timeout=60)
    np.testing.assert_array_equal(quickdraw.load_bitmaps("rabbit", mirror=mirror, progress=False),
                                  rabbits)


def test_a_fortran_order_npy_downloaded_or_planted_in_the_cache_is_refused_and_removed(
        isolated_cache, rabbits, unreachable):
    fortran = npy_bytes(np.asfortranarray(rabbits))
    server = FileServer().start()
    try:
        server.routes["/rabbit.npy"] = Route(fortran)
        with robustness.attempt(KIND, "a Fortran-order rabbit.npy from a download mirror"):
            with pytest.raises(CorruptFileError, match="Fortran .column-major. order.*removed from "
                                                       "the cache"):
                quickdraw.load_bitmaps("rabbit", mirror=server.base_url, progress=False)
            assert list(isolated_cache.rglob("*.npy")) == []
    finally:
        server.stop()

    cached = quickdraw.cache_dir() / "rabbit.npy"
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(fortran)
    with robustness.attempt(KIND, "a Fortran-order rabbit.npy planted in the cache"):
        with pytest.raises(CorruptFileError, match="Fortran"):
            quickdraw.load_bitmaps("rabbit", mirror=unreachable, progress=False)
        assert not cached.exists()


def test_c_order_files_still_load(quickdraw_mirror, isolated_cache, rabbits):
    np.testing.assert_array_equal(
        quickdraw.load_bitmaps("rabbit", limit=50, mirror=quickdraw_mirror, progress=False), rabbits)


NOT_A_FILE = [
    ("a folder", lambda path: (path.mkdir(), (path / "notes.txt").write_text("mine")), "is a folder, not a file"),
    ("a FIFO", lambda path: os.mkfifo(path), "is not a regular file"),
    ("a symlink to /dev/zero", lambda path: path.symlink_to("/dev/zero"), "is not a regular file"),
]


@pytest.mark.parametrize("description, make, expected", NOT_A_FILE, ids=[c[0] for c in NOT_A_FILE])
def test_something_not_a_file_named_rabbit_npy_in_a_mirror_folder_is_named(
        tmp_path, isolated_cache, rabbits, description, make, expected):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    np.save(mirror / "cat.npy", rabbits)
    path = mirror / "rabbit.npy"
    make(path)
    before = snapshot(mirror)
    with robustness.attempt(KIND, f"rabbit.npy in a mirror folder is {description}"):
        with pytest.raises(QuickDrawError) as refused:
            quickdraw.load_bitmaps("rabbit", mirror=mirror, progress=False)
        message = str(refused.value)
        assert message.startswith(f"{path} {expected}") and "It has" not in message
        assert snapshot(mirror) == before
    # a missing file still lists what the folder has, files only
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
    (mirror / "dog.npy").mkdir()
    with pytest.raises(QuickDrawError, match=r"has no rabbit.npy. It has 1: cat$"):
        quickdraw.fetch_file("rabbit", mirror=mirror)


@pytest.mark.parametrize("description, make, expected", NOT_A_FILE, ids=[c[0] for c in NOT_A_FILE])
def test_something_not_a_file_named_rabbit_npy_in_the_cache_is_named_and_kept(
        isolated_cache, unreachable, description, make, expected):
    path = quickdraw.cache_dir() / "rabbit.npy"
    path.parent.mkdir(parents=True)
    make(path)
    before = snapshot(isolated_cache)
    with robustness.attempt(KIND, f"rabbit.npy in the cache is {description}"):
        with pytest.raises(QuickDrawError) as refused:
            quickdraw.load_bitmaps("rabbit", mirror=unreachable, progress=False)
        assert str(refused.value).startswith(f"{path} {expected}")
        assert snapshot(isolated_cache) == before


# -- tiny images among paintings ---------------------------------------------------------------------
@pytest.fixture
def paintings_folder(tmp_path, shared_data) -> Path:
    """Three real Van Gogh paintings."""
    folder = tmp_path / "paintings"
    folder.mkdir()
    for source in sorted((shared_data / "wikiart" / "vangogh").glob("*.jpg"))[:3]:
        shutil.copy(source, folder / source.name)
    return folder


def small_image(path: Path, width: int, height: int) -> None:
    pixels = np.random.default_rng(width * 1000 + height).integers(0, 256, (height, width, 3))
    Image.fromarray(pixels.astype(np.uint8)).save(path)


def test_images_far_smaller_than_the_target_are_skipped_with_one_warning_line(paintings_folder,
                                                                             tmp_path):
    assert minimum_side(64) == 64 // UPSCALE_LIMIT == 16
    small_image(paintings_folder / "dot.png", 1, 1)
    small_image(paintings_folder / "thumb.jpg", 3, 3)
    small_image(paintings_folder / "strip.png", 200, 15)  # long, but 15 px high
    small_image(paintings_folder / "border.png", 16, 16)  # exactly the minimum: kept
    (paintings_folder / "broken.jpg").write_text("not a painting")
    before = snapshot(paintings_folder)
    with robustness.attempt(KIND, "1x1, 3x3 and 200x15 images among paintings"):
        loaded = load_painting_folder(paintings_folder, image_size=64, progress=False)
        assert len(loaded) == 4 and "border.png" in {path.name for path in loaded.paths}
        reasons = {path.name: reason for path, reason in loaded.skipped}
        assert reasons["dot.png"] == "too small: 1x1 px" and reasons["strip.png"] == "too small: 200x15 px"
        lines = loaded.report().splitlines()
        small = [line for line in lines if "far smaller" in line]
        assert small == ["skipped 3 image(s) far smaller than 64x64 (shorter side under 16 px; "
                         "upscaled they would be a blur): dot.png (1x1 px), strip.png (200x15 px), "
                         "thumb.jpg (3x3 px)"]
        assert "skipped 1 file(s) that could not be read:" in lines  # corrupt files as before
        assert snapshot(paintings_folder) == before
    # the same from the decoded-array cache
    cache = tmp_path / "cache"
    load_painting_folder(paintings_folder, image_size=64, progress=False, cache_dir=cache)
    again = load_painting_folder(paintings_folder, image_size=64, progress=False, cache_dir=cache)
    assert again.from_cache and again.skipped == loaded.skipped and again.report().splitlines()[1:] \
        == lines[1:]
    # a smaller target size keeps the 15 px strip (its minimum is 8 px)
    assert "strip.png" in {path.name for path in
                           load_painting_folder(paintings_folder, image_size=32, progress=False).paths}


def test_many_tiny_images_are_counted_and_the_first_few_named(paintings_folder):
    for index in range(7):
        small_image(paintings_folder / f"tiny{index}.png", 2, 2)
    with robustness.attempt(KIND, "7 tiny images among paintings"):
        report = load_painting_folder(paintings_folder, progress=False).report()
        (line,) = [line for line in report.splitlines() if "far smaller" in line]
        assert line.startswith("skipped 7 image(s) far smaller than 64x64")
        assert "tiny4.png (2x2 px), ... and 2 more (see .skipped)" in line and "tiny5" not in line


def test_a_folder_of_only_tiny_images_is_an_error_that_says_so(tmp_path):
    folder = tmp_path / "thumbnails"
    folder.mkdir()
    small_image(folder / "a.png", 1, 1)
    small_image(folder / "b.jpg", 10, 12)
    before = snapshot(folder)
    with robustness.attempt(KIND, "a folder of only tiny images"):
        with pytest.raises(ValueError) as refused:
            load_painting_folder(folder, image_size=64, progress=False)
        assert str(refused.value) == (
            f"none of the 2 image file(s) in {folder} can be used: every one was far smaller than "
            "64x64 (shorter side under 16 px; upscaled they would be a blur): a.png (1x1 px), "
            "b.jpg (10x12 px). Add images at least 16 px on their shorter side")
        assert snapshot(folder) == before

    (folder / "c.jpg").write_bytes(b"")
    with robustness.attempt(KIND, "a folder of tiny and unreadable images"):
        with pytest.raises(ValueError, match=r"none of the 3 image file\(s\) in .* could be read or "
                                             r"used \(2 too small for 64x64, 1 unreadable\): a\.png "
                                             r"\(too small: 1x1 px\)"):
            load_painting_folder(folder, image_size=64, progress=False)
