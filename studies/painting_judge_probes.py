"""How hard the painting judge is to fool: sets of paintings that are not what a good generator
makes (one painting over and over, a few paintings repeated, real paintings broken the ways small
GANs break them) and the runs of the painting study, each measured as a generator would be, by
two judges: the folders-only judge and the one with the class of broken paintings
(`quality.artefacts`, the default).

    python studies/painting_judge_probes.py                      # Van Gogh, both judges, 5 draws
    python studies/painting_judge_probes.py --runs runs/painting_ablation/vangogh-*-s1

A judge is hard to fool when every probe scores a KID well above the real held-out paintings'
and the collapsed runs score worse than the varied ones. Each probe is drawn `--draws` times (other
paintings, other repeats, other damage; the held-out count each time) and reported as mean and
standard deviation. "checkerboard" and "blur" are failures the artefacts judge was trained on
(on the training paintings; the probes break the held-out ones); "one painting" and "four
paintings" (collapse) are not. Writes `studies/results/painting-judge-probes-<folder>-<date>.md`.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import os
import statistics
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "studies" / "results"
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "wikiart" / "vangogh"
DEFAULT_RUNS = "runs/painting_ablation/vangogh-*-s[0-9]"
# The judge before the class of broken paintings (its recipe then) and the default one now.
JUDGES = {"folders only, 15 epochs": {"artefacts": False, "epochs": 15}, "with artefacts (default)": {}}


def probe_sets(held_out: np.ndarray, training: np.ndarray, draw: int) -> dict[str, np.ndarray]:
    """{probe: uint8 paintings}, as many as are held out, for one draw."""
    from sketchdraw.quality import artefacts

    rng = np.random.default_rng(draw)
    count = len(held_out)
    four = training[rng.choice(len(training), 4, replace=False)]
    return {
        "real: training paintings": training[rng.choice(len(training), count, replace=False)],
        "one painting, repeated": np.repeat(training[rng.integers(len(training))][None], count, axis=0),
        "four paintings, repeated": np.resize(four, (count, *four.shape[1:])),
        "checkerboard on held-out": artefacts.checkerboard(held_out, rng),
        "blur on held-out": artefacts.blur(held_out, rng),
        "stripes on held-out": artefacts.stripes(held_out, rng),
    }


def measure(judge, target_index: int, images: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    from sketchdraw.quality import metrics
    from sketchdraw.quality.painting_judge import judge_features

    features, probabilities = judge_features(judge, images)
    return {"kid": metrics.kid(features, reference)[0],
            "recognised": metrics.characteristic_score(probabilities, target_index),
            "gd": metrics.generation_diversity(features),
            "coverage": metrics.coverage(features, reference)}


def run_all(arguments) -> dict[str, dict[str, list[dict]]]:
    """{judge: {probe or run: [figures per draw]}}."""
    from sketchdraw import paintings, sampling
    from sketchdraw.quality.painting_judge import (
        judge_features,
        judge_folders,
        load_or_train_painting_judge,
    )

    found = paintings.load_painting_folder(arguments.data, progress=False)  # as a 64x64 run crops them
    training_rows, held_out_rows = paintings.split_held_out(found, 0.1)
    training, held_out = found.images[training_rows], found.images[held_out_rows]
    runs = sorted(path for pattern in arguments.runs for path in glob.glob(pattern)
                  if (Path(path) / "generator.keras").is_file())
    folders, target = judge_folders(arguments.data)
    results: dict[str, dict[str, list[dict]]] = {}
    for judge_name, options in JUDGES.items():
        judge = load_or_train_painting_judge(folders, held_out_share=0.1, **options)
        target_index = judge.category_index(target)
        reference = judge_features(judge, held_out)[0]
        figures: dict[str, list[dict]] = {"real: held-out paintings": [measure(judge, target_index, held_out, reference)]}
        for draw in range(arguments.draws):
            for probe, images in probe_sets(held_out, training, draw).items():
                figures.setdefault(probe, []).append(measure(judge, target_index, images, reference))
        for run in runs:
            generator = sampling.load_generator(run)
            for draw in range(arguments.draws):
                images = sampling.generate(generator, len(held_out), seed=draw, truncation=0)
                figures.setdefault(f"run {Path(run).name}", []).append(
                    measure(judge, target_index, images, reference))
        results[judge_name] = figures
        print(f"{judge_name}: {judge.describe()}", flush=True)
    return results


def format_table(results: dict[str, dict[str, list[dict]]]) -> str:
    judges = list(results)
    keys = ("kid", "recognised", "gd", "coverage")
    header = "| probe | " + " | ".join(f"{name}: KID | recognised | GD | coverage" for name in judges) + " |\n"
    header += "| --- |" + " --- |" * len(keys) * len(judges) + "\n"

    def cell(draws: list[dict], key: str) -> str:
        values = [draw[key] for draw in draws]
        spread = f" ± {statistics.stdev(values):.3f}" if len(values) > 1 else ""
        return f"{statistics.fmean(values):.3f}{spread}"

    lines = [f"| {probe} | " + " | ".join(cell(results[judge][probe], key) for judge in judges for key in keys) + " |"
             for probe in results[judges[0]]]
    return header + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the painting folder (default: the shared Van Gogh)")
    parser.add_argument("--runs", nargs="*", default=[DEFAULT_RUNS], help="run folders (globs) to measure too")
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    arguments = parser.parse_args(argv)
    if not arguments.data.is_dir():
        parser.error(f"--data {arguments.data} is not a folder of paintings")
    if arguments.draws < 2:
        parser.error("--draws must be at least 2 (the table gives each probe's spread over its draws)")
    from sketchdraw.atomicfiles import atomic_write_text, unused_path

    table = format_table(run_all(arguments))
    folder = arguments.data.name
    path = unused_path(arguments.results_dir / f"painting-judge-probes-{folder}-{datetime.date.today().isoformat()}.md")
    arguments.results_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, f"# How hard the painting judge is to fool, on {folder}\n\n"
                      f"Command: `python studies/painting_judge_probes.py --data {os.path.relpath(arguments.data, REPO_ROOT)} "
                      f"--draws {arguments.draws}`\n\n"
                      "KID, recognised share, GD and coverage of each probe against the held-out paintings, mean ± "
                      f"standard deviation over {arguments.draws} draws (runs: noise draws).\n\n" + table)
    print(table)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
