"""The DCGAN train step and the resumable epoch loop.

The step follows the TensorFlow DCGAN tutorial (seed 001) with two changes people rely on:
- it is built by `make_train_step(...)`, which receives the models, optimizers, loss and batch
  size it needs (the tutorial's `train_step` reads module globals);
- it is written for `tf.distribute` from the start: models and optimizers are made under the
  strategy's scope, the step runs through `strategy.run`, and per-example losses are averaged over
  the *global* batch (`tf.nn.compute_average_loss`). One device uses the default strategy; several
  visible GPUs use MirroredStrategy (`choose_strategy`).

`ResumableLoop` is the part every model family shares: the run folder lock, the checkpoint
manager, resuming (epoch numbers continue, the fixed noise comes back, grids of epochs after the
last checkpoint are set aside instead of overwritten, history keeps one row per epoch), the
progress bar, a checkpoint on Ctrl-C, and the history rows. `train(config)` is the DCGAN run.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from sketchdraw import artifacts, losses, models, pipeline
from sketchdraw.artifacts import RunFolder
from sketchdraw.atomicfiles import atomic_write_text
from sketchdraw.experiments import RESUMABLE_CHANGES, RunConfig, settings_differences


class RunConflictError(ValueError):
    """The run folder holds a different run; refuse rather than overwrite it."""


EMA_REFRESH_COUNT = 256  # noise vectors whose activations give the averaged generator its statistics
EMA_REFRESH_STEPS = 100  # at least this many steps between refreshes (short epochs)


# -- strategy ------------------------------------------------------------------------------------
def choose_strategy() -> tf.distribute.Strategy:
    """MirroredStrategy when several GPUs are visible, else the default (one device) strategy."""
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


# -- the step ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepOptions:
    """What the step does besides the tutorial's plain update (all off by default)."""

    augment: str = ""  # DiffAugment policy applied to real and generated images before D
    label_treatment: str = "none"  # smoothed / noisy / flipped targets (losses.make_labels)
    gradient_penalty_weight: float = 10.0  # used when the loss asks for a gradient penalty
    r1_weight: float = 0.0  # > 0: R1 penalty on the (augmented) real images


def make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer,
                    loss: losses.AdversarialLoss, global_batch_size: int, noise_dim: int,
                    strategy: tf.distribute.Strategy | None = None,
                    update_generator: bool = True, update_discriminator: bool = True,
                    options: StepOptions = StepOptions(), label_generator=None,
                    after_generator_update: Callable[[], None] | None = None) -> Callable:
    """A compiled step: a discriminator and/or a generator update on a (distributed) batch.

    Returns a dict of scalars, each already summed over replicas: `generator_loss`,
    `discriminator_loss`, and the discriminator's view of the batch *before* the update:
    `discriminator_real_probability` / `discriminator_fake_probability` (mean sigmoid of its logits;
    0.5 for both is the balance GANs aim for) and `discriminator_accuracy` (share of real drawings
    scored real plus generated ones scored fake, over both). `update_generator` /
    `update_discriminator` make the variants a step schedule picks from per batch;
    `after_generator_update` runs in cross-replica context after a generator update (the EMA).
    """
    from sketchdraw.augment import diff_augment

    strategy = strategy or tf.distribute.get_strategy()
    scale = 1.0 / float(global_batch_size)
    use_labels = options.label_treatment != "none"

    def seen_by_discriminator(images):
        # The same differentiable augmentation for real and generated images, in both updates.
        return diff_augment(images, options.augment) if options.augment else images

    def replica_step(images):
        batch = tf.shape(images)[0]
        noise = tf.random.normal([batch, noise_dim])
        with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
            generated = generator(noise, training=True)
            real_seen = seen_by_discriminator(images)
            real_logits = discriminator(real_seen, training=True)
            fake_logits = discriminator(seen_by_discriminator(generated), training=True)
            generator_loss = tf.nn.compute_average_loss(
                loss.generator(fake_logits), global_batch_size=global_batch_size)
            if use_labels:
                real_labels, fake_labels = losses.make_labels(
                    batch, options.label_treatment, generator=label_generator)
                per_example = loss.discriminator(real_logits, fake_logits, real_labels, fake_labels)
            else:
                per_example = loss.discriminator(real_logits, fake_logits)
            if loss.needs_gradient_penalty:
                per_example += losses.gradient_penalty(
                    discriminator, images, generated, weight=options.gradient_penalty_weight)
            if options.r1_weight > 0:
                per_example += losses.r1_penalty(discriminator, real_seen, options.r1_weight)
            discriminator_loss = tf.nn.compute_average_loss(
                per_example, global_batch_size=global_batch_size)
            generator_total = generator_loss + _regularization(generator)
            discriminator_total = discriminator_loss + _regularization(discriminator)

        if update_generator:
            generator_gradients = generator_tape.gradient(generator_total,
                                                          generator.trainable_variables)
            generator_optimizer.apply_gradients(
                zip(generator_gradients, generator.trainable_variables))
        if update_discriminator:
            discriminator_gradients = discriminator_tape.gradient(
                discriminator_total, discriminator.trainable_variables)
            discriminator_optimizer.apply_gradients(
                zip(discriminator_gradients, discriminator.trainable_variables))

        return {"generator_loss": generator_loss, "discriminator_loss": discriminator_loss,
                **discriminator_statistics(real_logits, fake_logits, scale)}

    @tf.function
    def train_step(batch):
        per_replica = strategy.run(replica_step, args=(batch,))
        if update_generator and after_generator_update is not None:
            after_generator_update()
        return {key: strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
                for key, value in per_replica.items()}

    return train_step


