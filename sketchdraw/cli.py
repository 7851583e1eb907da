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
import errno
import json
import os
import re
import shlex
import sys
import tempfile
import typing
from pathlib import Path

from sketchdraw.artifacts import RunFolder, check_run_exists
from sketchdraw.console import (
    KERNEL_LOG,
    native_stderr_silenced,
    quiet_kernel_options,
    verbose_requested,
)
from sketchdraw.drawing.export_cli import add_export_parser
from sketchdraw.drawing.server import add_serve_parser
from sketchdraw.evaluate_cli import add_evaluate_parser, evaluate_command  # noqa: F401
from sketchdraw.families import DEFAULT_EXPERIMENT, family_of
from sketchdraw.listing import add_list_parser
from sketchdraw.notebook_files import notebook_cwd, notebook_path
from sketchdraw.registry import unknown_name_message
from sketchdraw.settings import given_overrides

REPO_ROOT = Path(__file__).resolve().parents[1]


def _parse_value(text: str, hint=None):
    """`--set key=value` values: JSON when it parses (numbers, true, null), else a plain string;
    for a text setting (`hint` str) the text as it is (NAME=1 names a run "1")."""
    if hint is not None and _is_text(hint):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _is_text(hint) -> bool:
    options = set(typing.get_args(hint)) or {hint}
    return str in options and not options & {int, float, bool}


# `make run` hands over the variables given on its command line by name (MAKE_VARIABLES, values
# in the environment, never spliced into a shell line): each is a setting's name in capitals
# (EPOCHS=3, EMA_DECAY=0.999), or one of these.
MAKE_ALIASES = {"BATCH": "batch_size", "RUNS": "runs_dir"}
MAKE_OWN = frozenset({"PYTHON", "VENV"})  # the Makefile's own, not settings


def make_variables(environ=None) -> dict:
    """The `make run` command line's variables, from the environment: {NAME: text}."""
    environ = os.environ if environ is None else environ
    names = environ.get("SKETCHDRAW_MAKE_VARIABLES", "").split()
    return {name: environ.get(name, "") for name in names if name not in MAKE_OWN}


# Seconds papermill waits for a finished cell's last outputs. Its default (4 s) failed a 35-minute
# run in its last cell (showing the run's pictures) on a 2-core machine busy with other trainings.
IOPUB_TIMEOUT = 120


def _execute(notebook: Path, run_dir: Path, parameters: dict, kernel: str,
             verbose: bool = False) -> int:
    """papermill the notebook into the run folder, streaming its output.

    The kernel writes to a hidden file; only a whole notebook takes the executed notebook's name
    (an earlier one is kept under a dated name), so a full disk or a kill never leaves half a
    notebook there.
    """
    if not notebook.exists():
        raise FileNotFoundError(f"notebook {notebook} does not exist")
    run = RunFolder(run_dir)
    run.check_is_folder()
    run_dir.mkdir(parents=True, exist_ok=True)
    with run.lock():
        pass  # a live run in this folder stops us here, before its notebook is touched
    executed = run_dir / notebook.name
    running = run_dir / f".{notebook.stem}.running.ipynb"

    import papermill

    if verbose:
        print(f"running {notebook.name} into {run_dir} with {parameters}", file=sys.stderr)
    else:
        print(f"running {notebook.stem} in {run_dir} (TensorFlow's and the kernel's "
              f"own messages go to {run_dir / 'logs' / KERNEL_LOG}; VERBOSE=1 shows them)",
              file=sys.stderr)
    try:
        papermill.execute_notebook(
            # Streams go straight to our stdout/stderr; log_output=True would also send every
            # stderr line (the progress bars, the epoch summaries) to papermill's logger: twice.
            str(notebook), str(running), parameters=parameters, log_output=False,
            progress_bar=False, cwd=str(notebook_cwd()), kernel_name=kernel,
            stdout_file=sys.stdout, stderr_file=sys.stderr, iopub_timeout=IOPUB_TIMEOUT,
            **quiet_kernel_options(run_dir, verbose))
    except papermill.PapermillExecutionError as error:
        # The notebook's own error message is what the user needs; the traceback stays in the
        # executed notebook.
        message = error.evalue if error.ename in ("ValueError", "RuntimeError", "SaveError") else \
            f"{error.ename}: {error.evalue}"
        kept = _keep_executed(running, executed)
        where = f"the executed notebook, with the full traceback, is {kept}" if kept else \
            "the executed notebook could not be saved"
        raise RuntimeError(f"{message} ({where})") from None
    except OSError as error:
        _keep_executed(running, executed)
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise RuntimeError(f"the disk holding {run_dir} is full ({error.strerror}): free disk "
                               "space and run the same command again; the run resumes from its "
                               "last checkpoint") from None
        raise RuntimeError(f"could not write in {run_dir}: {error} (check free disk space and "
                           "permissions, then run the same command again)") from None
    except BaseException as error:
        _keep_executed(running, executed)
        if type(error).__name__ == "DeadKernelError":
            raise RuntimeError(f"the notebook kernel died ({error}); its own messages are in "
                               f"{run_dir / 'logs' / KERNEL_LOG}") from None
        raise
    _keep_executed(running, executed)
    print(f"executed notebook: {executed}", file=sys.stderr)
    return 0


