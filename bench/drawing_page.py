"""Section 10: how long the drawing page waits for its suggestions after a stroke ends.

The server is started as a user starts it (`python -m sketchdraw serve --run R --port 0`, a
process of its own), and driven as the page drives it: for each of a few real rabbits from the
simplified ndjson file, the ink after each of its strokes is posted to /api/complete for 8
suggestions, one request at a time. The time is the client's, from sending the request to having
the whole answer (what a person waits for). The run: `--run`, or a rabbit_small generator trained
for one epoch in a temporary folder (the wait depends on the network's size, not on its training).

`python bench/drawing_page.py [--run runs/rabbit_small] [--drawings 12]` runs this section alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

TARGET_SECONDS = 1.0
COUNT = 8


def trained_run(folder: Path, mirror: Path) -> Path:
    from sketchdraw import dcgan

    config = dcgan.resolve("rabbit_small", name="rabbit_small", epochs=1, quality_every=0, keep_best=False,
                           runs_dir=str(folder), progress=False, mirror=str(mirror))
    dcgan.train(config)
    return folder / "rabbit_small"


def partial_inks(ndjson: Path, drawings: int) -> list[list[int]]:
    """The ink after each stroke of `drawings` recognised rabbits (from the file's end), 784 values each."""
    from sketchdraw import strokes

    chosen = [item for item in strokes.read_ndjson(ndjson, recognized_only=True)][-drawings:]
    return [strokes.rasterize(item.strokes[:k]).ravel().tolist()
            for item in chosen for k in range(1, len(item.strokes) + 1)]


def start_server(run: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "sketchdraw", "serve", "--run", str(run), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    line = process.stdout.readline()
    if "http://" not in line:
        process.kill()
        raise SystemExit(f"the drawing page did not start: {line}{process.stderr.read()[-2000:]}")
    return process, "http://" + line.split("http://", 1)[1].split()[0].rstrip("/")


def post(url: str, document: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(document).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def measure(mirror: Path, log: Callable[[str], None], run: Path | None = None, drawings: int = 12) -> list:
    from common import Row, judged

    ndjson = mirror.parent / "ndjson_25" / "rabbit.ndjson"
    if not ndjson.is_file():
        return [Row("10 drawing page", "suggestions after a stroke ends", "no rabbit.ndjson", "-", "skipped",
                    f"{ndjson} is missing: the page's strokes come from the simplified ndjson file")]
    inks = partial_inks(ndjson, drawings)
    with tempfile.TemporaryDirectory() as folder:
        if run is None:
            log("section 10: training a one-epoch rabbit_small generator for the drawing page")
            run = trained_run(Path(folder), mirror)
        started = time.perf_counter()
        process, address = start_server(run)
        ready = time.perf_counter() - started
        try:
            waits, server_seconds = [], []
            for index, ink in enumerate(inks):
                sent = time.perf_counter()
                reply = post(address + "/api/complete", {"ink": ink, "count": COUNT, "seed": index})
                waits.append(time.perf_counter() - sent)
                server_seconds.append(reply["seconds"])
                assert len(reply["completions"]) == COUNT
        finally:
            process.terminate()
            process.wait(timeout=30)
    median = statistics.median(waits)
    tenth = sorted(waits)[int(0.9 * (len(waits) - 1))]
    log(f"section 10: {len(waits)} requests, median {median:.3f} s, 90th percentile {tenth:.3f} s")
    return [Row("10 drawing page", f"suggestions after a stroke ends: median wait ({COUNT} suggestions, "
                f"{len(waits)} strokes of {drawings} real rabbits)", f"{median:.2f} s", f"<= {TARGET_SECONDS:g} s",
                judged(median, TARGET_SECONDS, at_least=False),
                f"90th percentile {tenth:.2f} s, slowest {max(waits):.2f} s; the server's own share "
                f"{statistics.median(server_seconds):.2f} s; server ready {ready:.0f} s after its start "
                f"(TensorFlow, the generator, the screening bank, one warm-up search); {os.cpu_count()} cores")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=None, help="a Quick, Draw! run folder (default: train one)")
    parser.add_argument("--drawings", type=int, default=12, help="real rabbits whose strokes are sent (default 12)")
    arguments = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import format_table, log, mirror_folder

    print(format_table(measure(mirror_folder(), log, arguments.run, arguments.drawings)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