def discriminator_statistics(real_logits, fake_logits, scale: float) -> dict:
    """The discriminator's view of a batch, each a sum scaled by 1/global batch (so replicas add up):
    mean probability on real and on generated images, and accuracy over both."""
    real_probability = tf.sigmoid(tf.reshape(real_logits, [-1]))
    fake_probability = tf.sigmoid(tf.reshape(fake_logits, [-1]))
    correct = (tf.reduce_sum(tf.cast(real_probability > 0.5, tf.float32))
               + tf.reduce_sum(tf.cast(fake_probability <= 0.5, tf.float32)))
    return {
        "discriminator_real_probability": tf.reduce_sum(real_probability) * scale,
        "discriminator_fake_probability": tf.reduce_sum(fake_probability) * scale,
        "discriminator_accuracy": correct * scale / 2.0,
    }


def step_schedule(generator_steps_per_discriminator_step: int = 1,
                  discriminator_steps_per_generator_step: int = 1,
                  discriminator_warmup_batches: int = 0) -> Callable[[int], str]:
    """Which networks batch number `index` (0-based, over the whole run) updates.

    Returns "both", "generator" or "discriminator". Seed 002's gd_ratio of 2 trains the generator
    on every batch and the discriminator on every other one: decided per batch, not per epoch.
    The first `discriminator_warmup_batches` batches train only the discriminator.
    """
    def which(index: int) -> str:
        if index < discriminator_warmup_batches:
            return "discriminator"
        position = index - discriminator_warmup_batches
        if generator_steps_per_discriminator_step > 1:
            return "both" if position % generator_steps_per_discriminator_step == 0 else "generator"
        if discriminator_steps_per_generator_step > 1:
            last = discriminator_steps_per_generator_step - 1
            return "both" if position % discriminator_steps_per_generator_step == last \
                else "discriminator"
        return "both"

    return which


def _regularization(model) -> tf.Tensor:
    """The model's own penalties (e.g. an L2 kernel regularizer), scaled for the replica count."""
    if not model.losses:
        return tf.constant(0.0)
    return tf.nn.scale_regularization_loss(tf.add_n(model.losses))


