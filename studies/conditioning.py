"""Class-conditional runs compared setting by setting, from what `make evaluate` measured.

    python studies/conditioning.py input=runs/ab35_input_s0,runs/ab35_input_s1 \
        batchnorm=runs/ab35_batchnorm_s0,runs/ab35_batchnorm_s1 \
        --write studies/results/conditioning-doodles35-<date>.md

Each argument names a setting and its runs (one per seed), each already measured by `make evaluate
RUN=<run>` (its metrics.json with `per_category`). The table gives, per setting, the mean over
the seeds (± their standard deviation where there are two or more) of: the mean over the
categories of CS / real CS, how many categories reach half their real CS (the issue's floor), the
lowest category's ratio, SDS, mean KID and mean memorisation distance; then each category's CS /
real per setting (mean over seeds), so that a person sees where a setting gains. Runs of one
setting must have the same categories and be evaluated at the same number of images seen; the
script refuses a mix by name. Reads JSON only: no TensorFlow.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
from pathlib import Path

FLOOR = 0.5  # the issue's per-category target: CS at least half the real drawings'


def load(run: str) -> dict:
    path = Path(run) / "metrics.json"
    if not path.is_file():
        raise SystemExit(f"{run} has no metrics.json: measure it first (make evaluate RUN={run})")
    metrics = json.loads(path.read_text())
    if "per_category" not in metrics:
        raise SystemExit(f"{path} has no per-category figures: {run} is not a class-conditional run")
    return metrics


def ratio(entry: dict) -> float:
    """A category's CS over its real drawings' CS (0 where the real CS is 0, as `make evaluate` does)."""
    real = entry["real_held_out"]["cs"]
    return entry["generated"]["cs"] / real if real > 0 else 0.0


def summary(metrics: dict) -> dict:
    """One run's row, from what `make evaluate` wrote: its summary over the categories and the
    mean over the categories of the generated drawings' figures."""
    measured, generated = metrics["summary"], metrics["generated"]
    return {
        "cs / real (mean)": measured["cs_over_real_mean"],
        f"categories >= {FLOOR}x": len(metrics["per_category"]) - len(measured["below_half"]),
        "lowest": measured["cs_over_real_lowest"],
        "SDS": metrics["sds"]["generated"],
        "KID (mean)": generated["kid_mean"],
        "memorisation (mean)": generated["memorisation_distance"],
    }


def spread(values: list[float], digits: int) -> str:
    text = f"{statistics.fmean(values):.{digits}f}"
    return text + (f" ± {statistics.stdev(values):.{digits}f}" if len(values) > 1 else "")


def compare(settings: dict[str, list[str]]) -> str:
    measured = {name: [load(run) for run in runs] for name, runs in settings.items()}
    categories = None
    for name, runs in measured.items():
        for run, metrics in zip(settings[name], runs):
            if categories is None:
                categories = list(metrics["per_category"])
            elif list(metrics["per_category"]) != categories:
                raise SystemExit(f"{run} measured other categories than {settings[next(iter(settings))][0]}: "
                                 "compare runs of the same categories")
        seen = {metrics.get("images_seen") for metrics in runs}
        if len(seen) > 1:
            raise SystemExit(f"the runs of {name} were measured at different images seen ({sorted(seen)}): "
                             "compare runs of one length")
    first = next(iter(measured.values()))[0]
    real_sds = first["sds"]["real_held_out"]
    lines = [f"Per setting, the mean over its runs (± std over seeds); real drawings' SDS {real_sds:.3f} "
             f"(at most {first['sds']['most']:.3f}).", ""]
    columns = list(summary(first))
    lines += ["| setting | runs | images seen | " + " | ".join(columns) + " |",
              "| --- " * (len(columns) + 3) + "|"]
    for name, runs in measured.items():
        rows = [summary(metrics) for metrics in runs]
        cells = [spread([row[column] for row in rows], 1 if column.startswith("categories") else 3)
                 for column in columns]
        lines.append(f"| {name} | {len(runs)} | {runs[0].get('images_seen', '?'):,} | " + " | ".join(cells) + " |")
    lines += ["", "CS / real per category (mean over seeds); real CS beside:", "",
              "| category | real CS | " + " | ".join(measured) + " |", "| --- " * (len(measured) + 2) + "|"]
    for category in categories:
        cells = [statistics.fmean(ratio(metrics["per_category"][category]) for metrics in runs)
                 for runs in measured.values()]
        best = max(cells)
        shown = [f"**{value:.2f}**" if value == best and cells.count(best) == 1 else f"{value:.2f}" for value in cells]
        real = first["per_category"][category]["real_held_out"]["cs"]
        lines.append(f"| {category} | {real:.3f} | " + " | ".join(shown) + " |")
    return "\n".join(lines) + "\n"


def parse_setting(text: str) -> tuple[str, list[str]]:
    name, _, runs = text.partition("=")
    if not name or not runs:
        raise argparse.ArgumentTypeError(f"give a setting as name=run[,run...], got {text!r}")
    return name, [run for run in runs.split(",") if run]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("settings", nargs="+", type=parse_setting, help="name=run[,run...] per setting")
    parser.add_argument("--write", help="also write the table (markdown) to this file")
    args = parser.parse_args(argv)
    table = compare(dict(args.settings))
    print(table)
    if args.write:
        header = f"# Class-conditional settings compared, {datetime.date.today().isoformat()}\n\n" \
                 f"`python studies/conditioning.py {' '.join(sys.argv[1:] if argv is None else argv)}`\n\n"
        Path(args.write).write_text(header + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
