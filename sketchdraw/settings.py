"""What every family's settings dataclass shares: types checked field by field, presets by name,
overrides, the run folder, and the comparison with a run folder's saved `config.json`.

A family's settings are one flat dataclass deriving from `Settings` (the DCGAN's `RunConfig`, the
CycleGAN's `CycleConfig`, ...). Its fields are the only list of settings there is: the notebooks'
parameter cells, `make run SET=...` and the CLI are made from them. Each field's trailing comment
is its help text (the notebook generator reads it).

A family adds to its class:
- `RESUMABLE`: the fields a rerun may change without making it another run (how long, how often
  to save, where the data comes from);
- `validate()`: the value checks, raising ValueError that names the field and the fix;
- `check_ready()`: what must hold before training starts (e.g. data folders set), beyond validate;
- `notebook()`: the notebook file that runs it.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from pathlib import Path
from typing import ClassVar

from sketchdraw.registry import Registry, unknown_name_message

RUN_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.+-]{0,99}$")


STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")
BATCH_SCOPES = ("global", "per_replica")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


@dataclasses.dataclass
class ScalingSettings:
    """How a run spreads over devices and how fast one device goes: the same fields in every
    family (sketchdraw.scaling applies them). A rerun may change them (a run started on a laptop
    resumes on a GPU or a TPU), except what batch_size means."""

    strategy: str = "auto"  # auto (several GPUs: mirrored) | one_device | mirrored | multi_worker (TF_CONFIG) | tpu
    batch_scope: str = "global"  # batch_size counts the images of a step on all replicas (global) or on each (per_replica)
    sync_batch_norm: bool = True  # several replicas: batch norm statistics over all of them, not each replica's share
    precision: str = "float32"  # float32 | mixed_float16 (with loss scaling) | mixed_bfloat16
    jit_compile: bool = False  # compile the train step with XLA
    steps_per_call: int = 1  # train steps inside one compiled call (Keras's steps_per_execution)

    def check_scaling(self) -> None:
        for name, allowed in (("strategy", STRATEGIES), ("batch_scope", BATCH_SCOPES),
                              ("precision", PRECISIONS)):
            if getattr(self, name) not in allowed:
                raise ValueError(unknown_name_message(name, str(getattr(self, name)), allowed))
        if self.steps_per_call < 1:
            raise ValueError(f"steps_per_call must be at least 1, got {self.steps_per_call}")


SCALING_FIELDS = frozenset(item.name for item in dataclasses.fields(ScalingSettings))
RESUMABLE_SCALING = SCALING_FIELDS - {"batch_scope"}
# Fields every family's rerun may change: bookkeeping and the devices, not what is trained.
COMMON_RESUMABLE = frozenset({"epochs", "checkpoint_every", "runs_dir", "progress"}) | RESUMABLE_SCALING


class Settings:
    """Base of every family's settings dataclass."""

    RESUMABLE: ClassVar[frozenset] = COMMON_RESUMABLE

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / self.name

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def field_names(cls) -> list[str]:
        return [item.name for item in dataclasses.fields(cls)]

    @classmethod
    def check_names(cls, values, where: str = "settings") -> None:
        """A settings dict must be a JSON object of known names (close names suggested)."""
        if not isinstance(values, dict):
            raise ValueError(f"{where}: the settings must be a JSON object of name: value pairs, "
                             f"got {type(values).__name__}")
        known = set(cls.field_names())
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{where}: " + "; ".join(
                unknown_name_message("setting", name, known) for name in unknown))

    @classmethod
    def from_dict(cls, values: dict, where: str = "settings"):
        """Build from a dict (config.json, notebook parameters), checking every field's type."""
        cls.check_names(values, where)
        hints = typing.get_type_hints(cls)
        for name, value in values.items():
            check_type(name, value, hints[name], where)
        return cls(**values).validate()

    def check_types(self) -> None:
        hints = typing.get_type_hints(type(self))
        for item in dataclasses.fields(self):
            check_type(item.name, getattr(self, item.name), hints[item.name], "settings")

    def validate(self):
        self.check_types()
        check_run_name(self.name)
        if not 0 <= self.seed < 2 ** 32:
            raise ValueError(f"seed must be a whole number from 0 to 2**32 - 1, got {self.seed}")
        if isinstance(self, ScalingSettings):
            self.check_scaling()
        return self

    def check_ready(self):
        """Everything a training start needs of the settings; by default `validate`."""
        return self.validate()

    def notebook(self) -> str:
        raise NotImplementedError

    def changes_from(self, preset: Settings) -> dict:
        """{field: (preset's value, this value)} for each field that differs from `preset`."""
        mine, theirs = self.to_dict(), preset.to_dict()
        return {key: (theirs.get(key), value) for key, value in mine.items()
                if key != "experiment" and theirs.get(key) != value}

    def describe(self, preset: Settings) -> str:
        """Two lines for the console: the preset and what this run changes in it (the whole set
        is `config.to_dict()`, and config.json in the run folder)."""
        changes = self.changes_from(preset)
        listing = ", ".join(f"{key}={new!r} (preset {old!r})" for key, (old, new) in changes.items())
        return (f"settings: the {self.experiment} preset"
                + (f", changed: {listing}" if changes else ", unchanged")
                + f"\n  ({len(self.to_dict()) - len(changes) - 1} more as in the preset: "
                  "print(config.to_dict()) shows them all)")


