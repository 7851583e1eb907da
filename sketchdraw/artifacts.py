"""The run folder: everything a training run leaves for people to browse, and for a rerun to resume.

    runs/<name>/
      config.json            the run's settings (all of them, as JSON)
      reals.png              a grid of real training images, saved once
      images/image_at_epoch_0001.png ...   one grid per epoch from one fixed noise batch
      history.csv            one row per completed epoch: losses, discriminator stats, timings
      losses.png             loss curves (and discriminator probabilities/accuracy when logged)
      progress.gif           the epoch grids as an animation
      samples.png            the closing figure: generated beside real
      generator.keras        the trained generator
      checkpoints/           tf.train.CheckpointManager files (resume from here)
      <notebook>.ipynb       the executed notebook when run through papermill
      .lock                  held while a process trains in this folder

Every file is written atomically (see `atomicfiles`), so a kill never leaves half a file under its
final name. This module knows nothing about TensorFlow: it takes and gives numpy arrays.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import json
import os
import shutil
import socket
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import filelock
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from sketchdraw.atomicfiles import atomic_write, atomic_write_bytes, atomic_write_text

HISTORY_FIELDS_FIRST = ("epoch",)


class RunLockedError(RuntimeError):
    """Another live process is training in this run folder."""


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Model output in [-1, 1] -> uint8 in [0, 255] (same convention as the training data)."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def grid_image(images: np.ndarray, columns: int | None = None, scale: int = 4,
               invert: bool = False, padding: int = 2,
               row_labels: Sequence[str] | None = None) -> Image.Image:
    """Tile uint8 images (N, H, W, C) into one PIL image.

    `invert=True` draws Quick, Draw! bitmaps (255 = ink) as black ink on white paper.
    Nearest-neighbour scaling keeps the pixels honest: what you see is what the model drew.
    `row_labels`: a name written left of each row (a grid of one row per category).
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"grid_image wants uint8 images, got {images.dtype}")
    if images.ndim == 3:
        images = images[..., None]
    count, height, width, channels = images.shape
    columns = columns or int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    if invert:
        images = 255 - images
    background = 255 if invert else 0
    canvas = np.full(
        (rows * (height + padding) + padding, columns * (width + padding) + padding, channels),
        background, dtype=np.uint8)
    for index in range(count):
        row, column = divmod(index, columns)
        top = padding + row * (height + padding)
        left = padding + column * (width + padding)
        canvas[top:top + height, left:left + width] = images[index]
    if channels == 1:
        picture = Image.fromarray(canvas[..., 0], mode="L")
    else:
        picture = Image.fromarray(canvas, mode="RGB")
    if scale != 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    if row_labels is not None:
        if len(row_labels) != rows:
            raise ValueError(f"{len(row_labels)} row labels for a grid of {rows} rows")
        picture = _label_rows(picture, row_labels, row_height=(height + padding) * scale,
                              top=padding * scale, paper=background)
    return picture


