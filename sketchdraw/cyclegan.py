"""CycleGAN: translate between two unpaired image folders (photos <-> paintings), seed 002.

Two generators, G: X -> Y and F: Y -> X, and two discriminators, D_X and D_Y (Zhu et al. 2017).
Each step the generators learn to fool the discriminators (least squares by default, as the paper;
"bce" selectable) while a translated image translated back must match its input (cycle
consistency, L1, weight `cycle_weight` = lambda = 10) and, optionally, a generator fed an image of
its own output domain should leave it alone (identity loss, 0.5 * lambda by default as the paper;
0 turns it off). The discriminators see generated images drawn from an `ImagePool` of past ones
(Shrivastava et al. 2017), and the learning rate is held, then decayed linearly to zero.

This module holds the settings (`CycleConfig`, presets by name), the image pool, the step factory
`make_cycle_train_step`, the resumable epoch loop `train_cycle` (on `training.ResumableLoop` and
`RunFolder`, the same run-folder layout as the DCGAN runs) and `translate` for using a trained run.
It is not the networks (`sketchdraw/models/cyclegan.py`), not the image decoding
(`paintings.py`), and it does not use `tf.distribute`: CycleGAN is trained with batches of one
or a few images on one device, and the image pool is a per-device history.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from sketchdraw import artifacts, losses, paintings, pipeline, training
from sketchdraw.artifacts import RunFolder
from sketchdraw.experiments import Settings, check_run_name, check_type, given_overrides
from sketchdraw.models import cyclegan as cycle_models
from sketchdraw.registry import Registry, unknown_name_message

DIRECTIONS = ("x2y", "y2x")
GENERATOR_FILES = {"x2y": "generator_x2y.keras", "y2x": "generator_y2x.keras"}
# Fields a rerun may change without making it a different run (as experiments.RESUMABLE_CHANGES).
RESUMABLE_CHANGES = frozenset({"epochs", "checkpoint_every", "runs_dir", "cache_dir", "progress",
                               "domain_x", "domain_y"})
TRANSLATE_BATCH = 16  # images per generator call in `translate`: bounded memory for big folders


# -- settings --------------------------------------------------------------------------------------
@dataclass
class CycleConfig(Settings):
    experiment: str = "photo2vangogh"
    name: str = "photo2vangogh"  # the run folder: <runs_dir>/<name>
    # data: two folders of images (any sizes; decoded, center-cropped and resized once)
    domain_x: str | None = None  # e.g. a folder of landscape photos
    domain_y: str | None = None  # e.g. a folder of Van Gogh paintings
    domain_x_label: str = "photo"  # names used in figures and messages
    domain_y_label: str = "painting"
    limit: int | None = None  # keep N images per domain (a seeded random N; None: all)
    image_size: int = 64
    fit: str = "crop"  # "crop" or "pad" (paintings.load_painting_folder)
    flip: bool = True  # random left-right flips, as the paper
    # model
    residual_blocks: int = 2  # the seed's transformer (the paper: 6 at 128x128)
    generator_filters: int = 64  # channels after the generator's stem (the paper's 64)
    discriminator: str = "patch"  # "patch" (PatchGAN) or "dcgan" (seed 002's reuse)
    discriminator_filters: int = 64
    normalization: str = "instance"
    # optimisation
    epochs: int = 20
    batch_size: int = 1  # the paper's
    learning_rate: float = 2e-4
    beta1: float = 0.5
    loss: str = "least_squares"
    cycle_weight: float = 10.0  # lambda
    identity_weight: float | None = None  # None: 0.5 * cycle_weight (the paper's); 0: off
    pool_size: int = 50  # past generated images shown to the discriminators; 0: none
    decay_start_epoch: int | None = None  # lr held until here, then linear to 0; None: epochs // 2
    seed: int = 0
    # bookkeeping
    grid_examples: int = 4  # fixed images per domain in each epoch grid
    checkpoint_every: int = 5
    runs_dir: str = "runs"
    cache_dir: str | None = None  # keeps the decoded folders (.npz) between runs
    progress: bool = True

    @property
    def effective_identity_weight(self) -> float:
        return 0.5 * self.cycle_weight if self.identity_weight is None else float(self.identity_weight)

    @property
    def effective_decay_start_epoch(self) -> int:
        return self.epochs // 2 if self.decay_start_epoch is None else self.decay_start_epoch

    @classmethod
    def from_dict(cls, values: dict, where: str = "settings") -> CycleConfig:
        cls.check_names(values, where)
        return cls(**values).validate()

    def validate(self, need_data: bool = False) -> CycleConfig:
        """Check every field before anything is loaded; ValueError names the field and the fix.

        need_data: also require both folders (training needs them; a preset leaves them None).
        """
        hints = typing.get_type_hints(type(self))
        for item in dataclasses.fields(self):
            check_type(item.name, getattr(self, item.name), hints[item.name], "settings")
        for name in ("epochs", "batch_size", "generator_filters", "discriminator_filters",
                     "checkpoint_every", "grid_examples"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("residual_blocks", "pool_size"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more, got {getattr(self, name)}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be a positive number of images per domain or None, "
                             f"got {self.limit}")
        if self.image_size < 8 or self.image_size % 8:
            raise ValueError(f"image_size must be a multiple of 8 (64 or 128), got {self.image_size}")
        if self.discriminator == "dcgan" and self.image_size & (self.image_size - 1):
            raise ValueError(f"image_size must be a power of two for discriminator 'dcgan', "
                             f"got {self.image_size}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        if not 0 <= self.beta1 < 1:
            raise ValueError(f"beta1 must be in [0, 1), got {self.beta1}")
        if not (self.cycle_weight >= 0 and math.isfinite(self.cycle_weight)):
            raise ValueError(f"cycle_weight must be a finite number >= 0 (the paper's 10), "
                             f"got {self.cycle_weight}")
        if self.identity_weight is not None and not self.identity_weight >= 0:
            raise ValueError(f"identity_weight must be >= 0 (0 turns it off) or None for "
                             f"0.5 * cycle_weight, got {self.identity_weight}")
        if self.decay_start_epoch is not None and self.decay_start_epoch < 0:
            raise ValueError(f"decay_start_epoch must be >= 0 or None (half the epochs), "
                             f"got {self.decay_start_epoch}")
        if self.fit not in paintings.FITS:
            raise ValueError("fit: " + unknown_name_message("fit", self.fit, paintings.FITS))
        check_run_name(self.name)
        cycle_models.CYCLE_DISCRIMINATORS.get(self.discriminator)
        losses.get(self.loss)
        from sketchdraw.layers import NORMALIZATIONS

        NORMALIZATIONS.get(self.normalization)
        if need_data:
            for name in ("domain_x", "domain_y"):
                folder = getattr(self, name)
                if folder is None:
                    raise ValueError(f"{name} is not set: give the folder of {self._label(name)} "
                                     "images (see the notebook's first cell for where to get them)")
                if not Path(folder).expanduser().is_dir():
                    raise ValueError(f"{name}: folder {folder} does not exist")
        return self

    def _label(self, field_name: str) -> str:
        return self.domain_x_label if field_name == "domain_x" else self.domain_y_label


CYCLE_PRESETS: Registry[CycleConfig] = Registry("cycle experiment")


def register(config: CycleConfig) -> CycleConfig:
    CYCLE_PRESETS.register(config.experiment)(config)
    return config


# The folders are the user's: landscape photos (e.g. Unsplash/Flickr landscapes, or the CycleGAN
# authors' vangogh2photo set) and paintings (WikiArt's Van Gogh or Expressionism pages).
register(CycleConfig(experiment="photo2vangogh", name="photo2vangogh",
                     domain_x_label="photo", domain_y_label="Van Gogh"))
register(CycleConfig(experiment="photo2expressionism", name="photo2expressionism",
                     domain_x_label="photo", domain_y_label="Expressionism"))


def preset(name: str) -> CycleConfig:
    return dataclasses.replace(CYCLE_PRESETS.get(name))


def resolve(experiment: str = "photo2vangogh", **overrides) -> CycleConfig:
    """The preset with every override that is not None applied, validated (folders may stay None)."""
    config = preset(experiment)
    return dataclasses.replace(config, **given_overrides(CycleConfig, overrides)).validate()


def learning_rate_at(epoch: int, config: CycleConfig) -> float:
    """The paper's schedule: `learning_rate` up to decay_start_epoch, then linear to 0 after the last."""
    return training.linear_decay(config.learning_rate, epoch, config.effective_decay_start_epoch,
                                 config.epochs)