def _keep_executed(running: Path, executed: Path) -> Path | None:
    """Give a whole executed notebook its name (an earlier one moves to a dated name); drop a
    half-written one (a full disk) and keep the earlier one. Returns the executed notebook kept."""
    try:
        with open(running, encoding="utf-8") as handle:
            json.load(handle)
    except FileNotFoundError:
        return executed if executed.exists() else None
    except (OSError, ValueError):
        running.unlink(missing_ok=True)
        return executed if executed.exists() else None
    if executed.exists():
        stamp = datetime.datetime.fromtimestamp(executed.stat().st_mtime).strftime("%Y%m%d-%H%M%S")
        os.replace(executed, executed.with_name(f"{executed.stem}.{stamp}.ipynb"))
    os.replace(running, executed)
    return executed


def check_run_can_start(config) -> None:
    """What the notebook's kernel would refuse, asked before one starts (seconds, no files): a
    run path that is a file, a live run in the folder, saved settings of another run."""
    from sketchdraw.settings import check_run_folder

    run = RunFolder(config.run_dir)
    run.check_is_folder()
    if run.root.is_dir():
        with run.lock():
            check_run_folder(run, config)


def check_data_folders(config) -> None:
    """Each data folder the settings name exists and is a folder (before a kernel starts)."""
    for key in PATH_SETTINGS:
        folder = getattr(config, key, None)
        if folder is None:
            continue
        variable = "DATA" if key in ("data", "data_root") else key.upper()
        if not Path(folder).exists():
            raise ValueError(f"{variable}={folder}: no such folder; give the folder that holds "
                             f"the images (make run ... {variable}=path/to/folder)")
        if not Path(folder).is_dir():
            raise ValueError(f"{variable}={folder} is a file; give the folder that holds the images")


# The named options of `run` (and the Makefile variables behind them) as settings. A family
# without such a field refuses the option by name, with its fields' close names.
PATH_SETTINGS = ("data", "data_root", "domain_x", "domain_y")


