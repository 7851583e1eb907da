"""The epoch loop every family's run goes through: checkpoints, resuming, history, progress.

`ResumableLoop` owns the run folder's checkpoint manager and its history: epoch numbers continue
after the last checkpoint, the fixed noise comes back (it is in the checkpoint), grids of epochs
after the last checkpoint are set aside instead of overwritten, Ctrl-C saves a checkpoint.
`run_epoch` is one pass over a dataset with any family's compiled step.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import tensorflow as tf
from tqdm import tqdm

from sketchdraw.artifacts import RunFolder
from sketchdraw.atomicfiles import SaveError
from sketchdraw.gallery import publish_pages
from sketchdraw.settings import RunConflictError, check_run_folder  # noqa: F401 (re-exported)


@dataclass
class EpochEnd:
    """What an epoch callback is handed: the epoch just finished (of `total`), the run folder, the
    epoch's history row (a callback may add columns to it) and the generator its grid shows."""

    epoch: int
    total: int
    run: RunFolder
    row: dict
    generator: object = None


EpochCallback = Callable[[EpochEnd], None]


class ResumableLoop:
    """Checkpointing, resuming, history and progress for an epoch loop over one run folder.

        loop = ResumableLoop(run, checkpoint, checkpoint_every=5)
        with loop.interruptible():                     # Ctrl-C: checkpoint, then stop
            for epoch in loop.epochs(total):           # continues after the last checkpoint
                ... train one epoch ...
                loop.finish_epoch(epoch, row, total)   # history row, checkpoint when due

    `checkpoint` is a `tf.train.Checkpoint` of everything that must survive (models, optimizers,
    fixed noise); the loop adds its own epoch counter to it. `restore_from`: the checkpoints folder
    a resume reads when it is not `run`'s own (a multi-worker run's other workers save to a
    scratch folder but resume from the chief's checkpoints).
    """

    def __init__(self, run: RunFolder, checkpoint: tf.train.Checkpoint, checkpoint_every: int,
                 max_to_keep: int = 3, log: Callable[[str], None] | None = None,
                 restore_from: str | os.PathLike | None = None):
        self.run = run
        self.restore_from = restore_from
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every
        self.completed_epochs = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        checkpoint.completed_epochs = self.completed_epochs
        self.manager = tf.train.CheckpointManager(checkpoint, str(run.checkpoints_dir),
                                                  max_to_keep=max_to_keep)
        self.log = log or (lambda message: print(message, file=sys.stderr, flush=True))
        self._saved_epoch = 0
        self.last_completed_epoch = 0
        self.current_epoch = 0
        self.trained_epochs = 0  # in this call

    def restore(self) -> int:
        """Restore the newest checkpoint, if any; return the last completed epoch (0 when new)."""
        latest = self.manager.latest_checkpoint if self.restore_from is None else \
            tf.train.latest_checkpoint(str(self.restore_from))
        if latest is None:
            start = 0
        else:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
            start = int(self.completed_epochs.numpy())
            where = self.run.root if self.restore_from is None else os.path.dirname(latest)
            self.log(f"resuming {where} after epoch {start} ({os.path.basename(latest)})")
        self._saved_epoch = start
        self.last_completed_epoch = start
        removed = self.run.remove_leftover_temporaries()
        if removed:
            self.log(f"removed {len(removed)} half-written temporary file(s) left by a killed run")
        moved = self.run.set_aside_epoch_images_after(start)
        if moved:
            self.log(f"{len(moved)} grid(s) made after the last checkpoint were moved to "
                     f"{moved[0].parent} (kept, not overwritten)")
        self.run.truncate_history(start)
        return start

    def save(self, epoch: int) -> None:
        self.completed_epochs.assign(epoch)
        try:
            self.manager.save(checkpoint_number=epoch)
        except (OSError, tf.errors.OpError) as error:
            self.run.remove_unfinished_checkpoints()  # what was written of it would fill the disk
            reason = getattr(error, "message", None) or str(error)
            full = isinstance(error, tf.errors.ResourceExhaustedError) or \
                getattr(error, "errno", None) == errno.ENOSPC or "No space left" in reason
            raise SaveError(
                errno.ENOSPC if full else getattr(error, "errno", None) or errno.EIO,
                f"could not save the checkpoint of epoch {epoch} in {self.run.checkpoints_dir}: "
                f"{'no space left on device' if full else reason.strip().splitlines()[-1]} "
                f"(check free disk space and permissions; the run resumes after epoch "
                f"{self._saved_epoch}, its last saved checkpoint, when run again)") from None
        self._saved_epoch = epoch

    def epochs(self, total: int) -> Iterator[int]:
        """Epoch numbers from the one after the restored checkpoint to `total`."""
        start = self.restore()
        if start >= total:
            self.log(f"{self.run.root} already has {start} of {total} epochs; nothing to train "
                     "(ask for more epochs to continue it: EPOCHS=...)")
        for epoch in range(start + 1, total + 1):
            self.current_epoch = epoch
            yield epoch

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """Ctrl-C (KeyboardInterrupt) inside the block saves a checkpoint, then re-raises.

        The weights are saved as they are, labelled with the last completed epoch, so a rerun
        repeats the interrupted epoch from there. (An exception in a `for` body never reaches the
        generator that drives it, hence a context manager around the loop.)
        """
        try:
            yield
        except KeyboardInterrupt:
            self.save(self.last_completed_epoch)
            self.log(f"interrupted during epoch {self.current_epoch}: checkpoint saved after epoch "
                     f"{self.last_completed_epoch}; run the same command again to resume")
            raise

    def finish_epoch(self, epoch: int, row: dict, total: int, callbacks: Iterable = (),
                     generator=None) -> None:
        """After an epoch's grid is saved: its history row, a checkpoint when due, the refreshed
        gallery pages, then each callback(EpochEnd) with the generator the grid was drawn with."""
        self.run.append_history({"epoch": epoch, **row})
        if epoch % self.checkpoint_every == 0 or epoch == total:
            self.save(epoch)
        else:
            self.completed_epochs.assign(epoch)
        self.last_completed_epoch = epoch
        self.trained_epochs += 1
        publish_pages(self.run)
        end = EpochEnd(epoch, total, self.run, row, generator)
        for callback in callbacks:
            callback(end)