# -- the image pool --------------------------------------------------------------------------------
class ImagePool(tf.Module):
    """A history of generated images for a discriminator (Shrivastava et al. 2017; CycleGAN).

    `query(images)`: while the pool is filling, every image is stored and returned as it is; once
    it holds `pool_size` images, each new image is, with probability 1/2, swapped with a random
    stored one (the stored, older image is returned) or else returned as it is. Discriminators so
    see generators' past mistakes, which damps oscillation. Written with TensorFlow variables and a
    seeded `tf.random.Generator`, so it runs inside the compiled step and a checkpoint keeps it.
    """

    def __init__(self, pool_size: int, image_shape, seed: int = 0, name: str | None = None):
        super().__init__(name=name)
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 0:
            raise ValueError(f"pool_size must be a whole number >= 0, got {pool_size!r}")
        self.pool_size = pool_size
        # One slot even when the pool is off, so a checkpoint always has the same variables.
        self.images = tf.Variable(tf.zeros([max(pool_size, 1), *image_shape]), trainable=False,
                                  name="images")
        self.count = tf.Variable(0, dtype=tf.int32, trainable=False, name="count")
        self.random = tf.random.Generator.from_seed(seed)

    def query(self, images: tf.Tensor) -> tf.Tensor:
        images = tf.convert_to_tensor(images, dtype=tf.float32)
        if self.pool_size == 0:
            return images
        batch = images.shape[0]
        if batch is None:
            raise ValueError("ImagePool.query needs a batch of known size (batch with "
                             "drop_remainder=True)")
        results = []
        for index in range(batch):  # one image at a time: the next may draw the one just stored
            image = images[index]
            full = self.count >= self.pool_size
            use_past = tf.logical_and(full, self.random.uniform([]) < 0.5)
            random_slot = self.random.uniform([], 0, self.pool_size, dtype=tf.int32)
            slot = tf.where(full, random_slot, self.count)
            past = tf.gather(self.images, slot)
            results.append(tf.where(use_past, past, image))
            # Store the new image in an empty slot, or in the slot whose old image was handed out.
            stored = tf.where(tf.logical_or(tf.logical_not(full), use_past), image, past)
            self.images.scatter_nd_update([[slot]], [stored])
            self.count.assign(tf.minimum(self.count + 1, self.pool_size))
        return tf.stack(results)