# -- the loop every model family shares ----------------------------------------------------------
class ResumableLoop:
    """Checkpointing, resuming, history and progress for an epoch loop over one run folder.

        loop = ResumableLoop(run, checkpoint, checkpoint_every=5)
        with loop.interruptible():                     # Ctrl-C: checkpoint, then stop
            for epoch in loop.epochs(total):           # continues after the last checkpoint
                ... train one epoch ...
                loop.finish_epoch(epoch, row, total)   # history row, checkpoint when due

    `checkpoint` is a `tf.train.Checkpoint` of everything that must survive (models, optimizers,
    fixed noise); the loop adds its own epoch counter to it.
    """

    def __init__(self, run: RunFolder, checkpoint: tf.train.Checkpoint, checkpoint_every: int,
                 max_to_keep: int = 3, log: Callable[[str], None] | None = None):
        self.run = run
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
        latest = self.manager.latest_checkpoint
        if latest is None:
            start = 0
        else:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
            start = int(self.completed_epochs.numpy())
            self.log(f"resuming {self.run.root} after epoch {start} ({os.path.basename(latest)})")
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
        self.manager.save(checkpoint_number=epoch)
        self._saved_epoch = epoch

    def epochs(self, total: int) -> Iterator[int]:
        """Epoch numbers from the one after the restored checkpoint to `total`."""
        start = self.restore()
        if start >= total:
            self.log(f"{self.run.root} already has {start} of {total} epochs; nothing to train "
                     "(ask for more epochs to continue it)")
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

    def finish_epoch(self, epoch: int, row: dict, total: int, callbacks: Iterable = ()) -> None:
        """After an epoch's grid is saved: its history row, a checkpoint when due, the refreshed
        gallery pages, then each callback(epoch, run folder, row)."""
        self.run.append_history({"epoch": epoch, **row})
        if epoch % self.checkpoint_every == 0 or epoch == total:
            self.save(epoch)
        else:
            self.completed_epochs.assign(epoch)
        self.last_completed_epoch = epoch
        self.trained_epochs += 1
        publish_pages(self.run)
        for callback in callbacks:
            callback(epoch, self.run, row)


def prepare_run_folder(run: RunFolder, config, resumable: frozenset | None = None) -> None:
    """Save config.json for a new run; for an existing one, refuse a different run's settings."""
    check_run_folder(run, config, resumable)
    run.save_config(config.to_dict())


def check_run_folder(run: RunFolder, config, resumable: frozenset | None = None) -> None:
    """Refuse to continue a run folder whose saved settings belong to a different run.

    `config` is any family's settings dataclass (with `from_dict` and `to_dict`); `resumable`
    names the fields a rerun may change (default: the DCGAN ones).
    """
    if not run.exists():
        return
    saved = run.load_config()
    try:
        type(config).from_dict(saved, where=str(run.config_path))
    except ValueError as error:
        raise ValueError(f"{error} (the saved settings of {run.root} were edited or come from "
                         "another version; fix the field or choose another run name)") from None
    differences = settings_differences(saved, config, resumable or RESUMABLE_CHANGES)
    if differences:
        listing = ", ".join(f"{key}: saved {old!r}, asked {new!r}"
                            for key, (old, new) in sorted(differences.items()))
        raise RunConflictError(
            f"{run.root} holds a run with other settings ({listing}). Resuming it would mix "
            "two runs; choose another run name (name=...) or move that folder away.")


# -- data ------------------------------------------------------------------------------------------
def load_training_images(config: RunConfig) -> np.ndarray:
    """The run's training data as a uint8 array, from the configured source.

    quickdraw: numpy_bitmap rows (N, 784); strokes: the ndjson drawings rasterised to the same
    convention; paintings: decoded RGB (N, size, size, 3) from the `data` folder.
    """
    if config.source == "quickdraw":
        from sketchdraw import quickdraw

        return quickdraw.load_bitmaps(config.category, limit=config.limit,
                                      sample_seed=config.limit_seed, mirror=config.mirror,
                                      progress=config.progress)
    if config.source == "strokes":
        from sketchdraw import quickdraw, strokes

        path = quickdraw.fetch_file(config.category, "simplified", mirror=config.mirror,
                                    progress=config.progress)
        drawings = strokes.read_ndjson(path, recognized_only=config.recognized_only)
        drawings = _limit(drawings, config.limit, config.limit_seed)
        if not drawings:
            raise ValueError(f"{path} has no drawings"
                             + (" marked recognised" if config.recognized_only else ""))
        return strokes.rasterize_many(drawings)
    if config.source == "paintings":
        from sketchdraw import paintings

        found = paintings.load_painting_folder(config.data, image_size=config.image_size,
                                               fit=config.fit, progress=config.progress)
        if found.skipped:
            print(found.report(), file=sys.stderr, flush=True)
        return _limit(found.images, config.limit, config.limit_seed)
    raise ValueError(f"unknown data source {config.source!r}")


def _limit(items, limit: int | None, seed: int | None):
    if limit is None or limit >= len(items):
        return items
    if seed is None:
        return items[:limit]
    rows = np.sort(np.random.default_rng(seed).choice(len(items), size=limit, replace=False))
    return items[rows] if isinstance(items, np.ndarray) else [items[row] for row in rows]


