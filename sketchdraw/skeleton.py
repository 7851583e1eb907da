"""The order of every run, whatever the model family:

    validate -> lock -> check the folder -> load data -> build -> save config.json -> restore
    -> epochs (train, grid, history, checkpoint, callbacks) -> finish -> pages

`train(family_run)` owns that order; a family supplies only what is its own by subclassing
`FamilyRun` (settings, data, networks and the compiled step, what an epoch grid shows, its closing
artifacts). Nothing is written to the run folder before the settings, the data and the networks have passed
their checks, so a refused start leaves no settings behind and the corrected rerun is a new run.

In a multi-worker run only the chief writes (and locks) the run folder. Every other worker goes
through the same order, since its collective operations (checkpoint saving among them) must match
the chief's, but writes into a scratch folder of its own, deleted at the end; it resumes from the
chief's checkpoints.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from sketchdraw.artifacts import RunFolder
from sketchdraw.gallery import publish_pages
from sketchdraw.loop import ResumableLoop, check_run_folder
from sketchdraw.scaling import Devices, is_chief
from sketchdraw.settings import Settings
from sketchdraw.summaries import TensorBoardLog, closing_summary, split_callbacks


class FamilyRun:
    """One run of a model family. `train` calls these in this order; override what differs.

    `self.log` prints a line for the user (stderr by default).
    """

    def __init__(self, config: Settings, log: Callable[[str], None] | None = None):
        self.config = config
        self.log = log or (lambda message: print(message, file=sys.stderr, flush=True))
        self.extras: dict = {}  # the family's own outputs, read as attributes of the result
        self.strategy = None  # a tf.distribute strategy to use instead of the `strategy` setting's
        self.devices: Devices | None = None  # set by `train` before load_data (scaling.Devices)

    def check_settings(self) -> None:
        """Before the folder is touched: the settings alone (ValueError names field and fix)."""
        self.config.check_ready()

    def load_data(self) -> None:
        """After the folder check, before config.json is saved: read and check the data."""

    def build(self, run: RunFolder) -> dict:
        """After the seed is set, before anything is written: networks, optimizers, the compiled
        step (may read the run folder, never write it). Returns everything a checkpoint must
        hold, by name (restored before the first epoch)."""
        raise NotImplementedError

    def prepare_folder(self, run: RunFolder) -> None:
        """After config.json is saved: the family's own first files in the run folder."""

    def save_reals(self, run: RunFolder) -> None:
        """The grid of real training examples (once per run folder)."""

    def train_epoch(self, epoch: int, description: str) -> dict:
        """One epoch; returns its history row."""
        raise NotImplementedError

    def save_epoch_grid(self, run: RunFolder, epoch: int) -> None:
        raise NotImplementedError

    @property
    def shown_generator(self):
        """The generator the grids show, handed to the epoch callbacks."""
        return None

    def finish(self, run: RunFolder) -> None:
        """After the last epoch and the progress GIF: the family's closing artifacts (plots,
        saved generators, ...)."""

    def models(self) -> dict:
        """The trained networks by name, for the result."""
        return {}


