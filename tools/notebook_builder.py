"""Shared pieces of the notebook generator (tools/make_notebooks.py): cells, the Colab install
cell, the parameters and settings cells made from a family's settings dataclass, writing.

A settings notebook's parameters cell and the cell that resolves its settings are not written by
hand: both come from the settings class's fields (their help text is each field's trailing
comment in the class source, their shown value the default preset's), so a field added to the
class reaches the notebook, `make run SET=...` and the CLI with one regeneration.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import json
import textwrap
import tokenize
from dataclasses import dataclass, field

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

COLAB_INSTALL = '''
import importlib.util
import subprocess
import sys

# What Colab installs: the distribution on the package index, a git URL of your copy
# (e.g. "git+https://github.com/<you>/sketchdraw.git") or the path of an uploaded wheel.
SKETCHDRAW_SOURCE = "sketchdraw-gan"
if importlib.util.find_spec("sketchdraw") is not None:
    print("sketchdraw is installed:", importlib.util.find_spec("sketchdraw").submodule_search_locations[0])
elif "google.colab" in sys.modules:
    print("installing sketchdraw from", SKETCHDRAW_SOURCE, "(a minute or two)")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", SKETCHDRAW_SOURCE], check=True)
else:
    raise ModuleNotFoundError("sketchdraw is not installed in this kernel: run `make setup` in the "
                              "repository (or pip install the package) and choose its kernel")
'''

SETUP = """
Locally, `make setup` installs the `sketchdraw` package this notebook calls, and the next cell
only says so. On Colab (choose a GPU runtime) it installs the package into the runtime first, from
`SKETCHDRAW_SOURCE` (the package index by default; a git URL of your copy or an uploaded wheel
work too). With `google_drive = True` in the parameters, the runs go to Google Drive, so a
recycled runtime resumes them.
"""
# the notebook parameter that keeps runs on Google Drive (sketchdraw.colab), in every settings notebook
GOOGLE_DRIVE_PARAMETER = ("google_drive", "False", "Colab: keep the runs on Google Drive (mounted "
                          "when True) so a recycled runtime resumes them")
PARAMETERS_TAG = "parameters"  # papermill's
SETTINGS_TAG = "settings"  # the cell that resolves the settings (tests run the notebook up to it)
LINE_WIDTH = 100


class NotebookBuilder:
    def __init__(self, gpu: bool = True):
        self.cells = []
        self.gpu = gpu

    def markdown(self, text: str) -> None:
        self.cells.append(new_markdown_cell(text.strip()))

    def code(self, text: str, **metadata) -> None:
        self.cells.append(new_code_cell(text.strip(), metadata=metadata))

    def colab_install_cell(self) -> None:
        """The guarded setup cell: installs the package on Colab, does nothing where it is installed."""
        self.code(COLAB_INSTALL)

    def setup_cells(self, extra: str = "") -> None:
        """The "Setup" section: how the package gets installed, then the install cell."""
        paragraph = " ".join(f"{SETUP} {extra}".split())
        self.markdown("## Setup\n\n" + textwrap.fill(paragraph, width=LINE_WIDTH))
        self.colab_install_cell()

    def text(self) -> str:
        """The notebook file's exact text: no outputs, stable cell ids."""
        metadata = {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            "colab": {"provenance": []},
        }
        if self.gpu:
            metadata["accelerator"] = "GPU"
        for number, cell in enumerate(self.cells):  # stable ids: regenerating changes only what changed
            cell["id"] = f"cell-{number:02d}"
        text = nbformat.writes(new_notebook(cells=self.cells, metadata=metadata))
        return text if text.endswith("\n") else text + "\n"


# -- the settings cells ----------------------------------------------------------------------------
def field_order(settings_class: type) -> list[str]:
    """The fields as a notebook lists them: the family's own first, then how the run uses the
    devices (the shared ScalingSettings, which dataclasses would put first)."""
    from sketchdraw.settings import SCALING_FIELDS

    names = [item.name for item in dataclasses.fields(settings_class)]
    return [name for name in names if name not in SCALING_FIELDS] + \
        [name for name in names if name in SCALING_FIELDS]


