"""Comparing runs: the quality plot, curves, the discriminator's balance, final grids, tables.

What `notebooks/compare_runs.ipynb` and `make evaluate` show.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sketchdraw import pipeline, quickdraw
from sketchdraw.artifacts import RunFolder
from sketchdraw.dcgan.keep_best import read_best

QUALITY_PLOT = "quality.png"
REAL_ROW = "real_held_out"
TABLE_COLUMNS = ("run", "model", "epochs", "images_seen", "count", "fid", "kid_mean", "kid_std", "cs",
                 "gd", "memorisation_distance")


def read_metrics(run_dir: str | os.PathLike) -> dict | None:
    path = RunFolder(run_dir).metrics_path
    return json.loads(path.read_text()) if path.is_file() else None


def save_quality_plot(run_dir: str | os.PathLike) -> Path | None:
    """`quality.png`: CS and KID per epoch from history.csv (shaded: each point's 95% bootstrap
    interval), with the real reference from metrics.json as dashed lines when the run has been
    evaluated; KID on a log scale, so its last tenfold fall is not a flat line. None when nothing
    is measured."""
    run = RunFolder(run_dir)
    figure = plot_quality_curves([run.root], losses_when_unmeasured=False, log_kid=True)
    if figure is None:
        return None
    from sketchdraw.plots import save_figure

    path = run.root / QUALITY_PLOT
    save_figure(figure, path)
    return path


def _quality_points(rows: list[dict], column: str) -> tuple[list, list]:
    points = [(row["epoch"], row[column]) for row in rows
              if isinstance(row.get(column), (int, float)) and np.isfinite(row[column])]
    return [p[0] for p in points], [p[1] for p in points]


def plot_quality_curves(run_dirs: Sequence, losses_when_unmeasured: bool = True,
                        by_images: bool = False, log_kid: bool = False):
    """One figure: CS and KID (history columns) per epoch for every run that has them, with the
    real references as dashed lines (one per distinct value); for runs without them, their loss
    curves. `by_images`: x is images seen (whole batches of the run's training set per epoch), so
    runs with different batch sizes line up; `log_kid`: KID on a log scale.
    Returns the matplotlib figure, or None when there is nothing to draw."""
    import matplotlib.pyplot as plt

    from sketchdraw.plots import LOSS_COLUMNS

    runs = [RunFolder(run_dir) for run_dir in run_dirs]
    histories = {run.root: run.read_history() for run in runs}
    measured = [run for run in runs if _quality_points(histories[run.root], "cs")[0]]
    unmeasured = [run for run in runs if run not in measured and histories[run.root]]
    panels = (2 if measured else 0) + (1 if unmeasured and losses_when_unmeasured else 0)
    if panels == 0:
        return None
    figure, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 3.8), squeeze=False)
    axes = list(axes[0])
    if measured:
        scale = {run.root: _images_per_epoch(run) if by_images else 1 for run in measured}
        for axis, column, band, label in (
                (axes[0], "cs", "cs", "CS (share drawn as the category; higher is better)"),
                (axes[1], "kid_mean", "kid", "KID vs held-out real drawings (lower is better)")):
            references = {}
            for run in measured:
                epochs, values = _quality_points(histories[run.root], column)
                line, = axis.plot([epoch * scale[run.root] for epoch in epochs], values, marker="o",
                                  markersize=3, label=run.root.name)
                band_epochs, lows = _quality_points(histories[run.root], f"{band}_low")
                _, highs = _quality_points(histories[run.root], f"{band}_high")
                if band_epochs and len(lows) == len(highs):  # the 95% bootstrap interval of each point
                    axis.fill_between([epoch * scale[run.root] for epoch in band_epochs], lows, highs,
                                      color=line.get_color(), alpha=0.15, linewidth=0)
                reference = (read_metrics(run.root) or {}).get(REAL_ROW, {}).get(column)
                if reference is not None:
                    references.setdefault(round(reference, 6), (line.get_color(), run.root.name))
            for value, (color, name) in references.items():
                owner = "" if len(references) == 1 else f" ({name})"
                axis.axhline(value, color="black" if len(references) == 1 else color, linestyle="--",
                             linewidth=1, label=f"real held-out{owner}")
            axis.set_title(label, fontsize=10)
            axis.set_xlabel("images seen" if by_images else "epoch")
            if log_kid and column == "kid_mean":
                axis.set_yscale("log", nonpositive="mask")  # the unbiased KID can dip below 0
            axis.grid(alpha=0.3)
            axis.legend(fontsize=7)
    if unmeasured and losses_when_unmeasured:
        axis = axes[-1]
        for run in unmeasured:
            rows = histories[run.root]
            for column, style in zip(LOSS_COLUMNS, ("-", ":")):
                if column in rows[0]:
                    axis.plot([r["epoch"] for r in rows], [r[column] for r in rows], linestyle=style,
                              label=f"{run.root.name}: {column.replace('_', ' ')}")
        axis.set_title("losses (no quality columns in history.csv)", fontsize=10)
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def _images_per_epoch(run: RunFolder) -> int:
    """Whole batches of the training set per epoch, from config.json (limit and batch size)."""
    config = run.load_config()
    total = len(np.load(quickdraw.fetch_file(config["category"], mirror=config.get("mirror"),
                                             progress=False), mmap_mode="r"))
    return pipeline.images_per_epoch(min(config.get("limit") or total, total), config["batch_size"])


def discriminator_balance(run_dir, window_images: int = 16_000) -> tuple[list[int], list[float]]:
    """(images seen at each window's end, mean of discriminator_real_probability minus
    discriminator_fake_probability over the window's epochs) from a Quick, Draw! run's history.csv.
    0 means the discriminator cannot tell real from generated; the small-data study's seeds that learned
    slowly kept a gap of about 0.16 where the fast ones fell to 0.08."""
    run = RunFolder(run_dir)
    rows = [row for row in run.read_history()
            if isinstance(row.get("discriminator_real_probability"), (int, float))
            and isinstance(row.get("discriminator_fake_probability"), (int, float))]
    if not rows:
        return [], []
    per_epoch = _images_per_epoch(run)
    window = max(1, round(window_images / per_epoch))
    ends, gaps = [], []
    for start in range(0, len(rows), window):
        chunk = rows[start:start + window]
        ends.append(int(chunk[-1]["epoch"]) * per_epoch)
        gaps.append(float(np.mean([row["discriminator_real_probability"] - row["discriminator_fake_probability"]
                                   for row in chunk])))
    return ends, gaps


def plot_discriminator_balance(run_dirs: Sequence, window_images: int = 16_000):
    """One figure: `discriminator_balance` of every run against images seen. None when no run has
    the discriminator's probabilities in its history."""
    import matplotlib.pyplot as plt

    curves = {RunFolder(run_dir).root.name: discriminator_balance(run_dir, window_images)
              for run_dir in run_dirs}
    curves = {name: curve for name, curve in curves.items() if curve[0]}
    if not curves:
        return None
    figure, axis = plt.subplots(figsize=(6.4, 3.8))
    for name, (ends, gaps) in curves.items():
        axis.plot(ends, gaps, marker="o", markersize=3, label=name)
    axis.axhline(0.0, color="grey", linestyle="--", linewidth=1)
    axis.set_xlabel("images seen")
    axis.set_ylabel("D(real) - D(generated), mean probability")
    axis.set_title(f"How easily the discriminator tells them apart (per {window_images:,} images)")
    axis.legend(fontsize=7)
    figure.tight_layout()
    return figure


def plot_final_grids(run_dirs: Sequence):
    """The newest epoch grid of every run, side by side, titled with the run name and epoch; for a
    keep_best run, the grid of the epoch its generator.keras is (best.json)."""
    import matplotlib.pyplot as plt
    from PIL import Image

    runs = [RunFolder(run_dir) for run_dir in run_dirs]
    if not runs:
        raise ValueError("no runs to show; pass run folders, e.g. ['runs/rabbit', 'runs/flower']")
    figure, axes = plt.subplots(1, len(runs), figsize=(4 * len(runs), 4.3), squeeze=False)
    for axis, run in zip(axes[0], runs):
        grids = run.epoch_images()
        axis.axis("off")
        if not grids:
            axis.set_title(f"{run.root.name}: no grid yet", fontsize=10)
            continue
        best = read_best(run.root)
        kept = best is not None and run.epoch_image_path(best["epoch"]).is_file()
        grid = run.epoch_image_path(best["epoch"]) if kept else grids[-1]
        with Image.open(grid) as picture:
            axis.imshow(np.asarray(picture.convert("L")), cmap="gray", vmin=0, vmax=255,
                        interpolation="nearest")
        axis.set_title(f"{run.root.name}, epoch {int(grid.stem.rsplit('_', 1)[-1])}"
                       + (" (kept)" if kept else ""), fontsize=10)
    figure.tight_layout()
    return figure


def show_figure(figure) -> None:
    """Show a figure inline in a notebook (as a PNG, whatever the matplotlib backend) and close it."""
    import matplotlib.pyplot as plt

    if figure is None:
        return
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:
        return
    if get_ipython() is not None:
        display(Image(data=buffer.getvalue()))


def resolve_runs(runs: Sequence | None, runs_dir: str | os.PathLike = "runs") -> list[Path]:
    """Run folders from names or paths (a name is looked up in `runs_dir`); None or [] means every
    run folder in `runs_dir`."""
    runs_dir = Path(runs_dir)
    if not runs:
        found = sorted(path.parent for path in runs_dir.glob("*/config.json"))
        if not found:
            raise ValueError(f"{runs_dir} holds no run folders; train one first (`make run`)")
        return found
    folders = []
    for run in runs:
        path = Path(run)
        for candidate in (path, runs_dir / path, runs_dir / path.name):
            if (candidate / "config.json").is_file():
                folders.append(candidate)
                break
        else:
            known = sorted(p.parent.name for p in runs_dir.glob("*/config.json"))
            raise ValueError(f"{run!r} is not a run folder (no config.json there or in {runs_dir}); "
                             f"run folders in {runs_dir}: {', '.join(known) or 'none'}")
    return folders


def compare_table(run_dirs: Sequence) -> list[dict]:
    """One row per run (its generated drawings) and, after them, one real held-out row per
    category and classifier, so each number can be read against real drawings measured the same
    way. Runs without metrics.json get a row of blanks saying so."""
    rows, references = [], {}
    for run_dir in run_dirs:
        run = RunFolder(run_dir)
        document = read_metrics(run.root)
        if document is None:
            rows.append({"run": run.root.name, "note": "not evaluated (no metrics.json)"})
            continue
        bars = document.get("intervals", {})
        rows.append({"run": run.root.name, "model": document.get("model"),
                     "epochs": document.get("epochs"), "images_seen": document.get("images_seen"),
                     **document["generated"], "intervals": bars.get("generated", {})})
        key = (document["category"], document["classifier"]["key"])
        references.setdefault(key, {"run": f"real held-out {document['category']}", "model": "-",
                                    **document[REAL_ROW], "intervals": bars.get(REAL_ROW, {})})
        rows[-1]["classifier"] = key[1]
    for (category, key), reference in references.items():
        if sum(1 for other in references if other[0] == category) > 1:
            # Numbers from different classifiers do not compare: say which reference is whose.
            reference["run"] += f" (classifier {key})"
            for row in rows:
                if row.get("classifier") == key:
                    row["note"] = f"classifier {key}"
    for row in rows:
        row.pop("classifier", None)
    return rows + list(references.values())


def format_table(rows: list[dict], columns: Sequence[str] = TABLE_COLUMNS) -> str:
    """A plain-text table of `compare_table` rows (numbers to 4 significant digits), each figure
    with its 95% interval in brackets where metrics.json has one."""
    columns = list(columns) + (["note"] if any("note" in row for row in rows) else [])

    def cell(row: dict, column: str) -> str:
        value = row.get(column)
        if value is None:
            return ""
        if isinstance(value, float):
            interval = (row.get("intervals") or {}).get(column)
            bracket = f" [{interval[0]:.3g}, {interval[1]:.3g}]" if interval else ""
            return f"{value:.4g}{bracket}"
        return str(value)

    cells = [[cell(row, column) for column in columns] for row in rows]
    widths = [max([len(column)] + [len(line[index]) for line in cells]) for index, column in enumerate(columns)]
    lines = ["  ".join(column.ljust(width) for column, width in zip(columns, widths))]
    lines.append("  ".join("-" * width for width in widths))
    lines.extend("  ".join(value.ljust(width) for value, width in zip(line, widths)) for line in cells)
    return "\n".join(lines)


def interval_summary(document: dict) -> list[str]:
    """Lines saying how the generated row compares with the real one, with 95% intervals from
    metrics.json's bootstrap: the ratios (CS, GD, memorisation) and differences (KID, FID), and
    whether "as good as real" lies inside each interval. [] for a document without intervals."""
    bars = document.get("intervals") or {}
    lines = []
    for section, relation, even in (("generated_over_real", "/", 1.0), ("generated_minus_real", "-", 0.0)):
        for figure, interval in (bars.get(section) or {}).items():
            if not interval:
                continue
            generated, real = document["generated"][figure], document[REAL_ROW][figure]
            value = generated / real if relation == "/" and real else generated - real
            verdict = ("the real drawings' value lies inside" if interval[0] <= even <= interval[1]
                       else "the real drawings' value lies outside")
            lines.append(f"{figure}: generated {relation} real = {value:.3g} "
                         f"[{interval[0]:.3g}, {interval[1]:.3g}] ({verdict} the "
                         f"{bars.get('confidence', 0.95):.0%} interval)")
    if lines:
        lines.insert(0, f"95% bootstrap intervals ({bars.get('resamples')} resamples of "
                        f"{bars.get('resampled', 'the drawings')}):")
    return lines
