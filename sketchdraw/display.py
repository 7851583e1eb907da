"""Small helpers for notebooks: show images inline and keep the newest epoch grid on screen.

Outside IPython (plain `python`, tests) they do nothing visible, so library code can call them freely.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from sketchdraw.artifacts import RunFolder, grid_image


def _ipython_display():
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return None
    return display if get_ipython() is not None else None


def show_image(path: str | os.PathLike, width: int | None = None) -> None:
    """Show a PNG or GIF file inline."""
    display = _ipython_display()
    if display is None:
        return
    from IPython.display import Image

    display(Image(filename=str(path), width=width))


def show_grid(images_uint8: np.ndarray, columns: int = 8, invert: bool = True, scale: int = 3) -> None:
    """Show uint8 images (N, H, W, C) as one grid (doodles inverted: black ink on white)."""
    display = _ipython_display()
    if display is None:
        return
    display(grid_image(np.asarray(images_uint8), columns=columns, invert=invert, scale=scale))


def live_epoch_grid(width: int = 320):
    """An epoch callback (any family's `train(..., callbacks=[...])`) that replaces one inline image
    with the newest grid."""
    handle = None

    def show(end) -> None:
        nonlocal handle
        display = _ipython_display()
        if display is None:
            return
        from IPython.display import Image

        picture = Image(filename=str(end.run.epoch_image_path(end.epoch)), width=width)
        if handle is None:
            handle = display(picture, display_id=True)
        else:
            handle.update(picture)

    return show


def show_run(run_dir: str | os.PathLike) -> None:
    """The end of a run: the final grid, the progress GIF, the loss plot and generated beside real."""
    run = RunFolder(Path(run_dir))
    grids = run.epoch_images()
    for path in ([grids[-1]] if grids else []) + [run.gif_path, run.losses_plot_path,
                                                   run.samples_path]:
        if Path(path).exists():
            show_caption(f"`{path}`")
            show_image(path, width=None if path in (run.losses_plot_path, run.samples_path) else 320)
    page = run.root / "index.html"
    if page.exists():
        show_caption(f"Browse the whole run (epoch slider, plots, settings): `{page}`")


def show_caption(text: str) -> None:
    """A line of Markdown in the notebook; nothing on a headless run's console, where the closing
    summary already says where everything is."""
    display = _ipython_display()
    if display is None:
        return
    from IPython.display import Markdown

    display(Markdown(text))