# -- the step --------------------------------------------------------------------------------------
def mean_absolute_error(first, second) -> tf.Tensor:
    return tf.reduce_mean(tf.abs(first - second))


def cycle_loss(generator_x2y, generator_y2x, real_x, real_y) -> tf.Tensor:
    """|F(G(x)) - x| + |G(F(y)) - y|, each the mean over pixels: 0 when the round trips are exact."""
    reconstructed_x = generator_y2x(generator_x2y(real_x, training=False), training=False)
    reconstructed_y = generator_x2y(generator_y2x(real_y, training=False), training=False)
    return mean_absolute_error(real_x, reconstructed_x) + mean_absolute_error(real_y, reconstructed_y)


def make_cycle_train_step(generator_x2y, generator_y2x, discriminator_x, discriminator_y,
                          generator_x2y_optimizer, generator_y2x_optimizer,
                          discriminator_x_optimizer, discriminator_y_optimizer,
                          adversarial_loss: losses.AdversarialLoss, cycle_weight: float,
                          identity_weight: float, pool_x: ImagePool | None = None,
                          pool_y: ImagePool | None = None) -> Callable:
    """A compiled step on one batch of each domain: both generators, then both discriminators.

    The generators minimise adversarial + cycle_weight * cycle + identity_weight * identity; the
    cycle term ties them together, so both share one tape and each applies its own gradients.
    The discriminators then learn from the real batches and from the step's generated images
    passed through the pools (when given). Returns a dict of scalar losses.
    """
    cycle_weight = float(cycle_weight)
    identity_weight = float(identity_weight)

    @tf.function
    def train_step(real_x, real_y):
        with tf.GradientTape(persistent=True) as tape:
            fake_y = generator_x2y(real_x, training=True)
            fake_x = generator_y2x(real_y, training=True)
            reconstructed_x = generator_y2x(fake_y, training=True)
            reconstructed_y = generator_x2y(fake_x, training=True)
            adversarial_x2y = tf.reduce_mean(adversarial_loss.generator(
                discriminator_y(fake_y, training=True)))
            adversarial_y2x = tf.reduce_mean(adversarial_loss.generator(
                discriminator_x(fake_x, training=True)))
            cycle = (mean_absolute_error(real_x, reconstructed_x)
                     + mean_absolute_error(real_y, reconstructed_y))
            if identity_weight > 0:
                identity = (mean_absolute_error(real_y, generator_x2y(real_y, training=True))
                            + mean_absolute_error(real_x, generator_y2x(real_x, training=True)))
            else:  # skip two generator passes when the term is off
                identity = tf.constant(0.0)
            generator_total = (adversarial_x2y + adversarial_y2x + cycle_weight * cycle
                               + identity_weight * identity)
        for generator, optimizer in ((generator_x2y, generator_x2y_optimizer),
                                     (generator_y2x, generator_y2x_optimizer)):
            gradients = tape.gradient(generator_total, generator.trainable_variables)
            optimizer.apply_gradients(zip(gradients, generator.trainable_variables))
        del tape

        # The discriminators judge the images generated before this update (as the paper does).
        shown_fake_x = tf.stop_gradient(pool_x.query(fake_x) if pool_x is not None else fake_x)
        shown_fake_y = tf.stop_gradient(pool_y.query(fake_y) if pool_y is not None else fake_y)
        with tf.GradientTape(persistent=True) as tape:
            discriminator_x_loss = tf.reduce_mean(adversarial_loss.discriminator(
                discriminator_x(real_x, training=True), discriminator_x(shown_fake_x, training=True)))
            discriminator_y_loss = tf.reduce_mean(adversarial_loss.discriminator(
                discriminator_y(real_y, training=True), discriminator_y(shown_fake_y, training=True)))
        for discriminator, optimizer, loss in (
                (discriminator_x, discriminator_x_optimizer, discriminator_x_loss),
                (discriminator_y, discriminator_y_optimizer, discriminator_y_loss)):
            gradients = tape.gradient(loss, discriminator.trainable_variables)
            optimizer.apply_gradients(zip(gradients, discriminator.trainable_variables))
        del tape

        return {
            # The two columns every run's plots and pages know: the whole generator objective and
            # both discriminators' losses together.
            "generator_loss": generator_total,
            "discriminator_loss": discriminator_x_loss + discriminator_y_loss,
            "generator_x2y_adversarial_loss": adversarial_x2y,
            "generator_y2x_adversarial_loss": adversarial_y2x,
            "discriminator_x_loss": discriminator_x_loss,
            "discriminator_y_loss": discriminator_y_loss,
            "cycle_loss": cycle,
            "identity_loss": identity,
        }

    return train_step


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


