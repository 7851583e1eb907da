"""Multi-worker training for real: two worker processes on 127.0.0.1 (TF_CONFIG, free ports) train
one doodle run with `strategy=multi_worker`, then resume it. Both end with the same weights, only
the chief writes the run folder, and the other worker's scratch folder is gone afterwards."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from sketchdraw.artifacts import RunFolder

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 240  # seconds for one run of both workers
FAILED_PEER_GRACE = 20  # seconds the other worker gets to fail by itself after one failed

# One worker: trains the run to each number of epochs in turn (the later ones resume it), and after
# each writes its final weights and result beside (not into) the runs.
WORKER = textwrap.dedent("""
    import json, sys
    import numpy as np
    from sketchdraw import dcgan
    runs_dir, mirror, epochs_list, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    for epochs in map(int, epochs_list.split(",")):
        config = dcgan.resolve("rabbit", name="mw", epochs=epochs, batch_size=32, limit=128,
                               strategy="multi_worker", checkpoint_every=1, runs_dir=runs_dir,
                               mirror=mirror, progress=False)
        result = dcgan.train(config)
        np.savez(f"{out}-{epochs}.npz", *[variable.numpy() for name in ("generator", "discriminator")
                                          for variable in result.models[name].weights])
        with open(f"{out}-{epochs}.json", "w") as handle:
            json.dump({"epochs_trained": result.epochs_trained, "run": str(result.run.root)}, handle)
""")


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for each in sockets:  # held together, so the ports differ
            each.bind(("127.0.0.1", 0))
        return [each.getsockname()[1] for each in sockets]
    finally:
        for each in sockets:
            each.close()


def _tail(path: Path, characters: int = 3000) -> str:
    return path.read_text(errors="replace")[-characters:] if path.exists() else "(no output)"


def _train_on_two_workers(tmp_path: Path, mirror: Path, epochs: list[int],
                          phase: str) -> dict[int, list[dict]]:
    """A fresh two-worker cluster trains the run to each of `epochs` in turn; returns, for each,
    both workers' results (epochs trained, weights, pid), chief first. A failure or a hang fails
    the test with both workers' output."""
    workers = _run_two_workers(tmp_path, phase, lambda out: [
        sys.executable, "-c", WORKER, str(tmp_path / "runs"), str(mirror), ",".join(map(str, epochs)),
        str(out)])
    results = {}
    for total in epochs:
        results[total] = []
        for pid, out in workers:
            result = json.loads(Path(f"{out}-{total}.json").read_text())
            with np.load(f"{out}-{total}.npz") as weights:
                result["weights"] = [weights[key] for key in weights.files]
            result["pid"] = pid
            results[total].append(result)
    return results


