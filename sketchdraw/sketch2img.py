"""Sketch to image (seed 003, "Sketch2Img", after SketchyGAN): losses, sketch/photo pairs, training, drawing.

    pairs = load_sketch_pairs("../shared/data/sketchy/cufs_faces")        # simple layout
    config = resolve("faces_sketch2photo", data_root=..., epochs=5)
    result = train_sketch2img(config)                                     # resumable run folder
    sheet = draw("runs/faces_sketch2photo", "my_sketch.png", samples=6)   # new images from a sketch

What is here: the six loss terms of the seed, each a function with a `weight` (GAN, auxiliary
classification, DRAGAN gradient penalty, L1, perceptual, diversity); the pair loader for the simple
`<root>/{sketch,photo}/<category?>/<id>` layout and the Sketchy database layout; the seed's data
normalisation; the `tf.function` train step (built by `make_sketch_train_step`, no globals);
`Sketch2ImgConfig` with its presets; the resumable run (`train_sketch2img`, built on
`training.ResumableLoop` and `RunFolder`); and `draw` for a user's own sketch.
What is not: the networks (`sketchdraw.models.sketch2img`), the run-folder mechanics
(`artifacts`, `training`) and the unconditional DCGAN runs.

Normalisation (decided here): the seed centres photos and sketches on the dataset mean and divides
by max(|min|, |max|) of the centred values. That keeps every value within [-1, 1], which the
generator's tanh can reach, so we keep the seed's scheme: per-channel mean, one scale per domain,
computed on the training pairs and saved as `data_statistics.json` in the run folder (`draw` needs
it to prepare a new sketch and to turn generated values back into colours). Colour jitter happens
before normalisation and can push a photo slightly outside the training range, so the normalised
photo is clipped to [-1, 1].
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import sys
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from sketchdraw import artifacts, losses, training
from sketchdraw.artifacts import RunFolder
from sketchdraw.atomicfiles import atomic_write_text
from sketchdraw.experiments import Settings, check_run_name, check_type, given_overrides
from sketchdraw.registry import Registry, unknown_name_message

LAYOUTS = ("simple", "sketchy")
# The seed's choice of Sketchy augmentation folders: photos whose object bounding box is scaled to
# the canvas (+10% margin), sketches centred and uniformly scaled (both keep the aspect ratio).
SKETCHY_PHOTO_AUGMENTATION = "tx_000100000000"
SKETCHY_SKETCH_AUGMENTATION = "tx_000100000000"
SKETCHY_ERROR_LIST = Path("info") / "invalid-error.txt"
DATA_STATISTICS_FILE = "data_statistics.json"
HELD_OUT_FOLDER = "held_out"
DRAWINGS_FOLDER = "drawings"
# Added to the noise distance in the diversity loss so two identical noise vectors do not divide by 0.
DIVERSITY_EPSILON = 1e-5


# =================================================================================================
# Losses. Each returns one value per example (shape (batch,)), already multiplied by its weight,
# so the train step averages them over the global batch like `sketchdraw.losses`.
# =================================================================================================
def gan_discriminator_loss(real_logits, fake_logits, weight: float = 1.0) -> tf.Tensor:
    """weight * (-log D(s, x) - log(1 - D(s, G(s, z)))): binary cross-entropy on logits."""
    return weight * losses.bce_discriminator(real_logits, fake_logits)


def gan_generator_loss(fake_logits, weight: float = 1.0) -> tf.Tensor:
    """weight * -log D(s, G(s, z)) (non-saturating, as in the DCGAN runs)."""
    return weight * losses.bce_generator(fake_logits)


def classification_loss(labels, class_logits, weight: float = 1.0) -> tf.Tensor:
    """weight * cross-entropy of the discriminator's class logits against the true class.

    Used twice: on real images for the discriminator (L_ac(D)) and on generated images for the
    generator (L_ac(G)). With a single category it is 0 by construction (softmax over one logit).
    """
    labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
    return weight * tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                   logits=class_logits)


def dragan_penalty(critic: Callable[[tf.Tensor], tf.Tensor], real_images, weight: float = 10.0,
                   perturbation_scale: float = 0.5, one_sided: bool = False,
                   perturbation=None, mixing=None) -> tf.Tensor:
    """DRAGAN's gradient penalty (Kodali et al. 2017), per example: weight * (||grad D(x_hat)|| - 1)^2.

    As in the DRAGAN reference code: x_p = x + perturbation_scale * std(x) * u with u ~ U[0, 1) per
    pixel and std over the whole batch; x_hat = x + a (x_p - x) with a ~ U[0, 1) per example; the
    gradient is taken with respect to the image only (`critic` closes over the sketch). The norm is
    sqrt(sum g^2 + 1e-12) so its gradient stays finite at 0.

    Two-sided (the paper's and the default): the penalty is 0 where the gradient norm is 1 near the
    data (e.g. a linear critic with a unit-norm weight) and `weight` for a critic that is constant
    there. `one_sided=True` penalises only norms above 1, max(0, ||g|| - 1)^2: 0 for a constant
    critic too. `perturbation` (images' shape) and `mixing` (batch,) fix the random draws (tests).
    """
    if weight < 0:
        raise ValueError(f"DRAGAN weight must be >= 0 (the seed's best run used 10), got {weight}")
    real_images = tf.convert_to_tensor(real_images, tf.float32)
    batch_size = tf.shape(real_images)[0]
    if perturbation is None:
        perturbation = tf.random.uniform(tf.shape(real_images))
    if mixing is None:
        mixing = tf.random.uniform([batch_size])
    perturbed = real_images + perturbation_scale * tf.math.reduce_std(real_images) * perturbation
    mixing = tf.reshape(tf.cast(mixing, tf.float32), [-1, 1, 1, 1])
    between = real_images + mixing * (perturbed - real_images)
    with tf.GradientTape() as tape:
        tape.watch(between)
        logits = critic(between)
    gradients = tape.gradient(logits, between)
    squared = tf.reshape(tf.square(gradients), [batch_size, -1])
    norms = tf.sqrt(tf.reduce_sum(squared, axis=1) + losses.GRADIENT_NORM_EPSILON)
    excess = tf.nn.relu(norms - 1.0) if one_sided else norms - 1.0
    return weight * tf.square(excess)


def l1_loss(generated, real, weight: float = 1.0) -> tf.Tensor:
    """weight * mean |G(s, z) - x| over the pixels of each example (the seed's supervised loss)."""
    difference = tf.abs(tf.convert_to_tensor(generated, tf.float32)
                        - tf.convert_to_tensor(real, tf.float32))
    return weight * tf.reduce_mean(tf.reshape(difference, [tf.shape(difference)[0], -1]), axis=1)


def diversity_loss(first_images, second_images, first_noise, second_noise,
                   weight: float = 1.0) -> tf.Tensor:
    """weight * -(mean |G(s, z1) - G(s, z2)|) / (mean |z1 - z2|): the seed's "negative slope".

    Minimising it rewards a generator whose output changes a lot when the noise changes (against
    mode collapse, where the noise is ignored). Both distances are means, not sums, so the value
    does not grow with the image or noise size; 1e-5 keeps equal noise vectors from dividing by 0.
    """
    batch_size = tf.shape(first_images)[0]
    image_distance = tf.reduce_mean(tf.reshape(
        tf.abs(first_images - second_images), [batch_size, -1]), axis=1)
    noise_distance = tf.reduce_mean(tf.reshape(
        tf.abs(first_noise - second_noise), [batch_size, -1]), axis=1)
    return -weight * image_distance / (noise_distance + DIVERSITY_EPSILON)


# -- perceptual loss: a keras.applications ImageNet network ----------------------------------------
@dataclass(frozen=True)
class PerceptualNetwork:
    builder: str  # keras.applications attribute
    preprocess_module: str  # keras.applications submodule with preprocess_input
    weights_file: str  # the file Keras downloads into ~/.keras/models
    weights_url: str
    input_size: int  # images are resized to this before the network
    feature_layers: tuple[str, ...]


_KERAS_WEIGHTS = "https://storage.googleapis.com/tensorflow/keras-applications"
PERCEPTUAL_NETWORKS: Registry[PerceptualNetwork] = Registry("perceptual network")
# The seed used Inception-v4, which keras.applications does not have; Inception-v3 is its closest
# relative there. 75x75 is its smallest input; early and middle "mixed" blocks hold the features.
PERCEPTUAL_NETWORKS.register("inception_v3")(PerceptualNetwork(
    "InceptionV3", "inception_v3", "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    f"{_KERAS_WEIGHTS}/inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    96, ("mixed0", "mixed2", "mixed5")))
PERCEPTUAL_NETWORKS.register("vgg19")(PerceptualNetwork(
    "VGG19", "vgg19", "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
    f"{_KERAS_WEIGHTS}/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
    64, ("block1_conv2", "block2_conv2", "block3_conv4", "block4_conv4")))


class PerceptualWeightsUnavailable(ValueError):
    """The ImageNet weights of the perceptual network could not be obtained."""


@functools.cache
def perceptual_weights_path(network: str) -> str:
    """The cached ImageNet weights file for `network`, downloaded once by Keras if missing.

    Raises PerceptualWeightsUnavailable with what to do when the download fails (no network).
    """
    import keras

    spec = PERCEPTUAL_NETWORKS.get(network)
    try:
        return keras.utils.get_file(spec.weights_file, spec.weights_url, cache_subdir="models")
    except Exception as error:  # keras raises a bare Exception for URL and HTTP failures
        cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
        raise PerceptualWeightsUnavailable(
            f"perceptual loss disabled: ImageNet weights for {network} could not be downloaded "
            f"(no network? {type(error).__name__}: {str(error)[:160]}); set perceptual_weight=0, "
            f"or place the weights file {spec.weights_file} in {cache} "
            f"(from {spec.weights_url})") from None


class PerceptualLoss:
    """weight * sum over layers of mean |phi_l(G(s, z)) - phi_l(x)|, per example.

    phi_l are activations of a frozen ImageNet network (`PERCEPTUAL_NETWORKS`). Images arrive in
    the run's normalised space; they are mapped back to [0, 255] with the photo statistics, resized
    to the network's input size and preprocessed the way the network was trained.
    """

    def __init__(self, network: str, photo_mean: Sequence[float], photo_scale: float,
                 weight: float = 1.0):
        import keras

        spec = PERCEPTUAL_NETWORKS.get(network)
        weights = perceptual_weights_path(network)
        size = spec.input_size
        backbone = getattr(keras.applications, spec.builder)(
            include_top=False, weights=weights, input_shape=(size, size, 3))
        backbone.trainable = False
        self.features = keras.Model(backbone.input,
                                    [backbone.get_layer(name).output for name in spec.feature_layers])
        self.preprocess = getattr(keras.applications, spec.preprocess_module).preprocess_input
        self.size = size
        self.photo_mean = tf.constant(photo_mean, tf.float32)
        self.photo_scale = float(photo_scale)
        self.weight = float(weight)

    def _activations(self, images):
        pixels = (images * self.photo_scale + self.photo_mean) * 255.0
        pixels = tf.image.resize(pixels, (self.size, self.size))
        return self.features(self.preprocess(pixels), training=False)

    def __call__(self, generated, real) -> tf.Tensor:
        total = 0.0
        for fake_map, real_map in zip(self._activations(generated), self._activations(real)):
            difference = tf.abs(fake_map - real_map)
            total += tf.reduce_mean(tf.reshape(difference, [tf.shape(difference)[0], -1]), axis=1)
        return self.weight * total


# =================================================================================================
# Data: sketch/photo pairs.
# =================================================================================================
@dataclass
class SketchPairs:
    """Matched pairs as uint8 arrays: sketches (N, H, W, 1) with 255 = line (white lines on black,
    the seed's inversion), photos (N, H, W, 3) RGB, labels (N,) int32 indexing `categories`."""

    sketches: np.ndarray
    photos: np.ndarray
    labels: np.ndarray
    categories: list[str]
    names: list[str]  # "<category>/<sketch file stem>" per pair
    unmatched_sketches: list[str] = field(default_factory=list)
    unmatched_photos: list[str] = field(default_factory=list)
    dropped_as_error: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sketches)

    def subset(self, rows) -> SketchPairs:
        rows = np.asarray(rows, dtype=np.int64)
        return dataclasses.replace(self, sketches=self.sketches[rows], photos=self.photos[rows],
                                   labels=self.labels[rows],
                                   names=[self.names[row] for row in rows])

    def report(self, shown: int = 10) -> str:
        lines = [f"{len(self)} sketch/photo pairs in {len(self.categories)} "
                 f"categor{'y' if len(self.categories) == 1 else 'ies'}"]
        for title, items in (("sketches without a photo", self.unmatched_sketches),
                             ("photos without a sketch", self.unmatched_photos),
                             ("sketches dropped as 'Error'", self.dropped_as_error),
                             ("unreadable files", [f"{n} ({why})" for n, why in self.unreadable])):
            if items:
                listed = ", ".join(items[:shown]) + (f", ... ({len(items) - shown} more)"
                                                      if len(items) > shown else "")
                lines.append(f"{len(items)} {title}: {listed}")
        return "\n".join(lines)


def load_sketch_pairs(root: str | os.PathLike, layout: str = "simple", image_size: int = 64,
                      limit: int | None = None, log: Callable[[str], None] | None = None,
                      sketch_augmentation: str = SKETCHY_SKETCH_AUGMENTATION,
                      photo_augmentation: str = SKETCHY_PHOTO_AUGMENTATION) -> SketchPairs:
    """Decode matched sketch/photo pairs under `root`; report files without a partner.

    Layouts:
    - "simple": `<root>/sketch/[<category>/]<id>.<ext>` and `<root>/photo/[<category>/]<id>.<ext>`;
      a sketch and a photo pair up when category folder and file stem are equal. Without category
      folders everything is one category named after `root`.
    - "sketchy": the Sketchy database: `<root>/photo/<photo_augmentation>/<category>/<id>.jpg` and
      `<root>/sketch/<sketch_augmentation>/<category>/<id>-<n>.png` (n-th sketch of photo <id>;
      every sketch pairs with its photo, so a photo appears once per sketch). Assumed, following
      the database's info files: `<root>/info/invalid-error.txt`, if present, lists one sketch per
      line by file name (with or without extension or folder); those sketches are dropped.

    Sketches are read as greyscale and inverted (white lines on black); both are centre-cropped
    to a square and resized to `image_size` with the same transform, so a pair stays aligned.
    `limit` keeps the first N pairs in sorted order. The report (counts and names of unmatched,
    dropped and unreadable files) goes to `log` (stderr by default) and stays on the result.
    """
    from sketchdraw import paintings

    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    root = Path(root)
    if layout not in LAYOUTS:
        raise ValueError(unknown_name_message("pair layout", layout, LAYOUTS))
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive number of pairs or None, got {limit!r}")
    if layout == "simple":
        sketch_dir, photo_dir = root / "sketch", root / "photo"
    else:
        sketch_dir = root / "sketch" / sketch_augmentation
        photo_dir = root / "photo" / photo_augmentation
    for folder, what in ((sketch_dir, "sketch"), (photo_dir, "photo")):
        if not folder.is_dir():
            hint = ("expected <root>/sketch/ and <root>/photo/ (layout='simple')" if layout == "simple"
                    else f"expected <root>/{what}/{sketch_augmentation if what == 'sketch' else photo_augmentation}/"
                         "<category>/ (layout='sketchy')")
            other = "sketchy" if layout == "simple" else "simple"
            raise ValueError(f"no {what} folder {folder}: {hint}; check data_root, or try "
                             f"layout={other!r}")

    def keyed(folder: Path, key_of: Callable[[str], str]) -> dict[tuple[str, str], Path]:
        files, _ = paintings.find_image_files(folder)
        found: dict[tuple[str, str], Path] = {}
        for path in files:
            relative = path.relative_to(folder)
            category = relative.parent.as_posix() if relative.parent != Path(".") else root.name
            found.setdefault((category, key_of(path.stem)), path)
        return found

    photos = keyed(photo_dir, lambda stem: stem)
    dropped: list[str] = []
    if layout == "simple":
        sketches = keyed(sketch_dir, lambda stem: stem)
        pairs = [(key, sketches[key], photos[key]) for key in sorted(sketches) if key in photos]
        unmatched_sketches = [_label(key) for key in sorted(sketches) if key not in photos]
        unmatched_photos = [_label(key) for key in sorted(photos) if key not in sketches]
    else:
        errors = _sketchy_errors(root / SKETCHY_ERROR_LIST)
        sketch_files, _ = paintings.find_image_files(sketch_dir)
        pairs, unmatched_sketches, used_photos = [], [], set()
        for path in sketch_files:
            category = path.parent.relative_to(sketch_dir).as_posix()
            if path.stem in errors:
                dropped.append(f"{category}/{path.stem}")
                continue
            photo_key = (category, re.sub(r"-\d+$", "", path.stem))
            if photo_key in photos:
                pairs.append(((category, path.stem), path, photos[photo_key]))
                used_photos.add(photo_key)
            else:
                unmatched_sketches.append(f"{category}/{path.stem}")
        unmatched_photos = [_label(key) for key in sorted(photos) if key not in used_photos]
    if limit is not None:
        pairs = pairs[:limit]

    sketch_rows, photo_rows, categories, names, unreadable = [], [], [], [], []
    for (category, stem), sketch_path, photo_path in pairs:
        try:
            sketch_rgb = paintings.decode_image(sketch_path, image_size, "crop")
            photo = paintings.decode_image(photo_path, image_size, "crop")
        except paintings.UnreadableImage as error:
            unreadable.append((f"{category}/{stem}", str(error)))
            continue
        sketch_rows.append(_inverted_grey(sketch_rgb))
        photo_rows.append(photo)
        categories.append(category)
        names.append(f"{category}/{stem}")
    if not sketch_rows:
        raise ValueError(f"no readable sketch/photo pairs under {root} (layout={layout!r}): "
                         f"{len(unmatched_sketches)} sketches and {len(unmatched_photos)} photos had "
                         "no partner; pairs need the same category folder and file name")
    category_names = sorted(set(categories))
    index = {name: number for number, name in enumerate(category_names)}
    result = SketchPairs(np.stack(sketch_rows), np.stack(photo_rows),
                         np.array([index[c] for c in categories], np.int32), category_names, names,
                         unmatched_sketches, unmatched_photos, dropped, unreadable)
    log(result.report())
    return result


def _label(key: tuple[str, str]) -> str:
    return f"{key[0]}/{key[1]}"


def _sketchy_errors(path: Path) -> set[str]:
    if not path.exists():
        return set()
    return {Path(line.strip()).stem for line in path.read_text().splitlines() if line.strip()}


def _inverted_grey(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 drawing, dark lines on light paper -> (H, W, 1) uint8 with 255 = line."""
    grey = np.rint(rgb.astype(np.float32).mean(axis=-1, keepdims=True))
    return (255 - grey).astype(np.uint8)


def sketch_from_file(path: str | os.PathLike, image_size: int) -> np.ndarray:
    """A user's sketch (any image file, dark lines on light paper) -> (H, W, 1) uint8, 255 = line."""
    from sketchdraw import paintings

    try:
        return _inverted_grey(paintings.decode_image(path, image_size, "crop"))
    except paintings.UnreadableImage as error:
        raise ValueError(f"sketch {path}: {error}") from None


# -- normalisation (the seed's) -----------------------------------------------------------------
def data_statistics(pairs: SketchPairs) -> dict:
    """Per-channel means of sketches and photos in [0, 1] and the scale max(|min|, |max|) of the
    centred values, one per domain (see the module docstring)."""
    statistics = {}
    for key, images in (("sketch", pairs.sketches), ("photo", pairs.photos)):
        values = images.astype(np.float32) / 255.0
        mean = values.reshape(-1, values.shape[-1]).mean(axis=0)
        centred_minimum = float((values.min(axis=(0, 1, 2)) - mean).min())
        centred_maximum = float((values.max(axis=(0, 1, 2)) - mean).max())
        scale = max(abs(centred_minimum), abs(centred_maximum)) or 1.0
        statistics[f"{key}_mean"] = [float(value) for value in mean]
        statistics[f"{key}_scale"] = float(scale)
    statistics["categories"] = list(pairs.categories)
    return statistics


def normalize(images_uint8, mean, scale) -> tf.Tensor:
    return (tf.cast(images_uint8, tf.float32) / 255.0 - tf.constant(mean, tf.float32)) / scale


def denormalize_to_uint8(values, mean, scale) -> np.ndarray:
    unit = np.asarray(values, np.float32) * scale + np.asarray(mean, np.float32)
    return np.clip(np.rint(unit * 255.0), 0, 255).astype(np.uint8)


def pair_dataset(pairs: SketchPairs, statistics: dict, batch_size: int, seed: int,
                 brightness_jitter: float = 0.1, contrast_jitter: float = 0.2) -> tf.data.Dataset:
    """Shuffled batches (sketch, photo, label), normalised, photos colour-jittered per example.

    Shuffles indices and gathers each batch from the uint8 arrays in place, like `pipeline`.
    Jitter (the seed's photo augmentation): contrast factor in [1 - c, 1 + c] around the image's
    mean, then a brightness shift in [-b, b], on [0, 1] values, clipped back to [0, 1].
    """
    count = len(pairs)
    if batch_size > count:
        raise ValueError(f"batch_size {batch_size} is larger than the {count} training pairs; use "
                         f"batch_size <= {count}, more data, or a smaller holdout")
    sketches, photos, labels = pairs.sketches, pairs.photos, pairs.labels
    size = sketches.shape[1]

    def take(indices):
        return sketches[indices], photos[indices], labels[indices]

    def gather(indices):
        sketch, photo, label = tf.numpy_function(take, [indices], (tf.uint8, tf.uint8, tf.int32),
                                                 stateful=False)
        sketch = tf.reshape(sketch, (-1, size, size, 1))
        photo = tf.cast(tf.reshape(photo, (-1, size, size, 3)), tf.float32) / 255.0
        batch = tf.shape(photo)[0]
        contrast = tf.random.uniform([batch, 1, 1, 1], 1 - contrast_jitter, 1 + contrast_jitter)
        brightness = tf.random.uniform([batch, 1, 1, 1], -brightness_jitter, brightness_jitter)
        mean = tf.reduce_mean(photo, axis=[1, 2, 3], keepdims=True)
        photo = tf.clip_by_value((photo - mean) * contrast + mean + brightness, 0.0, 1.0)
        photo = (photo - tf.constant(statistics["photo_mean"], tf.float32)) / statistics["photo_scale"]
        return (normalize(sketch, statistics["sketch_mean"], statistics["sketch_scale"]),
                tf.clip_by_value(photo, -1.0, 1.0), tf.reshape(label, (-1,)))

    dataset = tf.data.Dataset.range(count).shuffle(count, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=True)
    return dataset.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


# =================================================================================================
# Settings and presets.
# =================================================================================================
# Fields a rerun may change without making it a different run.
RESUMABLE_CHANGES = frozenset({"epochs", "checkpoint_every", "runs_dir", "progress", "data_root"})


@dataclass
class Sketch2ImgConfig(Settings):
    experiment: str = "faces_sketch2photo"
    name: str = "faces_sketch2photo"
    # data
    data_root: str | None = None
    layout: str = "simple"
    image_size: int = 64
    limit: int | None = None  # keep the first N pairs (None: all)
    holdout: int = 8  # pairs kept out of training: the epoch grids and the draw examples
    brightness_jitter: float = 0.1
    contrast_jitter: float = 0.2
    # model
    base_filters: int = 64
    noise_dim: int = 64
    # optimisation (the seed's first run: D 2e-4, G 1e-4, batch 16)
    epochs: int = 20
    batch_size: int = 16
    generator_learning_rate: float = 1e-4
    discriminator_learning_rate: float = 2e-4
    generator_beta1: float = 0.5
    discriminator_beta1: float = 0.5
    # loss weights: the seed's best run kept all at 1 except DRAGAN at 10
    gan_weight: float = 1.0
    classification_weight: float = 1.0
    dragan_weight: float = 10.0
    dragan_one_sided: bool = False
    l1_weight: float = 1.0
    perceptual_weight: float = 1.0
    perceptual_network: str = "inception_v3"
    diversity_weight: float = 1.0
    seed: int = 0
    # bookkeeping
    checkpoint_every: int = 5
    grid_samples: int = 3  # generated images per held-out sketch on the closing samples sheet
    runs_dir: str = "runs"
    progress: bool = True

    @classmethod
    def from_dict(cls, values: dict, where: str = "settings", check_weights: bool = True):
        cls.check_names(values, where)
        return cls(**values).validate(check_weights=check_weights)

    def validate(self, check_weights: bool = True) -> Sketch2ImgConfig:
        """Check every field; with `check_weights`, make sure the perceptual network's ImageNet
        weights can be had when perceptual_weight > 0 (raises PerceptualWeightsUnavailable)."""
        hints = typing.get_type_hints(type(self))
        for item in dataclasses.fields(self):
            check_type(item.name, getattr(self, item.name), hints[item.name], "settings")
        for name in ("epochs", "batch_size", "noise_dim", "checkpoint_every", "holdout",
                     "grid_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.base_filters < 2:
            raise ValueError(f"base_filters must be at least 2 (the seed's 64; 4 for a quick test), "
                             f"got {self.base_filters}")
        if self.image_size < 16 or self.image_size % 16:
            raise ValueError(f"image_size must be a multiple of 16 (64 is the seed's), got "
                             f"{self.image_size}")
        if self.limit is not None and self.limit < 2:
            raise ValueError(f"limit must be at least 2 pairs or None, got {self.limit}")
        if self.layout not in LAYOUTS:
            raise ValueError(unknown_name_message("pair layout", self.layout, LAYOUTS))
        for name in ("generator_learning_rate", "discriminator_learning_rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("generator_beta1", "discriminator_beta1"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        for name in ("gan_weight", "classification_weight", "dragan_weight", "l1_weight",
                     "perceptual_weight", "diversity_weight", "brightness_jitter",
                     "contrast_jitter"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (0 switches the term off), got "
                                 f"{getattr(self, name)}")
        if self.contrast_jitter >= 1:
            raise ValueError(f"contrast_jitter must be below 1, got {self.contrast_jitter}")
        PERCEPTUAL_NETWORKS.get(self.perceptual_network)
        check_run_name(self.name)
        if check_weights and self.perceptual_weight > 0:
            perceptual_weights_path(self.perceptual_network)
        return self


PRESETS: Registry[Sketch2ImgConfig] = Registry("sketch2img experiment")
# The project's shared data sit beside the repository (as in tests/conftest.py), unless
# SKETCHDRAW_SHARED_DATA says otherwise; a user with their own pairs sets data_root.
_REPO_ROOT = Path(__file__).resolve().parents[1]


def register(config: Sketch2ImgConfig) -> Sketch2ImgConfig:
    PRESETS.register(config.experiment)(config)
    return config


# CUFS faces: 188 aligned face sketch/photo pairs, one category (so classification is moot), 64x64.
register(Sketch2ImgConfig(
    experiment="faces_sketch2photo", name="faces_sketch2photo",
    data_root=str(Path(os.environ.get("SKETCHDRAW_SHARED_DATA", _REPO_ROOT.parent / "shared" / "data"))
                  / "sketchy" / "cufs_faces"),
    layout="simple", holdout=8, base_filters=32, noise_dim=64, epochs=20, batch_size=16,
    # The seed's weight is 1, but this machine cannot download ImageNet weights (no network), so the
    # preset trains without the perceptual term. Set perceptual_weight=1.0 where the weights of
    # perceptual_network are cached in ~/.keras/models or can be downloaded.
    perceptual_weight=0.0,
    # One category: the auxiliary classification loss is 0 by construction; kept at the seed's 1.
    classification_weight=1.0))


def preset(name: str) -> Sketch2ImgConfig:
    return dataclasses.replace(PRESETS.get(name))


def resolve(experiment: str = "faces_sketch2photo", **overrides) -> Sketch2ImgConfig:
    """The preset with every override that is not None applied, validated."""
    config = preset(experiment)
    return dataclasses.replace(config, **given_overrides(Sketch2ImgConfig, overrides)).validate()


# =================================================================================================
# The train step.
# =================================================================================================
DISCRIMINATOR_TERMS = ("discriminator_", "dragan_")


@dataclass(frozen=True)
class LossWeights:
    gan: float = 1.0
    classification: float = 1.0
    dragan: float = 10.0
    dragan_one_sided: bool = False
    l1: float = 1.0
    perceptual: float = 0.0
    diversity: float = 1.0

    @classmethod
    def from_config(cls, config: Sketch2ImgConfig) -> LossWeights:
        return cls(config.gan_weight, config.classification_weight, config.dragan_weight,
                   config.dragan_one_sided, config.l1_weight, config.perceptual_weight,
                   config.diversity_weight)


def make_sketch_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer,
                           weights: LossWeights, noise_dim: int, global_batch_size: int,
                           perceptual: PerceptualLoss | None = None,
                           strategy: tf.distribute.Strategy | None = None,
                           run_eagerly: bool = False) -> Callable:
    """A compiled step on a batch (sketch, photo, label): one discriminator and one generator update.

    Discriminator: GAN + classification on real photos + DRAGAN penalty on perturbed real photos.
    Generator: GAN + classification of its images + L1 + perceptual (when `perceptual` is given
    and its weight > 0) + diversity between two noise vectors (when its weight > 0; costs a second
    generator pass). Returns scalars summed over replicas: the totals `generator_loss` and
    `discriminator_loss`, each weighted term, and the discriminator's mean probabilities and
    accuracy on real/generated photos before the update (the names `training.run_epoch` and the
    loss plot know).

    `run_eagerly=True` skips `tf.function` (like Keras' `run_eagerly`): for debugging, and for
    tests on tiny networks, where building the graph (DRAGAN's gradient of a gradient) takes far
    longer than the few steps themselves.
    """
    strategy = strategy or tf.distribute.get_strategy()
    if weights.perceptual > 0 and perceptual is None:
        raise ValueError("perceptual weight > 0 needs a PerceptualLoss (or set the weight to 0)")
    scale = 1.0 / float(global_batch_size)

    def average(per_example):
        return tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)

    def replica_step(sketch, photo, label):
        batch = tf.shape(sketch)[0]
        first_noise = tf.random.normal([batch, noise_dim])
        with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
            generated = generator([sketch, first_noise, label], training=True)
            real_logits, real_classes = discriminator([sketch, photo], training=True)
            fake_logits, fake_classes = discriminator([sketch, generated], training=True)

            def critic(images):
                return discriminator([sketch, images], training=True)[0]

            terms = {
                "discriminator_gan_loss": average(gan_discriminator_loss(
                    real_logits, fake_logits, weights.gan)),
                "discriminator_classification_loss": average(classification_loss(
                    label, real_classes, weights.classification)),
                "generator_gan_loss": average(gan_generator_loss(fake_logits, weights.gan)),
                "generator_classification_loss": average(classification_loss(
                    label, fake_classes, weights.classification)),
                "l1_loss": average(l1_loss(generated, photo, weights.l1)),
            }
            # A term whose weight is 0 is left out of the graph (DRAGAN's second-order gradient
            # and the diversity's second generator pass are the expensive ones).
            if weights.dragan > 0:
                terms["dragan_penalty"] = average(dragan_penalty(
                    critic, photo, weights.dragan, one_sided=weights.dragan_one_sided))
            if perceptual is not None and weights.perceptual > 0:
                terms["perceptual_loss"] = average(perceptual(generated, photo))
            if weights.diversity > 0:
                second_noise = tf.random.normal([batch, noise_dim])
                second = generator([sketch, second_noise, label], training=True)
                terms["diversity_loss"] = average(diversity_loss(
                    generated, second, first_noise, second_noise, weights.diversity))
            discriminator_loss = tf.add_n([value for key, value in terms.items()
                                           if key.startswith(DISCRIMINATOR_TERMS)])
            generator_loss = tf.add_n([value for key, value in terms.items()
                                       if not key.startswith(DISCRIMINATOR_TERMS)])

        generator_gradients = generator_tape.gradient(generator_loss,
                                                      generator.trainable_variables)
        discriminator_gradients = discriminator_tape.gradient(
            discriminator_loss, discriminator.trainable_variables)
        generator_optimizer.apply_gradients(zip(generator_gradients, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(
            zip(discriminator_gradients, discriminator.trainable_variables))

        return {"generator_loss": generator_loss, "discriminator_loss": discriminator_loss,
                **training.discriminator_statistics(real_logits, fake_logits, scale), **terms}

    def train_step(batch):
        per_replica = strategy.run(replica_step, args=batch)
        return {key: strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
                for key, value in per_replica.items()}

    return train_step if run_eagerly else tf.function(train_step)


# =================================================================================================
# The run.
# =================================================================================================
@dataclass
class Sketch2ImgResult:
    run: RunFolder
    generator: object
    discriminator: object
    epochs_trained: int
    held_out_sketches: list[Path]


EpochCallback = Callable[[int, RunFolder, dict], None]


def load_pairs_for(config: Sketch2ImgConfig, log=None) -> SketchPairs:
    if not config.data_root:
        raise ValueError("data_root is not set: give the folder of sketch/photo pairs "
                         "(e.g. data_root='../shared/data/sketchy/cufs_faces')")
    return load_sketch_pairs(config.data_root, config.layout, config.image_size, config.limit,
                             log=log)


def split_pairs(pairs: SketchPairs, holdout: int, seed: int) -> tuple[SketchPairs, SketchPairs]:
    """(training pairs, held-out pairs): `holdout` pairs picked by `seed`, kept out of training."""
    if holdout >= len(pairs):
        raise ValueError(f"holdout {holdout} leaves no training pairs out of {len(pairs)}; use "
                         f"holdout < {len(pairs)}")
    held = np.sort(np.random.default_rng(seed).choice(len(pairs), size=holdout, replace=False))
    rest = np.setdiff1d(np.arange(len(pairs)), held)
    return pairs.subset(rest), pairs.subset(held)


def _prepare_run_folder(run: RunFolder, config: Sketch2ImgConfig) -> None:
    training.prepare_run_folder(run, config, RESUMABLE_CHANGES)


def _sketch_as_rgb(sketches_uint8: np.ndarray) -> np.ndarray:
    """White-on-black model sketches -> black-on-white RGB, as people draw them."""
    return np.repeat(255 - sketches_uint8, 3, axis=-1)


def comparison_grid(sketches_uint8, generated_uint8, photos_uint8) -> np.ndarray:
    """Rows of (sketch, generated, true photo) as one image stack for `grid_image(columns=3)`."""
    triples = np.stack([_sketch_as_rgb(sketches_uint8), generated_uint8, photos_uint8], axis=1)
    return triples.reshape(-1, *triples.shape[2:])


def pair_grid(pairs: SketchPairs, count: int = 8) -> np.ndarray:
    """The first `count` pairs as an image stack sketch (black on white), photo, sketch, photo, ..."""
    shown = pairs.subset(np.arange(min(count, len(pairs))))
    stacked = np.stack([_sketch_as_rgb(shown.sketches), shown.photos], axis=1)
    return stacked.reshape(-1, *stacked.shape[2:])


def train_sketch2img(config: Sketch2ImgConfig, pairs: SketchPairs | None = None,
                     callbacks: Iterable[EpochCallback] = (), log=None,
                     run_eagerly: bool = False) -> Sketch2ImgResult:
    """Train (or resume) the Sketch2Img run described by `config`; leave a complete run folder.

    Besides the usual run folder (`artifacts`): `data_statistics.json` (the normalisation, for
    `draw`), `held_out/<name>.png` (the held-out sketches, black on white, ready for `draw`), epoch
    grids of rows sketch | generated | true photo for the held-out pairs from fixed noise, and
    `samples.png` (several noise vectors per held-out sketch). `pairs` replaces loading from
    `config.data_root`. Callbacks get (epoch, run folder, history row) after every epoch.
    `run_eagerly` is passed to `make_sketch_train_step` (debugging, tiny tests).
    """
    from sketchdraw import plots, training
    from sketchdraw.models.sketch2img import sketch_discriminator, sketch_generator

    config.validate()
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    run = RunFolder(config.run_dir)
    with run.lock():
        _prepare_run_folder(run, config)
        pairs = load_pairs_for(config, log) if pairs is None else pairs
        train_pairs, held_out = split_pairs(pairs, config.holdout, config.seed)
        statistics_path = run.root / DATA_STATISTICS_FILE
        if statistics_path.exists():  # a resumed run keeps the normalisation it started with
            statistics = json.loads(statistics_path.read_text())
        else:
            statistics = data_statistics(train_pairs)
            atomic_write_text(statistics_path, json.dumps(statistics, indent=2) + "\n")
        held_out_files = _save_held_out_sketches(run, held_out)

        training.keras_seed(config.seed)
        num_classes = len(statistics["categories"])
        generator = sketch_generator(config.image_size, config.base_filters, num_classes,
                                     config.noise_dim)
        discriminator = sketch_discriminator(config.image_size, num_classes, config.base_filters)
        generator_optimizer = training.adam(config.generator_learning_rate, config.generator_beta1,
                                            generator)
        discriminator_optimizer = training.adam(config.discriminator_learning_rate,
                                                config.discriminator_beta1, discriminator)
        perceptual = None
        if config.perceptual_weight > 0:
            perceptual = PerceptualLoss(config.perceptual_network, statistics["photo_mean"],
                                        statistics["photo_scale"], config.perceptual_weight)
        fixed_noise = tf.Variable(
            tf.random.stateless_normal([len(held_out), config.noise_dim], seed=[config.seed, 1]),
            trainable=False, name="fixed_noise")
        checkpoint = tf.train.Checkpoint(
            generator=generator, discriminator=discriminator,
            generator_optimizer=generator_optimizer, discriminator_optimizer=discriminator_optimizer,
            fixed_noise=fixed_noise)
        loop = training.ResumableLoop(run, checkpoint, config.checkpoint_every, log=log)

        if not run.reals_path.exists():
            run.save_grid(pair_grid(train_pairs, 16), run.reals_path, columns=8, scale=2)

        held_sketches = normalize(held_out.sketches, statistics["sketch_mean"],
                                  statistics["sketch_scale"])
        held_labels = tf.constant(held_out.labels)
        dataset = pair_dataset(train_pairs, statistics, config.batch_size, config.seed,
                               config.brightness_jitter, config.contrast_jitter)
        step = make_sketch_train_step(generator, discriminator, generator_optimizer,
                                      discriminator_optimizer, LossWeights.from_config(config),
                                      config.noise_dim, config.batch_size, perceptual,
                                      run_eagerly=run_eagerly)
        steps_per_epoch = len(train_pairs) // config.batch_size

        def held_out_grid(epoch: int) -> None:
            generated = generator([held_sketches, fixed_noise, held_labels], training=False)
            images = denormalize_to_uint8(generated.numpy(), statistics["photo_mean"],
                                          statistics["photo_scale"])
            grid = comparison_grid(held_out.sketches, images, held_out.photos)
            run.save_grid(grid, run.epoch_image_path(epoch), columns=3, scale=2)

        with loop.interruptible():
            for epoch in loop.epochs(config.epochs):
                row = training.run_epoch(step, dataset, steps_per_epoch, config.batch_size,
                                         description=f"epoch {epoch}/{config.epochs}",
                                         progress=config.progress)
                held_out_grid(epoch)
                loop.finish_epoch(epoch, row, config.epochs, callbacks)

        run.save_gif()
        plots.save_history_plots(run)
        training.save_generator(generator, run.generator_path)
        _samples_sheet(run, generator, held_out, statistics, config)
        training.publish_pages(run)
    return Sketch2ImgResult(run, generator, discriminator, loop.trained_epochs, held_out_files)


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
    rows = np.concatenate([_sketch_as_rgb(held_out.sketches)[:, None], generated,
                           held_out.photos[:, None]], axis=1)
    run.save_grid(rows.reshape(-1, *rows.shape[2:]), run.samples_path, columns=samples + 2, scale=2)


# =================================================================================================
# Using a trained generator.
# =================================================================================================
def draw(run_dir: str | os.PathLike, sketch_png: str | os.PathLike | Sequence[str | os.PathLike],
         samples: int = 6, seed: int = 0, category: str | None = None,
         output_dir: str | os.PathLike | None = None) -> Path:
    """Turn sketches (image files, dark lines on light paper) into `samples` images each.

    Writes one sheet, a row per sketch: the sketch as the model saw it, then the images from
    `samples` noise vectors (seeded by `seed`). The sheet goes to `<run>/drawings/` (or
    `output_dir`) as `<first sketch's name>_NNN.png` with the next free number: an earlier sheet
    is never overwritten. Returns the sheet's path.
    """
    import keras

    from sketchdraw.models import sketch2img as _networks  # noqa: F401  (registers the layers)

    run = RunFolder(run_dir)
    paths = [sketch_png] if isinstance(sketch_png, (str, os.PathLike)) else list(sketch_png)
    if not paths:
        raise ValueError("draw needs at least one sketch file")
    if not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a positive integer, got {samples!r}")
    if not run.generator_path.exists():
        raise ValueError(f"{run.generator_path} does not exist: train the run first "
                         "(make run EXPERIMENT=faces_sketch2photo) or check RUN=")
    statistics_path = run.root / DATA_STATISTICS_FILE
    if not statistics_path.exists():
        raise ValueError(f"{statistics_path} is missing: {run.root} is not a sketch2img run")
    statistics = json.loads(statistics_path.read_text())
    categories = statistics["categories"]
    if category is None:
        label = 0
    elif category in categories:
        label = categories.index(category)
    else:
        raise ValueError(unknown_name_message("category", category, categories))
    generator = keras.models.load_model(run.generator_path, compile=False)
    image_size = int(generator.inputs[0].shape[1])
    noise_dim = int(generator.inputs[1].shape[1])
    for path in paths:
        if not Path(path).is_file():
            raise ValueError(f"sketch file {path} does not exist")
    sketches = np.stack([sketch_from_file(path, image_size) for path in paths])
    repeated = normalize(np.repeat(sketches, samples, axis=0), statistics["sketch_mean"],
                         statistics["sketch_scale"])
    noise = tf.random.stateless_normal([len(paths) * samples, noise_dim], seed=[seed, 3])
    labels = tf.fill([len(paths) * samples], label)
    generated = denormalize_to_uint8(generator([repeated, noise, labels], training=False).numpy(),
                                     statistics["photo_mean"], statistics["photo_scale"])
    generated = generated.reshape(len(paths), samples, *generated.shape[1:])
    rows = np.concatenate([_sketch_as_rgb(sketches)[:, None], generated], axis=1)
    sheet = artifacts.grid_image(rows.reshape(-1, *rows.shape[2:]), columns=samples + 1, scale=2)
    folder = Path(output_dir) if output_dir is not None else run.root / DRAWINGS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(paths[0]).stem) or "sketch"
    target = _next_free(folder, stem)
    artifacts.save_png(sheet, target)
    return target


def _next_free(folder: Path, stem: str) -> Path:
    """`<stem>_NNN.png` with the first number not taken; the name is claimed with O_EXCL so two
    processes drawing at once never pick the same one (the atomic write then replaces the empty
    placeholder)."""
    number = 1
    while True:
        candidate = folder / f"{stem}_{number:03d}.png"
        try:
            os.close(os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            return candidate
        except FileExistsError:
            number += 1