def image_shape_of(config: RunConfig) -> tuple[int, int, int]:
    if config.source == "paintings":
        return (config.image_size, config.image_size, 3)
    return (28, 28, 1)


def build_models(config: RunConfig):
    """The family's generator and discriminator with the options this run sets.

    An option the family's builders do not take is an error when it is set to something other
    than its default (e.g. `l2` on the `tutorial` models), never silently ignored.
    """
    family = models.get(config.model)
    shape = image_shape_of(config)
    generator_options = {"activation": config.activation, "normalization": config.normalization,
                         "l2": config.l2, "image_size": config.image_size}
    discriminator_options = {"activation": config.activation, "spectral_norm": config.spectral_norm,
                             "normalization": config.discriminator_normalization, "l2": config.l2}
    defaults = {"activation": None, "normalization": "batch", "spectral_norm": False, "l2": 0.0,
                "image_size": family.image_shape[0]}
    generator = family.build_generator(
        noise_dim=config.noise_dim,
        **_supported(family.build_generator, generator_options, defaults, config.model))
    discriminator_defaults = {**defaults, "normalization": "none"}
    discriminator = family.build_discriminator(
        image_shape=shape,
        **_supported(family.build_discriminator, discriminator_options, discriminator_defaults,
                     config.model))
    if tuple(generator.output_shape[1:]) != shape:
        raise ValueError(f"model {config.model!r} draws {generator.output_shape[1:]} images but the "
                         f"data are {shape}; choose a model for this data")
    return generator, discriminator


def _supported(builder, options: dict, defaults: dict, model_name: str) -> dict:
    accepted = inspect.signature(builder).parameters
    chosen = {}
    for key, value in options.items():
        if key in accepted:
            chosen[key] = value
        elif value != defaults.get(key):
            raise ValueError(f"model {model_name!r} has no {key!r} option (asked {value!r}); "
                             f"leave it at {defaults.get(key)!r} or choose another model")
    return chosen


# -- the DCGAN run ---------------------------------------------------------------------------------
@dataclass
class TrainResult:
    run: RunFolder
    generator: object
    discriminator: object
    epochs_trained: int


EpochCallback = Callable[[int, RunFolder, dict], None]


