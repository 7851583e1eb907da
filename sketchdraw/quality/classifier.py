"""The Quick, Draw! domain classifier: a small Keras CNN whose penultimate layer is the feature space
in which `sketchdraw.quality.metrics` measures drawings (FID, KID, GD, memorisation) and whose predictions
give the characteristic score (CS) and semantic diversity score (SDS).

It is trained by the project on the categories the user has (28x28 uint8 bitmaps, 0 = background,
255 = ink), with the last drawings of each category held out (`split_held_out`); the held-out
accuracy, overall and per category, is saved beside the weights in `<cache>/classifier/<key>/` so
that a metric number can always be read next to "how good is the judge". The held-out indices are
saved too: they are the "real held-out drawings" whose scores form the reference row of every
evaluation.

The recipe (version 2) was chosen to be hard to fool: augmentation (flips, small rotations, zooms
and shifts, so that a drawing's placement on the page is not a feature), class-balanced batches
(the shared files hold 446 to 4,500 drawings per category), dropout in every block, AdamW with a
cosine decay over 30 epochs, and predictions averaged over each drawing and its mirror image.
Measured over the shared 35 categories (the first 5,000 of each file, the last 450 held out):
see `docs/small-data.md`, "The judge".

What it is not: a downloader (callers pass arrays, e.g. from `quickdraw.load_bitmaps`), a metric
(see `metrics.py`), or an ImageNet network (see `metrics.inception_kid` for paintings). The
painting judge (`painting_judge.py`) is built on the same training and inference code (`fit_classifier`,
`TrainedClassifier`, `features_and_probabilities`) with its own network, data and split.

    trained = train_classifier({"rabbit": rabbits, "cat": cats}, epochs=3)
    folder = trained.save()                     # ~/.cache/sketchdraw/classifier/<key>/
    trained = TrainedClassifier.load(folder)
    rabbit_features = features(trained, rabbits)
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from sketchdraw.atomicfiles import atomic_write_bytes, atomic_write_text
from sketchdraw.sampling import load_model_file

IMAGE_SHAPE = (28, 28, 1)
PIXELS = 28 * 28
FEATURES_LAYER = "features"
# Bump when the architecture or the training recipe changes, so old cache folders are not reused.
CLASSIFIER_VERSION = 2
# Drawings of each category kept out of training: the last ones, up to half the category.
HELD_OUT_PER_CATEGORY = 450
DEFAULT_EPOCHS = 30
DEFAULT_BATCH_SIZE = 128
DEFAULT_LEARNING_RATE = 2e-3
DEFAULT_WEIGHT_DECAY = 1e-4
MODEL_FILE = "model.keras"
INFO_FILE = "info.json"
HELD_OUT_FILE = "held_out.npz"


# ----------------------------------------------------------------------------------------------
# Where things are saved


def default_cache_dir() -> Path:
    """`$SKETCHDRAW_CACHE`, or `~/.cache/sketchdraw`."""
    configured = os.environ.get("SKETCHDRAW_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "sketchdraw"


def classifier_key(arrays_by_category: Mapping[str, np.ndarray], held_out: int,
                   epochs: int, batch_size: int, seed: int, learning_rate: float = DEFAULT_LEARNING_RATE,
                   feature_units: int = 256, weight_decay: float = DEFAULT_WEIGHT_DECAY) -> str:
    """A folder name that changes whenever the data or the training settings change.

    The drawings themselves are hashed (blake2b is fast: ~1 s for all 35 shared categories), so a
    classifier trained on the first 1,000 rabbits is never mistaken for one trained on 5,000.
    """
    return arrays_key(arrays_by_category, [CLASSIFIER_VERSION, held_out, epochs, batch_size, seed,
                                           learning_rate, feature_units, weight_decay])


def arrays_key(arrays_by_category: Mapping[str, np.ndarray], settings: list) -> str:
    """The folder name "<K>-categories-<hash>": a hash of the JSON `settings` list and of every
    category's name and array."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(json.dumps(settings).encode())
    for category in sorted(arrays_by_category):
        array = np.ascontiguousarray(arrays_by_category[category])
        digest.update(category.encode() + b"\0" + str(array.shape).encode())
        digest.update(array.data)
    return f"{len(arrays_by_category)}-categories-{digest.hexdigest()}"