def _domain_dataset(images: np.ndarray, config: CycleConfig, steps: int, seed: int):
    dataset = pipeline.image_dataset(images, config.batch_size,
                                     (config.image_size, config.image_size, 3),
                                     seed=seed, flip=config.flip)
    # The two folders differ in size: the smaller one repeats so an epoch covers the larger one
    # (the paper's unaligned dataset does the same).
    return dataset.repeat().take(steps)


# -- the run ---------------------------------------------------------------------------------------
@dataclass
class CycleNetworks:
    generator_x2y: object
    generator_y2x: object
    discriminator_x: object
    discriminator_y: object


def build_networks(config: CycleConfig) -> CycleNetworks:
    def generator(name):
        return cycle_models.cycle_generator(config.image_size, config.residual_blocks,
                                            config.generator_filters, config.normalization, name=name)

    def discriminator(name):
        return cycle_models.build_discriminator(config.discriminator, config.image_size,
                                                config.discriminator_filters, config.normalization,
                                                name=name)

    return CycleNetworks(generator("generator_x2y"), generator("generator_y2x"),
                         discriminator("discriminator_x"), discriminator("discriminator_y"))


@dataclass
class CycleResult:
    run: RunFolder
    networks: CycleNetworks
    epochs_trained: int


EpochCallback = Callable[[int, RunFolder, dict], None]