def linear_decay(rate: float, epoch: int, start: int, epochs: int) -> float:
    """`rate` up to epoch `start`, then linear to 0 after the last (CycleGAN's schedule).

    Epochs count from 1; epoch `epochs` trains with a small positive rate, and the rate that would
    follow it is 0. `start >= epochs` holds the rate for the whole run.
    """
    if epoch <= start:
        return rate
    remaining = max(0.0, 1.0 - (epoch - start) / (epochs - start + 1))
    return rate * remaining


def decay_start_epoch(epochs: int, fraction: float) -> int:
    """The epoch after which the rates decay, for a decay over the last `fraction` of the run."""
    return epochs - round(epochs * fraction)


def run_epoch(steps, distributed_dataset, steps_per_epoch: int, batch_size: int,
              description: str, progress: bool = True, schedule=None, batches_done=None,
              detector=None, summary: Callable[[dict], str] | None = None,
              count_updates: bool = True, several_steps=None, steps_per_call: int = 1) -> dict:
    """One epoch: `steps_per_epoch` batches from `distributed_dataset` (a pass over a dataset, or an
    iterator over a stream of epochs); returns the epoch's mean statistics, seconds and images/s.

    `steps` is a compiled step taking one batch (a tensor or a tuple, as the dataset yields it),
    or a dict of variants ("both", "generator", "discriminator") that `schedule(batch index)` picks
    from. `detector` (a StuckDetector) sees every batch's losses and raises the learning rates
    when they stop moving. `summary(row)` words the line printed after the epoch (default: the
    generator and discriminator losses). `count_updates`: the row counts each network's updates
    (a family whose every batch updates all its networks may leave them out).
    `several_steps(iterator)` (scaling.compile_step) runs `steps_per_call` "both" steps in one
    compiled call: the epoch is made of such calls, then single steps for what is left.
    """
    if several_steps is not None and steps_per_call > 1:
        return _run_epoch_in_calls(steps, several_steps, steps_per_call, distributed_dataset,
                                   steps_per_epoch, batch_size, description, progress,
                                   batches_done, summary, count_updates)
    if callable(steps):
        steps = {"both": steps}
    schedule = schedule or (lambda index: "both")
    start = time.perf_counter()
    totals: dict[str, tf.Tensor] = {}
    updates = {"generator_updates": 0, "discriminator_updates": 0}
    raises = 0
    count = 0
    first_index = int(batches_done.numpy()) if batches_done is not None else 0
    with tqdm(total=steps_per_epoch, desc=description, unit="batch", disable=not progress,
              mininterval=1.0, leave=False, file=sys.stderr) as bar:
        # islice: `distributed_dataset` may be one pass (an epoch) or an endless stream of epochs
        for batch in itertools.islice(iter(distributed_dataset), steps_per_epoch):
            variant = schedule(first_index + count)
            statistics = steps[variant](batch)
            updates["generator_updates"] += variant != "discriminator"
            updates["discriminator_updates"] += variant != "generator"
            # Sum as tensors: reading a value each batch would make the GPU wait for the host.
            totals = statistics if not totals else {k: totals[k] + v for k, v in statistics.items()}
            count += 1
            if detector is not None:
                event = detector.update(float(statistics["generator_loss"]),
                                        float(statistics["discriminator_loss"]))
                if event is not None:
                    raises += 1
                    print(f"{description}: {event.message}", file=sys.stderr, flush=True)
            bar.update(1)
            if count % 20 == 0:
                bar.set_postfix(g=f"{float(statistics['generator_loss']):.3f}",
                                d=f"{float(statistics['discriminator_loss']):.3f}")
    if batches_done is not None:
        batches_done.assign_add(count)
    row = epoch_row(totals, count, batch_size, time.perf_counter() - start)
    if count_updates:
        row.update(updates)
    if detector is not None:
        row["learning_rate_raises"] = raises
    _print_epoch_line(row, description, progress, summary)
    return row


