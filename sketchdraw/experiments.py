"""Run settings as one dataclass, and the named experiment presets that reproduce the seeds.

`RunConfig` is the single flat block of settings a run is made from (the papermill `parameters`
cell maps onto it). It is saved as `config.json` in the run folder and checked field by field when
read back, so a settings file edited by hand into the wrong type gets an error naming the field.

Presets (registered by name, picked by `make run EXPERIMENT=...` or the notebook's `experiment`):
- `rabbit`: seed 001, the rabbit notebook: `tutorial` models, Adam(1e-3) for both networks,
  batch 256, a 4x4 grid each epoch. `make run CATEGORY=cat` uses this recipe for any category.
- `flower`: seed 000, the flower article: `upsample` models, Adam(2e-4, beta1 0.5), batch 128,
  a 10x10 grid.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path

from sketchdraw.registry import Registry

RUN_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.+-]{0,99}$")

# Fields a rerun may change without starting a different run: how long, how often to save, and
# where the data comes from. Anything else differing from the saved config.json is a new run.
RESUMABLE_CHANGES = frozenset({"epochs", "checkpoint_every", "mirror", "runs_dir", "progress"})


@dataclass
class RunConfig:
    experiment: str = "rabbit"
    name: str = "rabbit"  # the run folder: <runs_dir>/<name>
    # data
    source: str = "quickdraw"
    category: str = "rabbit"
    limit: int | None = None  # keep N drawings (None: all)
    limit_seed: int | None = None  # None: the first N; a number: a seeded random N
    mirror: str | None = None  # a folder or base URL replacing Google's bucket
    # model
    model: str = "tutorial"
    noise_dim: int = 100
    # optimisation
    epochs: int = 50
    batch_size: int = 256
    generator_learning_rate: float = 1e-3
    discriminator_learning_rate: float = 1e-3
    generator_beta1: float = 0.9
    discriminator_beta1: float = 0.9
    loss: str = "bce"
    seed: int = 0
    # bookkeeping
    checkpoint_every: int = 5
    grid_size: int = 4  # the epoch grid shows grid_size x grid_size drawings from fixed noise
    runs_dir: str = "runs"
    progress: bool = True

    # -- derived -------------------------------------------------------------------------------
    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / self.name

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict, where: str = "settings") -> RunConfig:
        """Build from a dict (config.json, notebook parameters), checking every field's type."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            from sketchdraw.registry import unknown_name_message

            raise ValueError(f"{where}: " + "; ".join(
                unknown_name_message("setting", name, known) for name in unknown))
        hints = typing.get_type_hints(cls)
        for name, value in values.items():
            _check_type(name, value, hints[name], where)
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> RunConfig:
        """Check values before anything is loaded or trained; raise ValueError naming the field."""
        from sketchdraw import losses, models

        hints = typing.get_type_hints(type(self))
        for item in dataclasses.fields(self):
            _check_type(item.name, getattr(self, item.name), hints[item.name], "settings")
        for name in ("epochs", "batch_size", "noise_dim", "checkpoint_every", "grid_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be a positive number of drawings or None, got {self.limit}")
        for name in ("generator_learning_rate", "discriminator_learning_rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("generator_beta1", "discriminator_beta1"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        check_run_name(self.name)
        models.get(self.model)
        losses.get(self.loss)
        if self.source == "quickdraw":
            from sketchdraw.quickdraw import check_category

            check_category(self.category)
        else:
            raise ValueError(f"unknown data source {self.source!r}; known: 'quickdraw'")
        return self


def check_run_name(name: str) -> str:
    """A run name becomes a folder name: letters, digits, space, '_', '.', '+', '-' only."""
    if not isinstance(name, str) or not RUN_NAME_PATTERN.match(name) or ".." in name:
        raise ValueError(f"run name {name!r} is not allowed: use letters, digits, spaces, '_', '-', "
                         "'+' or '.' (no path separators, no '..', at most 100 characters)")
    return name


def _check_type(name: str, value, hint, where: str) -> None:
    if not _matches(value, hint):
        expected = getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
        raise ValueError(f"{where}: {name} must be {expected}, got {value!r} "
                         f"({type(value).__name__})")


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


# -- presets -------------------------------------------------------------------------------------
PRESETS: Registry[RunConfig] = Registry("experiment")


def register(config: RunConfig) -> RunConfig:
    PRESETS.register(config.experiment)(config)
    return config


register(RunConfig(experiment="rabbit", name="rabbit", category="rabbit", model="tutorial",
                   batch_size=256, generator_learning_rate=1e-3, discriminator_learning_rate=1e-3,
                   generator_beta1=0.9, discriminator_beta1=0.9, grid_size=4, epochs=50))
register(RunConfig(experiment="flower", name="flower", category="flower", model="upsample",
                   batch_size=128, generator_learning_rate=2e-4, discriminator_learning_rate=2e-4,
                   generator_beta1=0.5, discriminator_beta1=0.5, grid_size=10, epochs=50))


def preset(name: str) -> RunConfig:
    return dataclasses.replace(PRESETS.get(name))


def resolve(experiment: str = "rabbit", **overrides) -> RunConfig:
    """The preset `experiment` with every override that is not None applied, validated.

    The run name, when not given, is the experiment's name, or the category when the category
    differs from the preset's (`make run CATEGORY=cat` trains the rabbit recipe into runs/cat).
    """
    config = preset(experiment)
    given = {key: value for key, value in overrides.items() if value is not None}
    known = {f.name for f in dataclasses.fields(RunConfig)}
    unknown = sorted(set(given) - known)
    if unknown:
        from sketchdraw.registry import unknown_name_message

        raise ValueError("; ".join(unknown_name_message("setting", name, known) for name in unknown))
    if "name" not in given:
        category = given.get("category", config.category)
        if category != config.category:
            given["name"] = category if experiment == "rabbit" else f"{experiment}-{category}"
            given["name"] = _name_from_category(given["name"])
    config = dataclasses.replace(config, **given)
    return config.validate()


def _name_from_category(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", text).strip("_") or "run"


def config_differences(saved: dict, wanted: RunConfig) -> dict:
    """Fields whose saved value differs from the wanted one, ignoring those a rerun may change.

    A field missing from an older config.json counts as its default value.
    """
    wanted_values = wanted.to_dict()
    defaults = RunConfig().to_dict()
    return {
        key: (saved.get(key, defaults[key]), wanted_values[key])
        for key in wanted_values
        if key not in RESUMABLE_CHANGES and saved.get(key, defaults[key]) != wanted_values[key]
    }
