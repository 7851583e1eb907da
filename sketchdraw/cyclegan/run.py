"""A CycleGAN run on the shared skeleton: `train_cycle(config)`.

Two generators, G: X -> Y and F: Y -> X, and two discriminators, D_X and D_Y (Zhu et al. 2017),
trained on two unpaired image folders (photos <-> paintings). What is the CycleGAN's own: the two
folders (the smaller repeats so an epoch covers the larger), the four networks and their image
pools, the paper's learning-rate schedule (held, then linear to 0), the translation grid
(in -> out -> back for fixed images of both domains) and the two saved generators. It trains on
one device: batches of one or a few images, and the image pool is a per-device history.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from sketchdraw import artifacts, losses, paintings, pipeline, sampling, skeleton
from sketchdraw.artifacts import RunFolder
from sketchdraw.cyclegan import networks as cycle_models
from sketchdraw.cyclegan.pool import ImagePool
from sketchdraw.cyclegan.settings import CycleConfig
from sketchdraw.cyclegan.step import make_cycle_train_steps
from sketchdraw.loop import EpochCallback, linear_decay, run_epoch
from sketchdraw.scaling import inner_optimizer

GENERATOR_FILES = {"x2y": "generator_x2y.keras", "y2x": "generator_y2x.keras"}


def learning_rate_at(epoch: int, config: CycleConfig) -> float:
    """The paper's schedule: `learning_rate` up to decay_start_epoch, then linear to 0 after the last."""
    return linear_decay(config.learning_rate, epoch, config.effective_decay_start_epoch,
                        config.epochs)


# -- data ------------------------------------------------------------------------------------------
def load_domain(folder: str, config: CycleConfig, label: str) -> tuple[np.ndarray, list[Path]]:
    """A folder's images as uint8 (N, size, size, 3) and their files: a seeded random `limit` of
    them when set (the others stay unseen, for trying the trained model: `held_out_files`)."""
    loaded = paintings.load_painting_folder(folder, image_size=config.image_size, fit=config.fit,
                                            progress=config.progress, cache_dir=config.cache_dir)
    if config.progress:
        print(f"{label}: {loaded.report()}", file=sys.stderr, flush=True)
    images, files = loaded.images, list(loaded.paths)
    if config.limit is not None and config.limit < len(images):
        rows = np.sort(np.random.default_rng(config.seed).choice(len(images), config.limit,
                                                                 replace=False))
        images, files = images[rows], [files[row] for row in rows]
    return images, files


def held_out_files(folder, training_files: Iterable[Path], count: int = 5) -> list[Path]:
    """Up to `count` image files of `folder` that the run did not train on (first by name)."""
    used = {Path(path).resolve() for path in training_files}
    files, _ = paintings.find_image_files(folder)
    return [path for path in files if path.resolve() not in used][:count]


def _domain_dataset(images: np.ndarray, config: CycleConfig, batch_size: int, steps: int,
                    seed: int, strategy):
    dataset = pipeline.image_dataset(images, batch_size,
                                     (config.image_size, config.image_size, 3),
                                     seed=seed, flip=config.flip, strategy=strategy)
    # The two folders differ in size: the smaller one repeats so an epoch covers the larger one
    # (the paper's unaligned dataset does the same).
    return dataset.repeat().take(steps)


@dataclass
class CycleNetworks:
    generator_x2y: object
    generator_y2x: object
    discriminator_x: object
    discriminator_y: object


def build_networks(config: CycleConfig) -> CycleNetworks:
    def generator(name):
        return cycle_models.cycle_generator(config.image_size, config.residual_blocks,
                                            config.generator_filters, config.normalization, name=name,
                                            upsampling=config.upsampling)

    def discriminator(name):
        return cycle_models.build_discriminator(config.discriminator, config.image_size,
                                                config.discriminator_filters, config.normalization,
                                                name=name)

    return CycleNetworks(generator("generator_x2y"), generator("generator_y2x"),
                         discriminator("discriminator_x"), discriminator("discriminator_y"))


