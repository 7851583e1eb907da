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
from sketchdraw.experiments import RunConfig, config_differences


class RunConflictError(ValueError):
    """The run folder holds a different run; refuse rather than overwrite it."""


# -- strategy ------------------------------------------------------------------------------------
def choose_strategy() -> tf.distribute.Strategy:
    """MirroredStrategy when several GPUs are visible, else the default (one device) strategy."""
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


# -- the step ------------------------------------------------------------------------------------
def make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer,
                    loss: losses.AdversarialLoss, global_batch_size: int, noise_dim: int,
                    strategy: tf.distribute.Strategy | None = None) -> Callable:
    """A compiled step: one discriminator and one generator update on a (distributed) batch.

    Returns a dict of scalars, each already summed over replicas: `generator_loss`,
    `discriminator_loss`, and the discriminator's view of the batch *before* the update:
    `discriminator_real_probability` / `discriminator_fake_probability` (mean sigmoid of its logits;
    0.5 for both is the balance GANs aim for) and `discriminator_accuracy` (share of real drawings
    scored real plus generated ones scored fake, over both).
    """
    strategy = strategy or tf.distribute.get_strategy()
    scale = 1.0 / float(global_batch_size)

    def replica_step(images):
        batch = tf.shape(images)[0]
        noise = tf.random.normal([batch, noise_dim])
        with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
            generated = generator(noise, training=True)
            real_logits = discriminator(images, training=True)
            fake_logits = discriminator(generated, training=True)
            generator_loss = tf.nn.compute_average_loss(
                loss.generator(fake_logits), global_batch_size=global_batch_size)
            discriminator_loss = tf.nn.compute_average_loss(
                loss.discriminator(real_logits, fake_logits), global_batch_size=global_batch_size)
            generator_total = generator_loss + _regularization(generator)
            discriminator_total = discriminator_loss + _regularization(discriminator)

        generator_gradients = generator_tape.gradient(generator_total, generator.trainable_variables)
        discriminator_gradients = discriminator_tape.gradient(
            discriminator_total, discriminator.trainable_variables)
        generator_optimizer.apply_gradients(zip(generator_gradients, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(
            zip(discriminator_gradients, discriminator.trainable_variables))

        real_probability = tf.sigmoid(tf.reshape(real_logits, [-1]))
        fake_probability = tf.sigmoid(tf.reshape(fake_logits, [-1]))
        correct = (tf.reduce_sum(tf.cast(real_probability > 0.5, tf.float32))
                   + tf.reduce_sum(tf.cast(fake_probability <= 0.5, tf.float32)))
        return {
            "generator_loss": generator_loss,
            "discriminator_loss": discriminator_loss,
            "discriminator_real_probability": tf.reduce_sum(real_probability) * scale,
            "discriminator_fake_probability": tf.reduce_sum(fake_probability) * scale,
            "discriminator_accuracy": correct * scale / 2.0,
        }

    @tf.function
    def train_step(batch):
        per_replica = strategy.run(replica_step, args=(batch,))
        return {key: strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
                for key, value in per_replica.items()}

    return train_step


def _regularization(model) -> tf.Tensor:
    """The model's own penalties (e.g. an L2 kernel regularizer), scaled for the replica count."""
    if not model.losses:
        return tf.constant(0.0)
    return tf.nn.scale_regularization_loss(tf.add_n(model.losses))


# -- the loop every model family shares ----------------------------------------------------------
class ResumableLoop:
    """Checkpointing, resuming, history and progress for an epoch loop over one run folder.

        loop = ResumableLoop(run, checkpoint, checkpoint_every=5)
        for epoch in loop.epochs(total):          # continues after the last checkpoint
            ... train one epoch ...
            loop.finish_epoch(epoch, row)          # history row, checkpoint when due

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
        """Epoch numbers from the one after the restored checkpoint to `total`.

        Ctrl-C (KeyboardInterrupt) inside an epoch saves a checkpoint of the weights as they are,
        labelled with the last completed epoch, then re-raises.
        """
        start = self.restore()
        if start >= total:
            self.log(f"{self.run.root} already has {start} of {total} epochs; nothing to train "
                     "(ask for more epochs to continue it)")
        epoch = start
        try:
            for epoch in range(start + 1, total + 1):
                yield epoch
        except KeyboardInterrupt:
            last_complete = epoch - 1
            self.save(last_complete)
            self.log(f"interrupted during epoch {epoch}: checkpoint saved after epoch "
                     f"{last_complete}; run the same command again to resume")
            raise

    def finish_epoch(self, epoch: int, row: dict, total: int) -> None:
        self.run.append_history({"epoch": epoch, **row})
        if epoch % self.checkpoint_every == 0 or epoch == total:
            self.save(epoch)
        else:
            self.completed_epochs.assign(epoch)


def prepare_run_folder(run: RunFolder, config: RunConfig) -> None:
    """Save config.json for a new run; for an existing one, refuse a different run's settings."""
    if run.exists():
        saved = run.load_config()
        try:
            RunConfig.from_dict(saved, where=str(run.config_path))
        except ValueError as error:
            raise ValueError(f"{error} (the saved settings of {run.root} were edited or come from "
                             "another version; fix the field or choose another run name)") from None
        differences = config_differences(saved, config)
        if differences:
            listing = ", ".join(f"{key}: saved {old!r}, asked {new!r}"
                                for key, (old, new) in sorted(differences.items()))
            raise RunConflictError(
                f"{run.root} holds a run with other settings ({listing}). Resuming it would mix "
                "two runs; choose another run name (name=...) or move that folder away.")
    run.save_config(config.to_dict())


# -- data ------------------------------------------------------------------------------------------
def load_training_images(config: RunConfig) -> np.ndarray:
    """The run's training data as a uint8 array, from the configured source."""
    if config.source == "quickdraw":
        from sketchdraw import quickdraw

        return quickdraw.load_bitmaps(config.category, limit=config.limit,
                                      sample_seed=config.limit_seed, mirror=config.mirror,
                                      progress=config.progress)
    raise ValueError(f"unknown data source {config.source!r}")


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
    config.validate()
    family = models.get(config.model)
    adversarial_loss = losses.get(config.loss)
    run = RunFolder(config.run_dir)
    with run.lock():
        prepare_run_folder(run, config)
        images = load_training_images(config) if images is None else images
        if config.batch_size > len(images):
            raise ValueError(f"batch_size {config.batch_size} is larger than the {len(images)} "
                             f"training images; use batch_size <= {len(images)} or more data")
        keras_seed(config.seed)
        strategy = strategy or choose_strategy()
        with strategy.scope():
            generator = family.build_generator(noise_dim=config.noise_dim)
            discriminator = family.build_discriminator()
            generator_optimizer = adam(config.generator_learning_rate, config.generator_beta1,
                                       generator)
            discriminator_optimizer = adam(config.discriminator_learning_rate,
                                           config.discriminator_beta1, discriminator)
        fixed_noise = tf.Variable(
            tf.random.stateless_normal([config.grid_size ** 2, config.noise_dim],
                                       seed=[config.seed, 1]),
            trainable=False, name="fixed_noise")
        checkpoint = tf.train.Checkpoint(
            generator=generator, discriminator=discriminator,
            generator_optimizer=generator_optimizer, discriminator_optimizer=discriminator_optimizer,
            fixed_noise=fixed_noise)
        loop = ResumableLoop(run, checkpoint, config.checkpoint_every)

        invert = family.image_shape[-1] == 1  # doodles: black ink on white paper
        if not run.reals_path.exists():
            reals = _pick(images, 64, config.seed).reshape(-1, *family.image_shape)
            run.save_grid(reals, run.reals_path, columns=8, invert=invert)

        dataset = pipeline.image_dataset(images, config.batch_size, family.image_shape,
                                         seed=config.seed)
        distributed = strategy.experimental_distribute_dataset(dataset)
        step = make_train_step(generator, discriminator, generator_optimizer,
                               discriminator_optimizer, adversarial_loss, config.batch_size,
                               config.noise_dim, strategy)
        steps_per_epoch = len(images) // config.batch_size

        trained = 0
        for epoch in loop.epochs(config.epochs):
            row = run_epoch(step, distributed, steps_per_epoch, config.batch_size,
                            description=f"epoch {epoch}/{config.epochs}", progress=config.progress)
            grid = artifacts.to_uint8(generator(fixed_noise, training=False).numpy())
            run.save_epoch_grid(epoch, grid, columns=config.grid_size, invert=invert)
            loop.finish_epoch(epoch, row, config.epochs)
            publish_pages(run)
            trained += 1
            for callback in callbacks:
                callback(epoch, run, row)

        finish_run(run, generator, images, family.image_shape, config.noise_dim, config.seed,
                   invert)
        publish_pages(run)
    return TrainResult(run, generator, discriminator, trained)


def run_epoch(step, distributed_dataset, steps: int, batch_size: int, description: str,
              progress: bool = True) -> dict:
    """One pass over the data; returns the epoch's mean statistics, seconds and images/s."""
    start = time.perf_counter()
    totals: dict[str, tf.Tensor] = {}
    count = 0
    with tqdm(total=steps, desc=description, unit="batch", disable=not progress, mininterval=1.0,
              leave=False, file=sys.stderr) as bar:
        for batch in distributed_dataset:
            statistics = step(batch)
            # Sum as tensors: reading a value each batch would make the GPU wait for the host.
            totals = statistics if not totals else {k: totals[k] + v for k, v in statistics.items()}
            count += 1
            bar.update(1)
            if count % 20 == 0:
                bar.set_postfix(g=f"{float(statistics['generator_loss']):.3f}",
                                d=f"{float(statistics['discriminator_loss']):.3f}")
    seconds = time.perf_counter() - start
    row = {key: float(value) / max(count, 1) for key, value in totals.items()}
    row["seconds"] = seconds
    row["images_per_second"] = count * batch_size / seconds if seconds > 0 else 0.0
    if progress:
        print(f"{description}: generator loss {row.get('generator_loss', float('nan')):.4f}, "
              f"discriminator loss {row.get('discriminator_loss', float('nan')):.4f}, "
              f"{seconds:.1f} s, {row['images_per_second']:.0f} images/s",
              file=sys.stderr, flush=True)
    return row


def finish_run(run: RunFolder, generator, images: np.ndarray, image_shape, noise_dim: int,
               seed: int, invert: bool) -> None:
    """The closing artifacts: GIF, plots, the saved generator, generated beside real."""
    from sketchdraw import plots

    run.save_gif()
    plots.save_history_plots(run)
    save_generator(generator, run.generator_path)
    noise = tf.random.stateless_normal([64, noise_dim], seed=[seed, 2])
    generated = artifacts.to_uint8(generator(noise, training=False).numpy())
    real = _pick(images, 64, seed + 1).reshape(-1, *image_shape)
    plots.save_generated_beside_real(generated, real, run.samples_path, invert=invert)


def publish_pages(run: RunFolder) -> None:
    """Refresh the run's gallery page and the index of all runs (a few milliseconds)."""
    from sketchdraw import gallery

    gallery.write_run_page(run.root)
    gallery.write_runs_index(run.root.parent)


def save_generator(generator, path: Path) -> None:
    """`generator.save` into a temporary `.keras` file, then rename: never half a model file."""
    path = Path(path)
    temporary = path.with_name(f".{path.stem}.tmp{os.getpid()}.keras")
    try:
        generator.save(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def adam(learning_rate: float, beta_1: float, model):
    import keras

    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1)
    # Create the slot variables now so a checkpoint restores into them (not lazily later).
    optimizer.build(model.trainable_variables)
    return optimizer


def keras_seed(seed: int) -> None:
    import keras

    keras.utils.set_random_seed(seed)


def _pick(images: np.ndarray, count: int, seed: int) -> np.ndarray:
    count = min(count, len(images))
    rows = np.sort(np.random.default_rng(seed).choice(len(images), size=count, replace=False))
    return np.asarray(images[rows])