def _run_epoch_in_calls(steps, several_steps, steps_per_call, distributed_dataset,
                        steps_per_epoch, batch_size, description, progress, batches_done, summary,
                        count_updates) -> dict:
    """`run_epoch` with `steps_per_call` batches per compiled call (every batch updates both
    networks: the settings refuse a schedule or a stuck detector with steps_per_call > 1)."""
    single = steps["both"] if isinstance(steps, dict) else steps
    start = time.perf_counter()
    totals: dict[str, tf.Tensor] = {}
    calls, rest = divmod(steps_per_epoch, steps_per_call)
    iterator = iter(distributed_dataset)
    with tqdm(total=steps_per_epoch, desc=description, unit="batch", disable=not progress,
              mininterval=1.0, leave=False, file=sys.stderr) as bar:
        for size in [steps_per_call] * calls + [1] * rest:
            statistics = several_steps(iterator) if size > 1 else single(next(iterator))
            totals = statistics if not totals else {k: totals[k] + v for k, v in statistics.items()}
            bar.update(size)
    if batches_done is not None:
        batches_done.assign_add(steps_per_epoch)
    row = epoch_row(totals, steps_per_epoch, batch_size, time.perf_counter() - start)
    if count_updates:
        row.update(generator_updates=steps_per_epoch, discriminator_updates=steps_per_epoch)
    _print_epoch_line(row, description, progress, summary)
    return row


def _print_epoch_line(row: dict, description: str, progress: bool, summary) -> None:
    if not progress:
        return
    words = summary(row) if summary is not None else (
        f"generator loss {row.get('generator_loss', float('nan')):.4f}, "
        f"discriminator loss {row.get('discriminator_loss', float('nan')):.4f}")
    print(f"{description}: {words}, {row['seconds']:.1f} s, {row['images_per_second']:.0f} images/s",
          file=sys.stderr, flush=True)


def epoch_row(totals: dict, count: int, batch_size: int, seconds: float) -> dict:
    """The history row of an epoch: each summed statistic averaged over its `count` batches, plus
    seconds and training images per second."""
    row = {key: float(value) / max(count, 1) for key, value in totals.items()}
    row["seconds"] = seconds
    row["images_per_second"] = count * batch_size / seconds if seconds > 0 else 0.0
    return row


