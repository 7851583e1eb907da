"""One build step beyond pyproject.toml: the wheel carries the notebooks.

The notebooks live in the repository's notebooks/ (generated there, opened from there in Colab,
checked there by the tests), not inside the package. `sketchdraw run` executes them, so a wheel
without them cannot train: the build copies notebooks/*.ipynb into the built package as
sketchdraw/notebooks/, where sketchdraw.notebook_files finds them when no checkout is around.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"


class BuildPyWithNotebooks(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's notebooks/ in place
        notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
        if not notebooks:  # a wheel that cannot run anything must not be built quietly
            raise FileNotFoundError(f"no notebooks in {NOTEBOOKS} to ship in the package")
        target = Path(self.build_lib) / "sketchdraw" / "notebooks"
        self.mkpath(str(target))
        for notebook in notebooks:
            self.copy_file(str(notebook), str(target / notebook.name))

    def get_outputs(self, include_bytecode=True):
        if getattr(self, "editable_mode", False):
            return super().get_outputs(include_bytecode)
        target = Path(self.build_lib) / "sketchdraw" / "notebooks"
        return [*super().get_outputs(include_bytecode),
                *(str(target / path.name) for path in sorted(NOTEBOOKS.glob("*.ipynb")))]


setup(cmdclass={"build_py": BuildPyWithNotebooks})