def train(config: RunConfig, images: np.ndarray | None = None,
          callbacks: Iterable[EpochCallback] = (), strategy=None) -> TrainResult:
    """Train (or resume) the run described by `config`; leave a complete run folder.

    `images` replaces the configured data source (uint8 array) when given. Each callback is called
    after every epoch with (epoch, run folder, history row), e.g. to show the newest grid.
    """
    from sketchdraw.stabilisers import GeneratorEMA, StuckDetector

    config.validate()
    adversarial_loss = losses.get(config.loss)
    image_shape = image_shape_of(config)
    run = RunFolder(config.run_dir)
    with run.lock():
        check_run_folder(run, config)
        images = load_training_images(config) if images is None else images
        if config.batch_size > len(images):
            raise ValueError(f"batch_size {config.batch_size} is larger than the {len(images)} "
                             f"training images; use batch_size <= {len(images)} or more data")
        run.save_config(config.to_dict())  # only now: a refused start leaves no settings behind
        keras_seed(config.seed)
        strategy = strategy or choose_strategy()
        with strategy.scope():
            generator, discriminator = build_models(config)
            generator_optimizer = adam(config.generator_learning_rate, config.generator_beta1,
                                       generator, config.generator_beta2)
            discriminator_optimizer = adam(config.discriminator_learning_rate,
                                           config.discriminator_beta1, discriminator,
                                           config.discriminator_beta2)
            ema = GeneratorEMA(generator, config.ema_decay) if config.ema_decay > 0 else None
            label_generator = tf.random.Generator.from_seed(config.seed)
        fixed_noise = tf.Variable(
            tf.random.stateless_normal([config.grid_size ** 2, config.noise_dim],
                                       seed=[config.seed, 1]),
            trainable=False, name="fixed_noise")
        batches_done = tf.Variable(0, dtype=tf.int64, trainable=False, name="batches_done")
        tracked = dict(generator=generator, discriminator=discriminator,
                       generator_optimizer=generator_optimizer,
                       discriminator_optimizer=discriminator_optimizer,
                       fixed_noise=fixed_noise, batches_done=batches_done,
                       label_generator=label_generator)
        if ema is not None:
            tracked["ema_generator"] = ema.model
        loop = ResumableLoop(run, tf.train.Checkpoint(**tracked), config.checkpoint_every)
        shown = ema.model if ema is not None else generator  # what the grids and saved model use

        invert = image_shape[-1] == 1  # doodles: black ink on white paper
        if not run.reals_path.exists():
            reals = pick_rows(images, 64, config.seed).reshape(-1, *image_shape)
            run.save_grid(reals, run.reals_path, columns=8, invert=invert)

        dataset = pipeline.image_dataset(images, config.batch_size, image_shape,
                                         seed=config.seed, flip=config.flip)
        distributed = strategy.experimental_distribute_dataset(dataset)
        options = StepOptions(augment=config.augment, label_treatment=config.label_treatment,
                              gradient_penalty_weight=config.gradient_penalty_weight,
                              r1_weight=config.r1_weight)
        steps = {
            variant: make_train_step(
                generator, discriminator, generator_optimizer, discriminator_optimizer,
                adversarial_loss, config.batch_size, config.noise_dim, strategy,
                update_generator=variant != "discriminator",
                update_discriminator=variant != "generator", options=options,
                label_generator=label_generator,
                after_generator_update=ema.update if ema is not None else None)
            for variant in ("both", "generator", "discriminator")
        }
        schedule = step_schedule(config.generator_steps_per_discriminator_step,
                                 config.discriminator_steps_per_generator_step,
                                 config.discriminator_warmup_batches)
        detector = None
        if config.stuck_window:
            detector = StuckDetector(
                window=config.stuck_window, tolerance=config.stuck_tolerance,
                factor=config.stuck_factor,
                optimizers={"generator": generator_optimizer,
                            "discriminator": discriminator_optimizer})
        steps_per_epoch = len(images) // config.batch_size
        # A refresh costs a forward pass of EMA_REFRESH_COUNT drawings: every epoch for long epochs,
        # about every EMA_REFRESH_STEPS steps for short ones, always before a checkpoint or the end.
        refresh_every = max(1, math.ceil(EMA_REFRESH_STEPS / steps_per_epoch))

        base_rates = {"generator_learning_rate": (generator_optimizer, config.generator_learning_rate),
                      "discriminator_learning_rate": (discriminator_optimizer,
                                                      config.discriminator_learning_rate)}
        decay_start = decay_start_epoch(config.epochs, config.learning_rate_decay)

        with loop.interruptible():
            for epoch in loop.epochs(config.epochs):
                rates = {}
                if config.learning_rate_decay > 0:  # set from the epoch, so a resumed run agrees
                    for column, (optimizer, rate) in base_rates.items():
                        rates[column] = linear_decay(rate, epoch, decay_start, config.epochs)
                        optimizer.learning_rate.assign(rates[column])
                row = run_epoch(steps, distributed, steps_per_epoch, config.batch_size,
                                description=f"epoch {epoch}/{config.epochs}",
                                progress=config.progress, schedule=schedule,
                                batches_done=batches_done, detector=detector)
                row.update(rates)
                if ema is not None and (epoch % refresh_every == 0 or epoch % config.checkpoint_every == 0
                                        or epoch == config.epochs):
                    # batch norm statistics of the averaged weights, not the live generator's
                    ema.refresh_statistics(count=EMA_REFRESH_COUNT, seed=config.seed * 100_003 + epoch)
                grid = artifacts.to_uint8(shown(fixed_noise, training=False).numpy())
                run.save_epoch_grid(epoch, grid, columns=config.grid_size, invert=invert)
                loop.finish_epoch(epoch, row, config.epochs, callbacks)

        if config.keep_best:
            shown = keep_best_generator(run, shown, config.keep_best_tolerance,
                                        images_per_epoch(len(images), config.batch_size))
        finish_run(run, shown, images, image_shape, config.noise_dim, config.seed, invert,
                   config.truncation)
        publish_pages(run)
    return TrainResult(run, shown, discriminator, loop.trained_epochs)