def field_help(settings_class: type) -> dict[str, str]:
    """Each field's help text: the trailing `# ...` comment on its line in the class source
    (fields without one are left out). Fields inherited from a base class are looked up there."""
    helps: dict[str, str] = {}
    for klass in reversed(settings_class.__mro__):
        if dataclasses.is_dataclass(klass) and "__dataclass_fields__" in vars(klass):
            helps.update(_trailing_comments(klass))
    names = {item.name for item in dataclasses.fields(settings_class)}
    return {name: text for name, text in helps.items() if name in names}


def _trailing_comments(klass: type) -> dict[str, str]:
    """`name: type = value  # comment` lines of the class body: {name: comment}."""
    source = textwrap.dedent(inspect.getsource(klass))
    comments = {}
    line: list[tokenize.TokenInfo] = []  # the significant tokens of the current logical line
    depth = None  # the class body's indentation level
    level = 0
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.INDENT:
            level += 1
            depth = level if depth is None else depth
            continue
        if token.type == tokenize.DEDENT:
            level -= 1
            continue
        if token.type == tokenize.NEWLINE:
            line = []
            continue
        if token.type == tokenize.NL:
            continue
        if token.type == tokenize.COMMENT:
            is_field = (level == depth and len(line) >= 2 and line[0].type == tokenize.NAME
                        and line[1].string == ":")
            # trailing: on the same physical line as the statement's last token
            if is_field and line[-1].end[0] == token.start[0]:
                comments[line[0].string] = token.string.lstrip("#").strip()
            continue
        line.append(token)
    return comments