def run_command(arguments: argparse.Namespace) -> int:
    variables = make_variables() if arguments.from_make else {}
    variables.pop("VERBOSE", None)  # read by main (_verbose)
    verbose = getattr(arguments, "verbose", False)
    arguments.set = [*shlex.split(variables.pop("SET", "")), *(arguments.set or [])]
    arguments.experiment = _chosen_experiment(variables.pop("EXPERIMENT", None) or
                                              arguments.experiment, arguments.set)
    family = family_of(arguments.experiment)
    fields = set(family.settings_class.field_names())
    hints = typing.get_type_hints(family.settings_class)
    if "RUNS" in variables:
        arguments.runs_dir = variables.pop("RUNS")
    if "DATA" in variables:
        arguments.data = variables.pop("DATA")
    overrides = {
        "category": arguments.category,
        "epochs": arguments.epochs,
        "limit": arguments.limit,
        "batch_size": arguments.batch,
        "model": arguments.model,
        "name": arguments.name,
        "mirror": arguments.mirror,
        # one data folder: a painting folder (`data`) or the root of sketch/photo pairs (`data_root`)
        "data_root" if "data_root" in fields else "data": arguments.data,
        "domain_x": arguments.domain_x,
        "domain_y": arguments.domain_y,
        "runs_dir": str(Path(arguments.runs_dir).resolve()),
    }
    for name, text in variables.items():
        key = MAKE_ALIASES.get(name, name.lower())
        if key not in fields:
            raise ValueError(f"make variable {name}: " + unknown_name_message(
                f"{family.name} setting", key, fields) + " (a make variable is a setting's name "
                "in capitals, e.g. EMA_DECAY=0.999)")
        overrides[key] = _parse_value(text, hints[key])
    overrides.update(_set_items(arguments.set, hints))
    for key in PATH_SETTINGS:  # the notebook runs in the repository: make paths absolute
        if isinstance(overrides.get(key), str):
            overrides[key] = str(Path(overrides[key]).expanduser().resolve())
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        config = family.resolve(arguments.experiment,
                                **{key: value for key, value in given.items() if key in fields})
        config.check_ready()  # e.g. the data folders set: fail in a second, not after a kernel starts
    except ValueError as error:
        if not arguments.from_make:
            raise
        raise ValueError(f"{error}{_as_make_variables(str(error), given)}") from None
    check_data_folders(config)
    notebook = Path(arguments.notebook) if arguments.notebook else \
        notebook_path(config.notebook())
    import papermill

    # Parameters of the notebook that are no setting (e.g. what to translate at the end) go to
    # the notebook only; any other unknown name is refused with the close setting names.
    cell = papermill.inspect_notebook(str(notebook))
    unknown = {key: value for key, value in given.items() if key not in fields and key not in cell}
    if unknown:
        given_overrides(family.settings_class, unknown)
    parameters = notebook_parameters(notebook, arguments.experiment, {**given, "name": config.name})
    if not _chief_process(config):
        # Only the chief writes (and locks) the run folder: this worker's executed notebook and
        # kernel log go to a folder of its own, kept for reading.
        worker_dir = Path(tempfile.mkdtemp(prefix=f"sketchdraw-{config.name}-worker-"))
        print(f"this process is a worker of a multi-worker run (TF_CONFIG): the chief writes "
              f"{config.run_dir}; this worker's notebook and log go to {worker_dir}", file=sys.stderr)
        return _execute(notebook, worker_dir, parameters, arguments.kernel, verbose)
    check_run_can_start(config)
    return _execute(notebook, config.run_dir, parameters, arguments.kernel, verbose)


def _chief_process(config) -> bool:
    if getattr(config, "strategy", "auto") != "multi_worker":
        return True
    from sketchdraw.scaling import is_chief_process

    return is_chief_process(config.strategy)


def _as_make_variables(message: str, given: dict) -> str:
    """For a `make run` user: the settings a message names, as the variables they typed."""
    named = [key for key in given if re.search(rf"\b{re.escape(key)}\b", message)]
    if not named:
        return ""
    return " (on the make command line: " + ", ".join(
        f"{next((alias for alias, field in MAKE_ALIASES.items() if field == key), key.upper())}="
        for key in named) + ")"


def _chosen_experiment(named: str | None, set_items: list) -> str:
    """The experiment from EXPERIMENT / --experiment, or from `experiment=` among the SET items
    (taken out of them: it picks the preset, it is no setting); the default when neither."""
    given = [item.partition("=")[2].strip() for item in set_items
             if item.partition("=")[0].strip() == "experiment"]
    set_items[:] = [item for item in set_items if item.partition("=")[0].strip() != "experiment"]
    choices = {choice for choice in (named, *given) if choice is not None}
    if len(choices) > 1:
        raise ValueError(f"two experiments asked for ({', '.join(sorted(choices))}): give one, "
                         "with EXPERIMENT=name (or --experiment name)")
    return choices.pop() if choices else DEFAULT_EXPERIMENT


def _set_items(items, hints=None) -> dict:
    """`--set key=value` pairs as a dict (values parsed as JSON when they parse)."""
    values = {}
    for item in items or []:
        key, separator, value = item.partition("=")
        if not separator:
            raise ValueError(f"--set wants key=value, got {item!r}")
        key = key.strip()
        values[key] = _parse_value(value, (hints or {}).get(key))
    return values


def notebook_parameters(notebook: Path, experiment: str, overrides: dict) -> dict:
    """Papermill parameters: the experiment and every override that is not None, each by its own
    name in the notebook's parameters cell (generated from the settings, so every setting has one)."""
    import papermill

    cell = papermill.inspect_notebook(str(notebook))
    given = {key: value for key, value in overrides.items() if value is not None}
    missing = sorted(set(given) - set(cell))
    if missing:
        raise ValueError(f"{notebook.name} has no parameter for {', '.join(missing)}: regenerate "
                         "it (python tools/make_notebooks.py) or run the family's own notebook")
    return {"experiment": experiment, **given}