def keep_best_generator(run: RunFolder, last, tolerance: float = 0.0, images_per_epoch: int = 0):
    """keep_best: of the measured epochs whose generator the quality callback saved (`generators/`),
    the one `evaluation.choose_best(…, tolerance)` picks; `best.json` says which, the last epoch's
    generator is saved as generator_last.keras, and the kept one is returned for finish_run to save
    as generator.keras. Without any saved generator (no quality callback ran) says so and returns
    `last`."""
    from sketchdraw import evaluation
    from sketchdraw.sampling import load_generator

    rows = evaluation.kept_rows(run.root)
    best = evaluation.choose_best(rows, tolerance)
    if best is None:
        print(f"keep_best: no measured generator in {run.measured_generators_dir} (was the quality "
              "callback given keep_best? set quality_every); generator.keras is the last epoch's",
              file=sys.stderr, flush=True)
        return last
    save_generator(last, run.last_generator_path)
    record = evaluation.best_record(best, tolerance, images_per_epoch)
    atomic_write_text(run.best_path, json.dumps(record, indent=2) + "\n")
    print(f"keep_best: generator.keras is epoch {best['epoch']}'s generator (KID {best['kid_mean']:.4f}, "
          f"CS {best['cs']:.3f} on the quality curve; of {len(rows)} measured epochs, the "
          f"{record['chosen_by']}); the last epoch's is {run.last_generator_path.name}",
          file=sys.stderr, flush=True)
    return load_generator(run.root, run.measured_generator_path(best["epoch"]))


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


def images_per_epoch(count: int, batch_size: int) -> int:
    """Images an epoch trains on: whole batches only (the pipeline drops the remainder)."""
    return count // batch_size * batch_size


def run_epoch(steps, distributed_dataset, steps_per_epoch: int, batch_size: int,
              description: str, progress: bool = True, schedule=None, batches_done=None,
              detector=None) -> dict:
    """One pass over the data; returns the epoch's mean statistics, seconds and images/s.

    `steps` is a compiled step, or a dict of variants ("both", "generator", "discriminator")
    that `schedule(batch index)` picks from. `detector` (a StuckDetector) sees every batch's
    losses and raises the learning rates when they stop moving.
    """
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
        for batch in distributed_dataset:
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
    seconds = time.perf_counter() - start
    row = epoch_row(totals, count, batch_size, seconds)
    row.update(updates)
    if detector is not None:
        row["learning_rate_raises"] = raises
    if progress:
        print(f"{description}: generator loss {row.get('generator_loss', float('nan')):.4f}, "
              f"discriminator loss {row.get('discriminator_loss', float('nan')):.4f}, "
              f"{seconds:.1f} s, {row['images_per_second']:.0f} images/s",
              file=sys.stderr, flush=True)
    return row


def epoch_row(totals: dict, count: int, batch_size: int, seconds: float) -> dict:
    """The history row of an epoch: each summed statistic averaged over its `count` batches, plus
    seconds and training images per second."""
    row = {key: float(value) / max(count, 1) for key, value in totals.items()}
    row["seconds"] = seconds
    row["images_per_second"] = count * batch_size / seconds if seconds > 0 else 0.0
    return row


def finish_run(run: RunFolder, generator, images: np.ndarray, image_shape, noise_dim: int,
               seed: int, invert: bool, truncation: float = 0.0) -> None:
    """The closing artifacts: GIF, plots, the saved generator, generated beside real (drawn with
    the run's sampling truncation)."""
    from sketchdraw import plots, sampling

    run.save_gif()
    plots.save_history_plots(run)
    save_generator(generator, run.generator_path)
    noise = sampling.noise(64, noise_dim, seed, start=2, truncation=truncation)
    generated = artifacts.to_uint8(generator(noise, training=False).numpy())
    real = pick_rows(images, 64, seed + 1).reshape(-1, *image_shape)
    plots.save_generated_beside_real(generated, real, run.samples_path, invert=invert)


def publish_pages(run: RunFolder) -> None:
    """Refresh the run's gallery page and the index of all runs (a few milliseconds)."""
    from sketchdraw import gallery

    gallery.write_run_page(run.root)
    gallery.write_runs_index(run.root.parent)


def save_generator(generator, path: Path) -> None:
    """`generator.save` into a temporary `.keras` file, then rename: never half a model file."""
    from sketchdraw.atomicfiles import SaveError

    path = Path(path)
    temporary = path.with_name(f".{path.stem}.tmp{os.getpid()}.keras")
    try:
        generator.save(temporary)
        os.replace(temporary, path)
    except OSError as error:
        raise SaveError(error.errno, f"could not save {path}: {error.strerror or error} (check free "
                        "disk space; the checkpoints still hold the trained weights)") from error
    finally:
        temporary.unlink(missing_ok=True)


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