def literal(value) -> str:
    """A Python literal for a setting's value (strings in double quotes, as the notebooks write)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    text = repr(value)
    ast.literal_eval(text)  # papermill needs literals: anything else fails here
    return text


def parameters_cell(settings_class: type, default: object, header: str,
                    shown: dict[str, str] | None = None, extra: list[tuple[str, str, str]] = (),
                    experiments: list[str] = ()) -> str:
    """The parameters cell: `experiment = "<default>"`, then every other field as `<field> = None`
    with its help text and the default preset's value, then the notebook's own parameters.

    default: the default preset (a settings object). shown: {field: text} shown instead of the
    preset's value where that is not worth printing (e.g. a machine's absolute path). extra:
    (name, literal value, comment) of parameters that are no setting. experiments: the preset names
    this notebook runs, for the experiment line's comment.
    """
    helps = field_help(settings_class)
    shown = dict(shown or {})
    names = field_order(settings_class)
    unknown = sorted(set(shown) - set(names))
    if unknown:
        raise ValueError(f"shown values for fields {settings_class.__name__} does not have: {unknown}")
    lines = [("experiment", literal(default.experiment),
              "preset: " + ", ".join(literal(name) for name in experiments))]
    for name in names:
        if name == "experiment":
            continue
        value = shown.pop(name, None) or literal(getattr(default, name))
        comment = f"{helps[name]} ({value})" if name in helps else f"({value})"
        lines.append((name, "None", comment))
    lines.extend(extra)
    width = max(len(f"{name} = {value}") for name, value, _ in lines) + 2
    body = [f"{f'{name} = {value}':<{width}}# {_no_equals(comment)}" for name, value, comment in lines]
    for line in body:
        if line.count("=") != 1:  # papermill's inspect_notebook (and so the CLI) would skip it
            raise ValueError(f"a parameter line needs exactly one '=': {line}")
    return header.strip() + "\n" + "\n".join(body)


def _no_equals(comment: str) -> str:
    """papermill reads a parameter line with a second '=' as no parameter at all (its
    `inspect_notebook`, which the CLI asks which settings the notebook takes): '=' in a help
    text or a shown value becomes ':'."""
    return comment.replace(" = ", ": ").replace("=", ":")


def resolve_cell(settings_class: type, module: str, imports: tuple) -> str:
    """The cell that makes the settings: `<module>.resolve(experiment, <field>=<field>, ...)` for
    every field of the class (None keeps the preset's value), checked, then printed. imports: the
    sketchdraw modules the notebook uses."""
    names = [name for name in field_order(settings_class) if name != "experiment"]
    call = textwrap.fill(", ".join(f"{name}={name}" for name in names) + ")", width=LINE_WIDTH,
                         initial_indent="    ", subsequent_indent="    ", break_long_words=False,
                         break_on_hyphens=False)
    return "\n".join([
        "import tensorflow as tf",
        "",
        f"from sketchdraw import {', '.join(sorted({*imports, 'colab', 'scaling'}))}",
        "",
        "# Every parameter above that is not None replaces the preset's value.",
        "runs_dir = colab.runs_folder(runs_dir, google_drive)  # Drive on Colab when asked",
        f"config = {module}.resolve(",
        "    experiment,",
        call,
        "config.check_ready()",
        "# A multi-worker strategy must exist before TensorFlow makes anything (a model, a tensor).",
        "strategy = scaling.make_strategy(config.strategy)",
        'print("TensorFlow", tf.__version__, "| GPUs:", len(tf.config.list_physical_devices("GPU")))',
        f"print(config.describe({module}.preset(experiment)))",
    ])


# -- what a settings notebook says ------------------------------------------------------------------
@dataclass
class SettingsNotebook:
    """What a family's notebook says about its settings; the cells themselves are generated."""

    family: str  # sketchdraw.families name
    file: str  # notebooks/<file>
    experiment: str  # the parameters cell's default preset
    example: str  # `make run ...` shown in the parameters cell's header
    imports: tuple  # the sketchdraw modules the notebook's code uses (imported in the settings cell)
    shown: dict = field(default_factory=dict)  # {field: text} shown instead of the preset's value
    extra: list = field(default_factory=list)  # (name, literal, comment): parameters that are no setting

    @property
    def family_object(self):
        from sketchdraw.families import FAMILIES

        return FAMILIES.get(self.family)

    @property
    def settings_class(self) -> type:
        return self.family_object.settings_class

    @property
    def default(self):
        return self.family_object.presets.get(self.experiment)

    def experiments(self) -> list[str]:
        """The presets this notebook runs (each preset's `notebook()` names its notebook)."""
        presets = self.family_object.presets
        return [name for name in presets.names() if presets.get(name).notebook() == self.file]

    def parameters(self, notebook: NotebookBuilder) -> None:
        if self.default.notebook() != self.file:
            raise ValueError(f"preset {self.experiment!r} runs {self.default.notebook()}, not {self.file}")
        where = f"{self.family_object.package.replace('.', '/')}/settings.py"
        header = textwrap.fill(
            f"Parameters (papermill replaces this cell: `{self.example}`; `make run` takes each "
            f"of them by its name in capitals, e.g. SEED=3). Every setting of {self.settings_class.__name__} "
            f"({where}), made from its fields by tools/make_notebooks.py. None means \"the "
            f"preset's value\"; each comment ends with the {self.experiment} preset's value in "
            "parentheses.", width=LINE_WIDTH, initial_indent="# ", subsequent_indent="# ",
            break_long_words=False, break_on_hyphens=False)
        notebook.code(parameters_cell(self.settings_class, self.default, header, self.shown,
                                      [*self.extra, GOOGLE_DRIVE_PARAMETER], self.experiments()),
                      tags=[PARAMETERS_TAG])

    def resolve(self, notebook: NotebookBuilder) -> None:
        module = self.family_object.package.rsplit(".", 1)[-1]
        notebook.code(resolve_cell(self.settings_class, module, self.imports), tags=[SETTINGS_TAG])


def reflow(text: str) -> str:
    """Markdown whose paragraphs are refilled to the line width (for text with values put in)."""
    paragraphs = textwrap.dedent(text).strip().split("\n\n")
    return "\n\n".join(paragraph if paragraph.startswith(("#", "-")) else
                       textwrap.fill(" ".join(paragraph.split()), width=LINE_WIDTH)
                       for paragraph in paragraphs)


def number(value: float) -> str:
    """1e-3, 4e-4, 1.5e-4, 0.5, 0.999: a rate as the narrative writes it."""
    if value and abs(value) < 0.01:
        mantissa, exponent = f"{value:e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return f"{value:g}"
