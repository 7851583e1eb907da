"""What keep_best's choice is worth (issue 11): every measured epoch's generator of a keep_best run,
measured on held-out drawings, beside the quality curve that the choice is made on.

    python studies/keep_best.py runs/rabbit_small_r7s0 runs/rabbit_small_r7s1 --from-epoch 450 \
        --tolerances 0,0.1,0.2,0.3 --write studies/results/keep-best-rabbit-2026-11-22.md

A keep_best run saves each measured epoch's generator (`generators/epoch_NNNN.keras`) and keeps the
one `quality.choose_best(history, tolerance)` picks from the quality curve: the run's drawings
against real drawings neither network saw, `QUALITY_SAMPLES` of them, one noise draw. Here each generator from
`--from-epoch` on (and every epoch some tolerance picks) draws `--samples` drawings `--draws` times
and is measured like `make evaluate DRAWS=n` against the held-out real drawings, so the table shows
how each tolerance's pick measures where the issue's targets are judged. `--average-last K` also
measures the plain average of the last K kept generators' weights. Prints one line per epoch
and one per (run, tolerance); `--write FILE.md` writes both tables and a figure (FILE.png): measured
and curve CS and KID against the epoch, the targets, and the picks.

`--recompute-curve` measures the quality curve afresh from the saved generators, exactly as the
quality callback does today (`quality.curve.measure_point`: the held-out reference, the callback's
noise seed), for runs trained without it or before it changed; the picks are then made on that
curve. The hit rate says how often each tolerance keeps the epoch that the fresh evaluation
ranks best (lowest KID, the mean over the draws) and, else, how far behind it the pick lies.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path


def kept_epochs(run_dir) -> dict[int, Path]:
    """{epoch: generator file} of a keep_best run's measured epochs."""
    from sketchdraw.artifacts import RunFolder

    folder = RunFolder(run_dir).measured_generators_dir
    found = {int(path.stem.split("_")[1]): path for path in sorted(folder.glob("epoch_*.keras"))}
    if not found:
        raise SystemExit(f"{run_dir} has no {folder.name}/epoch_*.keras: train it with keep_best=true "
                         "(and quality_every) to keep each measured epoch's generator")
    return found


def average_generator(paths: list[Path], into: Path) -> Path:
    """The plain average of the weights of the generators at `paths` (a longer average than the
    run's EMA), its batch norm statistics recomputed for the averaged weights, saved at `into`."""
    import keras
    import numpy as np

    from sketchdraw.dcgan.run import EMA_REFRESH_COUNT
    from sketchdraw.sampling import save_generator
    from sketchdraw.stabilisers import refresh_batch_norm

    models = [keras.models.load_model(path, compile=False) for path in paths]
    average = models[-1]
    for index, weight in enumerate(average.weights):
        weight.assign(np.mean([model.weights[index].numpy() for model in models], axis=0))
    refresh_batch_norm(average, EMA_REFRESH_COUNT)
    save_generator(average, into)
    return into


def recomputed_curve(run_dir, judge) -> dict[int, dict]:
    """{epoch: the quality curve's row} measured now from each kept generator, as the callback
    measures it (`quality.curve.remeasure_curve`, which also rewrites history.csv)."""
    from sketchdraw.quality.curve import remeasure_curve

    return {row["epoch"]: row for row in remeasure_curve(run_dir, judge)}


def fresh_ranking(measured: dict[int, dict]) -> list[int]:
    """The measured epochs, best first: lowest KID (the mean over the draws) of the fresh evaluation."""
    return sorted(measured, key=lambda epoch: statistics.mean(measured[epoch]["draws"]["kid_mean"]))


def hit_lines(run_dir, measured: dict[int, dict], chosen: dict) -> list[str]:
    """Per tolerance: whether its pick is the fresh evaluation's best epoch, its rank, and the gap."""
    ranking = fresh_ranking(measured)
    best = ranking[0]
    best_kid = statistics.mean(measured[best]["draws"]["kid_mean"])
    lines = []
    for tolerance, row in chosen.items():
        rank = ranking.index(row["epoch"]) + 1
        kid = statistics.mean(measured[row["epoch"]]["draws"]["kid_mean"])
        lines.append(f"{run_dir} tolerance {tolerance:g}: keeps epoch {row['epoch']}, rank {rank} of "
                     f"{len(ranking)} by fresh KID ({'the best' if rank == 1 else f'best: epoch {best}'}; "
                     f"KID {kid:.4f} against {best_kid:.4f})")
    return lines