# ----------------------------------------------------------------------------------------------
# Input checks and scaling


def _as_uint8_bitmaps(array: np.ndarray, name: str) -> np.ndarray:
    """(N, 784) uint8 from (N, 784), (N, 28, 28) or (N, 28, 28, 1) uint8."""
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"{name}: expected uint8 Quick, Draw! bitmaps, got dtype {array.dtype}")
    if array.ndim < 2 or array.size != len(array) * PIXELS:
        raise ValueError(f"{name}: expected shape (N, 784) or (N, 28, 28[, 1]), got {array.shape}")
    return array.reshape(len(array), PIXELS)


def to_model_input(images: np.ndarray, image_shape: tuple[int, ...] = IMAGE_SHAPE) -> np.ndarray:
    """float32 (N, *image_shape) in [-1, 1] from uint8 images, or from floats already in [-1, 1];
    by default Quick, Draw! bitmaps, (N, 28, 28, 1) from (N, 784) or (N, 28, 28[, 1]).

    Generated drawings can be passed straight from a generator (tanh output, [-1, 1]) or as the
    uint8 files saved from it; anything else is refused, because a [0, 1] or [0, 255] float array
    would be silently misread as mostly-ink images.
    """
    images = np.asarray(images)
    image_shape = tuple(image_shape)
    if images.ndim < 2 or images.size != len(images) * int(np.prod(image_shape)):
        expected = ("(N, 784) or (N, 28, 28[, 1])" if image_shape == IMAGE_SHAPE
                    else f"(N, {', '.join(str(size) for size in image_shape)})")
        raise ValueError(f"expected images of shape {expected}, got {images.shape}")
    if images.dtype == np.uint8:
        return images.reshape((-1, *image_shape)).astype(np.float32) / 127.5 - 1.0
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"expected uint8 images or floats in [-1, 1], got dtype {images.dtype}")
    if images.size and (images.min() < -1.001 or images.max() > 1.001):
        raise ValueError(
            f"float images must lie in [-1, 1] (the generator's tanh range); got "
            f"[{images.min():.3g}, {images.max():.3g}]. Pass uint8 images (0..255) instead.")
    return images.reshape((-1, *image_shape)).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# The held-out split


