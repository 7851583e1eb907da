"""The benchmark suite's quick mode runs end to end and reports every figure (issue 6).

`make bench QUICK=1` is what this runs: one real pass over every section with tiny budgets (~1-2
minutes on 2 CPU cores; the first run on a machine also trains the cached domain classifier). The
figures themselves are not checked here (they depend on the machine), only that each row is there,
has a value, and that every row with a target is judged met or missed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

EXPECTED_FIGURES = [
    "sketchdraw step + tf.data, images/s",
    "(a) seed 001 tutorial code, images/s",
    "(b) seed 000 Keras loop, images/s",
    "sketchdraw / (a)",
    "sketchdraw / (b)",
    "tf.data chain alone, images/s; multiple of training",
    "share of a 10,000-drawing epoch",
    "peak RSS above baseline / file size",
    "process start to first finished train step",
    "seed 001 recipe (rabbit preset)",
    "seed 000 recipe (flower preset on rabbit)",
    "project settings (rabbit + EMA",
    "real held-out rabbits (reference)",
    "rabbit (batch 256): plain, images/s",
    "rabbit (batch 256): 8 steps/call, images/s",
    "rabbit_small (batch 32): XLA, images/s",
    "rabbit_small (batch 32): mixed_bfloat16, images/s",
    "suggestions after a stroke ends: median wait",
    "fifth rung (wikiart64), 64x64: images/s",
    "vangogh_small (fastgan64), 128x128: images/s; / fifth rung",
    "vangogh_small at 128x128: 91 epochs on 2 CPU cores, estimated",
]


# about 4 minutes on 2 cores: `make test-slow` (and `make bench QUICK=1`) run it
@pytest.mark.slow
def test_quick_benchmark_reports_every_row(quickdraw_mirror, shared_data, tmp_path):
    output = tmp_path / "results.md"
    environment = {**os.environ, "SKETCHDRAW_QUICKDRAW_MIRROR": str(quickdraw_mirror),
                   "SKETCHDRAW_VANGOGH_FOLDER": str(shared_data / "wikiart" / "vangogh"),
                   "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, str(REPO_ROOT / "bench" / "run.py"), "--quick",
                           "--output", str(output)], cwd=tmp_path, env=environment,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    document = output.read_text()
    assert document.strip() in done.stdout  # the same table is printed
    assert "- CPU: " in document and "- GPU: " in document and "TensorFlow " in document
    table = [line for line in document.splitlines() if line.startswith("| ")][1:]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table[1:]]
    figures = [row[1] for row in rows]
    for expected in EXPECTED_FIGURES:
        assert any(figure.startswith(expected) for figure in figures), (expected, figures)
    assert any(row[0] == "7 GPU" for row in rows)
    for _section, figure, measured, target, status, _notes in rows:
        assert measured and measured != "failed", (figure, measured)
        if target.startswith((">=", "<=")):
            assert status in ("met", "missed"), (figure, status)
    assert not list(tmp_path.glob("runs")), "the benchmark wrote into the working directory"