def prepare_run_folder(run: RunFolder, config: CycleConfig) -> None:
    """Save config.json for a new run; for an existing one, refuse a different run's settings."""
    training.prepare_run_folder(run, config, RESUMABLE_CHANGES)


def train_cycle(config: CycleConfig, images_x: np.ndarray | None = None,
                images_y: np.ndarray | None = None,
                callbacks: Iterable[EpochCallback] = ()) -> CycleResult:
    """Train (or resume) the CycleGAN run described by `config`; leave a complete run folder.

    images_x / images_y (uint8 arrays) replace the configured folders when given. Each callback
    is called after every epoch with (epoch, run folder, history row).
    """
    config.validate(need_data=images_x is None or images_y is None)
    adversarial_loss = losses.get(config.loss)
    run = RunFolder(config.run_dir)
    with run.lock():
        prepare_run_folder(run, config)
        if images_x is None:
            images_x, _ = load_domain(config.domain_x, config, config.domain_x_label)
        if images_y is None:
            images_y, _ = load_domain(config.domain_y, config, config.domain_y_label)
        for label, images in ((config.domain_x_label, images_x), (config.domain_y_label, images_y)):
            if config.batch_size > len(images):
                raise ValueError(f"batch_size {config.batch_size} is larger than the {len(images)} "
                                 f"{label} images; use a smaller batch_size or more data")
        training.keras_seed(config.seed)
        networks = build_networks(config)
        optimizers = {name: training.adam(config.learning_rate, config.beta1,
                                          getattr(networks, name))
                      for name in ("generator_x2y", "generator_y2x", "discriminator_x",
                                   "discriminator_y")}
        image_shape = (config.image_size, config.image_size, 3)
        pool_x = ImagePool(config.pool_size, image_shape, seed=config.seed, name="pool_x")
        pool_y = ImagePool(config.pool_size, image_shape, seed=config.seed + 1, name="pool_y")
        # The grid's fixed examples live in the checkpoint, so a resumed run shows the same ones.
        fixed_x = tf.Variable(pipeline.scale_to_unit_range(
            training.pick_rows(images_x, config.grid_examples, config.seed)), trainable=False,
            name="fixed_x")
        fixed_y = tf.Variable(pipeline.scale_to_unit_range(
            training.pick_rows(images_y, config.grid_examples, config.seed + 1)), trainable=False,
            name="fixed_y")
        checkpoint = tf.train.Checkpoint(
            **vars(networks), **{f"{name}_optimizer": value for name, value in optimizers.items()},
            pool_x=pool_x, pool_y=pool_y, fixed_x=fixed_x, fixed_y=fixed_y)
        loop = training.ResumableLoop(run, checkpoint, config.checkpoint_every)

        if not run.reals_path.exists():
            reals = np.concatenate([training.pick_rows(images_x, 8, config.seed + 2),
                                    training.pick_rows(images_y, 8, config.seed + 3)])
            run.save_grid(reals, run.reals_path, columns=8, scale=_grid_scale(config.image_size))

        steps = max(len(images_x), len(images_y)) // config.batch_size
        dataset = tf.data.Dataset.zip((_domain_dataset(images_x, config, steps, config.seed),
                                       _domain_dataset(images_y, config, steps, config.seed + 1)))
        step = make_cycle_train_step(
            networks.generator_x2y, networks.generator_y2x, networks.discriminator_x,
            networks.discriminator_y, optimizers["generator_x2y"], optimizers["generator_y2x"],
            optimizers["discriminator_x"], optimizers["discriminator_y"], adversarial_loss,
            config.cycle_weight, config.effective_identity_weight, pool_x, pool_y)

        with loop.interruptible():
            for epoch in loop.epochs(config.epochs):
                rate = learning_rate_at(epoch, config)
                for optimizer in optimizers.values():
                    optimizer.learning_rate.assign(rate)
                row = run_cycle_epoch(step, dataset, steps, config.batch_size,
                                      f"epoch {epoch}/{config.epochs}", config.progress)
                row["learning_rate"] = rate
                save_translation_grid(run, run.epoch_image_path(epoch), networks, fixed_x, fixed_y,
                                      config.image_size)
                loop.finish_epoch(epoch, row, config.epochs, callbacks)

        run.save_gif()
        save_loss_plot(run)
        training.save_generator(networks.generator_x2y, run.root / GENERATOR_FILES["x2y"])
        training.save_generator(networks.generator_y2x, run.root / GENERATOR_FILES["y2x"])
        training.publish_pages(run)
    return CycleResult(run, networks, loop.trained_epochs)