def parse_tolerances(text: str) -> list[float]:
    from sketchdraw.dcgan.settings import check_best_tolerance

    try:
        return [check_best_tolerance(float(part)) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise SystemExit(f"--tolerances takes fractions separated by commas, e.g. 0,0.1 ({error})") from None


def main(argv=None) -> int:
    import metric_noise

    from sketchdraw import quality

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="finished keep_best Quick, Draw! run folders")
    metric_noise.add_draw_arguments(parser, samples=450)
    parser.add_argument("--from-epoch", type=int, default=0, help="measure the kept epochs from this one on")
    parser.add_argument("--tolerances", default="0,0.05,0.1,0.2",
                        help="keep_best_tolerance values whose picks to show (fractions of the lowest KID)")
    parser.add_argument("--average-last", type=int, default=0,
                        help="also measure the average of the weights of the last K kept generators")
    parser.add_argument("--write", type=Path, default=None, help="also write the tables (.md) and figure (.png)")
    parser.add_argument("--recompute-curve", action="store_true",
                        help="measure the quality curve afresh from the saved generators (held-out reference)")
    args = parser.parse_args(argv)
    if args.average_last < 0 or args.average_last == 1:
        parser.error("--average-last takes 0 (off) or at least 2 generators")
    tolerances = parse_tolerances(args.tolerances)
    judge = metric_noise.judge_for(parser, args)
    results = {}
    for run_dir in args.runs:
        kept = kept_epochs(run_dir)
        if args.recompute_curve:
            curve = recomputed_curve(run_dir, judge)
        else:
            curve = {row["epoch"]: row for row in quality.kept_rows(run_dir)}
        chosen = {tolerance: quality.choose_best(list(curve.values()), tolerance) for tolerance in tolerances}
        wanted = sorted({epoch for epoch in kept if epoch >= args.from_epoch}
                        | {row["epoch"] for row in chosen.values() if row})
        measured = {}
        for epoch in wanted:
            row = metric_noise.measure(run_dir, judge, args.draws, args.samples, path=kept[epoch])[0]
            measured[epoch] = row
            print(f"{run_dir} epoch {epoch} (curve CS {curve[epoch]['cs']:.3f}, KID "
                  f"{curve[epoch]['kid_mean']:.4f}): {metric_noise.describe(row)}", flush=True)
        for tolerance, row in chosen.items():
            print(f"{run_dir} tolerance {tolerance:g}: keeps epoch {row['epoch']}: "
                  f"{metric_noise.describe(measured[row['epoch']])}", flush=True)
        results[run_dir] = {"curve": curve, "measured": measured, "chosen": chosen}
        for line in hit_lines(run_dir, measured, chosen):
            print(line, flush=True)
        if args.average_last:
            last = sorted(kept)[-args.average_last:]
            with tempfile.TemporaryDirectory() as folder:
                path = average_generator([kept[epoch] for epoch in last], Path(folder) / "average.keras")
                row = metric_noise.measure(run_dir, judge, args.draws, args.samples, path=path)[0]
            results[run_dir]["average"] = (last, row)
            print(f"{run_dir} average of epochs {last[0]}-{last[-1]} ({len(last)} kept generators): "
                  f"{metric_noise.describe(row)}", flush=True)
    if args.write:
        command = "python studies/keep_best.py " + " ".join(sys.argv[1:] if argv is None else argv)
        for path in write_results(args.write, results, args.draws, args.samples, command):
            print(f"wrote {path}")
    return 0