def split_held_out(count: int, category: str,
                   held_out: int = HELD_OUT_PER_CATEGORY) -> tuple[np.ndarray, np.ndarray]:
    """(training indices, held-out indices) into a category's array of `count` drawings: the last
    min(`held_out`, count // 2) rows are held out, the rest trained on.

    The last rows, not a random share, because a GAN run trains on a category's *first* `limit`
    drawings and a partial download fetches the first N: the held-out rows and every row after the
    first N then form one block that neither network saw, the evaluation's real reference row.
    """
    if isinstance(held_out, bool) or not isinstance(held_out, int) or held_out < 1:
        raise ValueError(f"held_out must be a whole number of drawings >= 1, got {held_out!r}")
    if count < 2:
        raise ValueError(f"category {category!r} has {count} drawings; at least 2 are needed "
                         "(one to train on, one to hold out)")
    held_out_count = max(1, min(held_out, count // 2))
    return np.arange(count - held_out_count), np.arange(count - held_out_count, count)


# ----------------------------------------------------------------------------------------------
# The model


def build_classifier(category_count: int, feature_units: int = 256, augment: bool = True) -> keras.Model:
    """Three convolution blocks (32, 64, 128 filters, two convolutions each) with batch norm and
    dropout, global average pooling, a `features` dense layer, and one logit per category.

    `augment`: random flips, rotations (±0.04 turn), zooms (±12%) and shifts (±10%) on a blank
    page, active only while training (Keras's preprocessing layers pass inference through)."""
    if category_count < 2:
        raise ValueError(f"a classifier needs at least 2 categories, got {category_count}")
    inputs = keras.Input(shape=IMAGE_SHAPE, name="drawing")
    x = inputs
    if augment:
        # fill_value -1 is the blank page in the [-1, 1] input scale.
        x = layers.RandomFlip("horizontal")(x)
        x = layers.RandomRotation(0.04, fill_mode="constant", fill_value=-1.0)(x)
        x = layers.RandomZoom(0.12, fill_mode="constant", fill_value=-1.0)(x)
        x = layers.RandomTranslation(0.1, 0.1, fill_mode="constant", fill_value=-1.0)(x)
    for filters in (32, 64, 128):
        # No bias before batch norm: its shift makes the bias redundant.
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.ReLU()(x)
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)  # 28 -> 14 -> 7 -> 3
        x = layers.Dropout(0.1)(x)
    x = layers.GlobalAveragePooling2D()(x)
    features_output = layers.Dense(feature_units, activation="relu", name=FEATURES_LAYER)(x)
    x = layers.Dropout(0.4)(features_output)
    logits = layers.Dense(category_count, name="logits")(x)
    return keras.Model(inputs, logits, name="quickdraw_classifier")


class _EpochProgress(keras.callbacks.Callback):
    """One tqdm bar per epoch showing loss and accuracy (Keras's own bar is noisy in notebooks)."""

    def __init__(self, steps_per_epoch: int, epochs: int, name: str = "classifier"):
        super().__init__()
        self.steps_per_epoch = steps_per_epoch
        self.epochs = epochs
        self.name = name
        self.bar = None

    def on_epoch_begin(self, epoch, logs=None):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.steps_per_epoch, desc=f"{self.name} epoch {epoch + 1}/{self.epochs}",
                        unit="batch", leave=True)

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(1)
        if logs:
            self.bar.set_postfix(loss=f"{float(logs.get('loss', 0)):.3f}",
                                 accuracy=f"{float(logs.get('accuracy', 0)):.3f}", refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        self.bar.close()


def balanced_order(labels: np.ndarray, epochs: int, seed: int, batch_size: int = 1) -> np.ndarray:
    """Row indices for `epochs` epochs of ceil(len(labels) / batch_size) whole batches each, every
    category drawn equally often (rows sampled with probability 1 / their category's count), so
    that a category with 446 drawings is learned as well as one with 4,500."""
    counts = np.bincount(labels)
    weights = 1.0 / counts[labels]
    size = epochs * -(-len(labels) // batch_size) * batch_size
    return np.random.default_rng(seed).choice(len(labels), size=size, p=weights / weights.sum())


def _training_dataset(images: np.ndarray, labels: np.ndarray, order: np.ndarray,
                      batch_size: int, image_shape: tuple[int, ...] = IMAGE_SHAPE) -> tf.data.Dataset:
    """Batches of rows in `order`, gathered and scaled to [-1, 1] per batch: never a float copy of everything."""
    images = tf.constant(images)
    labels = tf.constant(labels)

    def gather_batch(indices):
        batch = tf.cast(tf.gather(images, indices), tf.float32) / 127.5 - 1.0
        return tf.reshape(batch, (-1, *image_shape)), tf.gather(labels, indices)

    return (tf.data.Dataset.from_tensor_slices(order)
            .batch(batch_size)
            .map(gather_batch, num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE))


# ----------------------------------------------------------------------------------------------
# A trained classifier and its cache folder


@dataclass
class TrainedClassifier:
    """The model, its categories, and how well it does on drawings it never saw."""

    # What `info()` records as the recipe's version, and the cache folder `save` writes under:
    # the painting judge, a subclass, has its own of both.
    VERSION: ClassVar[int] = CLASSIFIER_VERSION
    CACHE_FOLDER: ClassVar[str] = "classifier"

    model: keras.Model
    categories: list[str]
    held_out_indices: dict[str, np.ndarray]  # rows of each category's array kept out of training
    held_out_accuracy: float
    per_category_accuracy: dict[str, float]
    counts: dict[str, dict[str, int]]  # category -> {"train": n, "held_out": m}
    epochs: int
    seed: int
    key: str = ""
    created: str = field(default_factory=lambda: datetime.datetime.now().isoformat(timespec="seconds"))

    def category_index(self, category: str) -> int:
        if category not in self.categories:
            from sketchdraw.registry import unknown_name_message

            raise ValueError(unknown_name_message("classifier category", category, self.categories)
                             + " Train the classifier with that category first.")
        return self.categories.index(category)

    def info(self) -> dict:
        return {
            "classifier_version": type(self).VERSION,
            "key": self.key,
            "categories": self.categories,
            "counts": self.counts,
            "held_out_accuracy": self.held_out_accuracy,
            "per_category_accuracy": self.per_category_accuracy,
            "epochs": self.epochs,
            "seed": self.seed,
            "created": self.created,
            "feature_units": int(self.model.get_layer(FEATURES_LAYER).units),
        }

    def save(self, cache_dir: str | os.PathLike | None = None) -> Path:
        """Write `model.keras`, `held_out.npz`, then `info.json` (last: its presence marks a
        complete folder) to `<cache>/classifier/<key>/` (CACHE_FOLDER); returns that folder."""
        folder = Path(cache_dir or default_cache_dir()) / type(self).CACHE_FOLDER / (self.key or "unnamed")
        folder.mkdir(parents=True, exist_ok=True)
        # Keras wants a path ending in .keras; save beside the target, then write the bytes atomically.
        with tempfile.TemporaryDirectory(dir=folder, prefix=".saving-") as scratch:
            scratch_model = Path(scratch) / MODEL_FILE
            self.model.save(scratch_model)
            atomic_write_bytes(folder / MODEL_FILE, scratch_model.read_bytes())
        # Held-out indices keyed by position, not name: category names may hold spaces.
        buffer = io.BytesIO()
        np.savez(buffer, **{f"category_{position:04d}": self.held_out_indices[category]
                            for position, category in enumerate(self.categories)})
        atomic_write_bytes(folder / HELD_OUT_FILE, buffer.getvalue())
        atomic_write_text(folder / INFO_FILE, json.dumps(self.info(), indent=2) + "\n")
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike) -> TrainedClassifier:
        """Read a folder written by `save` (the model with Keras `safe_mode=True`)."""
        folder = Path(folder)
        if not (folder / INFO_FILE).is_file():
            raise FileNotFoundError(f"{folder} holds no complete classifier ({INFO_FILE} is missing); "
                                    "train one with train_classifier(...) and save() it")
        info = json.loads((folder / INFO_FILE).read_text())
        model = load_model_file(folder / MODEL_FILE)
        with np.load(folder / HELD_OUT_FILE, allow_pickle=False) as saved:
            held_out = {category: saved[f"category_{position:04d}"]
                        for position, category in enumerate(info["categories"])}
        return cls(model=model, categories=list(info["categories"]), held_out_indices=held_out,
                   held_out_accuracy=float(info["held_out_accuracy"]),
                   per_category_accuracy={k: float(v) for k, v in info["per_category_accuracy"].items()},
                   counts=info["counts"], epochs=int(info["epochs"]), seed=int(info["seed"]),
                   key=info.get("key", folder.name), created=info.get("created", ""))


def collect_arrays(categories, load_bitmaps: Callable[..., np.ndarray],
                   limit: int | None = None) -> dict[str, np.ndarray]:
    """{category: load_bitmaps(category, limit=limit)}: the training input from any loader with
    `quickdraw.load_bitmaps`'s signature (kept a parameter so this module needs no downloader)."""
    return {category: load_bitmaps(category, limit=limit) for category in categories}


def train_classifier(arrays_by_category: Mapping[str, np.ndarray], held_out: int = HELD_OUT_PER_CATEGORY,
                     epochs: int = DEFAULT_EPOCHS, batch_size: int = DEFAULT_BATCH_SIZE, seed: int = 0,
                     progress: bool = True, learning_rate: float = DEFAULT_LEARNING_RATE,
                     feature_units: int = 256, weight_decay: float = DEFAULT_WEIGHT_DECAY) -> TrainedClassifier:
    """Train the domain classifier on {category: uint8 (N, 784) drawings} and measure it.

    Each category keeps its last `held_out` drawings (at most half) out of training
    (`split_held_out`); the returned accuracies are measured on those. Sets Keras's global random
    seed to `seed`, so the same data and settings give the same classifier (on the same machine
    and TF version).
    """
    if len(arrays_by_category) < 2:
        raise ValueError(f"need at least 2 categories to train a classifier, got {len(arrays_by_category)}")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive, got {epochs} and {batch_size}")
    categories = list(arrays_by_category)
    arrays = {category: _as_uint8_bitmaps(arrays_by_category[category], f"category {category!r}")
              for category in categories}

    train_images, train_labels, held_out_indices, counts = [], [], {}, {}
    for label, category in enumerate(categories):
        train_rows, held_out_rows = split_held_out(len(arrays[category]), category, held_out)
        train_images.append(arrays[category][train_rows])
        train_labels.append(np.full(len(train_rows), label, dtype=np.int32))
        held_out_indices[category] = held_out_rows
        counts[category] = {"train": int(len(train_rows)), "held_out": int(len(held_out_rows))}
    train_images = np.concatenate(train_images)
    train_labels = np.concatenate(train_labels)

    keras.utils.set_random_seed(seed)
    model = build_classifier(len(categories), feature_units)
    fit_classifier(model, train_images, train_labels, epochs, batch_size, seed, learning_rate,
                   weight_decay, progress)
    held_out_accuracy, per_category_accuracy = held_out_accuracies(model, arrays, held_out_indices)

    return TrainedClassifier(
        model=model, categories=categories, held_out_indices=held_out_indices,
        held_out_accuracy=held_out_accuracy, per_category_accuracy=per_category_accuracy,
        counts=counts, epochs=epochs, seed=seed,
        key=classifier_key(arrays, held_out, epochs, batch_size, seed, learning_rate, feature_units,
                           weight_decay))


def fit_classifier(model: keras.Model, train_images: np.ndarray, train_labels: np.ndarray, epochs: int,
                   batch_size: int, seed: int, learning_rate: float = DEFAULT_LEARNING_RATE,
                   weight_decay: float = DEFAULT_WEIGHT_DECAY, progress: bool = True,
                   steps_per_epoch: int | None = None, name: str = "classifier") -> None:
    """Train `model` (logits) on uint8 `train_images` with int `train_labels`: class-balanced
    batches (`balanced_order`), AdamW with a cosine decay to 0, one tqdm bar per epoch.
    `steps_per_epoch` None: one pass's worth of batches (ceil(N / batch_size))."""
    if steps_per_epoch is None:
        steps_per_epoch = -(-len(train_labels) // batch_size)
    # Decaying to zero makes the last epochs settle instead of ending on a noisy step: with few
    # epochs, a constant rate left per-category accuracy swinging by 30 points between seeds.
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=epochs * steps_per_epoch)
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=weight_decay),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    # balanced_order's epochs are of ceil(N / batch_size) batches; ask for enough of them.
    order_epochs = -(-epochs * steps_per_epoch // -(-len(train_labels) // batch_size))
    order = balanced_order(train_labels, order_epochs, seed, batch_size)
    dataset = _training_dataset(train_images, train_labels, order, batch_size, tuple(model.input_shape[1:]))
    callbacks = [_EpochProgress(steps_per_epoch, epochs, name)] if progress else []
    model.fit(dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=0, callbacks=callbacks,
              shuffle=False)


def held_out_accuracies(model, arrays: Mapping[str, np.ndarray],
                        held_out_indices: Mapping[str, np.ndarray]) -> tuple[float, dict[str, float]]:
    """(accuracy over every held-out item, {category: accuracy on its held-out items}); the
    categories are `arrays`' keys in order, label i being the i-th."""
    per_category_accuracy = {}
    correct = total = 0
    for label, category in enumerate(arrays):
        predicted = predict_categories(model, arrays[category][held_out_indices[category]])
        hits = int(np.sum(predicted == label))
        per_category_accuracy[category] = hits / len(predicted)
        correct += hits
        total += len(predicted)
    return correct / total, per_category_accuracy


def load_or_train(arrays_by_category: Mapping[str, np.ndarray], cache_dir: str | os.PathLike | None = None,
                  held_out: int = HELD_OUT_PER_CATEGORY, epochs: int = DEFAULT_EPOCHS,
                  batch_size: int = DEFAULT_BATCH_SIZE, seed: int = 0, progress: bool = True,
                  learning_rate: float = DEFAULT_LEARNING_RATE, feature_units: int = 256,
                  weight_decay: float = DEFAULT_WEIGHT_DECAY) -> TrainedClassifier:
    """The cached classifier for exactly this data and these settings, trained and saved if missing."""
    arrays = {category: _as_uint8_bitmaps(array, f"category {category!r}")
              for category, array in arrays_by_category.items()}
    key = classifier_key(arrays, held_out, epochs, batch_size, seed, learning_rate, feature_units, weight_decay)
    folder = Path(cache_dir or default_cache_dir()) / "classifier" / key
    if (folder / INFO_FILE).is_file():
        return TrainedClassifier.load(folder)
    if progress:
        total = sum(len(array) for array in arrays.values())
        print(f"training the domain classifier on {len(arrays)} categories ({total:,} drawings, "
              f"{epochs} epochs; cached in {folder} for every later evaluation)", flush=True)
    trained = train_classifier(arrays, held_out, epochs, batch_size, seed, progress, learning_rate,
                               feature_units, weight_decay)
    trained.save(cache_dir)
    return trained


# ----------------------------------------------------------------------------------------------
# Using a classifier


def _keras_model(classifier) -> keras.Model:
    return classifier.model if isinstance(classifier, TrainedClassifier) else classifier


def features_and_probabilities(classifier, images: np.ndarray,
                               batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Penultimate (`features`) activations, float64 (N, D), and softmax probabilities (N, K),
    each the mean over the drawing and its mirror image (a doodle of a rabbit facing left is as
    much a rabbit as one facing right; averaging makes the judge steadier than either view),
    from inference passes in batches (no gradients, batch norm and augmentation in inference mode)."""
    model = _keras_model(classifier)
    two_headed = keras.Model(model.input, [model.get_layer(FEATURES_LAYER).output, model.outputs[0]])
    inputs = to_model_input(images, tuple(model.input_shape[1:]))
    feature_batches, probability_batches = [], []
    for start in range(0, len(inputs), batch_size):
        batch = inputs[start:start + batch_size]
        views = [two_headed(view, training=False) for view in (batch, batch[:, :, ::-1])]
        feature_batches.append(np.mean([np.asarray(view[0], dtype=np.float64) for view in views], axis=0))
        probability_batches.append(np.mean([_softmax(np.asarray(view[1], dtype=np.float64)) for view in views],
                                           axis=0))
    units = model.get_layer(FEATURES_LAYER).units
    if not feature_batches:
        return np.zeros((0, units)), np.zeros((0, model.outputs[0].shape[-1]))
    return np.concatenate(feature_batches), np.concatenate(probability_batches)


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=1, keepdims=True)  # no overflow
    probabilities = np.exp(logits)
    return probabilities / probabilities.sum(axis=1, keepdims=True)


def features(classifier, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Penultimate activations (N, D) for uint8 images or floats in [-1, 1]."""
    return features_and_probabilities(classifier, images, batch_size)[0]


def predict_probabilities(classifier, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Softmax over the classifier's categories, (N, K)."""
    return features_and_probabilities(classifier, images, batch_size)[1]


def predict_categories(classifier, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Index of the most probable category for each image, int (N,)."""
    return np.argmax(predict_probabilities(classifier, images, batch_size), axis=1)
