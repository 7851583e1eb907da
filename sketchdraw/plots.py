"""Plots saved into a run folder: the loss curves, the discriminator's view, generated beside real.

Matplotlib with the Agg backend (no screen needed); every figure is written atomically.
"""

from __future__ import annotations

import io
import os

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sketchdraw.artifacts import RunFolder, grid_image  # noqa: E402
from sketchdraw.atomicfiles import atomic_write_bytes  # noqa: E402

LOSS_COLUMNS = ("generator_loss", "discriminator_loss")
PROBABILITY_COLUMNS = ("discriminator_real_probability", "discriminator_fake_probability")
ACCURACY_COLUMN = "discriminator_accuracy"


def save_figure(figure, path: str | os.PathLike) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())


def save_history_plots(run: RunFolder) -> None:
    """losses.png: losses per epoch; below them, when logged, the discriminator's mean
    probabilities on real and generated drawings (0.5 for both is the goal) and its accuracy."""
    rows = run.read_history()
    if not rows:
        return
    epochs = [row["epoch"] for row in rows]
    has_probabilities = all(column in rows[0] for column in PROBABILITY_COLUMNS)
    panels = 2 if has_probabilities else 1
    figure, axes = plt.subplots(panels, 1, figsize=(8, 3.2 * panels), sharex=True, squeeze=False)
    axis = axes[0][0]
    for column, label in zip(LOSS_COLUMNS, ("generator", "discriminator")):
        if column in rows[0]:
            axis.plot(epochs, [row[column] for row in rows], marker="." if len(rows) < 40 else None,
                      label=label)
    axis.set_ylabel("loss")
    axis.set_title(f"{run.root.name}: losses per epoch")
    axis.legend()
    axis.grid(alpha=0.3)
    if has_probabilities:
        axis = axes[1][0]
        axis.plot(epochs, [row[PROBABILITY_COLUMNS[0]] for row in rows], label="D(real)")
        axis.plot(epochs, [row[PROBABILITY_COLUMNS[1]] for row in rows], label="D(generated)")
        if ACCURACY_COLUMN in rows[0]:
            axis.plot(epochs, [row[ACCURACY_COLUMN] for row in rows], linestyle="--",
                      label="D accuracy")
        axis.axhline(0.5, color="gray", linewidth=0.8)
        axis.set_ylim(-0.02, 1.02)
        axis.set_ylabel("discriminator")
        axis.legend()
        axis.grid(alpha=0.3)
    axes[-1][0].set_xlabel("epoch")
    save_figure(figure, run.losses_plot_path)


def save_generated_beside_real(generated: np.ndarray, real: np.ndarray, path,
                               invert: bool = False) -> None:
    """The rabbit notebook's closing figures side by side: 8x8 generated, 8x8 real."""
    figure, axes = plt.subplots(1, 2, figsize=(12, 6.4))
    for axis, images, title in ((axes[0], generated, "generated"), (axes[1], real, "real")):
        picture = grid_image(np.asarray(images), columns=8, scale=1, invert=invert)
        axis.imshow(np.asarray(picture), cmap="gray" if picture.mode == "L" else None,
                    vmin=0, vmax=255, interpolation="nearest")
        axis.set_title(f"{title} ({len(images)})")
        axis.axis("off")
    save_figure(figure, path)
