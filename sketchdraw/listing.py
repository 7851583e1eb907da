"""`sketchdraw list presets|categories|runs` (`make list WHAT=...`): the names a command takes,
found without reading code: each preset with its family and what it trains, the 345 Quick, Draw!
categories (those in the mirror folder marked), each run folder with its progress."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sketchdraw.families import DEFAULT_EXPERIMENT, experiments
from sketchdraw.gallery_format import time_text

LIST_WHAT = ("presets", "categories", "runs")


def add_list_parser(commands) -> argparse.ArgumentParser:
    """`list`: one of LIST_WHAT, printed as a table."""
    parser = commands.add_parser(
        "list", help="list the presets, the Quick, Draw! categories or the runs",
        description="presets: each experiment with its family and what it trains; categories: "
                    "the 345 Quick, Draw! names, those in the mirror folder marked *; runs: each "
                    "run folder with its experiment, epochs done of planned and last update")
    parser.add_argument("what", choices=LIST_WHAT, help="what to list")
    parser.add_argument("--mirror", help="categories: the mirror folder to mark the categories "
                                         "it holds (default: $SKETCHDRAW_QUICKDRAW_MIRROR)")
    parser.add_argument("--runs-dir", default="runs",
                        help="runs: the folder of run folders (default: runs)")
    parser.set_defaults(handler=list_command)
    return parser


def list_command(arguments: argparse.Namespace) -> int:
    """The handler of `list`: the one that prints what `arguments.what` names."""
    handler = {"presets": list_presets, "categories": list_categories, "runs": list_runs}
    return handler[arguments.what](arguments)


def list_presets(arguments: argparse.Namespace) -> int:
    """Every preset, its family and what it trains."""
    rows = [(f"{name} (default)" if name == DEFAULT_EXPERIMENT else name, family.name,
             preset_summary(family.presets.get(name)))
            for name, family in sorted(experiments().items())]
    _print_table(("experiment", "family", "what it trains"), rows)
    print("\nmake run EXPERIMENT=<name> (or sketchdraw run --experiment <name>); any setting "
          "overrides it")
    return 0


def preset_summary(config) -> str:
    """One line on a preset: its own description where it has one, else its data, model and
    length, read from its settings."""
    own = getattr(config, "description", None)
    if isinstance(own, str) and own.strip():
        return own.strip().splitlines()[0]
    settings = config.to_dict()
    if "domain_x" in settings:
        data = (f"{settings.get('domain_x_label') or 'X'} <-> {settings.get('domain_y_label') or 'Y'}"
                " (DOMAIN_X=, DOMAIN_Y= folders)")
    elif "data_root" in settings:
        data = "sketch/photo pairs (DATA=root)"
    elif settings.get("source") == "paintings":
        data = "paintings (DATA=folder)"
    else:
        kind = "strokes" if settings.get("source") == "strokes" else "Quick, Draw!"
        data = f"{kind} {settings.get('category')}"
        if settings.get("limit"):
            data += f", first {settings['limit']} drawings"
    parts = [data]
    if settings.get("model"):
        parts.append(f"model {settings['model']}")
    parts.append(f"{settings.get('epochs')} epochs, batch {settings.get('batch_size')}")
    return "; ".join(parts)


def list_categories(arguments: argparse.Namespace) -> int:
    """The 345 Quick, Draw! names; with a mirror folder, those it holds marked."""
    from sketchdraw import quickdraw

    mirror = quickdraw.resolve_mirror(arguments.mirror)
    if not isinstance(mirror, Path):
        print("\n".join(quickdraw.CATEGORIES))
        where = f"the mirror {mirror} is a URL: not checked" if mirror else \
            f"no mirror folder (set {quickdraw.MIRROR_ENVIRONMENT['numpy_bitmap']} or --mirror)"
        print(f"\n{len(quickdraw.CATEGORIES)} categories; {where}", file=sys.stderr)
        return 0
    suffix = quickdraw.SUFFIX["numpy_bitmap"]
    present = {name for name in quickdraw.CATEGORIES if (mirror / f"{name}{suffix}").is_file()}
    for name in quickdraw.CATEGORIES:
        print(f"{'*' if name in present else ' '} {name}")
    print(f"\n{len(quickdraw.CATEGORIES)} categories; * = in the mirror folder {mirror} "
          f"({len(present)} of them)", file=sys.stderr)
    return 0


def list_runs(arguments: argparse.Namespace) -> int:
    """Each run folder: its name, experiment, epochs done of planned and last update."""
    from sketchdraw import gallery

    runs_dir = Path(arguments.runs_dir)
    if not runs_dir.is_dir():
        raise FileNotFoundError(f"{runs_dir}: no such folder of runs (a run goes into runs/ by "
                                "default: make run CATEGORY=rabbit)")
    summaries = [gallery.read_run(path) for path in gallery.run_folders(runs_dir)]
    if not summaries:
        print(f"no runs in {runs_dir}")
        return 0
    rows = []
    for run in summaries:
        planned = run.epochs_planned
        rows.append((run.name, run.subject or "?",
                     f"{run.epochs_done} of {planned}" if planned else str(run.epochs_done),
                     time_text(run.updated),
                     "; ".join(run.problems)))
    _print_table(("run", "experiment", "epochs", "last update", "problems"), rows)
    print(f"\nin {runs_dir}; open {runs_dir / gallery.PAGE_NAME} to see them")
    return 0


def _print_table(header: tuple, rows: list) -> None:
    """Columns padded to their widest cell; a column empty in every row is left out."""
    keep = [index for index in range(len(header)) if any(row[index] for row in rows)]
    table = [[str(line[index]) for index in keep] for line in (header, *rows)]
    widths = [max(len(line[column]) for line in table) for column in range(len(keep))]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
