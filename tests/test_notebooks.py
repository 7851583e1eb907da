"""The committed notebooks: what tools/make_notebooks.py writes, clean (no outputs), with every
setting as a parameter, and runnable end to end by papermill."""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
TOOLS = REPO / "tools"
SETTINGS_TAG = "settings"  # the tag of the cell that resolves the settings (tools/notebook_builder.py)


def generator():
    """tools/make_notebooks.py as a module."""
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    import make_notebooks

    return make_notebooks


def settings_notebooks() -> dict:
    """{notebook file: family} for every notebook a preset of some family runs."""
    from sketchdraw.families import families

    return {family.presets.get(name).notebook(): family
            for family in families() for name in family.presets.names()}


def code_cells(notebook) -> list:
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def tagged(notebook, tag: str) -> list:
    return [cell for cell in notebook["cells"] if tag in cell.get("metadata", {}).get("tags", [])]


def source(cell) -> str:
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebooks_have_no_outputs_and_a_parameters_cell(path):
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        assert not cell.get("outputs"), f"{path.name}: a cell has outputs; clear them before committing"
        assert not cell.get("execution_count"), f"{path.name}: a cell has an execution count"
    tagged = [c for c in notebook["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    source = "".join(tagged[0]["source"])
    for line in source.splitlines():
        code = line.split("#")[0].strip()
        if code:
            name, _, value = code.partition("=")
            # literals only: papermill does not recompute derived values
            assert name.strip().isidentifier(), line
            compile(value.strip(), path.name, "eval")


# -- written once: the notebooks are generated from the settings classes ------------------------
def test_the_committed_notebooks_are_what_the_generator_writes(tmp_path):
    written = subprocess.run([sys.executable, str(TOOLS / "make_notebooks.py"), "--dir", str(tmp_path)],
                             capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert written.returncode == 0, written.stderr[-3000:]
    generated = sorted(path.name for path in tmp_path.glob("*.ipynb"))
    assert generated == [path.name for path in NOTEBOOKS], \
        "notebooks/ holds other notebooks than tools/make_notebooks.py writes"
    stale = [path.name for path in NOTEBOOKS if path.read_bytes() != (tmp_path / path.name).read_bytes()]
    assert not stale, f"{stale} differ from what tools/make_notebooks.py writes: run it and commit them"


def test_the_generator_check_names_each_notebook_that_differs(tmp_path, capsys):
    make_notebooks = generator()
    for path in NOTEBOOKS:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    assert make_notebooks.main(["--check", "--dir", str(tmp_path)]) == 0
    cyclegan = tmp_path / "cyclegan.ipynb"
    cyclegan.write_text(cyclegan.read_text().replace("photo2vangogh", "photo2expressionism", 1))
    (tmp_path / "sketch2img.ipynb").unlink()
    capsys.readouterr()
    assert make_notebooks.main(["--check", "--dir", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert "cyclegan.ipynb: differs" in error and "sketch2img.ipynb: missing" in error, error
    assert "quickdraw_dcgan.ipynb" not in error and "compare_runs.ipynb" not in error, error


@dataclasses.dataclass
class HelpExample:
    RESUMABLE: ClassVar[frozenset] = frozenset({"plain"})  # no field
    plain: int = 1
    # a comment above a field is not its help
    helped: str = "x"  # its help: "quoted", # kept
    spread: tuple = (
        1, 2)  # a default over two lines

    def method(self):
        value: int = 3  # not a field
        return value


def test_a_field_help_text_is_its_trailing_comment():
    generator()  # tools/ on the path
    import notebook_builder

    assert notebook_builder.field_help(HelpExample) == {
        "helped": 'its help: "quoted", # kept', "spread": "a default over two lines"}


def test_every_setting_is_a_parameter_of_its_notebook_and_reaches_the_settings():
    import papermill

    from sketchdraw import cli

    notebooks = settings_notebooks()
    assert {"quickdraw_dcgan.ipynb", "wikiart_dcgan.ipynb", "cyclegan.ipynb",
            "sketch2img.ipynb", "conditional.ipynb"} <= set(notebooks)
    for name, family in notebooks.items():
        fields = family.settings_class.field_names()
        parameters = papermill.inspect_notebook(str(REPO / "notebooks" / name))
        missing = [field for field in fields if field not in parameters]
        assert not missing, f"{name}: no parameter for {missing}; `SET=` cannot reach them"
        for field in fields:  # None: the preset's value, whichever preset is asked for
            if field != "experiment":
                assert parameters[field]["default"] == "None", (name, field)
        assert parameters["experiment"]["default"].strip("\"'") in family.presets.names(), name
        assert "settings" not in parameters, f"{name}: every setting has its own parameter"
        # what `make run SET=...` hands papermill: every setting by its own name
        experiment = parameters["experiment"]["default"].strip("\"'")
        asked = {field: 1 for field in fields if field != "experiment"}
        assert cli.notebook_parameters(REPO / "notebooks" / name, experiment, asked) == \
            {"experiment": experiment, **asked}, name

        notebook = json.loads((REPO / "notebooks" / name).read_text())
        (cell,) = tagged(notebook, SETTINGS_TAG)
        calls = [node for node in ast.walk(ast.parse(source(cell)))
                 if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "resolve"]
        assert len(calls) == 1, f"{name}: one resolve call in the settings cell"
        (call,) = calls
        assert [ast.unparse(argument) for argument in call.args] == ["experiment"], name
        passed = {keyword.arg: ast.unparse(keyword.value) for keyword in call.keywords}
        assert passed == {field: field for field in fields if field != "experiment"}, name
        assert ast.unparse(call.func) == family.package.rsplit(".", 1)[-1] + ".resolve", name


def settings_through_papermill(name: str, parameters: dict) -> dict:
    """Papermill's parameterised notebook run up to and including the cell that resolves the
    settings (no data, no training): that cell's namespace."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    notebook = parameterize_notebook(load_notebook_node(str(REPO / "notebooks" / name)), parameters)
    assert tagged(notebook, "injected-parameters"), "papermill injected no parameters"
    namespace: dict = {}
    for cell in code_cells(notebook):
        exec(compile(source(cell), f"{name}:{cell.get('id')}", "exec"), namespace)
        if SETTINGS_TAG in cell.get("metadata", {}).get("tags", []):
            return namespace
    raise AssertionError(f"{name} has no cell tagged {SETTINGS_TAG!r}")


def test_rabbit_small_gets_its_settings_through_papermill(tmp_path):
    from sketchdraw import dcgan

    config = settings_through_papermill("quickdraw_dcgan.ipynb", {
        "experiment": "rabbit_small", "runs_dir": str(tmp_path)})["config"]
    assert config.quality_every == 25
    assert config.keep_best is True
    assert config.generator_learning_rate == 4e-4
    assert config.discriminator_learning_rate == 2e-4
    assert config.run_dir == tmp_path / "rabbit_small"
    assert config == dcgan.resolve("rabbit_small", runs_dir=str(tmp_path))


@pytest.mark.parametrize("name", ["quickdraw_dcgan.ipynb", "wikiart_dcgan.ipynb", "cyclegan.ipynb",
                                  "sketch2img.ipynb", "conditional.ipynb"])
def test_each_settings_notebook_passes_its_parameters_to_the_settings(name, tmp_path):
    # A setting the old cells had no line for, and one most of them had, set through papermill.
    family = settings_notebooks()[name]
    presets = [preset for preset in family.presets.names()
               if family.presets.get(preset).notebook() == name]
    experiment = presets[-1]
    given = {"seed": 7, "checkpoint_every": 2, "runs_dir": str(tmp_path)}
    if family.name == "cyclegan":
        for folder in ("domain_x", "domain_y"):
            (tmp_path / folder).mkdir()
            given[folder] = str(tmp_path / folder)
        given["learning_rate"] = 1e-4
    elif family.name == "sketch2img":
        given.update(generator_learning_rate=3e-4, discriminator_learning_rate=1e-4)
    elif family.name == "conditional":
        given.update(ema_decay=0.99, categories="cat,dog")
    else:
        given.update(ema_decay=0.99, data=str(tmp_path))
    config = settings_through_papermill(name, {"experiment": experiment, **given})["config"]
    assert config == family.resolve(experiment, **given)
    assert (config.experiment, config.seed, config.checkpoint_every) == (experiment, 7, 2)


def run_cli(*arguments, env_extra=None, timeout=400):
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "sketchdraw", *arguments], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, env=environment)


def test_papermill_runs_the_quickdraw_notebook_on_real_rabbits(tmp_path, quickdraw_mirror):
    result = run_cli("run", "--category", "rabbit", "--epochs", "2", "--limit", "128", "--batch",
                     "32", "--runs-dir", str(tmp_path), "--set", "label_treatment=smooth",
                     "--set", "quality_every=0",  # run settings, each with its own parameter
                     env_extra={"SKETCHDRAW_QUICKDRAW_MIRROR": str(quickdraw_mirror)})
    assert result.returncode == 0, result.stderr[-4000:]
    run = tmp_path / "rabbit"
    for name in ("config.json", "reals.png", "history.csv", "losses.png", "progress.gif",
                 "samples.png", "generator.keras", "quickdraw_dcgan.ipynb", "index.html",
                 "images/image_at_epoch_0001.png", "images/image_at_epoch_0002.png"):
        assert (run / name).exists(), name
    executed = json.loads((run / "quickdraw_dcgan.ipynb").read_text())
    outputs = [o for c in executed["cells"] for o in c.get("outputs", [])]
    assert any(o.get("output_type") == "display_data" for o in outputs)  # grids shown inline
    config = json.loads((run / "config.json").read_text())
    assert config["limit"] == 128 and config["epochs"] == 2 and config["category"] == "rabbit"
    assert config["label_treatment"] == "smooth"  # a --set setting no named option gives
    assert "epoch 2/2" in result.stderr  # cell output streamed

    again = run_cli("run", "--category", "rabbit", "--epochs", "3", "--limit", "128", "--batch",
                    "32", "--runs-dir", str(tmp_path), "--set", "label_treatment=smooth",
                    env_extra={"SKETCHDRAW_QUICKDRAW_MIRROR": str(quickdraw_mirror)})
    assert again.returncode == 0, again.stderr[-4000:]
    assert (run / "images" / "image_at_epoch_0003.png").exists()
    assert len(list(run.glob("quickdraw_dcgan.*.ipynb"))) == 1  # the first executed notebook kept


def test_the_cli_fails_fast_with_a_clear_message(tmp_path):
    result = run_cli("run", "--category", "rabit", "--runs-dir", str(tmp_path), timeout=120)
    assert result.returncode == 2
    assert "did you mean 'rabbit'" in result.stderr
    assert not any(tmp_path.iterdir())


def test_papermill_waits_for_slow_outputs_of_a_finished_cell(tmp_path, monkeypatch):
    # papermill's own 4 s wait for a cell's last outputs failed a 35-minute run in its final cell
    # (the run's pictures) on a busy 2-core machine; `make run` must wait longer than that.
    import papermill

    from sketchdraw import cli

    seen = {}

    def execute_notebook(source, target, **options):
        seen.update(options)
        Path(target).write_text(Path(source).read_text())

    monkeypatch.setattr(papermill, "execute_notebook", execute_notebook)
    notebook = tmp_path / "tiny.ipynb"
    notebook.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert cli._execute(notebook, tmp_path / "run", {}, "python3") == 0
    assert seen["iopub_timeout"] >= 60


def test_make_run_streams_each_line_of_the_notebook_once(tmp_path):
    # papermill's log_output also sent every stderr line (progress bars, epoch summaries) to its
    # logger, which printed it a second time.
    cell = {"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [],
            "source": ["import sys\n", "print('to stdout')\n", "print('to stderr', file=sys.stderr)"]}
    notebook = tmp_path / "tiny.ipynb"
    notebook.write_text(json.dumps({"cells": [cell], "metadata": {"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5}))
    # In a fresh process, as `make run` is: pytest's own logging capture would hide the repeat.
    script = f"from pathlib import Path; from sketchdraw import cli; " \
             f"cli._execute(Path({str(notebook)!r}), Path({str(tmp_path / 'run')!r}), {{}}, 'python3')"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("to stdout") == 1 and done.stderr.count("to stderr") == 1, done.stderr
