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
NOTEBOOKS = {"quickdraw": "quickdraw_dcgan.ipynb", "strokes": "quickdraw_dcgan.ipynb",
             "paintings": "wikiart_dcgan.ipynb"}


def _parse_value(text: str):
    """`--set key=value` values: JSON when it parses (numbers, true, null), else a plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def run_family_command(arguments: argparse.Namespace, family: str) -> int:
    """A CycleGAN or sketch-to-image experiment: its own settings class and notebook."""
    from importlib import import_module

    module = import_module(f"sketchdraw.{family}")
    overrides = {"epochs": arguments.epochs, "limit": arguments.limit,
                 "batch_size": arguments.batch, "name": arguments.name,
                 "runs_dir": str(Path(arguments.runs_dir).resolve())}
    if family == "cyclegan":
        overrides.update(domain_x=_absolute(arguments.domain_x),
                         domain_y=_absolute(arguments.domain_y))
    else:
        overrides.update(data_root=_absolute(arguments.data))
    overrides.update(_set_items(arguments.set))
    config = module.resolve(arguments.experiment, **overrides)
    if family == "cyclegan":
        config.validate(need_data=True)  # fail in a second, before a kernel starts
    notebook = REPO_ROOT / "notebooks" / f"{family}.ipynb"
    parameters = notebook_parameters(notebook, arguments.experiment,
                                     {**overrides, "name": config.name})
    return _execute(notebook, Path(config.runs_dir) / config.name, parameters, arguments.kernel)


def _absolute(path: str | None) -> str | None:
    return str(Path(path).resolve()) if path else None


# Seconds papermill waits for a finished cell's last outputs. Its default (4 s) failed a 35-minute
# run in its last cell (showing the run's pictures) on a 2-core machine busy with other trainings.
IOPUB_TIMEOUT = 120


def _execute(notebook: Path, run_dir: Path, parameters: dict, kernel: str) -> int:
    """papermill the notebook into the run folder, streaming its output; keep an earlier copy."""
    if not notebook.exists():
        raise FileNotFoundError(f"notebook {notebook} does not exist")
    from sketchdraw.artifacts import RunFolder

    run_dir.mkdir(parents=True, exist_ok=True)
    with RunFolder(run_dir).lock():
        pass  # a live run in this folder stops us here, before its notebook is touched
    executed = run_dir / notebook.name
    if executed.exists():
        stamp = datetime.datetime.fromtimestamp(executed.stat().st_mtime).strftime("%Y%m%d-%H%M%S")
        os.replace(executed, executed.with_name(f"{notebook.stem}.{stamp}.ipynb"))

    import papermill

    print(f"running {notebook.name} into {run_dir} with {parameters}", file=sys.stderr)
    try:
        papermill.execute_notebook(
            # Streams go straight to our stdout/stderr; log_output=True would also send every
            # stderr line (the progress bars, the epoch summaries) to papermill's logger: twice.
            str(notebook), str(executed), parameters=parameters, log_output=False,
            progress_bar=False, cwd=str(REPO_ROOT), kernel_name=kernel,
            stdout_file=sys.stdout, stderr_file=sys.stderr, iopub_timeout=IOPUB_TIMEOUT)
    except papermill.PapermillExecutionError as error:
        # The notebook's own error message is what the user needs; the traceback stays in the
        # executed notebook.
        message = error.evalue if error.ename in ("ValueError", "RuntimeError") else \
            f"{error.ename}: {error.evalue}"
        raise RuntimeError(f"{message} (the executed notebook, with the full traceback, is "
                           f"{executed})") from None
    print(f"done: {run_dir} (executed notebook: {executed})", file=sys.stderr)
    return 0


def run_command(arguments: argparse.Namespace) -> int:
    from sketchdraw import cyclegan, experiments, sketch2img

    if arguments.experiment in cyclegan.CYCLE_PRESETS:
        return run_family_command(arguments, "cyclegan")
    if arguments.experiment in sketch2img.PRESETS:
        return run_family_command(arguments, "sketch2img")

    overrides = {
        "category": arguments.category,
        "epochs": arguments.epochs,
        "limit": arguments.limit,
        "batch_size": arguments.batch,
        "model": arguments.model,
        "name": arguments.name,
        "mirror": arguments.mirror,
        "data": str(Path(arguments.data).resolve()) if arguments.data else None,
        "runs_dir": str(Path(arguments.runs_dir).resolve()),
    }
    overrides.update(_set_items(arguments.set))
    source = overrides.get("source") or experiments.preset(arguments.experiment).source
    if source not in NOTEBOOKS:
        raise ValueError(f"unknown data source {source!r}; known: {', '.join(sorted(NOTEBOOKS))}")
    notebook = Path(arguments.notebook) if arguments.notebook else \
        REPO_ROOT / "notebooks" / NOTEBOOKS[source]
    # Parameters of the notebook itself that are no run setting go to the
    # notebook only; everything else is a RunConfig field and is checked here, before a kernel.
    import papermill

    cell = papermill.inspect_notebook(str(notebook))
    fields = set(typing.get_type_hints(experiments.RunConfig))
    notebook_only = {key: overrides.pop(key) for key in list(overrides)
                     if key not in fields and key in cell and key != "settings"}
    config = experiments.resolve(arguments.experiment, **overrides)
    parameters = notebook_parameters(notebook, arguments.experiment,
                                     {**overrides, **notebook_only, "name": config.name})
    return _execute(notebook, config.run_dir, parameters, arguments.kernel)


def _set_items(items) -> dict:
    """`--set key=value` pairs as a dict (values parsed as JSON when they parse)."""
    values = {}
    for item in items or []:
        key, separator, value = item.partition("=")
        if not separator:
            raise ValueError(f"--set wants key=value, got {item!r}")
        values[key.strip()] = _parse_value(value)
    return values


def notebook_parameters(notebook: Path, experiment: str, overrides: dict) -> dict:
    """Papermill parameters: the notebook's own parameters by name, every other setting in its
    `settings` dict (so `--set ema_decay=0.999` reaches the run although the cell has no such line)."""
    import papermill

    cell = papermill.inspect_notebook(str(notebook))
    given = {key: value for key, value in overrides.items() if value is not None}
    parameters = {"experiment": experiment}
    parameters.update({key: value for key, value in given.items() if key in cell})
    extra = {key: value for key, value in given.items() if key not in cell}
    if extra:
        if "settings" not in cell:
            raise ValueError(f"{notebook.name} takes no settings other than "
                             f"{', '.join(sorted(cell))}; got {', '.join(sorted(extra))}")
        parameters["settings"] = extra
    return parameters


def sample_command(arguments: argparse.Namespace) -> int:
    from sketchdraw import sampling

    array_path, grid_path = sampling.sample(arguments.run, arguments.n, arguments.seed,
                                            arguments.truncation)
    print(f"wrote {array_path} and {grid_path}")
    return 0


def gallery_command(arguments: argparse.Namespace) -> int:
    from sketchdraw import gallery

    pages = gallery.rebuild_all(arguments.runs_dir)
    print(f"wrote {len(pages)} page(s); open {Path(arguments.runs_dir) / 'index.html'}")
    return 0


def translate_command(arguments: argparse.Namespace) -> int:
    from sketchdraw import cyclegan

    translation = cyclegan.translate(arguments.run, arguments.input, arguments.direction,
                                     arguments.output)
    print(f"wrote {len(translation.outputs)} image(s) and {translation.sheet}")
    for path, reason in translation.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    return 0


def draw_command(arguments: argparse.Namespace) -> int:
    from sketchdraw import sketch2img

    sheet = sketch2img.draw(arguments.run, arguments.sketch, samples=arguments.samples,
                            seed=arguments.seed, category=arguments.category)
    print(f"wrote {sheet}")
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
    run.add_argument("--data", help="painting experiments: the image folder; sketch-to-image: the "
                     "root holding sketch/ and photo/")
    run.add_argument("--domain-x", help="CycleGAN: folder of domain X images (e.g. photos)")
    run.add_argument("--domain-y", help="CycleGAN: folder of domain Y images (e.g. paintings)")
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
    sample.add_argument("--truncation", type=float, default=None,
                        help="keep each noise value within this many standard deviations (0: off; "
                             "default: the run's own setting)")
    sample.set_defaults(handler=sample_command)

    translate = commands.add_parser("translate", help="translate images with a CycleGAN run")
    translate.add_argument("--run", required=True, help="run folder, e.g. runs/photo2vangogh")
    translate.add_argument("--input", required=True, help="an image file or a folder of images")
    translate.add_argument("--direction", default="x2y", choices=["x2y", "y2x"])
    translate.add_argument("--output", help="output folder (default: <run>/translated/<direction>)")
    translate.set_defaults(handler=translate_command)

    draw = commands.add_parser("draw", help="turn a sketch into images with a sketch2img run")
    draw.add_argument("--run", required=True, help="run folder, e.g. runs/faces_sketch2photo")
    draw.add_argument("--sketch", required=True, nargs="+", help="sketch image file(s)")
    draw.add_argument("--samples", type=int, default=6, help="images per sketch (default 6)")
    draw.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    draw.add_argument("--category", help="category name for class-conditional runs")
    draw.set_defaults(handler=draw_command)

    from sketchdraw.evaluation import add_evaluate_parser

    add_evaluate_parser(commands)

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

