"""The studies' subprocess pool (`sketchdraw.job_pool`): real child processes, their logs, their
failures, and never more at once than asked."""

import sys
import time

from sketchdraw import job_pool


def test_jobs_run_in_order_at_most_workers_at_a_time_and_failures_are_named(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    # each job writes a start mark, waits, checks how many are running, removes its mark
    script = ("import os, sys, time, pathlib; marks = pathlib.Path(sys.argv[1]); name = sys.argv[2]; "
              "(marks / name).touch(); time.sleep(0.6); print('running together', len(list(marks.iterdir()))); "
              "(marks / name).unlink(); print('done', name); sys.exit(int(name == 'b'))")
    jobs = [(name, [sys.executable, "-c", script, str(marks), name]) for name in "abcd"]
    started = time.monotonic()
    failed = job_pool.run_jobs(jobs, workers=2, log_dir=tmp_path / "logs", poll_seconds=0.1)
    assert failed == ["b"]
    for name in "abcd":
        log = (tmp_path / "logs" / f"{name}.log").read_text()
        assert f"done {name}" in log
        assert int(log.split("running together ")[1].split()[0]) <= 2
    assert time.monotonic() - started >= 1.2  # two rounds of two, not four at once


def test_a_log_is_appended_to_when_a_job_runs_again(tmp_path):
    for _ in range(2):
        job_pool.run_jobs([("again", [sys.executable, "-c", "print('hello')"])], workers=1,
                          log_dir=tmp_path, poll_seconds=0.05)
    assert (tmp_path / "again.log").read_text().count("hello") == 2


def test_threads_are_shared_between_the_workers():
    assert job_pool.threads_per_worker(1) >= 1
    assert job_pool.threads_per_worker(10_000) == 1
