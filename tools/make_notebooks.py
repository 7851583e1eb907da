"""Writes every notebook in notebooks/ (they are committed; edit tools/notebook_pages.py, not the .ipynb).

    python tools/make_notebooks.py            # write them
    python tools/make_notebooks.py --check    # exit 1, naming each notebook that differs

The parameters cell of a settings notebook and the cell that resolves its settings are made from
the family's settings dataclass (`notebook_builder.parameters_cell` / `resolve_cell`): every field
is a parameter, so `make run FIELD=value` (or SET=...) reaches any of them, and a field added to
the class reaches the notebook when this runs (`--check`, and tests/test_notebooks.py, say when it
has not). The narrative's numbers for the presets are read from the presets too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO / "notebooks"
if str(REPO) not in sys.path:  # the generator reads the settings classes of this checkout
    sys.path.insert(0, str(REPO))

from notebook_pages import NOTEBOOKS, SETTINGS_NOTEBOOKS  # noqa: E402


def render_all() -> dict[str, str]:
    """{file name: the text this generator writes}."""
    from sketchdraw.families import families

    run = {family.presets.get(name).notebook() for family in families()
           for name in family.presets.names()}
    described = {description.file for description in SETTINGS_NOTEBOOKS}
    if run - described or described - set(NOTEBOOKS):
        raise SystemExit(f"presets run {sorted(run - described)} but tools/make_notebooks.py does not "
                         f"describe their settings; {sorted(described - set(NOTEBOOKS))} are not written")
    return {name: make().text() for name, make in NOTEBOOKS.items()}


def differing(folder: Path, texts: dict[str, str]) -> dict[str, str]:
    """{file name: why} for each notebook in `folder` that differs from `texts`, is missing, or
    is not one this generator writes."""
    stale = {}
    for name, text in texts.items():
        path = folder / name
        if not path.is_file():
            stale[name] = "missing"
        elif path.read_text(encoding="utf-8") != text:
            stale[name] = "differs from what tools/make_notebooks.py writes"
    for path in sorted(folder.glob("*.ipynb")):
        if path.name not in texts:
            stale[path.name] = "not written by tools/make_notebooks.py (describe it there)"
    return stale


def write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as file:
        file.write(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 naming each notebook that differs")
    parser.add_argument("--dir", type=Path, default=NOTEBOOKS_DIR,
                        help="the notebooks folder (default: notebooks/ of this checkout)")
    arguments = parser.parse_args(argv)
    texts = render_all()
    if arguments.check:
        stale = differing(arguments.dir, texts)
        for name, why in stale.items():
            print(f"{arguments.dir / name}: {why}", file=sys.stderr)
        if stale:
            print("run `python tools/make_notebooks.py` to regenerate them", file=sys.stderr)
        return 1 if stale else 0
    arguments.dir.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        path = arguments.dir / name
        changed = not path.is_file() or path.read_text(encoding="utf-8") != text
        if changed:
            write(path, text)
        print(f"{'wrote' if changed else 'unchanged'} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
