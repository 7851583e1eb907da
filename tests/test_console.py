"""A quiet console: a real `sketchdraw run` prints its few lines, progress bars and a closing
summary; TensorFlow's C++ lines and the kernel's warnings go to the run's logs/kernel.log."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from sketchdraw import dcgan
from sketchdraw.console import native_stderr_silenced, quiet_kernel_options

REPO = Path(__file__).resolve().parents[1]
NATIVE_NOISE = re.compile(r"^(I|W|E)0000 |absl::InitializeLog|\[IPKernelApp\]|cuInit|oneDNN")


def _lines_besides_progress(output: str) -> list[str]:
    lines = []
    for line in output.splitlines():
        # a tqdm bar redraws with carriage returns; what follows the last one is the line kept
        kept = line.split("\r")[-1].strip()
        if kept and not re.match(r"^epoch \d+/\d+:\s+\d+%\|", kept):
            lines.append(kept)
    return lines


def test_a_real_run_prints_a_few_lines_and_ends_with_the_summary(tmp_path, quickdraw_mirror):
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("TF_CPP_MIN_LOG_LEVEL", "SKETCHDRAW_VERBOSE")}
    completed = subprocess.run(
        [sys.executable, "-m", "sketchdraw", "run", "--category", "rabbit", "--epochs", "2",
         "--limit", "64", "--batch", "32", "--mirror", str(quickdraw_mirror),
         "--runs-dir", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=environment)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    lines = _lines_besides_progress(output)
    assert not [line for line in lines if NATIVE_NOISE.search(line)], lines
    assert len(lines) <= 15, lines
    assert any(line.startswith("settings: the rabbit preset, changed:") for line in lines), lines
    summary = next(i for i, line in enumerate(lines) if line.startswith(f"run {tmp_path / 'rabbit'}"))
    assert "2 epoch(s) trained in" in lines[summary] and "images/s" in lines[summary]
    assert "index.html" in lines[summary + 1] and "tensorboard --logdir" in lines[summary + 1]
    kernel_log = (tmp_path / "rabbit" / "logs" / "kernel.log").read_text()
    assert "[IPKernelApp]" in kernel_log or "0000 " in kernel_log  # the noise went here


def test_native_stderr_is_silenced_inside_the_block_and_restored_after(capfd):
    os.write(2, b"before\n")
    with native_stderr_silenced():
        os.write(2, b"hidden\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "before\nafter\n"


def test_verbose_leaves_the_kernel_as_jupyter_starts_it(tmp_path):
    assert quiet_kernel_options(tmp_path, verbose=True) == {}
    options = quiet_kernel_options(tmp_path, verbose=False)
    assert options["extra_arguments"] == ["--IPKernelApp.capture_fd_output=False"]
    assert (tmp_path / "logs").is_dir()


def test_settings_are_described_as_the_changes_from_the_preset():
    config = dcgan.resolve("rabbit", epochs=3, seed=4)
    text = config.describe(dcgan.preset("rabbit"))
    assert text.startswith("settings: the rabbit preset, changed: epochs=3 (preset 50), seed=4 (preset 0)")
    assert len(text.splitlines()) == 2
    assert dcgan.preset("rabbit").describe(dcgan.preset("rabbit")).startswith(
        "settings: the rabbit preset, unchanged")