def write_results(path: Path, results: dict, draws: int, samples: int, command: str) -> list[Path]:
    """Both tables at `path` (markdown) and the figure beside it (.png)."""
    import datetime

    import matplotlib.pyplot as plt
    import metric_noise
    import small_data

    from sketchdraw.atomicfiles import atomic_write_text
    from sketchdraw.plots import save_figure

    def cells(row) -> str:
        means = metric_noise.row_means(row)
        return (" | ".join(f"{means[key]:.4f} ± {statistics.stdev(row['draws'][key]):.4f}"
                           for key, _, _ in metric_noise.METRICS)
                + f" | {sum(small_data.judge(means, row['real']))}/4")

    lines = [f"# What keep_best's choice is worth ({datetime.date.today().isoformat()})", "",
             f"`{command}`", "",
             f"Measured: the mean ± std over {draws} noise draws of {samples} drawings against the held-out "
             "real drawings (like `make evaluate`); curve: the quality curve the choice is made on (2,000 "
             "drawings against the held-out real drawings, one noise draw).", "",
             "| run | epoch | curve CS | curve KID | CS | KID | GD | memorisation | targets met |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    real = None
    for run_dir, result in results.items():
        for epoch, row in result["measured"].items():
            real = row["real"]
            curve = result["curve"][epoch]
            lines.append(f"| {Path(run_dir).name} | {epoch} | {curve['cs']:.3f} | {curve['kid_mean']:.4f} | "
                         + cells(row) + " |")
    limits = small_data.targets(real)
    lines += ["", f"Real held-out: CS {real['cs']:.4f}, KID {real['kid_mean']:.4f}, GD {real['gd']:.2f}, "
              f"memorisation {real['memorisation_distance']:.2f}. Targets: "
              + ", ".join(f"{key} {operator} {limit:.4g}" for key, (operator, limit) in limits.items()), "",
              "| run | keep_best_tolerance | epoch kept | CS | KID | GD | memorisation | targets met |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for run_dir, result in results.items():
        for tolerance, row in result["chosen"].items():
            lines.append(f"| {Path(run_dir).name} | {tolerance:g} | {row['epoch']} | "
                         + cells(result["measured"][row["epoch"]]) + " |")
        if "average" in result:
            last, row = result["average"]
            lines.append(f"| {Path(run_dir).name} | (the weights' average) | {last[0]}–{last[-1]} | "
                         + cells(row) + " |")
    lines += ["", "Does each tolerance keep the epoch that the fresh evaluation rates best (lowest KID)?", ""]
    for run_dir, result in results.items():
        lines += [f"- {line}" for line in hit_lines(Path(run_dir).name, result["measured"], result["chosen"])]
    atomic_write_text(path, "\n".join(lines) + "\n")

    figure, axes = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
    for axis, (key, name) in zip(axes, (("cs", "CS"), ("kid_mean", "KID"))):
        for index, (run_dir, result) in enumerate(results.items()):
            colour = f"C{index}"
            epochs = list(result["measured"])
            means = [statistics.mean(result["measured"][epoch]["draws"][key]) for epoch in epochs]
            errors = [statistics.stdev(result["measured"][epoch]["draws"][key]) / draws ** 0.5
                      for epoch in epochs]
            axis.errorbar(epochs, means, yerr=errors, color=colour, marker="o", markersize=3, capsize=2,
                          label=f"{Path(run_dir).name}: held-out, ± s.e.")
            curve = [(epoch, row) for epoch, row in sorted(result["curve"].items()) if epoch >= epochs[0]]
            axis.plot([epoch for epoch, _ in curve], [row[key] for _, row in curve], color=colour,
                      linestyle=":", label=f"{Path(run_dir).name}: curve")
            for tolerance, row in result["chosen"].items():
                value = statistics.mean(result["measured"][row["epoch"]]["draws"][key])
                axis.annotate(f"{tolerance:g}", (row["epoch"], value), textcoords="offset points",
                              xytext=(0, 8), ha="center", fontsize=7, color=colour)
        axis.axhline(limits[key][1], color="black", linestyle="--", linewidth=1, label="target")
        axis.set_title(f"{name} per kept epoch (numbers: the tolerances that keep it)", fontsize=10)
        axis.set_xlabel("epoch")
        if key == "kid_mean":
            axis.set_yscale("log")
    axes[0].legend(fontsize=7)
    figure_path = path.with_suffix(".png")
    save_figure(figure, figure_path)
    return [path, figure_path]


if __name__ == "__main__":
    raise SystemExit(main())