class CycleRun(skeleton.FamilyRun):
    def __init__(self, config: CycleConfig, images_x: np.ndarray | None = None,
                 images_y: np.ndarray | None = None):
        super().__init__(config)
        self.images_x, self.images_y = images_x, images_y

    def check_settings(self) -> None:
        # Images given in place of the folders: the folders need not be set.
        self.config.validate(need_data=self.images_x is None or self.images_y is None)

    def load_data(self) -> None:
        config = self.config
        if self.images_x is None:
            self.images_x, _ = load_domain(config.domain_x, config, config.domain_x_label)
        if self.images_y is None:
            self.images_y, _ = load_domain(config.domain_y, config, config.domain_y_label)
        batch = self.devices.global_batch
        for label, images in ((config.domain_x_label, self.images_x),
                              (config.domain_y_label, self.images_y)):
            if batch > len(images):
                raise ValueError(f"batch_size {batch} is larger than the {len(images)} "
                                 f"{label} images; use a smaller batch_size or more data")

    def build(self, run: RunFolder) -> dict:
        config, devices = self.config, self.devices
        image_shape = (config.image_size, config.image_size, 3)
        with devices.building():
            self.networks = build_networks(config)
            devices.prepare(*vars(self.networks).values())
            self.optimizers = {
                name: devices.optimizer(skeleton.adam(config.learning_rate, config.beta1,
                                                      getattr(self.networks, name)),
                                        getattr(self.networks, name))
                for name in ("generator_x2y", "generator_y2x", "discriminator_x",
                             "discriminator_y")}
            pool_x = ImagePool(config.pool_size, image_shape, seed=config.seed, name="pool_x")
            pool_y = ImagePool(config.pool_size, image_shape, seed=config.seed + 1, name="pool_y")
        # The grid's fixed examples live in the checkpoint, so a resumed run shows the same ones.
        self.fixed_x = tf.Variable(pipeline.scale_to_unit_range(
            skeleton.pick_rows(self.images_x, config.grid_examples, config.seed)), trainable=False,
            name="fixed_x")
        self.fixed_y = tf.Variable(pipeline.scale_to_unit_range(
            skeleton.pick_rows(self.images_y, config.grid_examples, config.seed + 1)),
            trainable=False, name="fixed_y")
        self.steps_per_epoch = max(len(self.images_x), len(self.images_y)) // devices.global_batch
        self.dataset = devices.strategy.experimental_distribute_dataset(tf.data.Dataset.zip((
            _domain_dataset(self.images_x, config, devices.global_batch, self.steps_per_epoch,
                            config.seed, devices.strategy),
            _domain_dataset(self.images_y, config, devices.global_batch, self.steps_per_epoch,
                            config.seed + 1, devices.strategy))))
        networks, optimizers = self.networks, self.optimizers
        self.extras["networks"] = networks
        self.step, self.several_steps = make_cycle_train_steps(
            networks.generator_x2y, networks.generator_y2x, networks.discriminator_x,
            networks.discriminator_y, optimizers["generator_x2y"], optimizers["generator_y2x"],
            optimizers["discriminator_x"], optimizers["discriminator_y"], losses.get(config.loss),
            config.cycle_weight, config.effective_identity_weight, pool_x, pool_y, devices)
        return dict(**vars(networks),
                    **{f"{name}_optimizer": inner_optimizer(value)
                       for name, value in optimizers.items()},
                    pool_x=pool_x, pool_y=pool_y, fixed_x=self.fixed_x, fixed_y=self.fixed_y)

    def save_reals(self, run: RunFolder) -> None:
        config = self.config
        reals = np.concatenate([skeleton.pick_rows(self.images_x, 8, config.seed + 2),
                                skeleton.pick_rows(self.images_y, 8, config.seed + 3)])
        run.save_grid(reals, run.reals_path, columns=8, scale=grid_scale(config.image_size))

    def train_epoch(self, epoch: int, description: str) -> dict:
        config = self.config
        rate = learning_rate_at(epoch, config)
        for optimizer in self.optimizers.values():
            inner_optimizer(optimizer).learning_rate.assign(rate)
        row = run_epoch(self.step, self.dataset, self.steps_per_epoch, self.devices.global_batch,
                        description, config.progress, summary=_summary, count_updates=False,
                        several_steps=self.several_steps,
                        steps_per_call=self.devices.steps_per_call)
        row["learning_rate"] = rate
        return row

    def save_epoch_grid(self, run: RunFolder, epoch: int) -> None:
        save_translation_grid(run, run.epoch_image_path(epoch), self.networks, self.fixed_x,
                              self.fixed_y, self.config.image_size)

    @property
    def shown_generator(self):
        return self.networks.generator_x2y

    def finish(self, run: RunFolder) -> None:
        save_loss_plot(run)
        sampling.save_generator(self.networks.generator_x2y, run.root / GENERATOR_FILES["x2y"])
        sampling.save_generator(self.networks.generator_y2x, run.root / GENERATOR_FILES["y2x"])

    def models(self) -> dict:
        return vars(self.networks)


