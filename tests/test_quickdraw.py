"""Quick, Draw! downloads against a real HTTP server on 127.0.0.1 serving real drawings."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import numpy as np
import pytest

from sketchdraw import quickdraw
from sketchdraw.quickdraw import CorruptFileError, DownloadError
from tests.http_server import Route


def npy_bytes(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def cache_files(cache: Path) -> list[str]:
    folder = cache / "quickdraw" / "numpy_bitmap"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_the_345_categories_ship_with_the_package(shared_data):
    assert len(quickdraw.CATEGORIES) == 345
    assert "zigzag" in quickdraw.CATEGORIES
    ndjson_names = {p.stem for p in (shared_data / "quickdraw" / "ndjson_25").glob("*.ndjson")}
    assert ndjson_names and ndjson_names <= set(quickdraw.CATEGORIES)
    if len(ndjson_names) > 300:  # the shared folder (the sample has 12): every category but zigzag
        assert len(ndjson_names) == 344
        assert ndjson_names | {"zigzag"} == set(quickdraw.CATEGORIES)


def test_download_streams_into_the_cache_and_is_reused_without_a_request(
        server, isolated_cache, rabbit_bytes, quickdraw_mirror):
    server.routes["/rabbit.npy"] = Route(rabbit_bytes)
    drawings = quickdraw.load_bitmaps("rabbit", mirror=server.base_url, progress=False)
    expected = np.load(quickdraw_mirror / "rabbit.npy", allow_pickle=False)
    assert drawings.dtype == np.uint8 and drawings.shape == expected.shape
    np.testing.assert_array_equal(drawings, expected)
    assert cache_files(isolated_cache) == ["rabbit.npy"]
    assert len(server.requests) == 1

    again = quickdraw.load_bitmaps("rabbit", mirror=server.base_url, limit=10, progress=False)
    np.testing.assert_array_equal(again, expected[:10])
    assert len(server.requests) == 1, "a cached file must not be requested again"


def test_names_with_spaces_are_url_quoted(server, isolated_cache, rabbit_bytes):
    server.routes["/The%20Eiffel%20Tower.npy"] = Route(rabbit_bytes)
    path = quickdraw.fetch_file("The Eiffel Tower", mirror=server.base_url, progress=False)
    assert path.name == "The Eiffel Tower.npy"
    assert server.requests[0][0] == "/The%20Eiffel%20Tower.npy"


def test_http_404_is_a_clear_error_and_leaves_nothing(server, isolated_cache):
    with pytest.raises(DownloadError, match="404"):
        quickdraw.fetch_file("cat", mirror=server.base_url, progress=False)
    assert cache_files(isolated_cache) == []


def test_an_html_error_page_under_a_npy_name_is_refused_and_removed(server, isolated_cache):
    page = b"<!DOCTYPE html><html><body>Quota exceeded</body></html>"
    server.routes["/cat.npy"] = Route(page, content_type="text/html")
    with pytest.raises(CorruptFileError, match="HTML"):
        quickdraw.fetch_file("cat", mirror=server.base_url, progress=False)
    assert cache_files(isolated_cache) == []


def test_a_truncated_body_is_an_error_and_the_next_attempt_resumes_with_range(
        server, isolated_cache, rabbit_bytes):
    server.routes["/rabbit.npy"] = Route(rabbit_bytes, truncate_to=len(rabbit_bytes) // 3)
    with pytest.raises(DownloadError, match="ended after|stopped after"):
        quickdraw.fetch_file("rabbit", mirror=server.base_url, progress=False)
    assert "rabbit.npy" not in cache_files(isolated_cache)  # never under its final name

    server.routes["/rabbit.npy"] = Route(rabbit_bytes)
    path = quickdraw.fetch_file("rabbit", mirror=server.base_url, progress=False)
    assert path.read_bytes() == rabbit_bytes
    assert server.requests[-1][1] is not None and server.requests[-1][1].startswith("bytes=")
    assert cache_files(isolated_cache) == ["rabbit.npy"]


def test_a_stalled_download_times_out_clearly_then_resumes(server, isolated_cache, rabbit_bytes):
    server.routes["/rabbit.npy"] = Route(rabbit_bytes, stall_after=200_000, stall_seconds=3)
    with pytest.raises(DownloadError, match="stopped after|no answer"):
        quickdraw.fetch_file("rabbit", mirror=server.base_url, progress=False, timeout=1.0)
    partial = isolated_cache / "quickdraw" / "numpy_bitmap" / "rabbit.npy.part"
    assert partial.exists() and partial.stat().st_size >= 130_000
    path = quickdraw.fetch_file("rabbit", mirror=server.base_url, progress=False, timeout=5.0)
    assert path.read_bytes() == rabbit_bytes
    assert server.requests[-1][1] is not None and server.requests[-1][1] != "bytes=0-"


@pytest.mark.parametrize("array, message", [
    (np.zeros((10, 100), np.uint8), "shape"),
    (np.zeros((10, 784), np.float32), "dtype"),
    (np.zeros((10, 28, 28), np.uint8), "shape"),
])
def test_wrong_shape_or_dtype_is_refused_and_removed(server, isolated_cache, array, message):
    server.routes["/cat.npy"] = Route(npy_bytes(array))
    with pytest.raises(CorruptFileError, match=message):
        quickdraw.fetch_file("cat", mirror=server.base_url, progress=False)
    assert cache_files(isolated_cache) == []


def test_a_pickle_bearing_npy_planted_in_the_cache_is_refused(isolated_cache, server):
    folder = isolated_cache / "quickdraw" / "numpy_bitmap"
    folder.mkdir(parents=True)
    planted = np.empty(3, dtype=object)
    planted[:] = [{"evil": 1}, "x", 3]
    (folder / "cat.npy").write_bytes(npy_bytes(planted, allow_pickle=True))
    with pytest.raises(CorruptFileError, match="pickle"):
        quickdraw.load_bitmaps("cat", mirror=server.base_url, progress=False)
    assert cache_files(isolated_cache) == []
    assert server.requests == []


def test_no_network_says_how_to_use_the_mirror(isolated_cache):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DownloadError, match="SKETCHDRAW_QUICKDRAW_MIRROR"):
        quickdraw.fetch_file("cat", mirror=f"http://127.0.0.1:{port}", progress=False)
    assert cache_files(isolated_cache) == []


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "cat; rm -rf /", "cat?x=1#",
                                  "cat%2F..", "", "Rabbit"])
def test_hostile_or_unknown_names_are_refused_before_any_request(server, isolated_cache, name):
    with pytest.raises(ValueError):
        quickdraw.load_bitmaps(name, mirror=server.base_url, progress=False)
    assert server.requests == []
    assert not (isolated_cache / "quickdraw").exists()


def test_an_unknown_category_suggests_the_closest_names():
    with pytest.raises(ValueError, match="did you mean 'rabbit'"):
        quickdraw.check_category("rabit")
    with pytest.raises(ValueError, match="'rabbit'.*case-sensitive"):
        quickdraw.check_category("Rabbit")


def test_limit_first_and_seeded_random(quickdraw_mirror, isolated_cache):
    full = np.load(quickdraw_mirror / "rabbit.npy", allow_pickle=False)
    first = quickdraw.load_bitmaps("rabbit", limit=100, mirror=quickdraw_mirror)
    np.testing.assert_array_equal(first, full[:100])
    sampled = quickdraw.load_bitmaps("rabbit", limit=100, sample_seed=7, mirror=quickdraw_mirror)
    again = quickdraw.load_bitmaps("rabbit", limit=100, sample_seed=7, mirror=quickdraw_mirror)
    np.testing.assert_array_equal(sampled, again)
    assert not np.array_equal(sampled, first)
    full_rows = {row.tobytes() for row in full}
    assert all(row.tobytes() in full_rows for row in sampled)
    assert sampled.dtype == np.uint8
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match="limit"):
            quickdraw.load_bitmaps("rabbit", limit=bad, mirror=quickdraw_mirror)


def test_a_local_mirror_folder_is_read_in_place_and_says_what_it_has(quickdraw_mirror,
                                                                       isolated_cache):
    path = quickdraw.fetch_file("rabbit", mirror=quickdraw_mirror)
    assert path == quickdraw_mirror / "rabbit.npy"
    assert not (isolated_cache / "quickdraw").exists()
    held = sorted(quickdraw_mirror.glob("*.npy"))  # 35 shared, 10 in the sample
    with pytest.raises(quickdraw.QuickDrawError,
                       match=f"has no zigzag.npy. It has {len(held)}: {held[0].stem}"):
        quickdraw.fetch_file("zigzag", mirror=quickdraw_mirror)
    with pytest.raises(ValueError, match="is not a folder"):
        quickdraw.fetch_file("rabbit", mirror=str(quickdraw_mirror / "nope"))


def test_the_mirror_comes_from_the_environment(quickdraw_mirror, isolated_cache, monkeypatch):
    monkeypatch.setenv("SKETCHDRAW_QUICKDRAW_MIRROR", str(quickdraw_mirror))
    assert quickdraw.fetch_file("cat") == quickdraw_mirror / "cat.npy"