def _label_rows(picture: Image.Image, labels: Sequence[str], row_height: int, top: int,
                paper: int) -> Image.Image:
    """`picture` with a margin on its left holding each row's label, centred on the row."""
    # the text is drawn at the picture's own scale, so it stays legible beside enlarged pixels
    font = ImageFont.load_default(size=int(np.clip(row_height // 5, 10, 28)))
    gap = max(4, row_height // 12)
    margin = 2 * gap + max(int(np.ceil(font.getlength(label))) for label in labels)
    ink = 255 - paper
    fill = ink if picture.mode == "L" else (ink,) * 3
    labelled = Image.new(picture.mode, (picture.width + margin, picture.height),
                         paper if picture.mode == "L" else (paper,) * 3)
    labelled.paste(picture, (margin, 0))
    draw = ImageDraw.Draw(labelled)
    for row, label in enumerate(labels):
        middle = top + row * row_height + (row_height - top) / 2
        draw.text((margin - gap, middle), label, fill=fill, font=font, anchor="rm")
    return labelled


def save_png(picture: Image.Image, path: str | os.PathLike) -> None:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


class RunFolder:
    """Paths and atomic writers for one run folder."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    # -- paths ---------------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.root / "config.json"

    @property
    def reals_path(self) -> Path:
        return self.root / "reals.png"

    @property
    def images_dir(self) -> Path:
        return self.root / "images"

    @property
    def history_path(self) -> Path:
        return self.root / "history.csv"

    @property
    def losses_plot_path(self) -> Path:
        return self.root / "losses.png"

    @property
    def gif_path(self) -> Path:
        return self.root / "progress.gif"

    @property
    def samples_path(self) -> Path:
        return self.root / "samples.png"

    @property
    def generator_path(self) -> Path:
        return self.root / "generator.keras"

    @property
    def last_generator_path(self) -> Path:
        """keep_best: the last epoch's generator, when generator.keras is the best one."""
        return self.root / "generator_last.keras"

    @property
    def measured_generators_dir(self) -> Path:
        """keep_best: the generator of every measured epoch (`epoch_0500.keras`), which the choice
        at the end of training picks from."""
        return self.root / "generators"

    def measured_generator_path(self, epoch: int) -> Path:
        return self.measured_generators_dir / f"epoch_{epoch:04d}.keras"

    @property
    def best_path(self) -> Path:
        """keep_best: which measured epoch generator.keras is, its curve CS and KID, and the rule."""
        return self.root / "best.json"

    @property
    def checkpoints_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def metrics_path(self) -> Path:
        return self.root / "metrics.json"

    def epoch_image_path(self, epoch: int) -> Path:
        return self.images_dir / f"image_at_epoch_{epoch:04d}.png"

    def epoch_images(self) -> list[Path]:
        return sorted(self.images_dir.glob("image_at_epoch_*.png"))

    def exists(self) -> bool:
        return self.config_path.exists()

    # -- settings ------------------------------------------------------------------------------
    def save_config(self, settings: dict) -> None:
        atomic_write_text(self.config_path, json.dumps(settings, indent=2, sort_keys=True) + "\n")

    def load_config(self) -> dict:
        try:
            return json.loads(self.config_path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"{self.config_path} is not valid JSON ({error}); fix or remove it") from error

    # -- images --------------------------------------------------------------------------------
    def save_grid(self, images_uint8: np.ndarray, path: str | os.PathLike, columns: int | None = None,
                  invert: bool = False, scale: int = 4, row_labels: Sequence[str] | None = None) -> Path:
        save_png(grid_image(images_uint8, columns=columns, invert=invert, scale=scale,
                            row_labels=row_labels), path)
        return Path(path)

    def save_epoch_grid(self, epoch: int, images_uint8: np.ndarray, columns: int | None = None,
                        invert: bool = False, row_labels: Sequence[str] | None = None) -> Path:
        return self.save_grid(images_uint8, self.epoch_image_path(epoch), columns, invert,
                              row_labels=row_labels)

    def set_aside_epoch_images_after(self, epoch: int) -> list[Path]:
        """Move grids of epochs later than `epoch` (made after the last checkpoint by a run that was
        killed) into images/set_aside_<time>/ so a resumed run never overwrites them."""
        later = [p for p in self.epoch_images() if _epoch_of(p) > epoch]
        if not later:
            return []
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        target, number = self.images_dir / f"set_aside_{stamp}", 2
        while target.exists():  # two resumes within one second must not share a folder
            target, number = self.images_dir / f"set_aside_{stamp}-{number}", number + 1
        target.mkdir(parents=True)
        moved = []
        for path in later:
            destination = target / path.name
            os.replace(path, destination)
            moved.append(destination)
        return moved

    def remove_leftover_temporaries(self) -> list[Path]:
        """Delete the hidden temporaries (`.<name>.*.tmp`, `.generator.tmp<pid>.keras`) a killed
        process left; they never stood under a final name, so nothing of value goes."""
        leftovers = [path for folder in (self.root, self.images_dir) if folder.is_dir()
                     for path in folder.iterdir()
                     if path.is_file() and path.name.startswith(".")
                     and (path.name.endswith(".tmp") or ".tmp" in path.name and
                          path.suffix == ".keras")]
        for path in leftovers:
            path.unlink(missing_ok=True)
        return leftovers + self.remove_unfinished_checkpoints()

    def remove_unfinished_checkpoints(self) -> list[Path]:
        """Delete `checkpoints/ckpt-N_temp/` folders: TensorFlow writes a checkpoint there and
        renames it only when complete, so one that is left (a full disk, a kill) holds nothing
        restorable, and on a full disk it keeps the disk full."""
        if not self.checkpoints_dir.is_dir():
            return []
        unfinished = [path for path in self.checkpoints_dir.glob("*_temp*") if path.is_dir()]
        for path in unfinished:
            shutil.rmtree(path, ignore_errors=True)
        return unfinished

    def save_gif(self, frame_duration: float = 0.25) -> Path | None:
        import imageio.v2 as imageio

        frames = [imageio.imread(path) for path in self.epoch_images()]
        if not frames:
            return None
        buffer = io.BytesIO()
        # Hold the last frame longer so the final result is easy to see.
        durations = [frame_duration] * (len(frames) - 1) + [max(1.0, frame_duration)]
        # Pillow wants a plain number, not a list, for a one-frame GIF.
        duration = durations if len(frames) > 1 else durations[0]
        imageio.mimsave(buffer, frames, format="GIF", duration=duration, loop=0)
        atomic_write_bytes(self.gif_path, buffer.getvalue())
        return self.gif_path

    # -- history -------------------------------------------------------------------------------
    def read_history(self) -> list[dict]:
        if not self.history_path.exists():
            return []
        with open(self.history_path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        return [{key: _number(value) for key, value in row.items()} for row in rows]

    def write_history(self, rows: Sequence[dict]) -> None:
        fields: list[str] = list(HISTORY_FIELDS_FIRST)
        for row in rows:
            fields.extend(key for key in row if key not in fields)
        with atomic_write(self.history_path, "w") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({key: _format(row.get(key, "")) for key in fields})

    def append_history(self, row: dict) -> None:
        """Add one epoch's row; an existing row for the same epoch is replaced, never duplicated."""
        rows = [r for r in self.read_history() if int(r["epoch"]) != int(row["epoch"])]
        rows.append(row)
        rows.sort(key=lambda r: int(r["epoch"]))
        self.write_history(rows)

    def truncate_history(self, last_epoch: int) -> None:
        rows = self.read_history()
        kept = [row for row in rows if int(row["epoch"]) <= last_epoch]
        if len(kept) != len(rows):
            self.write_history(kept)

    # -- one writer per folder -----------------------------------------------------------------
    def check_is_folder(self) -> None:
        """Refuse a run path that is a file (a name that collides with one) or lies under one."""
        for path in (self.root, *self.root.parents):
            if path.exists():
                if not path.is_dir():
                    raise ValueError(f"{path} is a file, not a folder, so {self.root} cannot be a "
                                     "run folder: choose another run name (NAME=...) or runs "
                                     "folder (RUNS=...), or move that file away")
                return

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold an exclusive lock on the run folder while training.

        The lock is the OS's own lock on `.lock` (flock on Linux and macOS, LockFileEx on Windows,
        through filelock): the OS drops it when the holder dies, so a lock left by a killed process
        is taken over safely, while a live holder is named in the error. Asking again while it is
        held is refused, in this process too. Where Python has no such lock, filelock's existence
        marker stands in; a marker left by a process that is gone from this host is taken over.
        """
        self.check_is_folder()
        self.root.mkdir(parents=True, exist_ok=True)
        lock_path = self.root / ".lock"
        if not _NATIVE_LOCKS:
            with _marker_lock(lock_path, self.root):
                yield
            return
        # Opened without truncating: the holder's text stays readable to those refused.
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
        try:
            locked = filelock.lock_descriptor(descriptor, blocking=False)
        except BaseException:
            os.close(descriptor)
            raise
        if not locked:
            os.close(descriptor)
            raise _locked_error(self.root, _lock_holder(lock_path))
        try:
            started = datetime.datetime.now().isoformat(timespec="seconds")
            # Byte 0 is the locked byte, which other processes cannot read on Windows: the holder's
            # text starts after it.
            text = f"\nprocess {os.getpid()} on {socket.gethostname()} (since {started})\n".encode()
            os.lseek(descriptor, 0, os.SEEK_SET)
            while text:
                text = text[os.write(descriptor, text):]
            os.ftruncate(descriptor, os.lseek(descriptor, 0, os.SEEK_CUR))
            yield
        finally:
            with contextlib.suppress(OSError):
                filelock.unlock_descriptor(descriptor)
            os.close(descriptor)


# An OS file lock on a descriptor (flock, or LockFileEx on Windows); without one (no fcntl off
# Windows) filelock offers only its existence marker.
_NATIVE_LOCKS = sys.platform == "win32" or filelock.has_fcntl


def check_run_exists(run: str) -> None:
    """RUN names a run folder that is there (before a model or TensorFlow is loaded); if not, say
    which runs there are."""
    folder = RunFolder(run)
    if folder.exists():
        return
    parent = folder.root.parent
    runs = sorted(path.name for path in parent.iterdir()
                  if (path / "config.json").is_file()) if parent.is_dir() else []
    there = f"; runs in {parent}: {', '.join(runs[:12])}{' ...' if len(runs) > 12 else ''}" \
        if runs else f"; {parent} holds no runs"
    if not folder.root.exists():
        raise FileNotFoundError(f"RUN={run}: no such run folder{there}")
    if not folder.root.is_dir():
        raise ValueError(f"RUN={run} is a file, not a run folder{there}")
    inside = sorted(path.name for path in folder.root.iterdir() if (path / "config.json").is_file())
    if inside:
        raise ValueError(f"RUN={run} is a folder of runs, not a run: pass one of them, e.g. "
                         f"RUN={folder.root / inside[0]} (it holds {', '.join(inside[:12])})")
    raise FileNotFoundError(f"RUN={run} is not a run folder (it has no config.json){there}")


def _locked_error(root: Path, holder: str) -> RunLockedError:
    return RunLockedError(f"run folder {root} is being trained by {holder}; wait for it to finish, "
                          "stop it, or choose another run name (NAME=...)")


def _lock_holder(lock_path: Path) -> str:
    """The holder's own words in `.lock`, or "another process" when they cannot be read."""
    try:
        with open(lock_path, "rb") as file:
            try:
                data = file.read()
            except OSError:  # Windows: the locked byte 0 is the holder's alone
                file.seek(1)
                data = file.read()
    except OSError:
        return "another process"
    return data.decode("utf-8", "replace").strip() or "another process"


@contextlib.contextmanager
def _marker_lock(lock_path: Path, root: Path) -> Iterator[None]:
    """filelock's existence marker: `.lock` holds the holder's process id and host."""
    marker = filelock.SoftFileLock(lock_path, is_singleton=False, thread_local=False)
    try:
        marker.acquire(blocking=False)
    except filelock.Timeout:
        holder = "another process"
        with contextlib.suppress(OSError, ValueError):
            pid, host = lock_path.read_text().split("\n")[:2]
            holder = f"process {int(pid)} on {host}"
        raise _locked_error(root, holder) from None
    try:
        yield
    finally:
        marker.release()


def _epoch_of(path: Path) -> int:
    return int(path.stem.rsplit("_", 1)[-1])


def _number(text: str):
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)
