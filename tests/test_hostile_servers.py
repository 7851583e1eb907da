"""Whole-file downloads against a real HTTP server on 127.0.0.1 that misbehaves on purpose: a wrong
answer to a resumed download (206 for other bytes, no or a false Content-Range, a 416 that does not
confirm the size), bytes beyond Content-Length, and a mirror that trickles one byte at a time.

Each hostile case asserts that the bad reply was refused (a clear error, or a clean start over) and
that what ends up in the cache is byte for byte the served file, or nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sketchdraw import downloads, quickdraw
from sketchdraw.quickdraw import CorruptFileError, DownloadError
from tests import robustness
from tests.http_server import FileServer, Route

KIND = "misbehaving servers"
CUT = 300_000  # where the first attempt's connection drops


def cache_files(cache: Path) -> list[str]:
    folder = cache / "quickdraw" / "numpy_bitmap"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def part_file(cache: Path) -> Path:
    return cache / "quickdraw" / "numpy_bitmap" / "rabbit.npy.part"


def fetch_rabbit(server: FileServer, **options) -> Path:
    return quickdraw.fetch_file("rabbit", mirror=server.base_url, progress=False, **options)


def interrupt_first_attempt(server: FileServer, cache: Path, body: bytes) -> int:
    """A first attempt that drops after CUT bytes; returns the size of the .part file it leaves,
    the offset the next attempt resumes from (`Range: bytes=<have>-`)."""
    server.routes["/rabbit.npy"] = Route(body, truncate_to=CUT)
    with pytest.raises(DownloadError, match="ended after|stopped after"):
        fetch_rabbit(server)
    kept = part_file(cache).read_bytes()
    assert 0 < len(kept) <= CUT and kept == body[:len(kept)]
    return len(kept)


# -- a wrong answer to a resumed download ----------------------------------------------------------
def wrong_resume_route(case: str, body: bytes, have: int) -> Route:
    size = len(body)
    return {
        "206 from byte 0 instead of the offset asked for": Route(body, serve_range_from=0),
        "206 with other bytes and no Content-Range": Route(body, serve_range_from=0, content_range=""),
        "206 whose Content-Range names another total": Route(
            body, content_range=f"bytes {have}-{size - 1}/{size + 784}"),
        "206 whose Content-Range stops short of the end": Route(
            body, content_range=f"bytes {have}-{have + 999}/{size}"),
        "206 with a garbled Content-Range": Route(body, content_range=f"bytes={have}-"),
    }[case]


@pytest.mark.parametrize("case", [
    "206 from byte 0 instead of the offset asked for",
    "206 with other bytes and no Content-Range",
    "206 whose Content-Range names another total",
    "206 whose Content-Range stops short of the end",
    "206 with a garbled Content-Range",
])
def test_a_wrong_answer_to_a_resume_is_discarded_and_the_file_fetched_again_from_byte_0(
        server, isolated_cache, rabbit_bytes, case):
    have = interrupt_first_attempt(server, isolated_cache, rabbit_bytes)
    server.routes["/rabbit.npy"] = wrong_resume_route(case, rabbit_bytes, have)
    with robustness.attempt(KIND, case):
        with pytest.warns(downloads.ResumeRefusedWarning, match="Content-Range"):
            path = fetch_rabbit(server)
        assert path.read_bytes() == rabbit_bytes
        assert [header for _, header in server.requests[-2:]] == [f"bytes={have}-", None]
        assert cache_files(isolated_cache) == ["rabbit.npy"]


def test_a_server_that_answers_even_the_fresh_start_with_a_wrong_range_is_a_clear_error(
        server, isolated_cache, rabbit_bytes):
    interrupt_first_attempt(server, isolated_cache, rabbit_bytes)
    bad = "bytes 0-99/100"
    server.routes["/rabbit.npy"] = Route(rabbit_bytes, status=206, content_range=bad)
    with robustness.attempt(KIND, "206 with a wrong Content-Range to the resume and the restart"):
        with pytest.warns(downloads.ResumeRefusedWarning), pytest.raises(DownloadError) as raised:
            fetch_rabbit(server)
        message = str(raised.value)
        assert server.base_url + "/rabbit.npy" in message and repr(bad) in message
        assert "another mirror" in message and "SKETCHDRAW_QUICKDRAW_MIRROR" in message
        assert cache_files(isolated_cache) == []  # no file under its real name, no mixed .part


def test_a_range_request_answered_with_the_whole_file_starts_over_cleanly(
        server, isolated_cache, rabbit_bytes):
    have = interrupt_first_attempt(server, isolated_cache, rabbit_bytes)
    server.routes["/rabbit.npy"] = Route(rabbit_bytes, honour_range=False)
    with robustness.attempt(KIND, "200 with the whole file to a Range request"):
        path = fetch_rabbit(server)
        assert path.read_bytes() == rabbit_bytes
        assert server.requests[-1][1] == f"bytes={have}-"
        assert cache_files(isolated_cache) == ["rabbit.npy"]


def test_a_416_that_does_not_confirm_the_size_never_turns_a_partial_file_into_the_file(
        server, tmp_path, rabbit_bytes):
    url = server.base_url + "/rabbit.npy"
    target = tmp_path / "rabbit.npy"
    server.routes["/rabbit.npy"] = Route(rabbit_bytes, truncate_to=CUT)
    with pytest.raises(DownloadError, match="ended after|stopped after"):
        downloads.download(url, target, progress=False)
    server.routes["/rabbit.npy"] = Route(b"", status=416)  # "range not satisfiable", no size given
    with robustness.attempt(KIND, "416 without Content-Range to a resume (no validation)"):
        with pytest.warns(downloads.ResumeRefusedWarning, match="416"), \
                pytest.raises(DownloadError, match="416"):
            downloads.download(url, target, progress=False)
        assert not target.exists()
    server.routes["/rabbit.npy"] = Route(rabbit_bytes)
    assert downloads.download(url, target, progress=False).read_bytes() == rabbit_bytes


def test_a_part_file_that_is_already_complete_is_confirmed_by_416_and_kept(
        server, isolated_cache, rabbit_bytes):
    part_file(isolated_cache).parent.mkdir(parents=True)
    part_file(isolated_cache).write_bytes(rabbit_bytes)
    server.routes["/rabbit.npy"] = Route(rabbit_bytes)
    assert fetch_rabbit(server).read_bytes() == rabbit_bytes
    assert server.requests == [("/rabbit.npy", f"bytes={len(rabbit_bytes)}-")]


# -- Content-Length that does not match what is sent -----------------------------------------------
def test_bytes_beyond_content_length_are_not_saved(server, isolated_cache, rabbit_bytes):
    server.routes["/rabbit.npy"] = Route(rabbit_bytes, extra_bytes=b"<html>junk</html>" * 100)
    with robustness.attempt(KIND, "bytes beyond Content-Length"):
        assert fetch_rabbit(server).read_bytes() == rabbit_bytes
        assert cache_files(isolated_cache) == ["rabbit.npy"]


def test_a_content_length_shorter_than_the_file_is_refused_by_the_size_check(
        server, isolated_cache, rabbit_bytes):
    cut = 10 * 784
    server.routes["/rabbit.npy"] = Route(rabbit_bytes[:-cut], extra_bytes=rabbit_bytes[-cut:])
    with robustness.attempt(KIND, "Content-Length shorter than the file"):
        with pytest.raises(CorruptFileError, match="header promises"):
            fetch_rabbit(server)
        assert cache_files(isolated_cache) == []


# -- a trickling mirror ----------------------------------------------------------------------------
def test_a_trickling_server_fails_clearly_and_the_next_attempt_resumes(
        server, isolated_cache, rabbit_bytes, monkeypatch):
    monkeypatch.setattr(downloads, "RATE_WINDOW_SECONDS", 1.0)
    monkeypatch.setattr(downloads, "MIN_BYTES_PER_WINDOW", 1000)
    server.routes["/rabbit.npy"] = Route(rabbit_bytes, trickle_after=CUT, trickle_seconds=0.3)
    with robustness.attempt(KIND, "one byte every 0.3 s after a fast start"):
        started = time.monotonic()
        with pytest.raises(DownloadError) as raised:
            fetch_rabbit(server)
        assert time.monotonic() - started < 6
        message = str(raised.value)
        assert server.base_url + "/rabbit.npy" in message
        assert "too slowly" in message and " s" in message and "resume" in message
        assert "SKETCHDRAW_QUICKDRAW_MIRROR" in message
        kept = part_file(isolated_cache).read_bytes()
        assert len(kept) >= CUT and kept == rabbit_bytes[:len(kept)]
        assert f"{len(kept):,} bytes" in message
        assert cache_files(isolated_cache) == ["rabbit.npy.part"]

    server.routes["/rabbit.npy"] = Route(rabbit_bytes)
    assert fetch_rabbit(server).read_bytes() == rabbit_bytes
    assert server.requests[-1][1] == f"bytes={len(kept)}-"


def test_a_server_that_trickles_from_the_first_byte_fails_within_the_window(
        server, tmp_path, rabbit_bytes):
    url = server.base_url + "/rabbit.npy"
    server.routes["/rabbit.npy"] = Route(rabbit_bytes, trickle_after=0, trickle_seconds=0.3)
    with robustness.attempt(KIND, "one byte every 0.3 s from the start"):
        started = time.monotonic()
        with pytest.raises(DownloadError, match=r"too slowly.*bytes in the last 1\.\d s"):
            downloads.download(url, tmp_path / "rabbit.npy", progress=False,
                               min_bytes_per_window=100, rate_window=1.0)
        assert time.monotonic() - started < 4
        assert not (tmp_path / "rabbit.npy").exists()
        kept = (tmp_path / "rabbit.npy.part").read_bytes()
        assert 1 <= len(kept) < 100 and kept == rabbit_bytes[:len(kept)]


def test_a_slow_but_steady_server_is_not_cut_off(server, tmp_path):
    body = bytes(range(30))
    server.routes["/slow.bin"] = Route(body, trickle_after=0, trickle_seconds=0.05)  # 20 bytes/s
    path = downloads.download(server.base_url + "/slow.bin", tmp_path / "slow.bin", progress=False,
                              min_bytes_per_window=3, rate_window=0.4)
    assert path.read_bytes() == body
