"""`python -m sketchdraw ...` (and the `sketchdraw` command): what the Makefile calls.

    python -m sketchdraw run --category rabbit --epochs 20      # papermill runs the notebook
    python -m sketchdraw run --experiment flower --set seed=3
    python -m sketchdraw sample --run runs/rabbit -n 1000

`run` resolves the settings first (so a typo fails in a second, not after a kernel starts), then
executes the experiment family's notebook with papermill, streaming cell output, and saves the
executed notebook in the run folder (an earlier one is kept under a dated name).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import typing
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = {"quickdraw": "quickdraw_dcgan.ipynb"}


def _parse_value(text: str):
    """`--set key=value` values: JSON when it parses (numbers, true, null), else a plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def run_command(arguments: argparse.Namespace) -> int:
    from sketchdraw import experiments

    overrides = {
        "category": arguments.category,
        "epochs": arguments.epochs,
        "limit": arguments.limit,
        "batch_size": arguments.batch,
        "model": arguments.model,
        "name": arguments.name,
        "mirror": arguments.mirror,
        "runs_dir": str(Path(arguments.runs_dir).resolve()),
    }
    hints = typing.get_type_hints(experiments.RunConfig)
    for item in arguments.set or []:
        key, separator, value = item.partition("=")
        if not separator:
            raise ValueError(f"--set wants key=value, got {item!r}")
        overrides[key.strip()] = _parse_value(value)
        if hints.get(key.strip()) is float and isinstance(overrides[key.strip()], int):
            overrides[key.strip()] = float(overrides[key.strip()])
    config = experiments.resolve(arguments.experiment, **overrides)
    parameters = {"experiment": arguments.experiment,
                  **{key: value for key, value in overrides.items() if value is not None},
                  "name": config.name}

    notebook = Path(arguments.notebook) if arguments.notebook else \
        REPO_ROOT / "notebooks" / NOTEBOOKS[config.source]
    if not notebook.exists():
        raise FileNotFoundError(f"notebook {notebook} does not exist")
    config.run_dir.mkdir(parents=True, exist_ok=True)
    executed = config.run_dir / notebook.name
    if executed.exists():
        stamp = datetime.datetime.fromtimestamp(executed.stat().st_mtime).strftime("%Y%m%d-%H%M%S")
        os.replace(executed, executed.with_name(f"{notebook.stem}.{stamp}.ipynb"))

    import papermill

    print(f"running {notebook.name} into {config.run_dir} with {parameters}", file=sys.stderr)
    papermill.execute_notebook(
        str(notebook), str(executed), parameters=parameters, log_output=True,
        progress_bar=False, cwd=str(REPO_ROOT), kernel_name=arguments.kernel,
        stdout_file=sys.stdout, stderr_file=sys.stderr)
    print(f"done: {config.run_dir} (executed notebook: {executed})", file=sys.stderr)
    return 0


def sample_command(arguments: argparse.Namespace) -> int:
    from sketchdraw import sampling

    array_path, grid_path = sampling.sample(arguments.run, arguments.n, arguments.seed)
    print(f"wrote {array_path} and {grid_path}")
    return 0


def gallery_command(arguments: argparse.Namespace) -> int:
    from sketchdraw import gallery

    pages = gallery.rebuild_all(arguments.runs_dir)
    print(f"wrote {len(pages)} page(s); open {Path(arguments.runs_dir) / 'index.html'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sketchdraw", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="train (or resume) a run by executing its notebook")
    run.add_argument("--experiment", default="rabbit", help="preset name (default: rabbit)")
    run.add_argument("--category", help="Quick, Draw! category (default: the preset's)")
    run.add_argument("--epochs", type=int, help="total epochs (a rerun with more continues)")
    run.add_argument("--limit", type=int, help="train on the first N drawings")
    run.add_argument("--batch", type=int, help="batch size")
    run.add_argument("--model", help="model family name")
    run.add_argument("--name", help="run folder name (default: experiment or category)")
    run.add_argument("--mirror", help="folder or base URL replacing Google's bucket")
    run.add_argument("--runs-dir", default="runs", help="where run folders go (default: runs)")
    run.add_argument("--set", action="append", metavar="KEY=VALUE",
                     help="any other setting, e.g. --set seed=3 --set checkpoint_every=2")
    run.add_argument("--notebook", help="notebook to execute (default: the family's)")
    run.add_argument("--kernel", default="python3", help="Jupyter kernel name (default: python3)")
    run.set_defaults(handler=run_command)

    sample = commands.add_parser("sample", help="write N drawings from a trained run")
    sample.add_argument("--run", required=True, help="run folder, e.g. runs/rabbit")
    sample.add_argument("-n", type=int, default=1000, help="number of drawings (default 1000)")
    sample.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    sample.set_defaults(handler=sample_command)

    pages = commands.add_parser("gallery", help="rebuild the HTML pages of every run folder")
    pages.add_argument("--runs-dir", default="runs", help="folder of run folders (default: runs)")
    pages.set_defaults(handler=gallery_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        return arguments.handler(arguments)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        if os.environ.get("SKETCHDRAW_DEBUG"):
            raise
        print(f"sketchdraw: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

