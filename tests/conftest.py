"""Shared fixtures: where the real data lives, and a quiet TensorFlow."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SKETCHDRAW_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
QUICKDRAW_MIRROR = SHARED_DATA / "quickdraw" / "numpy_bitmap"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is not there")
    return SHARED_DATA


@pytest.fixture(scope="session")
def quickdraw_mirror(shared_data) -> Path:
    return shared_data / "quickdraw" / "numpy_bitmap"


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """A fresh download cache and no mirror from the environment."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("SKETCHDRAW_CACHE", str(cache))
    monkeypatch.delenv("SKETCHDRAW_QUICKDRAW_MIRROR", raising=False)
    return cache


def pytest_terminal_summary(terminalreporter):
    from tests import robustness

    line = robustness.summary()
    if line:
        terminalreporter.write_line(line)
