"""The model families, and which one an experiment (preset) name belongs to.

Each family is a folder under `sketchdraw/` whose `settings` module holds its settings dataclass,
its `PRESETS` and `resolve(experiment, **overrides)`; the notebook that runs a configuration is
`config.notebook()`. Adding a family is a new folder and one entry below: the CLI, the Makefile
and the notebook generator find it through this registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from sketchdraw.registry import Registry, unknown_name_message


@dataclass(frozen=True)
class Family:
    name: str
    package: str  # sketchdraw.<folder>; its `settings` module holds PRESETS and resolve

    @property
    def settings_module(self):
        return import_module(f"{self.package}.settings")

    @property
    def presets(self):
        return self.settings_module.PRESETS

    @property
    def settings_class(self) -> type:
        return self.presets.settings_class

    def resolve(self, experiment: str, **overrides):
        """The preset with the overrides that are not None applied, validated."""
        return self.settings_module.resolve(experiment, **overrides)


FAMILIES: Registry[Family] = Registry("model family")
for _family in (
    Family("dcgan", "sketchdraw.dcgan"),  # doodles or a folder of paintings
    Family("cyclegan", "sketchdraw.cyclegan"),  # two unpaired image folders
    Family("sketch2img", "sketchdraw.sketch2img"),  # sketch/photo pairs
    Family("conditional", "sketchdraw.conditional"),  # many doodle categories, one generator
):
    FAMILIES.register(_family.name)(_family)

# The preset `run` trains when none is named; `list presets` marks it.
DEFAULT_EXPERIMENT = "rabbit"


def families() -> list[Family]:
    return [FAMILIES.get(name) for name in FAMILIES.names()]


def experiments() -> dict[str, Family]:
    """Every preset name, with the family it belongs to."""
    return {name: family for family in families() for name in family.presets.names()}


def family_of(experiment: str) -> Family:
    """The family whose presets hold `experiment`; ValueError with the close names when none."""
    known = experiments()
    if experiment not in known:
        raise ValueError(unknown_name_message("experiment", str(experiment), known))
    return known[experiment]
