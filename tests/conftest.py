"""Shared fixtures: where the real data lives, and a quiet TensorFlow."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

REPO_ROOT = Path(__file__).resolve().parents[1]
# A small real sample with the shared folder's layout ships in the repository (how it is made:
# tools/make_test_sample.py; what it holds: tests/sample_data/SOURCES.md), so a fresh clone runs
# the tests that need real data. The full shared folder, when it is there, is used instead.
SAMPLE_DATA = REPO_ROOT / "tests" / "sample_data"
WANTED_DATA = Path(os.environ.get("SKETCHDRAW_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
SHARED_DATA = WANTED_DATA if WANTED_DATA.is_dir() else SAMPLE_DATA
USING_SAMPLE = SHARED_DATA.resolve() == SAMPLE_DATA.resolve()
QUICKDRAW_MIRROR = SHARED_DATA / "quickdraw" / "numpy_bitmap"


def data_line() -> str:
    if not USING_SAMPLE:
        return f"test data: {SHARED_DATA} (the full shared data)"
    why = "" if WANTED_DATA.resolve() == SAMPLE_DATA.resolve() else f"; {WANTED_DATA} is not there"
    return (f"test data: {SHARED_DATA} (the small sample shipped in the repository{why}; "
            "tests that count drawings or paintings use what it holds)")


def pytest_report_header(config):
    return data_line()


def pytest_sessionstart(session):
    # `-q` (make test) hides the header, but which data the tests use must show in every run.
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and reporter.verbosity < 0:
        reporter.write_line(data_line())


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"data folder {SHARED_DATA} is not there")
    return SHARED_DATA


@pytest.fixture(scope="session")
def quickdraw_mirror(shared_data) -> Path:
    return shared_data / "quickdraw" / "numpy_bitmap"


@pytest.fixture(scope="session")
def face_pairs(shared_data, tmp_path_factory) -> Path:
    """The CUFS face sketch/photo pairs of the shared data, or pairs drawn here where the data
    folder has none (the sample leaves CUFS out: research use only)."""
    cufs = shared_data / "sketchy" / "cufs_faces"
    if (cufs / "sketch").is_dir() and (cufs / "photo").is_dir():
        return cufs
    from tests.face_pairs import write_face_pairs

    return write_face_pairs(tmp_path_factory.mktemp("drawn") / "faces")


@pytest.fixture(scope="module")
def rabbit_bytes(quickdraw_mirror) -> bytes:
    """The real rabbit.npy of the data folder, as a test server serves it."""
    return (quickdraw_mirror / "rabbit.npy").read_bytes()


@pytest.fixture
def server():
    """A file server on 127.0.0.1 with no routes yet (a test adds what it serves), stopped after."""
    from tests.http_server import FileServer

    running = FileServer().start()
    yield running
    running.stop()


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """A fresh download cache and no mirror from the environment."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("SKETCHDRAW_CACHE", str(cache))
    monkeypatch.delenv("SKETCHDRAW_QUICKDRAW_MIRROR", raising=False)
    return cache


def pytest_sessionfinish(session):
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: the main process prints the tally
        from tests import robustness

        workeroutput["robustness"] = robustness.state()  # plain dicts and lists: execnet carries them


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    from tests import robustness

    counts = getattr(node, "workeroutput", {}).get("robustness")
    if counts:
        robustness.merge(counts)


def pytest_terminal_summary(terminalreporter):
    from tests import robustness

    line = robustness.summary()
    if line:
        terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless Chromium tab (tests/browser.py), one per test module."""
    from browser import CHROMIUM, chromium

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) "
                    "to check the pages in a real browser")
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as page:
        yield page


@pytest.fixture(scope="module")
def rabbit_run(tmp_path_factory, quickdraw_mirror) -> Path:
    """A rabbit_small generator after 6 epochs on 450 real rabbits: rabbit-shaped blobs (for the
    drawing page and its export; trained once per test module)."""
    from sketchdraw import dcgan

    runs = tmp_path_factory.mktemp("runs")
    config = dcgan.resolve("rabbit_small", name="rabbit", epochs=6, checkpoint_every=6, quality_every=0,
                           keep_best=False, runs_dir=str(runs), progress=False, mirror=str(quickdraw_mirror))
    dcgan.train(config)
    return runs / "rabbit"