@dataclass
class RunResult:
    run: RunFolder
    models: dict
    epochs_trained: int
    extras: dict = field(default_factory=dict)  # a family's own outputs (e.g. held-out sketches)

    @property
    def generator(self):
        """The generator the run shows (and saved as generator.keras), where it has one."""
        return self.models.get("generator")

    def __getattr__(self, name: str):
        # A family's own outputs read as attributes (result.held_out_sketches).
        extras = self.__dict__.get("extras", {})
        if name in extras:
            return extras[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")


def train(family_run: FamilyRun, callbacks: Iterable = ()) -> RunResult:
    """Train (or resume) the run `family_run.config` describes; leave a complete run folder.

    `callbacks`: epoch callbacks (called with an `EpochEnd`) and/or standard
    `keras.callbacks.Callback` objects (handed the epoch's history row as `logs`).
    """
    config = family_run.config
    family_run.check_settings()
    family_run.devices = Devices.from_settings(config, family_run.strategy)
    if family_run.devices.describe() and getattr(config, "progress", True):
        family_run.log(family_run.devices.describe())
    shared = RunFolder(config.run_dir)  # the run folder, which only the chief writes
    chief = is_chief(family_run.devices.strategy)
    began = time.perf_counter()
    epoch_callbacks, keras_callbacks = split_callbacks(callbacks)
    with _written_folder(shared, chief) as run:
        check_run_folder(shared, config)  # on every worker: a refused start stops them all
        family_run.load_data()
        keras_seed(config.seed)
        tracked = family_run.build(shared)
        run.save_config(config.to_dict())  # only now: a refused start leaves no settings behind
        family_run.prepare_folder(run)
        loop = ResumableLoop(run, tf.train.Checkpoint(**tracked, **random_states(tracked)),
                             config.checkpoint_every,
                             log=family_run.log,
                             restore_from=None if chief else shared.checkpoints_dir)
        if not run.reals_path.exists():
            family_run.save_reals(run)
        tensorboard = TensorBoardLog(run, config.to_dict())
        # TensorBoard last: it logs the columns the other callbacks add (the quality curve's)
        epoch_callbacks = [*epoch_callbacks, *([keras_callbacks] if keras_callbacks else []),
                           tensorboard]
        keras_callbacks.begin(family_run.shown_generator)
        with loop.interruptible():
            for epoch in loop.epochs(config.epochs):
                row = family_run.train_epoch(epoch, f"epoch {epoch}/{config.epochs}")
                family_run.save_epoch_grid(run, epoch)
                loop.finish_epoch(epoch, row, config.epochs, epoch_callbacks,
                                  family_run.shown_generator)
                if keras_callbacks.stop_requested:
                    loop.save(epoch)
                    family_run.log(f"a Keras callback stopped the run after epoch {epoch}")
                    break
        keras_callbacks.end()
        tensorboard.close()
        run.save_gif()
        family_run.finish(run)
        publish_pages(run)
    if chief and getattr(config, "progress", True):
        family_run.log(closing_summary(run, loop.trained_epochs, config.epochs,
                                       time.perf_counter() - began))
    return RunResult(shared, family_run.models(), loop.trained_epochs, family_run.extras)


def random_states(tracked: dict) -> dict:
    """The state of each tracked Keras model's random layers (dropout's seed generators): not among
    its weights, so a checkpoint leaves it out unless named; without it a resumed run drops other
    units than an unbroken one would."""
    states = {}
    for name, value in tracked.items():
        if isinstance(value, keras.Model):
            # the tf.Variable under each Keras variable: a checkpoint skips a list of Keras ones
            variables = [getattr(variable, "value", variable) for variable in value.variables
                         if variable.path.endswith("seed_generator_state")]
            if variables:
                states[f"{name}_random_states"] = variables
    return states


@contextlib.contextmanager
def _written_folder(shared: RunFolder, chief: bool) -> Iterator[RunFolder]:
    """The folder this process writes: the run folder, locked, for the chief (and any run of one
    process); a scratch folder of its own for another worker of a multi-worker run (deleted
    afterwards, whatever happens), as the workers share the run folder (on one machine, or on a
    shared filesystem)."""
    if chief:
        with shared.lock():
            yield shared
        return
    scratch = Path(tempfile.mkdtemp(prefix="sketchdraw-worker-"))
    try:
        yield RunFolder(scratch / shared.root.name)  # the pages of all runs go to scratch too
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# -- small helpers every family's build uses -------------------------------------------------------
def gan_checkpoint(generator, discriminator, generator_optimizer, discriminator_optimizer, ema=None,
                   **others) -> dict:
    """What a one-generator, one-discriminator run's checkpoint holds, by name: both networks, the
    optimizers as a checkpoint keeps them (`scaling.inner_optimizer`), the moving average's copy
    when there is one (`ema`, a GeneratorEMA), and `others` (fixed noise, counters, random state)."""
    from sketchdraw.scaling import inner_optimizer

    tracked = dict(generator=generator, discriminator=discriminator,
                   generator_optimizer=inner_optimizer(generator_optimizer),
                   discriminator_optimizer=inner_optimizer(discriminator_optimizer), **others)
    if ema is not None:
        tracked["ema_generator"] = ema.model
    return tracked


def adam(learning_rate: float, beta_1: float, model, beta_2: float = 0.999):
    import keras

    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2)
    # Create the slot variables now so a checkpoint restores into them (not lazily later).
    optimizer.build(model.trainable_variables)
    return optimizer


def keras_seed(seed: int) -> None:
    import keras

    keras.utils.set_random_seed(seed)


def pick_rows(images: np.ndarray, count: int, seed: int) -> np.ndarray:
    """`count` seeded random rows of `images` (all when there are fewer), in their file order."""
    count = min(count, len(images))
    rows = np.sort(np.random.default_rng(seed).choice(len(images), size=count, replace=False))
    return np.asarray(images[rows])
