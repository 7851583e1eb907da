"""How much the final metrics move with the generator's noise draw alone (issue 11), and what
truncating the noise trades.

    python studies/metric_noise.py runs/ablation-384k/rabbit-ema999_translation-s2 runs/rabbit_small
    python studies/metric_noise.py runs/rabbit_small --truncation 0,3,2.5,2,1.5 \
        --write studies/results/truncation-rabbit-2026-11-22.md

Each run's generator draws `--samples` drawings `--draws` times (noise seeds 0, 1, ...), each set
measured like `make evaluate DRAWS=n` (`quality.measure_draws`) against the same real references
with the ablation's judge; prints the mean, standard deviation, min and max of CS and KID per run,
the means of GD and memorisation, and how many of issue 11's four targets the means meet. A
difference between two runs, or between a run and a target, that is smaller than these spreads is
not a difference. `--last` measures a keep_best run's last epoch's generator (generator_last.keras)
instead of the kept one.

`--truncation 0,2.5,2` measures every run at each threshold (0: the plain normal; t: each noise
value kept within t standard deviations, `RunConfig.truncation`), the same noise seeds for each, so
the rows show what the truncation trick buys in CS and costs in KID, GD and memorisation. Without it
each run is measured with its own setting. `--write FILE.md` also writes the rows as a table, and a
figure of the four metrics against the threshold beside it (FILE.png).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import statistics
import sys
from pathlib import Path

METRICS = (("cs", "CS", "higher"), ("kid_mean", "KID", "lower"), ("gd", "GD", "higher"),
           ("memorisation_distance", "memorisation", "higher"))


def measure(run_dir: str, judge, draws: int, samples: int, last: bool = False,
            truncations=(None,), path=None) -> list[dict]:
    """One row per truncation: {"truncation", "draws": {metric: [value per draw]}, "real": row}.
    `path`: a generator file of the run to measure instead of its generator.keras."""
    from sketchdraw import dcgan, quality, sampling
    from sketchdraw.artifacts import RunFolder

    config = dataclasses.replace(quality.load_run_config(run_dir), progress=False)
    if last:  # a keep_best run: its last epoch's generator instead of the kept one
        path = RunFolder(run_dir).last_generator_path
        if not path.is_file():
            raise SystemExit(f"{run_dir} has no {path.name}: --last is for runs trained with keep_best")
    generator = sampling.load_generator(run_dir, path)
    train = dcgan.load_training_images(config)
    reference = quality.reference_drawings(config, judge, samples, train, None, 0, False)
    rows = []
    for truncation in truncations:
        truncation = config.truncation if truncation is None else truncation
        # The spread over draws is what these studies report: no bootstrap per generator.
        measured = quality.measure_draws(generator, draws, samples, config.category, judge, reference,
                                         train, truncation=truncation, resamples=0)
        rows.append({"truncation": truncation, "real": measured["real_held_out"],
                     "draws": {key: [row[key] for row in measured["generated_draws"]]
                               for key, _, _ in METRICS}})
    return rows


def row_means(row: dict) -> dict:
    """{metric: the mean over the row's draws}."""
    return {key: statistics.mean(values) for key, values in row["draws"].items()}


def describe(row: dict) -> str:
    """CS and KID as mean ± std (min, max), GD and memorisation as means, and the targets met."""
    import small_data

    values = row["draws"]
    text = "; ".join(f"{name} {statistics.mean(v):.4f} ± {statistics.stdev(v):.4f} "
                     f"(min {min(v):.4f}, max {max(v):.4f})"
                     for name, v in (("CS", values["cs"]), ("KID", values["kid_mean"])))
    means = row_means(row)
    met = small_data.judge(means, row["real"])
    return (f"{text}; GD {means['gd']:.2f}; memorisation {means['memorisation_distance']:.2f}; "
            f"targets met on the means {sum(met)}/4")


def truncation_label(truncation: float) -> str:
    return f"{truncation:g}" if truncation else "off"


def write_results(path: Path, measured: dict[str, list[dict]], draws: int, samples: int,
                  command: str) -> list[Path]:
    """The rows as a markdown table at `path` and the trade-off figure beside it (.png)."""
    import matplotlib.pyplot as plt
    import small_data

    from sketchdraw.atomicfiles import atomic_write_text
    from sketchdraw.plots import save_figure

    lines = [f"# What truncating the noise trades ({datetime.date.today().isoformat()})", "",
             f"`{command}`", "",
             f"Each row: the mean ± std over {draws} noise draws of {samples} drawings (seeds 0..{draws - 1}), "
             "the same references and judge for every row; targets judged on the means (issue 11).", "",
             "| run | truncation | CS | KID | GD | memorisation | targets met |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    real = None
    for run_dir, rows in measured.items():
        for row in rows:
            values, real = row["draws"], row["real"]
            means = row_means(row)
            cells = [f"{means[key]:.4f} ± {statistics.stdev(values[key]):.4f}" for key, _, _ in METRICS]
            lines.append(f"| {Path(run_dir).name} | {truncation_label(row['truncation'])} | "
                         + " | ".join(cells) + f" | {sum(small_data.judge(means, real))}/4 |")
    lines.append(f"| real held-out | | {real['cs']:.4f} | {real['kid_mean']:.4f} | {real['gd']:.2f} | "
                 f"{real['memorisation_distance']:.2f} | |")
    limits = small_data.targets(real)
    lines.append("| targets | | " + " | ".join(f"{limits[key][0]} {limits[key][1]:.4g}" for key, _, _ in METRICS)
                 + " | |")
    atomic_write_text(path, "\n".join(lines) + "\n")

    figure, axes = plt.subplots(1, len(METRICS), figsize=(12, 3.2), layout="constrained")
    for axis, (key, name, better) in zip(axes, METRICS):
        for run_dir, rows in measured.items():
            labels = [truncation_label(row["truncation"]) for row in rows]
            means = [statistics.mean(row["draws"][key]) for row in rows]
            errors = [statistics.stdev(row["draws"][key]) for row in rows]
            axis.errorbar(range(len(rows)), means, yerr=errors, marker="o", capsize=3,
                          label=Path(run_dir).name)
            axis.set_xticks(range(len(rows)), labels)
        axis.axhline(limits[key][1], color="black", linestyle="--", linewidth=1, label="target")
        axis.set_title(f"{name} ({better} is better)")
        axis.set_xlabel("truncation (std)")
    axes[0].legend(fontsize=7)
    figure_path = path.with_suffix(".png")
    save_figure(figure, figure_path)
    return [path, figure_path]


def parse_truncations(text: str | None) -> list:
    from sketchdraw.sampling import check_truncation

    if text is None:
        return [None]
    try:
        return [check_truncation(float(part)) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise SystemExit(f"--truncation takes thresholds separated by commas, e.g. 0,2.5,2 "
                         f"({error})") from None


def add_draw_arguments(parser: argparse.ArgumentParser, samples: int) -> None:
    """--draws, --samples and the judge's arguments, which this script and keep_best.py share."""
    parser.add_argument("--draws", type=int, default=6)
    parser.add_argument("--samples", type=int, default=samples)
    parser.add_argument("--category", default="rabbit", help="the judge's own category")
    parser.add_argument("--classifier-categories", default=None)
    parser.add_argument("--mirror", default=None)
    parser.add_argument("--classifier-drawings", type=int, default=None,
                        help="the judge's first N drawings per category (default: make evaluate's, 5000)")
    parser.add_argument("--classifier-epochs", type=int, default=None,
                        help="the judge's training epochs (default: make evaluate's, 30)")


def judge_for(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """The ablation's judge, after checking --draws (a spread needs two)."""
    import small_data

    if args.draws < 2:
        parser.error("--draws must be at least 2 (a spread needs two draws)")
    args.mirror = args.mirror or str(small_data.mirror_folder())
    return small_data.classifier_for(args)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="finished Quick, Draw! run folders")
    add_draw_arguments(parser, samples=1000)
    parser.add_argument("--last", action="store_true",
                        help="keep_best runs: measure generator_last.keras, not the kept generator.keras")
    parser.add_argument("--truncation", default=None,
                        help="thresholds to measure each run at, e.g. 0,2.5,2 (default: the run's own)")
    parser.add_argument("--write", type=Path, default=None,
                        help="also write the rows to this .md table and the figure beside it (.png)")
    args = parser.parse_args(argv)
    truncations = parse_truncations(args.truncation)
    judge = judge_for(parser, args)
    measured = {}
    for run_dir in args.runs:
        measured[run_dir] = measure(run_dir, judge, args.draws, args.samples, args.last, truncations)
        for row in measured[run_dir]:
            which = ", last epoch's generator" if args.last else ""
            if args.truncation is not None:
                which += f", truncation {truncation_label(row['truncation'])}"
            print(f"{run_dir} ({args.draws} draws of {args.samples}{which}): {describe(row)}", flush=True)
    if args.write:
        command = "python studies/metric_noise.py " + " ".join(sys.argv[1:] if argv is None else argv)
        for path in write_results(args.write, measured, args.draws, args.samples, command):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
