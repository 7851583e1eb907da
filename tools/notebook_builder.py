"""Shared pieces of the notebook generators in tools/: cells, the Colab install cell, writing.

Each `tools/make_*_notebook.py` describes one notebook's cells; this module keeps what they all
share in one place (the guarded install cell, the metadata, a clean write with no outputs).
"""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

COLAB_INSTALL = '''
import importlib.util
import subprocess
import sys

# Where Colab installs sketchdraw from: this repository's git URL
# (e.g. "git+https://github.com/<you>/sketchdraw.git") or the path of an uploaded wheel.
SKETCHDRAW_SOURCE = ""
if importlib.util.find_spec("sketchdraw") is None:
    if "google.colab" not in sys.modules:
        raise ModuleNotFoundError("sketchdraw is not installed here: run `make setup` first")
    if not SKETCHDRAW_SOURCE:
        raise ValueError("set SKETCHDRAW_SOURCE in this cell to where your copy of sketchdraw lives")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", SKETCHDRAW_SOURCE], check=True)
'''


class NotebookBuilder:
    def __init__(self):
        self.cells = []

    def markdown(self, text: str) -> None:
        self.cells.append(new_markdown_cell(text.strip()))

    def code(self, text: str, **metadata) -> None:
        self.cells.append(new_code_cell(text.strip(), metadata=metadata))

    def colab_install_cell(self) -> None:
        """The guarded setup cell: installs the package on Colab, does nothing where it is installed."""
        self.code(COLAB_INSTALL)

    def write(self, path: str, gpu: bool = True) -> None:
        metadata = {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            "colab": {"provenance": []},
        }
        if gpu:
            metadata["accelerator"] = "GPU"
        for number, cell in enumerate(self.cells):  # stable ids: regenerating changes only what changed
            cell["id"] = f"cell-{number:02d}"
        nbformat.write(new_notebook(cells=self.cells, metadata=metadata), path)