# Names a run folder must not take: the runs folder's own page (the gallery's index.html; a run
# folder of that name would break every later page), and the names Windows keeps for devices.
RESERVED_RUN_NAMES = frozenset({"index.html", "con", "prn", "aux", "nul",
                                *(f"com{n}" for n in range(1, 10)), *(f"lpt{n}" for n in range(1, 10))})


def check_run_name(name: str) -> str:
    """A run name becomes a folder name: letters, digits, space, '_', '.', '+', '-' only."""
    if not isinstance(name, str) or not RUN_NAME_PATTERN.fullmatch(name) or ".." in name:
        raise ValueError(f"run name {name!r} is not allowed: use letters, digits, spaces, '_', '-', "
                         "'+' or '.' (no path separators, no '..', at most 100 characters)")
    if name.lower() in RESERVED_RUN_NAMES or name.lower().split(".")[0] in RESERVED_RUN_NAMES - \
            {"index.html"} or name.endswith((".", " ")):
        raise ValueError(f"run name {name!r} is not allowed: it is a name the runs folder or the "
                         "operating system keeps for itself (or ends in '.' or a space); choose "
                         "another NAME")
    return name


def check_type(name: str, value, hint, where: str) -> None:
    if not _matches(value, hint):
        expected = getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
        raise ValueError(f"{where}: {name} must be {expected}, got {value!r} "
                         f"({type(value).__name__})")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: {name} must be a finite number, got {value!r}")


def _matches(value, hint) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, option) for option in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:  # a whole number is a fine learning rate; a bool is not
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is dict:
        return isinstance(value, dict)
    return isinstance(value, hint)


# -- presets ---------------------------------------------------------------------------------------
class Presets(Registry):
    """A family's named presets (`make run EXPERIMENT=...`): each a complete settings object of
    the family's settings class."""

    def __init__(self, kind: str, settings_class: type):
        super().__init__(kind)
        self.settings_class = settings_class

    def add(self, config):
        self.register(config.experiment)(config)
        return config

    def copy(self, name: str):
        """A fresh copy of the preset `name` (changing it leaves the registered one alone)."""
        return dataclasses.replace(self.get(name))

    def resolve(self, experiment: str, overrides: dict, name_for=None):
        """The preset `experiment` with every override that is not None applied, validated.

        `name_for(preset, given)` may choose the run name when none is given.
        """
        config = self.copy(experiment)
        given = given_overrides(type(config), overrides)
        if "name" not in given and name_for is not None:
            name = name_for(config, given)
            if name is not None:
                given["name"] = name
        return dataclasses.replace(config, **given).validate()


def given_overrides(config_class, overrides: dict) -> dict:
    """The overrides that are not None, checked against the settings class's fields.

    Unknown names are an error with the close names suggested; a whole number given for a float
    setting (papermill and `--set` turn 1.0 into 1) becomes a float.
    """
    given = {key: value for key, value in overrides.items() if value is not None}
    known = set(config_class.field_names())
    unknown = sorted(set(given) - known)
    if unknown:
        raise ValueError("; ".join(unknown_name_message("setting", name, known) for name in unknown))
    hints = typing.get_type_hints(config_class)
    for key, value in given.items():
        if hints[key] is float and isinstance(value, int) and not isinstance(value, bool):
            given[key] = float(value)
    return given


def settings_differences(saved: dict, wanted: Settings) -> dict:
    """Fields whose saved value differs from the wanted one, ignoring those a rerun may change
    (the settings class's RESUMABLE). A field missing from an older config.json counts as its
    default value.
    """
    resumable = type(wanted).RESUMABLE
    wanted_values = wanted.to_dict()
    defaults = type(wanted)().to_dict()
    return {
        key: (saved.get(key, defaults[key]), value)
        for key, value in wanted_values.items()
        if key not in resumable and saved.get(key, defaults[key]) != value
    }


class RunConflictError(ValueError):
    """The run folder holds a different run; refuse rather than overwrite it."""


def check_run_folder(run, config: Settings) -> None:
    """Refuse to continue a run folder (an `artifacts.RunFolder`) whose saved settings belong to a
    different run (any field outside the settings class's RESUMABLE differs). Needs no TensorFlow:
    the CLI asks it before a kernel starts, the skeleton again under the run's lock."""
    if not run.exists():
        return
    saved = run.load_config()
    try:
        type(config).from_dict(saved, where=str(run.config_path))
    except ValueError as error:
        raise ValueError(f"{error} (the saved settings of {run.root} were edited or come from "
                         "another version; fix the field or choose another run name: NAME=...)") from None
    differences = settings_differences(saved, config)
    if differences:
        listing = ", ".join(f"{key}: saved {old!r}, asked {new!r}"
                            for key, (old, new) in sorted(differences.items()))
        raise RunConflictError(
            f"{run.root} holds a run with other settings ({listing}). Resuming it would mix "
            "two runs; choose another run name (NAME=... for make run, name=... in a notebook) or move that folder away.")
