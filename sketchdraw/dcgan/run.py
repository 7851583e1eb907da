"""A DCGAN run (doodles or paintings) on the shared skeleton: `train(config)`.

What is the DCGAN's own: its data, the generator/discriminator pair with an optional moving
average of the generator (EMA), the step variants a schedule picks per batch, learning-rate decay
or the stuck detector, the fixed-noise epoch grid, and the closing artifacts (keep_best's choice,
the saved generator, generated drawings beside real ones).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import tensorflow as tf

from sketchdraw import artifacts, losses, pipeline, plots, sampling, skeleton
from sketchdraw.artifacts import RunFolder
from sketchdraw.dcgan.data import image_shape_of, load_training_images
from sketchdraw.dcgan.keep_best import keep_best_generator
from sketchdraw.dcgan.networks import build_models
from sketchdraw.dcgan.settings import RunConfig
from sketchdraw.dcgan.step import StepOptions, make_train_steps, step_schedule
from sketchdraw.loop import EpochCallback, decay_start_epoch, linear_decay, run_epoch
from sketchdraw.scaling import inner_optimizer

EMA_REFRESH_COUNT = 256  # noise vectors whose activations give the averaged generator its statistics
EMA_REFRESH_STEPS = 100  # at least this many steps between refreshes (short epochs)


class DCGANRun(skeleton.FamilyRun):
    def __init__(self, config: RunConfig, images: np.ndarray | None = None, strategy=None):
        super().__init__(config)
        self.images = images
        self.strategy = strategy
        self.image_shape = image_shape_of(config)
        self.invert = self.image_shape[-1] == 1  # doodles: black ink on white paper

    def load_data(self) -> None:
        config = self.config
        if self.images is None:
            self.images = load_training_images(config)
        batch = self.devices.global_batch
        if batch > len(self.images):
            raise ValueError(f"batch_size {batch} is larger than the {len(self.images)} "
                             f"training images; use batch_size <= {len(self.images)} or more data")

    def build(self, run: RunFolder) -> dict:
        from sketchdraw.stabilisers import GeneratorEMA, StuckDetector

        config, devices = self.config, self.devices
        with devices.building():
            self.generator, self.discriminator = build_models(config)
            devices.prepare(self.generator, self.discriminator)
            generator_optimizer = devices.optimizer(skeleton.adam(
                config.generator_learning_rate, config.generator_beta1, self.generator,
                config.generator_beta2), self.generator)
            discriminator_optimizer = devices.optimizer(skeleton.adam(
                config.discriminator_learning_rate, config.discriminator_beta1, self.discriminator,
                config.discriminator_beta2), self.discriminator)
            self.ema = GeneratorEMA(self.generator, config.ema_decay) if config.ema_decay > 0 else None
            label_generator = tf.random.Generator.from_seed(config.seed)
            noise_generator = tf.random.Generator.from_seed(config.seed + 1)
        self.fixed_noise = tf.Variable(
            tf.random.stateless_normal([config.grid_size ** 2, config.noise_dim],
                                       seed=[config.seed, 1]),
            trainable=False, name="fixed_noise")
        self.batches_done = tf.Variable(0, dtype=tf.int64, trainable=False, name="batches_done")
        # What the grids, the callbacks and the saved model use.
        self.shown = self.ema.model if self.ema is not None else self.generator

        # the array gathered in place, or held as a tensor where Python cannot run (a TPU)
        self.dataset = self.epochs_from(0)  # made now: a bad batch size stops the run before it starts
        self.batches = None  # the distributed stream of epochs, opened at the first epoch trained
        options = StepOptions(augment=config.augment, label_treatment=config.label_treatment,
                              gradient_penalty_weight=config.gradient_penalty_weight,
                              r1_weight=config.r1_weight,
                              reconstruction_weight=config.reconstruction_weight)
        self.steps, self.several_steps = {}, None
        for variant in ("both", "generator", "discriminator"):
            self.steps[variant], several = make_train_steps(
                self.generator, self.discriminator, generator_optimizer, discriminator_optimizer,
                losses.get(config.loss), devices.global_batch, config.noise_dim,
                update_generator=variant != "discriminator",
                update_discriminator=variant != "generator", options=options,
                label_generator=label_generator,
                after_generator_update=self.ema.update if self.ema is not None else None,
                devices=devices, noise_generator=noise_generator)
            if variant == "both":  # steps_per_call > 1 runs only where every batch is "both"
                self.several_steps = several
        self.schedule = step_schedule(config.generator_steps_per_discriminator_step,
                                      config.discriminator_steps_per_generator_step,
                                      config.discriminator_warmup_batches)
        self.detector = None
        if config.stuck_window:
            self.detector = StuckDetector(
                window=config.stuck_window, tolerance=config.stuck_tolerance,
                factor=config.stuck_factor,
                optimizers={"generator": inner_optimizer(generator_optimizer),
                            "discriminator": inner_optimizer(discriminator_optimizer)})
        self.steps_per_epoch = len(self.images) // devices.global_batch
        # A refresh costs a forward pass of EMA_REFRESH_COUNT drawings: every epoch for long epochs,
        # about every EMA_REFRESH_STEPS steps for short ones, always before a checkpoint or the end.
        self.refresh_every = max(1, math.ceil(EMA_REFRESH_STEPS / self.steps_per_epoch))
        self.base_rates = {
            "generator_learning_rate": (inner_optimizer(generator_optimizer),
                                        config.generator_learning_rate),
            "discriminator_learning_rate": (inner_optimizer(discriminator_optimizer),
                                            config.discriminator_learning_rate)}
        return skeleton.gan_checkpoint(self.generator, self.discriminator, generator_optimizer,
                                       discriminator_optimizer, self.ema, fixed_noise=self.fixed_noise,
                                       batches_done=self.batches_done, label_generator=label_generator,
                                       noise_generator=noise_generator)

    def save_reals(self, run: RunFolder) -> None:
        reals = skeleton.pick_rows(self.images, 64, self.config.seed).reshape(-1, *self.image_shape)
        run.save_grid(reals, run.reals_path, columns=8, invert=self.invert)

    def epochs_from(self, first_epoch: int):
        """Epochs first_epoch + 1, ... of batches, each shuffled by (seed, its number): a resumed run
        trains on the batches an unbroken run would have. The array is gathered in place, or
        held as a tensor where Python cannot run (a TPU)."""
        return pipeline.image_dataset(self.images, self.devices.global_batch, self.image_shape,
                                      seed=self.config.seed, flip=self.config.flip,
                                      strategy=self.devices.strategy, first_epoch=first_epoch)

    def train_epoch(self, epoch: int, description: str) -> dict:
        config = self.config
        if self.batches is None:
            dataset = self.dataset if epoch == 1 else self.epochs_from(epoch - 1)
            self.batches = iter(self.devices.strategy.experimental_distribute_dataset(dataset))
            self.dataset = None
        rates = {}
        if config.learning_rate_decay > 0:  # set from the epoch, so a resumed run agrees
            start = decay_start_epoch(config.epochs, config.learning_rate_decay)
            for column, (optimizer, rate) in self.base_rates.items():
                rates[column] = linear_decay(rate, epoch, start, config.epochs)
                optimizer.learning_rate.assign(rates[column])
        row = run_epoch(self.steps, self.batches, self.steps_per_epoch,
                        self.devices.global_batch, description=description,
                        progress=config.progress, schedule=self.schedule,
                        batches_done=self.batches_done, detector=self.detector,
                        several_steps=self.several_steps,
                        steps_per_call=self.devices.steps_per_call)
        row.update(rates)
        if self.ema is not None and (epoch % self.refresh_every == 0
                                     or epoch % config.checkpoint_every == 0
                                     or epoch == config.epochs):
            # batch norm statistics of the averaged weights, not the live generator's
            self.ema.refresh_statistics(count=EMA_REFRESH_COUNT,
                                        seed=config.seed * 100_003 + epoch)
        return row

    def save_epoch_grid(self, run: RunFolder, epoch: int) -> None:
        grid = artifacts.to_uint8(self.shown(self.fixed_noise, training=False).numpy())
        run.save_epoch_grid(epoch, grid, columns=self.config.grid_size, invert=self.invert)

    @property
    def shown_generator(self):
        return self.shown

    def finish(self, run: RunFolder) -> None:
        config = self.config
        if config.keep_best:
            self.shown = keep_best_generator(
                run, self.shown, config.keep_best_tolerance,
                pipeline.images_per_epoch(len(self.images), self.devices.global_batch))
        plots.save_history_plots(run)
        sampling.save_generator(self.shown, run.generator_path)
        noise = sampling.noise(64, config.noise_dim, config.seed, start=2,
                               truncation=config.truncation)
        generated = artifacts.to_uint8(self.shown(noise, training=False).numpy())
        real = skeleton.pick_rows(self.images, 64, config.seed + 1).reshape(-1, *self.image_shape)
        plots.save_generated_beside_real(generated, real, run.samples_path, invert=self.invert)

    def models(self) -> dict:
        return {"generator": self.shown, "discriminator": self.discriminator}


def train(config: RunConfig, images: np.ndarray | None = None,
          callbacks: Iterable[EpochCallback] = (), strategy=None) -> skeleton.RunResult:
    """Train (or resume) the DCGAN run described by `config`; leave a complete run folder.

    `images` replaces the configured data source (uint8 array) when given. Each callback is called
    after every epoch with an `EpochEnd` (epoch, run folder, history row, generator).
    """
    return skeleton.train(DCGANRun(config, images, strategy), callbacks)