def _run_two_workers(tmp_path: Path, phase: str, command, timeout: float = TIMEOUT) -> list[tuple]:
    """Start `command(out)` as worker 0 and worker 1 of a fresh cluster on 127.0.0.1 and wait for
    both; returns [(pid, out)], chief first. A failure or a hang fails the test with both outputs."""
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    scratch_parent = tmp_path / "tmp"  # where the workers' scratch folders go (TMPDIR)
    scratch_parent.mkdir(exist_ok=True)
    workers = []
    for index in range(2):
        out = tmp_path / f"{phase}-worker{index}"
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TMPDIR": str(scratch_parent),
               "TF_CONFIG": json.dumps({"cluster": cluster,
                                        "task": {"type": "worker", "index": index}})}
        env.pop("SKETCHDRAW_QUICKDRAW_MIRROR", None)  # the mirror comes as a setting
        log = open(out.with_suffix(".log"), "w")
        process = subprocess.Popen(command(out), cwd=REPO, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        workers.append((process, out, log))
    try:
        deadline = time.monotonic() + timeout
        while any(process.poll() is None for process, _, _ in workers):
            if any(process.poll() not in (None, 0) for process, _, _ in workers):
                # a failed worker leaves the other waiting on it: a little while for its own
                # error, then it is killed
                deadline = min(deadline, time.monotonic() + FAILED_PEER_GRACE)
            if time.monotonic() > deadline:
                pytest.fail(f"{phase}: the workers did not all finish (timeout {timeout} s)\n" +
                            _report(workers))
            time.sleep(0.2)
    finally:
        for process, _, log in workers:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()
    if any(process.returncode != 0 for process, _, _ in workers):
        pytest.fail(f"{phase}: a worker failed\n" + _report(workers))
    return [(process.pid, out) for process, out, _ in workers]


def _report(workers) -> str:
    return "\n".join(f"--- worker {index} (exit {process.poll()}), last output:\n"
                     f"{_tail(out.with_suffix('.log'))}"
                     for index, (process, out, _) in enumerate(workers))


def _assert_same_weights(results: list[dict]) -> None:
    chief, other = results
    assert len(chief["weights"]) == len(other["weights"]) > 0
    for index, (a, b) in enumerate(zip(chief["weights"], other["weights"])):
        np.testing.assert_array_equal(a, b, err_msg=f"weight {index} differs between the workers")


def _assert_only_the_chief_wrote(tmp_path: Path, run_dir: Path, chief_pids: set[int]) -> None:
    written = {path.name for path in run_dir.iterdir()}
    expected = {".lock", "checkpoints", "config.json", "generator.keras", "history.csv",
                "images", "index.html", "logs", "losses.png", "progress.gif", "reals.png",
                "samples.png"}
    assert written == expected, f"unexpected entries in the run folder: {written ^ expected}"
    assert any(f"process {pid} " in (run_dir / ".lock").read_text() for pid in chief_pids)
    # TensorBoard names its event files after the process writing them
    events = list((run_dir / "logs").glob("events.out.tfevents.*"))
    assert events and all(any(f".{pid}." in path.name for pid in chief_pids)
                          for path in events), events
    assert not list((tmp_path / "tmp").iterdir()), "a worker's scratch folder was left behind"


def _check_first_run(run_dir: Path, results: list[dict]) -> None:
    assert [result["epochs_trained"] for result in results] == [2, 2]
    assert all(result["run"] == str(run_dir) for result in results)  # the run's, not scratch
    _assert_same_weights(results)


def _check_resumed_run(run_dir: Path, first: list[dict], resumed: list[dict]) -> None:
    assert [result["epochs_trained"] for result in resumed] == [1, 1]  # both after epoch 2
    _assert_same_weights(resumed)
    assert [row["epoch"] for row in RunFolder(run_dir).read_history()] == [1, 2, 3]
    assert sorted(path.name for path in (run_dir / "checkpoints").glob("ckpt-*.index")) == \
        ["ckpt-1.index", "ckpt-2.index", "ckpt-3.index"]  # the chief's only, none missing
    assert any(not np.array_equal(a, b) for a, b in zip(first[0]["weights"],
                                                        resumed[0]["weights"])), \
        "the resumed run did not train"


@pytest.fixture
def rabbits(quickdraw_mirror) -> Path:
    if not (quickdraw_mirror / "rabbit.npy").exists():
        pytest.skip(f"no rabbit drawings in {quickdraw_mirror}")
    return quickdraw_mirror


def test_two_workers_train_one_run_and_resume_it(tmp_path, rabbits):
    """Each worker process trains 2 epochs, then resumes the run to 3 with a second `train`: the
    other worker's scratch folder is gone by then, so it can only resume from the chief's
    checkpoint."""
    run_dir = tmp_path / "runs" / "mw"
    results = _train_on_two_workers(tmp_path, rabbits, [2, 3], "both")
    _check_first_run(run_dir, results[2])
    _check_resumed_run(run_dir, results[2], results[3])
    _assert_only_the_chief_wrote(tmp_path, run_dir, {results[2][0]["pid"]})


# four worker processes, each starting TensorFlow and tracing the step: 60 to 100 s on 2 busy
# cores, where the test above takes 25 to 50 s
@pytest.mark.slow
def test_restarted_workers_resume_from_the_chiefs_checkpoint(tmp_path, rabbits):
    """The same, with the resume in new worker processes (a new cluster), as after a crash."""
    run_dir = tmp_path / "runs" / "mw"
    first = _train_on_two_workers(tmp_path, rabbits, [2], "first")[2]
    _check_first_run(run_dir, first)
    _assert_only_the_chief_wrote(tmp_path, run_dir, {first[0]["pid"]})
    resumed = _train_on_two_workers(tmp_path, rabbits, [3], "resumed")[3]
    _check_resumed_run(run_dir, first, resumed)
    _assert_only_the_chief_wrote(tmp_path, run_dir, {first[0]["pid"], resumed[0]["pid"]})


# two notebook kernels, each starting TensorFlow and tracing the step: about 2 minutes on 2 cores
@pytest.mark.slow
def test_sketchdraw_run_on_two_workers_writes_one_run(tmp_path, rabbits):
    """`sketchdraw run ... --set strategy=multi_worker` (what `make run STRATEGY=multi_worker`
    runs) on both workers: the notebook makes the strategy before any model, the chief's executed
    notebook and kernel log are in the run folder, the other worker's in a folder of its own."""
    run_dir = tmp_path / "runs" / "mw"
    workers = _run_two_workers(tmp_path, "cli", lambda out: [
        sys.executable, "-m", "sketchdraw", "run", "--category", "rabbit", "--name", "mw",
        "--epochs", "1", "--limit", "128", "--batch", "32", "--mirror", str(rabbits),
        "--runs-dir", str(tmp_path / "runs"), "--set", "strategy=multi_worker"], timeout=2 * TIMEOUT)
    assert (run_dir / "quickdraw_dcgan.ipynb").is_file()
    assert (run_dir / "logs" / "kernel.log").is_file()
    assert [row["epoch"] for row in RunFolder(run_dir).read_history()] == [1]
    assert not list(run_dir.glob(".*.running.ipynb"))
    worker_log = Path(f"{workers[1][1]}.log").read_text()
    assert "this worker's notebook and log go to" in worker_log, worker_log[-2000:]
    worker_dir = Path(worker_log.split("this worker's notebook and log go to ")[1].split()[0])
    assert worker_dir.parent == tmp_path / "tmp" and worker_dir != run_dir
    assert (worker_dir / "quickdraw_dcgan.ipynb").is_file()
    _assert_only_the_chief_wrote_cli(run_dir)


def _assert_only_the_chief_wrote_cli(run_dir: Path) -> None:
    written = {path.name for path in run_dir.iterdir()}
    assert "quickdraw_dcgan.ipynb" in written
    assert not [name for name in written if name.startswith("quickdraw_dcgan.") and
                name != "quickdraw_dcgan.ipynb"], f"a second executed notebook: {written}"