def run_cycle_epoch(step, dataset, steps: int, batch_size: int, description: str,
                    progress: bool = True) -> dict:
    """One pass; the epoch's mean losses, seconds and images/s (one image = one x and one y)."""
    start = time.perf_counter()
    totals: dict[str, tf.Tensor] = {}
    count = 0
    with tqdm(total=steps, desc=description, unit="batch", disable=not progress, mininterval=1.0,
              leave=False, file=sys.stderr) as bar:
        for real_x, real_y in dataset:
            statistics = step(real_x, real_y)
            # Sum as tensors: reading a value each step would make the device wait for the host.
            totals = statistics if not totals else {k: totals[k] + v for k, v in statistics.items()}
            count += 1
            bar.update(1)
    seconds = time.perf_counter() - start
    row = training.epoch_row(totals, count, batch_size, seconds)
    if progress:
        print(f"{description}: generators {row.get('generator_loss', float('nan')):.3f} "
              f"(cycle {row.get('cycle_loss', float('nan')):.3f}), discriminators "
              f"{row.get('discriminator_loss', float('nan')):.3f}, {seconds:.1f} s",
              file=sys.stderr, flush=True)
    return row


def _grid_scale(image_size: int) -> int:
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
                         scale=_grid_scale(image_size))


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


# -- using a trained run ---------------------------------------------------------------------------
@dataclass
class Translation:
    """What `translate` wrote: one PNG per readable input, the before/after sheet, what was skipped.

    Iterating it (or len) gives the translated image paths.
    """

    outputs: list[Path]
    sheet: Path | None
    skipped: list[tuple[Path, str]]

    def __iter__(self):
        return iter(self.outputs)

    def __len__(self) -> int:
        return len(self.outputs)


def _free_path(path: Path) -> Path:
    """`path`, or `name_2.png`, `name_3.png`, ... when taken: nothing is overwritten silently."""
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem}_{number}{path.suffix}")
    return candidate


def load_generator(run_dir, direction: str = "x2y"):
    """The trained generator of a run for `direction` ("x2y" or "y2x"), loaded in safe mode."""
    import keras

    if direction not in DIRECTIONS:
        raise ValueError(unknown_name_message("direction", str(direction), DIRECTIONS))
    path = Path(run_dir) / GENERATOR_FILES[direction]
    if not path.exists():
        raise ValueError(f"{path} does not exist: {run_dir} is not a finished CycleGAN run (train "
                         "it to the end first, or give the run folder that holds generator_x2y.keras)")
    return keras.models.load_model(path, safe_mode=True, compile=False)


