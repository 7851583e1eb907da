"""A Sketch2Img run on the shared skeleton: `train_sketch2img(config)`.

Besides the usual run folder: `data_statistics.json` (the normalisation, for `draw`),
`held_out/<name>.png` (the held-out sketches, black on white, ready for `draw`), epoch grids of rows
sketch | generated | true photo for the held-out pairs from fixed noise, and `samples.png`
(several noise vectors per held-out sketch).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import tensorflow as tf

from sketchdraw import artifacts, plots, sampling, skeleton
from sketchdraw.artifacts import RunFolder
from sketchdraw.atomicfiles import atomic_write_text
from sketchdraw.loop import EpochCallback, run_epoch
from sketchdraw.scaling import inner_optimizer
from sketchdraw.sketch2img.data import (
    DATA_STATISTICS_FILE,
    SketchPairs,
    data_statistics,
    denormalize_to_uint8,
    load_pairs_for,
    normalize,
    pair_dataset,
    sketch_as_rgb,
    split_pairs,
)
from sketchdraw.sketch2img.losses import PerceptualLoss
from sketchdraw.sketch2img.settings import Sketch2ImgConfig
from sketchdraw.sketch2img.step import LossWeights, make_sketch_train_steps

HELD_OUT_FOLDER = "held_out"


class Sketch2ImgRun(skeleton.FamilyRun):
    def __init__(self, config: Sketch2ImgConfig, pairs: SketchPairs | None = None, log=None,
                 run_eagerly: bool = False):
        super().__init__(config, log)
        self.pairs = pairs
        self.run_eagerly = run_eagerly

    def check_settings(self) -> None:
        if self.pairs is None:
            self.config.check_ready()
        else:  # pairs given in place of the folder: data_root need not be set
            self.config.validate()

    def load_data(self) -> None:
        config = self.config
        pairs = load_pairs_for(config, self.log) if self.pairs is None else self.pairs
        self.train_pairs, self.held_out = split_pairs(pairs, config.holdout, config.seed)

    def build(self, run: RunFolder) -> dict:
        from sketchdraw.sketch2img.networks import sketch_discriminator, sketch_generator

        config = self.config
        statistics_path = run.root / DATA_STATISTICS_FILE
        if statistics_path.exists():  # a resumed run keeps the normalisation it started with
            self.statistics = json.loads(statistics_path.read_text())
        else:
            self.statistics = data_statistics(self.train_pairs)
        statistics = self.statistics
        num_classes = len(statistics["categories"])
        devices = self.devices
        with devices.building():
            self.generator = sketch_generator(config.image_size, config.base_filters, num_classes,
                                              config.noise_dim, upsampling=config.upsampling)
            self.discriminator = sketch_discriminator(config.image_size, num_classes,
                                                      config.base_filters)
            devices.prepare(self.generator, self.discriminator)
            generator_optimizer = devices.optimizer(skeleton.adam(
                config.generator_learning_rate, config.generator_beta1, self.generator),
                self.generator)
            discriminator_optimizer = devices.optimizer(skeleton.adam(
                config.discriminator_learning_rate, config.discriminator_beta1,
                self.discriminator), self.discriminator)
            perceptual = None
            if config.perceptual_weight > 0:
                perceptual = PerceptualLoss(config.perceptual_network, statistics["photo_mean"],
                                            statistics["photo_scale"], config.perceptual_weight)
        self.fixed_noise = tf.Variable(
            tf.random.stateless_normal([len(self.held_out), config.noise_dim],
                                       seed=[config.seed, 1]),
            trainable=False, name="fixed_noise")
        self.held_sketches = normalize(self.held_out.sketches, statistics["sketch_mean"],
                                       statistics["sketch_scale"])
        self.held_labels = tf.constant(self.held_out.labels)
        self.dataset = devices.strategy.experimental_distribute_dataset(pair_dataset(
            self.train_pairs, statistics, devices.global_batch, config.seed,
            config.brightness_jitter, config.contrast_jitter))
        self.step, self.several_steps = make_sketch_train_steps(
            self.generator, self.discriminator, generator_optimizer, discriminator_optimizer,
            LossWeights.from_config(config), config.noise_dim, devices.global_batch, perceptual,
            run_eagerly=self.run_eagerly, devices=devices)
        self.steps_per_epoch = len(self.train_pairs) // devices.global_batch
        return dict(generator=self.generator, discriminator=self.discriminator,
                    generator_optimizer=inner_optimizer(generator_optimizer),
                    discriminator_optimizer=inner_optimizer(discriminator_optimizer),
                    fixed_noise=self.fixed_noise)

    def prepare_folder(self, run: RunFolder) -> None:
        statistics_path = run.root / DATA_STATISTICS_FILE
        if not statistics_path.exists():
            atomic_write_text(statistics_path, json.dumps(self.statistics, indent=2) + "\n")
        self.extras["held_out_sketches"] = _save_held_out_sketches(run, self.held_out)

    def save_reals(self, run: RunFolder) -> None:
        run.save_grid(pair_grid(self.train_pairs, 16), run.reals_path, columns=8, scale=2)

    def train_epoch(self, epoch: int, description: str) -> dict:
        return run_epoch(self.step, self.dataset, self.steps_per_epoch, self.devices.global_batch,
                         description=description, progress=self.config.progress,
                         several_steps=self.several_steps,
                         steps_per_call=self.devices.steps_per_call)

    def save_epoch_grid(self, run: RunFolder, epoch: int) -> None:
        generated = self.generator([self.held_sketches, self.fixed_noise, self.held_labels],
                                   training=False)
        images = denormalize_to_uint8(generated.numpy(), self.statistics["photo_mean"],
                                      self.statistics["photo_scale"])
        grid = comparison_grid(self.held_out.sketches, images, self.held_out.photos)
        run.save_grid(grid, run.epoch_image_path(epoch), columns=3, scale=2)

    @property
    def shown_generator(self):
        return self.generator

    def finish(self, run: RunFolder) -> None:
        plots.save_history_plots(run)
        sampling.save_generator(self.generator, run.generator_path)
        _samples_sheet(run, self.generator, self.held_out, self.statistics, self.config)

    def models(self) -> dict:
        return {"generator": self.generator, "discriminator": self.discriminator}


def train_sketch2img(config: Sketch2ImgConfig, pairs: SketchPairs | None = None,
                     callbacks: Iterable[EpochCallback] = (), log=None,
                     run_eagerly: bool = False) -> skeleton.RunResult:
    """Train (or resume) the Sketch2Img run described by `config`; leave a complete run folder.

    `pairs` replaces loading from `config.data_root`. The result's `held_out_sketches` are the
    held-out sketch files. `run_eagerly` is passed to `make_sketch_train_step` (debugging, tiny
    tests).
    """
    return skeleton.train(Sketch2ImgRun(config, pairs, log, run_eagerly), callbacks)


def comparison_grid(sketches_uint8, generated_uint8, photos_uint8) -> np.ndarray:
    """Rows of (sketch, generated, true photo) as one image stack for `grid_image(columns=3)`."""
    triples = np.stack([sketch_as_rgb(sketches_uint8), generated_uint8, photos_uint8], axis=1)
    return triples.reshape(-1, *triples.shape[2:])


def pair_grid(pairs: SketchPairs, count: int = 8) -> np.ndarray:
    """The first `count` pairs as an image stack sketch (black on white), photo, sketch, photo, ..."""
    shown = pairs.subset(np.arange(min(count, len(pairs))))
    stacked = np.stack([sketch_as_rgb(shown.sketches), shown.photos], axis=1)
    return stacked.reshape(-1, *stacked.shape[2:])


def _save_held_out_sketches(run: RunFolder, held_out: SketchPairs) -> list[Path]:
    paths = []
    for sketch, name in zip(held_out.sketches, held_out.names):
        path = run.root / HELD_OUT_FOLDER / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name) + ".png")
        if not path.exists():
            artifacts.save_png(artifacts.grid_image((255 - sketch)[None], scale=1, padding=0), path)
        paths.append(path)
    return paths


def _samples_sheet(run: RunFolder, generator, held_out: SketchPairs, statistics: dict,
                   config: Sketch2ImgConfig) -> None:
    """samples.png: per held-out pair a row sketch | grid_samples generated images | true photo."""
    count, samples = len(held_out), config.grid_samples
    sketches = normalize(np.repeat(held_out.sketches, samples, axis=0), statistics["sketch_mean"],
                         statistics["sketch_scale"])
    noise = tf.random.stateless_normal([count * samples, config.noise_dim], seed=[config.seed, 2])
    labels = tf.constant(np.repeat(held_out.labels, samples))
    generated = denormalize_to_uint8(generator([sketches, noise, labels], training=False).numpy(),
                                     statistics["photo_mean"], statistics["photo_scale"])
    generated = generated.reshape(count, samples, *generated.shape[1:])
    rows = np.concatenate([sketch_as_rgb(held_out.sketches)[:, None], generated,
                           held_out.photos[:, None]], axis=1)
    run.save_grid(rows.reshape(-1, *rows.shape[2:]), run.samples_path, columns=samples + 2, scale=2)