def sample_command(arguments: argparse.Namespace) -> int:
    from sketchdraw import sampling

    check_run_exists(arguments.run)
    from sketchdraw.quality.per_category import is_conditional_run

    if is_conditional_run(arguments.run) or arguments.category or arguments.hybrid:
        from sketchdraw.conditional import hybrids

        hybrid = None
        if arguments.hybrid:
            hybrid = tuple(name.strip() for name in arguments.hybrid.split(","))
            if len(hybrid) != 2:
                raise ValueError(f"--hybrid names two categories, e.g. cat,rabbit; got {arguments.hybrid!r}")
        array_path, grid_path = hybrids.sample(arguments.run, arguments.n, arguments.seed, arguments.truncation,
                                               arguments.category, hybrid, arguments.weight)
    else:
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

    check_run_exists(arguments.run)
    translation = cyclegan.translate(arguments.run, arguments.input, arguments.direction,
                                     arguments.output)
    print(f"wrote {len(translation.outputs)} image(s) and {translation.sheet}")
    for path, reason in translation.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    return 0


def draw_command(arguments: argparse.Namespace) -> int:
    from sketchdraw import sketch2img

    check_run_exists(arguments.run)
    sheet = sketch2img.draw(arguments.run, arguments.sketch, samples=arguments.samples,
                            seed=arguments.seed, category=arguments.category)
    print(f"wrote {sheet}")
    return 0


# The name this package has on the package index ("sketchdraw" there is another project's).
DISTRIBUTION = "sketchdraw-gan"


def version_text() -> str:
    """`sketchdraw --version`: the installed distribution's version (the package's own without
    one, e.g. run from a checkout never installed) and where the package is imported from."""
    from importlib import metadata

    import sketchdraw

    try:
        version = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        version = sketchdraw.__version__
    return f"{DISTRIBUTION} {version} ({Path(sketchdraw.__file__).resolve().parent})"


class VersionAction(argparse.Action):
    """`--version`, printed as one line (argparse's own would wrap a long path) and read only
    when asked."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sketchdraw", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action=VersionAction,
                        help="the installed version and where the package is imported from")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="train (or resume) a run by executing its notebook")
    run.add_argument("--experiment", help=f"preset name (default: {DEFAULT_EXPERIMENT})")
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
    run.add_argument("--verbose", action="store_true",
                     help="show TensorFlow's C++ log lines and the kernel's own messages (by "
                          "default they go to <run>/logs/kernel.log)")
    run.add_argument("--from-make", action="store_true",
                     help="also take the settings given to `make run` as variables (CATEGORY=cat "
                          "EMA_DECAY=0.999 ...; the Makefile passes them in the environment)")
    run.set_defaults(handler=run_command)

    sample = commands.add_parser("sample", help="write N drawings from a trained run")
    sample.add_argument("--run", required=True, help="run folder, e.g. runs/rabbit")
    sample.add_argument("-n", type=int, default=1000, help="number of drawings (default 1000)")
    sample.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    sample.add_argument("--truncation", type=float, default=None,
                        help="keep each noise value within this many standard deviations (0: off; "
                             "default: the run's own setting)")
    sample.add_argument("--category", help="class-conditional runs: draw this category (default: each in turn)")
    sample.add_argument("--hybrid", metavar="A,B", help="class-conditional runs: a blend of two categories")
    sample.add_argument("--weight", type=float, default=0.5, help="the hybrid's share of B (default 0.5)")
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

    add_evaluate_parser(commands)

    pages = commands.add_parser("gallery", help="rebuild the HTML pages of every run folder")
    pages.add_argument("--runs-dir", default="runs", help="folder of run folders (default: runs)")
    pages.set_defaults(handler=gallery_command)

    add_list_parser(commands)
    add_serve_parser(commands)
    add_export_parser(commands)
    return parser


def _verbose(argv: list[str]) -> bool:
    """--verbose, SKETCHDRAW_VERBOSE=1, or `make run VERBOSE=1`."""
    from_make = "--from-make" in argv and \
        _parse_value(make_variables().get("VERBOSE", "0") or "0") not in (0, False, "no")
    return "--verbose" in argv or verbose_requested() or from_make


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    quiet = not _verbose(argv)
    if quiet:  # TensorFlow's later C++ logging: only what stops it
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # the parser's defaults import the quality modules, hence TensorFlow and its start-up lines,
    # some written before its log level is read
    with native_stderr_silenced(quiet):
        parser = build_parser()
    arguments = parser.parse_args(argv)  # outside: its usage errors go to the terminal
    arguments.verbose = not quiet
    try:
        return arguments.handler(arguments)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        if os.environ.get("SKETCHDRAW_DEBUG"):
            raise
        print(f"sketchdraw: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