def translate(run_dir, input_path, direction: str = "x2y", output_dir=None,
              log: Callable[[str], None] | None = None) -> Translation:
    """Translate an image or every image under a folder with a trained run's generator.

    Writes `<name>_<direction>.png` per readable input and `sheet.png` (each input beside its
    translation) into output_dir (default: <run>/translated/<direction>/); existing files are kept
    and new ones get a number. Unreadable inputs are skipped and reported by name.
    """
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    generator = load_generator(run_dir, direction)
    image_size = int(generator.input_shape[1])
    input_path = Path(input_path).expanduser()
    if input_path.is_dir():
        files, _ = paintings.find_image_files(input_path)
        if not files:
            raise ValueError(f"{input_path} holds no jpg/jpeg/png/webp images")
    elif input_path.exists():
        files = [input_path]
    else:
        raise ValueError(f"input {input_path} does not exist; give an image file or a folder")
    fit = "crop"
    config_path = Path(run_dir) / "config.json"
    if config_path.exists():
        fit = RunFolder(run_dir).load_config().get("fit", "crop")

    decoded, readable, skipped = [], [], []
    for path in files:
        try:
            decoded.append(paintings.decode_image(path, image_size, fit))
            readable.append(path)
        except paintings.UnreadableImage as error:
            skipped.append((path, str(error)))
    for path, reason in skipped:
        log(f"skipped {path.name}: {reason}")
    if not readable:
        raise ValueError(f"none of the {len(files)} input file(s) could be read: "
                         + "; ".join(f"{path.name}: {reason}" for path, reason in skipped[:5]))

    inputs = np.stack(decoded)
    translated = []
    for start in range(0, len(inputs), TRANSLATE_BATCH):
        batch = pipeline.scale_to_unit_range(inputs[start:start + TRANSLATE_BATCH])
        translated.append(artifacts.to_uint8(generator(batch, training=False).numpy()))
    translated = np.concatenate(translated)

    output_dir = Path(output_dir) if output_dir else Path(run_dir) / "translated" / direction
    output_dir.mkdir(parents=True, exist_ok=True)
    outputs = []
    for path, image in zip(readable, translated):
        target = _free_path(output_dir / f"{path.stem}_{direction}.png")
        artifacts.save_png(artifacts.grid_image(image[None], columns=1, scale=1, padding=0), target)
        outputs.append(target)
    pairs = np.stack([image for pair in zip(inputs, translated) for image in pair])
    sheet = _free_path(output_dir / "sheet.png")
    artifacts.save_png(artifacts.grid_image(pairs, columns=2 * min(4, len(inputs)),
                                            scale=_grid_scale(image_size)), sheet)
    log(f"translated {len(outputs)} image(s) ({direction}) into {output_dir}; before/after: {sheet}")
    return Translation(outputs, sheet, skipped)


def main(argv: list[str] | None = None) -> int:
    """`python -m sketchdraw.cyclegan --run runs/photo2vangogh --input photo.jpg [--direction y2x]`."""
    parser = argparse.ArgumentParser(prog="sketchdraw translate",
                                     description="translate images with a trained CycleGAN run")
    parser.add_argument("--run", required=True, help="the run folder, e.g. runs/photo2vangogh")
    parser.add_argument("--input", required=True, help="an image file or a folder of images")
    parser.add_argument("--direction", default="x2y", choices=DIRECTIONS,
                        help="x2y: photo -> painting (default); y2x: painting -> photo")
    parser.add_argument("--output", default=None, help="folder for the results "
                        "(default: <run>/translated/<direction>)")
    arguments = parser.parse_args(argv)
    try:
        translate(arguments.run, arguments.input, arguments.direction, arguments.output)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
