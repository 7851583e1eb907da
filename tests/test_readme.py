"""The README is a user's guide that stays true: short, and every `make` command it shows is one
the Makefile has, with variables `make run` takes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sketchdraw import cli
from sketchdraw.families import family_of

REPO_ROOT = Path(__file__).resolve().parents[1]
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def _make_commands() -> list[str]:
    """Every make command the README shows: in code blocks and in `backticks`."""
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    inline = re.findall(r"`(make [^`]*)`", README)
    return [command for command in lines + inline if command.startswith("make")]


def _targets() -> set[str]:
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    return {match for match in re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M)}


def test_the_readme_reads_in_five_minutes():
    assert len(README.splitlines()) <= 150
    assert README.index("![") < README.index("## Two commands"), "a picture of a good result first"
    assert "docs/small-data.md" in README and "docs/ARCHITECTURE.md" in README


def test_the_two_commands_are_make_run_and_make_test():
    block = re.search(r"## Two commands\s+```bash\n(.*?)```", README, flags=re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make run CATEGORY=rabbit EPOCHS=20", "make test"]


@pytest.mark.parametrize("command", sorted(set(_make_commands())))
def test_every_make_command_in_the_readme_exists(command):
    words = command.replace("[", " ").replace("]", " ").split()
    assert words[1] in _targets(), f"{command}: the Makefile has no target {words[1]!r}"
    if words[1] != "run":
        return
    variables = dict(word.split("=", 1) for word in words[2:] if "=" in word)
    experiment = variables.pop("EXPERIMENT", "rabbit")
    if experiment.startswith("<"):
        return  # a placeholder
    fields = set(family_of(experiment).settings_class.field_names())
    for name in variables:
        key = cli.MAKE_ALIASES.get(name, name.lower())
        assert name in ("DATA", "SET") or key in fields, f"{command}: {name} is not a setting"
