"""A class-conditional doodle run on the shared skeleton: `train(config)`.

What is the family's own: many categories' drawings with their labels, the (noise, label)
generator and the projection discriminator, and an epoch grid with one row per category, every
row drawn from the same fixed noise (a column is one noise vector drawn as every category).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import tensorflow as tf

from sketchdraw import artifacts, losses, pipeline, plots, sampling, skeleton
from sketchdraw.artifacts import RunFolder
from sketchdraw.conditional.networks import (
    IMAGE_SHAPE,
    conditional_generator,
    projection_discriminator,
)
from sketchdraw.conditional.settings import ConditionalConfig
from sketchdraw.conditional.step import ConditionalStepOptions, make_conditional_train_steps
from sketchdraw.loop import EpochCallback, run_epoch

EMA_REFRESH_PER_CATEGORY = 16  # drawings per category whose activations give the average its statistics
EMA_REFRESH_STEPS = 100  # at least this many steps between refreshes


def training_drawings(config: ConditionalConfig, category: str) -> np.ndarray:
    """The drawings of `category` the run trains on (numpy_bitmap rows): the first `limit`, but
    never more than the first half of a category's file, so that every category keeps real
    drawings that no network saw for its judge. A mirror holding fewer than 2 x `limit` drawings
    of a category (13 of the shared 35 hold about 450) gives the first half; `limit=None`: all."""
    from sketchdraw import quickdraw

    if config.limit is None:
        return quickdraw.load_bitmaps(category, mirror=config.mirror, progress=config.progress)
    rows = quickdraw.load_bitmaps(category, limit=2 * config.limit, mirror=config.mirror,
                                  progress=config.progress)
    return rows[:min(config.limit, len(rows) // 2)]


def load_labelled_drawings(config: ConditionalConfig) -> tuple[np.ndarray, np.ndarray]:
    """Each category's `training_drawings` and their labels (the category's place in `categories`)."""
    images, labels = [], []
    for label, category in enumerate(config.category_list):
        rows = training_drawings(config, category)
        images.append(rows)
        labels.append(np.full(len(rows), label, np.int32))
    return np.concatenate(images), np.concatenate(labels)


def grid_inputs(noise: tf.Tensor, classes: int) -> list[tf.Tensor]:
    """[noise, labels] for a grid of one row per category: every row the same `noise` vectors."""
    columns = int(noise.shape[0])
    return [tf.tile(noise, [classes, 1]), tf.repeat(tf.range(classes, dtype=tf.int32), columns)]


class ConditionalRun(skeleton.FamilyRun):
    def __init__(self, config: ConditionalConfig, data: tuple[np.ndarray, np.ndarray] | None = None,
                 strategy=None):
        super().__init__(config)
        self.images, self.labels = data if data is not None else (None, None)
        self.strategy = strategy
        self.classes = len(config.category_list)

    def load_data(self) -> None:
        if self.images is None:
            self.images, self.labels = load_labelled_drawings(self.config)
        batch = self.devices.global_batch
        if batch > len(self.images):
            raise ValueError(f"batch_size {batch} is larger than the {len(self.images)} training drawings; "
                             f"use batch_size <= {len(self.images)} or a larger limit")
        missing = sorted(set(range(self.classes)) - set(np.unique(self.labels).tolist()))
        if missing:
            names = ", ".join(self.config.category_list[index] for index in missing)
            raise ValueError(f"no drawings of {names}: every category needs drawings to learn from")

    def build(self, run: RunFolder) -> dict:
        from sketchdraw.stabilisers import GeneratorEMA

        config, devices = self.config, self.devices
        with devices.building():
            self.generator = conditional_generator(self.classes, config.noise_dim, config.conditioning)
            self.discriminator = projection_discriminator(self.classes)
            devices.prepare(self.generator, self.discriminator)
            generator_optimizer = devices.optimizer(skeleton.adam(
                config.generator_learning_rate, config.generator_beta1, self.generator), self.generator)
            discriminator_optimizer = devices.optimizer(skeleton.adam(
                config.discriminator_learning_rate, config.discriminator_beta1, self.discriminator),
                self.discriminator)
            self.ema = GeneratorEMA(self.generator, config.ema_decay) if config.ema_decay > 0 else None
            label_generator = tf.random.Generator.from_seed(config.seed)
            noise_generator = tf.random.Generator.from_seed(config.seed + 1)
        self.fixed_noise = tf.Variable(
            tf.random.stateless_normal([config.grid_columns, config.noise_dim], seed=[config.seed, 1]),
            trainable=False, name="fixed_noise")
        self.batches_done = tf.Variable(0, dtype=tf.int64, trainable=False, name="batches_done")
        self.shown = self.ema.model if self.ema is not None else self.generator
        self.dataset = self.epochs_from(0)
        self.batches = None
        options = ConditionalStepOptions(augment=config.augment, label_treatment=config.label_treatment,
                                         r1_weight=config.r1_weight)
        self.step, self.several_steps = make_conditional_train_steps(
            self.generator, self.discriminator, generator_optimizer, discriminator_optimizer,
            losses.get(config.loss), devices, config.noise_dim, options, noise_generator, label_generator,
            after_generator_update=self.ema.update if self.ema is not None else None)
        self.steps_per_epoch = len(self.images) // devices.global_batch
        self.refresh_every = max(1, math.ceil(EMA_REFRESH_STEPS / self.steps_per_epoch))
        return skeleton.gan_checkpoint(self.generator, self.discriminator, generator_optimizer,
                                       discriminator_optimizer, self.ema, fixed_noise=self.fixed_noise,
                                       batches_done=self.batches_done, label_generator=label_generator,
                                       noise_generator=noise_generator)

    def epochs_from(self, first_epoch: int):
        """Epochs first_epoch + 1, ... of (drawings, labels) batches, each shuffled by (seed, its
        number): a resumed run trains on what an unbroken run would have."""
        return pipeline.image_dataset(self.images, self.devices.global_batch, IMAGE_SHAPE,
                                      seed=self.config.seed, strategy=self.devices.strategy,
                                      first_epoch=first_epoch, labels=self.labels)

    def save_reals(self, run: RunFolder) -> None:
        # a row per category, as the epoch grids show them
        columns = self.config.grid_columns
        rows = [skeleton.pick_rows(self.images[self.labels == label], columns, self.config.seed)
                for label in range(self.classes)]
        grid = np.concatenate([np.pad(row, ((0, columns - len(row)), (0, 0))) for row in rows])
        run.save_grid(grid.reshape(-1, *IMAGE_SHAPE), run.reals_path, columns=columns, invert=True,
                      row_labels=self.config.category_list)

    def train_epoch(self, epoch: int, description: str) -> dict:
        if self.batches is None:
            dataset = self.dataset if epoch == 1 else self.epochs_from(epoch - 1)
            self.batches = iter(self.devices.strategy.experimental_distribute_dataset(dataset))
            self.dataset = None
        row = run_epoch(self.step, self.batches, self.steps_per_epoch, self.devices.global_batch,
                        description=description, progress=self.config.progress,
                        batches_done=self.batches_done, several_steps=self.several_steps,
                        steps_per_call=self.devices.steps_per_call)
        config = self.config
        if self.ema is not None and (epoch % self.refresh_every == 0 or epoch % config.checkpoint_every == 0
                                     or epoch == config.epochs):
            self.refresh_ema(seed=config.seed * 100_003 + epoch)
        return row

    def refresh_ema(self, seed: int) -> None:
        """Batch norm statistics of the averaged weights, from every category alike."""
        count = EMA_REFRESH_PER_CATEGORY * self.classes
        noise = tf.random.stateless_normal([count, self.config.noise_dim], seed=[seed, 7])
        labels = tf.range(count, dtype=tf.int32) % self.classes
        self.ema.refresh_statistics(inputs=[noise, labels])

    def save_epoch_grid(self, run: RunFolder, epoch: int) -> None:
        grid = artifacts.to_uint8(self.shown(grid_inputs(self.fixed_noise, self.classes), training=False).numpy())
        run.save_epoch_grid(epoch, grid, columns=self.config.grid_columns, invert=True,
                            row_labels=self.config.category_list)

    @property
    def shown_generator(self):
        return self.shown

    def finish(self, run: RunFolder) -> None:
        config = self.config
        plots.save_history_plots(run)
        sampling.save_generator(self.shown, run.generator_path)
        noise = sampling.noise(64, config.noise_dim, config.seed, start=2, truncation=config.truncation)
        labels = tf.range(64, dtype=tf.int32) % self.classes
        generated = artifacts.to_uint8(self.shown([noise, labels], training=False).numpy())
        real = skeleton.pick_rows(self.images, 64, config.seed + 1).reshape(-1, *IMAGE_SHAPE)
        plots.save_generated_beside_real(generated, real, run.samples_path, invert=True)

    def models(self) -> dict:
        return {"generator": self.shown, "discriminator": self.discriminator}


def train(config: ConditionalConfig, data: tuple[np.ndarray, np.ndarray] | None = None,
          callbacks: Iterable[EpochCallback] = (), strategy=None) -> skeleton.RunResult:
    """Train (or resume) the class-conditional run `config` describes; leave a complete run folder.

    `data`: (uint8 drawings (N, 784), their labels) in place of the configured categories' files.
    """
    return skeleton.train(ConditionalRun(config, data, strategy), callbacks)
