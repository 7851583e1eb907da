"""How much the final metrics move with the generator's noise draw alone (issue 11).

    python bench/metric_noise.py runs/ablation-384k/rabbit-ema999_translation-s2 runs/rabbit_small

Each run's generator draws `--samples` drawings `--draws` times (noise seeds 0, 1, ...), each set
measured like `make evaluate DRAWS=n` (`evaluation.measure_draws`) against the same real references
with the ablation's judge; prints
the mean, standard deviation, min and max of CS and KID per run. A difference between two runs, or
between a run and a target, that is smaller than these spreads is not a difference. `--last`
measures a keep_best run's last epoch's generator (generator_last.keras) instead of the kept one.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def spread(run_dir: str, judge, draws: int, samples: int, last: bool = False) -> dict:
    from sketchdraw import evaluation, sampling, training
    from sketchdraw.artifacts import RunFolder

    config = dataclasses.replace(evaluation.load_run_config(run_dir), progress=False)
    path = None
    if last:  # a keep_best run: its last epoch's generator instead of the kept one
        path = RunFolder(run_dir).last_generator_path
        if not path.is_file():
            raise SystemExit(f"{run_dir} has no {path.name}: --last is for runs trained with keep_best")
    generator = sampling.load_generator(run_dir, path)
    train = training.load_training_images(config)
    reference = evaluation.reference_drawings(config, judge, samples, train, None, 0, False)
    rows = evaluation.measure_draws(generator, draws, samples, config.category, judge, reference,
                                    train)["generated_draws"]
    return {key: [row[key] for row in rows] for key in ("cs", "kid_mean")}


def main(argv=None) -> int:
    import small_data

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="finished Quick, Draw! run folders")
    parser.add_argument("--draws", type=int, default=6)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--category", default="rabbit", help="the judge's own category")
    parser.add_argument("--classifier-categories", default=None)
    parser.add_argument("--mirror", default=None)
    parser.add_argument("--last", action="store_true",
                        help="keep_best runs: measure generator_last.keras, not the kept generator.keras")
    args = parser.parse_args(argv)
    if args.draws < 2:
        parser.error("--draws must be at least 2 (a spread needs two draws)")
    args.mirror = args.mirror or str(small_data.mirror_folder())
    judge = small_data.classifier_for(args)
    for run_dir in args.runs:
        values = spread(run_dir, judge, args.draws, args.samples, args.last)
        text = "; ".join(f"{name} {statistics.mean(v):.4f} ± {statistics.stdev(v):.4f} "
                         f"(min {min(v):.4f}, max {max(v):.4f})"
                         for name, v in (("CS", values["cs"]), ("KID", values["kid_mean"])))
        which = ", last epoch's generator" if args.last else ""
        print(f"{run_dir} ({args.draws} draws of {args.samples}{which}): {text}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