def train_cycle(config: CycleConfig, images_x: np.ndarray | None = None,
                images_y: np.ndarray | None = None,
                callbacks: Iterable[EpochCallback] = ()) -> skeleton.RunResult:
    """Train (or resume) the CycleGAN run described by `config`; leave a complete run folder.

    images_x / images_y (uint8 arrays) replace the configured folders when given. Each callback
    is called after every epoch with an `EpochEnd` (its generator: G, X -> Y).
    """
    return skeleton.train(CycleRun(config, images_x, images_y), callbacks)


def _summary(row: dict) -> str:
    return (f"generators {row.get('generator_loss', float('nan')):.3f} "
            f"(cycle {row.get('cycle_loss', float('nan')):.3f}), discriminators "
            f"{row.get('discriminator_loss', float('nan')):.3f}")


def grid_scale(image_size: int) -> int:
    return max(1, 128 // image_size)  # about 128 pixels per cell on screen


def translation_grid(networks: CycleNetworks, fixed_x, fixed_y) -> np.ndarray:
    """Rows of six images: photo -> translated -> reconstructed, painting -> translated -> back."""
    translated_y = networks.generator_x2y(fixed_x, training=False)
    reconstructed_x = networks.generator_y2x(translated_y, training=False)
    translated_x = networks.generator_y2x(fixed_y, training=False)
    reconstructed_y = networks.generator_x2y(translated_x, training=False)
    columns = [fixed_x, translated_y, reconstructed_x, fixed_y, translated_x, reconstructed_y]
    rows = min(int(fixed_x.shape[0]), int(fixed_y.shape[0]))
    cells = [np.asarray(column[row]) for row in range(rows) for column in columns]
    return artifacts.to_uint8(np.stack(cells))


def save_translation_grid(run: RunFolder, path: Path, networks: CycleNetworks, fixed_x, fixed_y,
                          image_size: int) -> Path:
    return run.save_grid(translation_grid(networks, fixed_x, fixed_y), path, columns=6,
                         scale=grid_scale(image_size))


LOSS_PANELS = (
    ("adversarial", (("generator_x2y_adversarial_loss", "G: X->Y"),
                     ("generator_y2x_adversarial_loss", "F: Y->X"),
                     ("discriminator_x_loss", "D_X"), ("discriminator_y_loss", "D_Y"))),
    ("reconstruction (L1)", (("cycle_loss", "cycle"), ("identity_loss", "identity"))),
)


def save_loss_plot(run: RunFolder) -> Path | None:
    """losses.png: the four adversarial losses, then the cycle and identity L1 per epoch.

    Not `plots.save_history_plots`: its generator_loss here is dominated by lambda * cycle and
    would hide the adversarial game.
    """
    import matplotlib.pyplot as plt

    from sketchdraw import plots

    rows = run.read_history()
    if not rows:
        return None
    epochs = [row["epoch"] for row in rows]
    figure, axes = plt.subplots(len(LOSS_PANELS), 1, figsize=(8, 3.2 * len(LOSS_PANELS)),
                                sharex=True)
    for axis, (title, columns) in zip(axes, LOSS_PANELS):
        for column, label in columns:
            if column in rows[0]:
                axis.plot(epochs, [row[column] for row in rows],
                          marker="." if len(rows) < 40 else None, label=label)
        axis.set_ylabel(title)
        axis.legend()
        axis.grid(alpha=0.3)
    axes[0].set_title(f"{run.root.name}: losses per epoch")
    axes[-1].set_xlabel("epoch")
    plots.save_figure(figure, run.losses_plot_path)
    return run.losses_plot_path
