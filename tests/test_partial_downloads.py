"""The first N drawings of a category by HTTP Range requests, against a real local HTTP server
serving the real shared rabbit file: exact rows, small requests, the cache, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from sketchdraw import partial_downloads, quickdraw
from sketchdraw.partial_downloads import RangeIgnoredWarning, fetch_first_drawings
from tests.http_server import FileServer, Route

PIXELS = 784


@pytest.fixture(scope="module")
def rabbit_bytes(quickdraw_mirror) -> bytes:
    return (quickdraw_mirror / "rabbit.npy").read_bytes()


@pytest.fixture
def server(rabbit_bytes):
    serving = FileServer(routes={"/rabbit.npy": Route(body=rabbit_bytes)}).start()
    yield serving
    serving.stop()


def requested_bytes(requests_made) -> int:
    total = 0
    for _, header in requests_made:
        assert header is not None and header.startswith("bytes="), header
        first, last = header.removeprefix("bytes=").split("-")
        total += int(last) - int(first) + 1
    return total


def test_returns_exactly_the_first_drawings_with_two_small_range_requests(server, isolated_cache,
                                                                          quickdraw_mirror):
    drawings = fetch_first_drawings("rabbit", 50, mirror=server.base_url, progress=False)
    expected = np.load(quickdraw_mirror / "rabbit.npy", allow_pickle=False)[:50]
    assert drawings.dtype == np.uint8 and drawings.shape == (50, PIXELS)
    np.testing.assert_array_equal(drawings, expected)

    assert len(server.requests) == 2
    assert server.requests[0] == ("/rabbit.npy", "bytes=0-4095")
    assert server.requests[1] == ("/rabbit.npy", f"bytes=128-{128 + 50 * PIXELS - 1}")
    assert requested_bytes(server.requests) == 4096 + 50 * PIXELS  # not the 705,728-byte file

    saved = isolated_cache / "quickdraw" / "numpy_bitmap_first" / "rabbit.first50.npy"
    np.testing.assert_array_equal(np.load(saved, allow_pickle=False), expected)
    assert not list(saved.parent.glob(".*.tmp"))  # written atomically, nothing left behind


def test_the_cached_file_is_reused_without_a_request(server, isolated_cache):
    first = fetch_first_drawings("rabbit", 40, mirror=server.base_url, progress=False)
    assert len(server.requests) == 2
    again = fetch_first_drawings("rabbit", 40, mirror=server.base_url, progress=False)
    fewer = fetch_first_drawings("rabbit", 10, mirror=server.base_url, progress=False)
    assert len(server.requests) == 2  # no second request: the cache answers both
    np.testing.assert_array_equal(again, first)
    np.testing.assert_array_equal(fewer, first[:10])


def test_more_drawings_than_the_file_holds_gives_all_of_them(server, isolated_cache, quickdraw_mirror):
    everything = np.load(quickdraw_mirror / "rabbit.npy", allow_pickle=False)
    drawings = fetch_first_drawings("rabbit", 100_000, mirror=server.base_url, progress=False)
    np.testing.assert_array_equal(drawings, everything)
    assert server.requests[1][1] == f"bytes=128-{128 + len(everything) * PIXELS - 1}"


def test_a_whole_cached_file_or_a_mirror_folder_is_sliced_with_no_request(server, isolated_cache,
                                                                           quickdraw_mirror, rabbit_bytes):
    from_folder = fetch_first_drawings("rabbit", 30, mirror=quickdraw_mirror, progress=False)
    whole = quickdraw.cache_dir("numpy_bitmap") / "rabbit.npy"
    whole.parent.mkdir(parents=True)
    whole.write_bytes(rabbit_bytes)
    from_cache = fetch_first_drawings("rabbit", 30, mirror=server.base_url, progress=False)
    assert server.requests == []
    np.testing.assert_array_equal(from_folder, from_cache)
    assert from_cache.shape == (30, PIXELS)


def test_a_server_that_ignores_range_is_read_only_as_far_as_needed(rabbit_bytes, isolated_cache,
                                                                   quickdraw_mirror):
    serving = FileServer(routes={"/rabbit.npy": Route(body=rabbit_bytes, honour_range=False)}).start()
    try:
        with pytest.warns(RangeIgnoredWarning, match="ignored the HTTP Range request"):
            drawings = fetch_first_drawings("rabbit", 20, mirror=serving.base_url, progress=False)
    finally:
        serving.stop()
    np.testing.assert_array_equal(drawings, np.load(quickdraw_mirror / "rabbit.npy")[:20])
    assert len(serving.requests) == 1  # the header's answer carried the drawings too


def test_missing_files_and_html_pages_fail_clearly_and_cache_nothing(isolated_cache):
    page = b"<!DOCTYPE html><html><body>Sign in to continue</body></html>"
    serving = FileServer(routes={
        "/cat.npy": Route(body=page, content_type="text/html"),
        "/dog.npy": Route(body=page, content_type="application/octet-stream"),
    }).start()
    try:
        with pytest.raises(quickdraw.DownloadError, match="not found"):
            fetch_first_drawings("rabbit", 10, mirror=serving.base_url, progress=False)
        with pytest.raises(quickdraw.CorruptFileError, match="HTML"):
            fetch_first_drawings("cat", 10, mirror=serving.base_url, progress=False)
        with pytest.raises(quickdraw.CorruptFileError, match="HTML"):
            fetch_first_drawings("dog", 10, mirror=serving.base_url, progress=False)
    finally:
        serving.stop()
    assert not (isolated_cache / "quickdraw" / "numpy_bitmap_first").exists() or not any(
        (isolated_cache / "quickdraw" / "numpy_bitmap_first").iterdir())


def test_a_truncated_server_file_is_refused(rabbit_bytes, isolated_cache):
    serving = FileServer(routes={"/rabbit.npy": Route(body=rabbit_bytes[:-784])}).start()
    try:
        with pytest.raises(quickdraw.CorruptFileError, match="header promises"):
            fetch_first_drawings("rabbit", 10, mirror=serving.base_url, progress=False)
    finally:
        serving.stop()


def test_names_and_counts_are_checked_before_any_request(server, isolated_cache):
    with pytest.raises(ValueError, match="did you mean 'rabbit'"):
        fetch_first_drawings("rabit", 10, mirror=server.base_url)
    with pytest.raises(ValueError, match="looks like a path"):
        fetch_first_drawings("../../etc/passwd", 10, mirror=server.base_url)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="positive whole number"):
            fetch_first_drawings("rabbit", bad, mirror=server.base_url)
    assert server.requests == []
    assert partial_downloads.partial_path("The Eiffel Tower", 5, isolated_cache).name == \
        "The Eiffel Tower.first5.npy"
