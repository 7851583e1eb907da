"""The painting judge: a small Keras CNN, trained by the project on folders of images, whose
penultimate layer is the feature space in which a painting run is measured (KID, FID, diversity,
memorisation) and whose predictions give the share of generated paintings recognised as the run's
own folder (the painting runs' CS).

Its classes are folders of images at 64x64: by default those of the shared data layout under a data
root (`SHARED_LAYOUT`: Van Gogh's paintings, his drawings, Expressionism, landscape photos and face
photos), or any {name: folder} given. Each folder is split by `paintings.split_held_out`, the split
a painting run makes of its own folder with the same share: the judge trains on the rest and
measures its accuracy on the held-out files, which it saves and prints beside every number it
gives. A run on one of the judge's folders is therefore measured against paintings that neither
the GAN nor the judge has seen.

The recipe: four blocks of two 3x3 convolutions (16, 32, 64, 128 filters) with batch norm and
dropout, global average pooling, a 128-unit `features` layer; flips, shifts, zoomed-in crops and a little
brightness and contrast jitter while training (so that a painting's framing and exposure are not
what identifies its folder); class-balanced batches (the shared folders hold 134 to 3,414 images);
AdamW with a cosine decay, as the Quick, Draw! classifier (`classifier.fit_classifier`). An epoch is
`images_per_epoch` balanced samples, not a pass over the largest folder, so training takes a few
minutes on two CPU cores. Cached in `<cache>/painting_judge/<key>/`, the key a hash of the decoded
images, the split and every setting.

What it is not: the evaluation (`painting_evaluation.py`), nor the doodle judge (`classifier.py`,
`judge.py`).

    folders, target = judge_folders("data/wikiart/vangogh", data_root="data")
    judge = load_or_train_painting_judge(folders)     # trained once, then read from the cache
    features = judge_features(judge, paintings)       # uint8 (N, H, W, 3) -> (N, 128)
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import keras
import numpy as np
from keras import layers

from sketchdraw import paintings
from sketchdraw.quality.artefacts import ARTEFACTS_CLASS, ARTEFACTS_VERSION, break_paintings
from sketchdraw.quality.classifier import (
    FEATURES_LAYER,
    INFO_FILE,
    TrainedClassifier,
    arrays_key,
    default_cache_dir,
    features_and_probabilities,
    fit_classifier,
    held_out_accuracies,
)

# Bump when the architecture, the recipe or the split changes, so old cache folders are not reused.
PAINTING_JUDGE_VERSION = 1
IMAGE_SIZE = 64
DEFAULT_HELD_OUT_SHARE = 0.1  # the painting presets' held_out_share: the same files held out
# 30, not 15, since the class of broken paintings: at 15 the six-class judge's held-out accuracy
# fell to 0.61 (Van Gogh 0.74, Expressionism 0.35); at 30 it is 0.77 (Van Gogh 0.91, Expressionism 0.56).
DEFAULT_EPOCHS = 30
DEFAULT_IMAGES_PER_EPOCH = 2048
DEFAULT_BATCH_SIZE = 64
DEFAULT_LEARNING_RATE = 2e-3
DEFAULT_WEIGHT_DECAY = 1e-4
DEFAULT_FILTERS = (16, 32, 64, 128)
# Two convolutions per block: on the shared folders (12 epochs) the balanced held-out accuracy rose
# from 0.79 to 0.82 with them, where twice the filters in one convolution fell to 0.77.
DEFAULT_CONVOLUTIONS_PER_BLOCK = 2
DEFAULT_FEATURE_UNITS = 128
# A class of real paintings broken as small GANs break them (`artefacts.py`): without it the judge
# recognised seed 004's collapsed, striped Van Gogh run as Van Gogh (1.00, KID 0.04, below varied
# runs' 0.2-0.3); with it that run is recognised 0.00 at KID 10 (studies/painting_judge_probes.py).
DEFAULT_ARTEFACTS = True
# The shared data folder's layout (../shared/data/SOURCES.md): class name -> folder under the root.
SHARED_LAYOUT = {
    "vangogh": "wikiart/vangogh",
    "vangogh_drawings": "wikiart/vangogh_drawings",
    "expressionism": "wikiart/expressionism",
    "landscape_photos": "photos/landscapes",
    "face_photos": "sketchy/cufs_faces/photo",
}
ROOT_SEARCH_DEPTH = 4  # how many folders above a run's data folder to look for that layout


# ----------------------------------------------------------------------------------------------
# Which folders


def shared_layout_folders(data_root: str | os.PathLike) -> dict[str, Path]:
    """{class: folder} for each `SHARED_LAYOUT` folder present under `data_root`."""
    root = Path(data_root).expanduser()
    return {name: root / relative for name, relative in SHARED_LAYOUT.items() if (root / relative).is_dir()}


def find_data_root(folder: str | os.PathLike) -> Path | None:
    """The nearest folder above `folder` (up to ROOT_SEARCH_DEPTH levels) holding at least two of
    the shared layout's folders, e.g. `../shared/data` for `../shared/data/wikiart/vangogh`."""
    here = Path(folder).expanduser().absolute()
    for candidate in [here, *here.parents][:ROOT_SEARCH_DEPTH + 1]:
        if len(shared_layout_folders(candidate)) >= 2:
            return candidate
    return None


def parse_folders(text: str) -> dict[str, Path]:
    """{name: folder} from "name=folder,name=folder" (the CLI's --judge-folders)."""
    folders = {}
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
        name, equals, folder = part.partition("=")
        if not equals or not name.strip() or not folder.strip():
            raise ValueError(f"judge folders are given as name=folder pairs separated by commas "
                             f"(e.g. vangogh=data/wikiart/vangogh,photos=data/photos); got {part!r}")
        folders[name.strip()] = Path(folder.strip())
    return folders


def judge_folders(target: str | os.PathLike, folders: Mapping | str | None = None,
                  data_root: str | os.PathLike | None = None) -> tuple[dict[str, Path], str]:
    """({class: folder}, the class of `target`): the judge's folders for a run on `target`.

    `folders` ({name: folder} or "name=folder,...") when given; else the shared layout's folders
    under `data_root`, or under the data root found above `target` (`find_data_root`). `target`
    is one of them when its path is the same folder; otherwise it is added as a class of its own
    (named after its folder). Sorted by class name, so the same set gives the same cached judge.
    """
    target = Path(target).expanduser()
    if isinstance(folders, str):
        folders = parse_folders(folders)
    if folders:
        chosen = {str(name): Path(folder).expanduser() for name, folder in folders.items()}
    else:
        root = Path(data_root).expanduser() if data_root is not None else find_data_root(target)
        if root is None:
            raise ValueError(
                f"the painting judge needs folders of other images to tell {target} from: none of "
                f"{', '.join(SHARED_LAYOUT.values())} was found above it. Give a data root with that "
                "layout (JUDGE_DATA=../shared/data, --judge-data) or the folders themselves "
                "(JUDGE_FOLDERS=name=folder,name=folder, --judge-folders)")
        chosen = shared_layout_folders(root)
    missing = [f"{name}={folder}" for name, folder in chosen.items() if not folder.is_dir()]
    if missing:
        raise ValueError(f"judge folders not found: {', '.join(missing)}")
    resolved_target = target.resolve()
    target_name = next((name for name, folder in chosen.items() if folder.resolve() == resolved_target), None)
    if target_name is None:
        for name, folder in chosen.items():
            resolved = folder.resolve()
            if resolved in resolved_target.parents or resolved_target in resolved.parents:
                raise ValueError(f"the run's folder {target} and the judge's {name!r} folder {folder} "
                                 "overlap (one holds the other); give judge folders that are each "
                                 "one set of images")
        target_name = target.resolve().name or "target"
        while target_name in chosen:
            target_name += "_run"
        chosen[target_name] = target
    if len(chosen) < 2:
        raise ValueError(f"the painting judge needs at least 2 folders, got {sorted(chosen)}; add "
                         "folders of other images (JUDGE_FOLDERS=name=folder,...)")
    return dict(sorted(chosen.items())), target_name


# ----------------------------------------------------------------------------------------------
# The model


def build_painting_judge(class_count: int, image_size: int = IMAGE_SIZE,
                         filters: tuple[int, ...] = DEFAULT_FILTERS,
                         feature_units: int = DEFAULT_FEATURE_UNITS, augment: bool = True,
                         convolutions_per_block: int = DEFAULT_CONVOLUTIONS_PER_BLOCK) -> keras.Model:
    """Convolution blocks (`convolutions_per_block` times a 3x3 convolution, batch norm and ReLU;
    then max pooling and dropout), one per entry of `filters`, global average pooling, a `features` dense layer and one logit per class. `augment`:
    random flips, shifts (±8%), zoomed-in crops (up to 20%), brightness (±8%) and contrast (±15%),
    active only while training."""
    if class_count < 2:
        raise ValueError(f"a painting judge needs at least 2 classes, got {class_count}")
    inputs = keras.Input(shape=(image_size, image_size, 3), name="painting")
    x = inputs
    if augment:
        # Inputs are in [-1, 1]; reflecting at the edges keeps a shifted painting a painting.
        x = layers.RandomFlip("horizontal")(x)
        x = layers.RandomTranslation(0.08, 0.08, fill_mode="reflect")(x)
        x = layers.RandomZoom((-0.2, 0.0), fill_mode="reflect")(x)  # negative: zoom in, a crop
        x = layers.RandomBrightness(0.08, value_range=(-1.0, 1.0))(x)
        x = layers.RandomContrast(0.15, value_range=(-1.0, 1.0))(x)
    for width in filters:
        for _ in range(convolutions_per_block):
            # No bias before batch norm: its shift makes the bias redundant.
            x = layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization(momentum=0.9)(x)
            x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)  # 64 -> 32 -> 16 -> 8 -> 4
        x = layers.Dropout(0.1)(x)
    x = layers.GlobalAveragePooling2D()(x)
    features_output = layers.Dense(feature_units, activation="relu", name=FEATURES_LAYER)(x)
    x = layers.Dropout(0.4)(features_output)
    logits = layers.Dense(class_count, name="logits")(x)
    return keras.Model(inputs, logits, name="painting_judge")


# ----------------------------------------------------------------------------------------------
# A trained judge and its cache folder


@dataclass
class PaintingJudge(TrainedClassifier):
    """A `TrainedClassifier` whose categories are folders of images: `held_out_indices[name]` are
    rows of that folder's decoded images (file order) that it never trained on."""

    VERSION: ClassVar[int] = PAINTING_JUDGE_VERSION
    CACHE_FOLDER: ClassVar[str] = "painting_judge"

    folders: dict[str, str] = field(default_factory=dict)  # class -> folder, as given
    held_out_share: float = DEFAULT_HELD_OUT_SHARE
    image_size: int = IMAGE_SIZE
    training_seconds: float = 0.0

    @property
    def balanced_accuracy(self) -> float:
        """The mean of the per-class held-out accuracies (each folder counts once)."""
        return float(np.mean(list(self.per_category_accuracy.values())))

    def info(self) -> dict:
        return {**super().info(), "judge": "paintings", "folders": self.folders,
                "held_out_share": self.held_out_share, "image_size": self.image_size,
                "balanced_held_out_accuracy": self.balanced_accuracy,
                "training_seconds": self.training_seconds}

    @classmethod
    def load(cls, folder: str | os.PathLike) -> PaintingJudge:
        judge = super().load(folder)
        info = json.loads((Path(folder) / INFO_FILE).read_text())
        judge.folders = dict(info["folders"])
        judge.held_out_share = float(info["held_out_share"])
        judge.image_size = int(info["image_size"])
        judge.training_seconds = float(info.get("training_seconds", 0.0))
        return judge

    def describe(self) -> str:
        """One line: the held-out accuracy, overall, balanced and per class."""
        per_class = ", ".join(f"{name} {accuracy:.3f} ({self.counts[name]['held_out']})"
                              for name, accuracy in self.per_category_accuracy.items())
        return (f"painting judge: held-out accuracy {self.held_out_accuracy:.3f} overall, "
                f"{self.balanced_accuracy:.3f} balanced over the {len(self.categories)} classes; "
                f"per class (held-out files): {per_class}")


@dataclass
class JudgeData:
    """Every judge folder decoded and split: what the judge trains on, and the cache key of it."""

    sets: dict[str, paintings.PaintingSet]
    training_rows: dict[str, np.ndarray]
    held_out_rows: dict[str, np.ndarray]


def load_judge_data(folders: Mapping[str, str | os.PathLike], held_out_share: float = DEFAULT_HELD_OUT_SHARE,
                    image_size: int = IMAGE_SIZE, limit_per_class: int | None = None,
                    cache: str | os.PathLike | None = None, progress: bool = True) -> JudgeData:
    """Decode each folder (kept in `<cache>/decoded_paintings/` for the next time) and split it by
    `paintings.split_held_out`; `limit_per_class`: train on the first N training files of each."""
    if limit_per_class is not None and (isinstance(limit_per_class, bool) or not isinstance(limit_per_class, int)
                                        or limit_per_class < 1):
        raise ValueError(f"limit_per_class must be a whole number >= 1 or None, got {limit_per_class!r}")
    decoded_cache = Path(cache or default_cache_dir()) / "decoded_paintings"
    sets, training_rows, held_out_rows = {}, {}, {}
    for name, folder in folders.items():
        found = paintings.load_painting_folder(folder, image_size=image_size, fit="crop", progress=progress,
                                               cache_dir=decoded_cache)
        training, held_out = paintings.split_held_out(found, held_out_share)
        if not len(training) or not len(held_out):
            raise ValueError(f"judge folder {name}={folder}: {len(training)} training and {len(held_out)} "
                             f"held-out images of {len(found)} (held_out_share={held_out_share}); each "
                             "folder needs both, so give it more images")
        sets[name] = found
        training_rows[name] = training[:limit_per_class]
        held_out_rows[name] = held_out
    return JudgeData(sets, training_rows, held_out_rows)


def judge_settings(held_out_share, epochs, images_per_epoch, batch_size, limit_per_class, seed, learning_rate,
                   weight_decay, filters, feature_units, image_size, convolutions_per_block, artefacts) -> list:
    """The settings that go into a judge's cache key; `artefacts` only when on, so that the judges
    cached before it existed keep their keys."""
    settings = [held_out_share, epochs, images_per_epoch, batch_size, limit_per_class, seed, learning_rate,
                weight_decay, list(filters), feature_units, image_size, convolutions_per_block]
    return settings + ([ARTEFACTS_CLASS, ARTEFACTS_VERSION] if artefacts else [])


def painting_judge_key(data: JudgeData, settings: list) -> str:
    """A folder name that changes with any decoded image, the split, or a setting."""
    arrays = {name: found.images for name, found in data.sets.items()}
    rows = [[name, data.training_rows[name].tolist(), data.held_out_rows[name].tolist()]
            for name in sorted(data.sets)]
    return "paintings-" + arrays_key(arrays, [PAINTING_JUDGE_VERSION, *settings, rows])


def train_painting_judge(folders: Mapping[str, str | os.PathLike], held_out_share: float = DEFAULT_HELD_OUT_SHARE,
                         epochs: int = DEFAULT_EPOCHS, images_per_epoch: int = DEFAULT_IMAGES_PER_EPOCH,
                         batch_size: int = DEFAULT_BATCH_SIZE, limit_per_class: int | None = None,
                         seed: int = 0, learning_rate: float = DEFAULT_LEARNING_RATE,
                         weight_decay: float = DEFAULT_WEIGHT_DECAY, filters: tuple[int, ...] = DEFAULT_FILTERS,
                         feature_units: int = DEFAULT_FEATURE_UNITS, image_size: int = IMAGE_SIZE,
                         cache: str | os.PathLike | None = None, progress: bool = True,
                         data: JudgeData | None = None,
                         convolutions_per_block: int = DEFAULT_CONVOLUTIONS_PER_BLOCK,
                         artefacts: bool = DEFAULT_ARTEFACTS) -> PaintingJudge:
    """Train a painting judge on {class: folder} (the files outside each folder's held-out share)
    and measure it on the held-out files. `artefacts`: one class more, `artefacts.ARTEFACTS_CLASS`,
    of each folder's paintings broken as small GANs break them (`artefacts.break_paintings`; its
    held-out accuracy on broken held-out files). Sets Keras's global random seed to `seed`."""
    for name, value in (("epochs", epochs), ("images_per_epoch", images_per_epoch), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    held_out_share = paintings.check_held_out_share(held_out_share)
    if held_out_share == 0:
        raise ValueError("the painting judge measures itself on each folder's held-out files: "
                         "give held_out_share > 0 (the painting presets use 0.1)")
    if len(folders) < 2:
        raise ValueError(f"a painting judge needs at least 2 folders, got {len(folders)}")
    if data is None:
        data = load_judge_data(folders, held_out_share, image_size, limit_per_class, cache, progress)
    if ARTEFACTS_CLASS in data.sets:
        raise ValueError(f"{ARTEFACTS_CLASS!r} names the judge's class of broken paintings; call the folder otherwise")
    arrays = {name: data.sets[name].images for name in data.sets}
    training_rows, held_out_rows = dict(data.training_rows), dict(data.held_out_rows)
    if artefacts:
        # Blends mix the paintings of one folder's training files, as a GAN of that folder would
        # (all folders' when one has a single training file).
        rng = np.random.default_rng(seed)
        pools = {name: data.sets[name].images[rows] for name, rows in data.training_rows.items()}
        if any(len(pool) < 2 for pool in pools.values()):
            everything = np.concatenate(list(pools.values()))
            pools = {name: pool if len(pool) > 1 else everything for name, pool in pools.items()}
        broken = [break_paintings(data.sets[name].images[rows], rng, pools[name])
                  for rows_of in (data.training_rows, data.held_out_rows) for name, rows in rows_of.items()]
        arrays[ARTEFACTS_CLASS] = np.concatenate(broken)
        training_count = sum(len(rows) for rows in data.training_rows.values())
        training_rows[ARTEFACTS_CLASS] = np.arange(training_count)
        held_out_rows[ARTEFACTS_CLASS] = np.arange(training_count, len(arrays[ARTEFACTS_CLASS]))
    names = list(arrays)
    train_images = np.concatenate([arrays[name][training_rows[name]] for name in names])
    train_labels = np.concatenate([np.full(len(training_rows[name]), label, dtype=np.int32)
                                   for label, name in enumerate(names)])
    keras.utils.set_random_seed(seed)
    model = build_painting_judge(len(names), image_size, tuple(filters), feature_units,
                                 convolutions_per_block=convolutions_per_block)
    started = time.monotonic()
    fit_classifier(model, train_images, train_labels, epochs, batch_size, seed, learning_rate, weight_decay,
                   progress, steps_per_epoch=-(-images_per_epoch // batch_size), name="painting judge")
    seconds = time.monotonic() - started
    accuracy, per_class = held_out_accuracies(model, arrays, held_out_rows)
    settings = judge_settings(held_out_share, epochs, images_per_epoch, batch_size, limit_per_class, seed,
                              learning_rate, weight_decay, filters, feature_units, image_size,
                              convolutions_per_block, artefacts)
    return PaintingJudge(
        model=model, categories=names, held_out_indices=held_out_rows,
        held_out_accuracy=accuracy, per_category_accuracy=per_class,
        counts={name: {"train": int(len(training_rows[name])), "held_out": int(len(held_out_rows[name]))}
                for name in names},
        epochs=epochs, seed=seed, key=painting_judge_key(data, settings),
        folders={name: str(folder) for name, folder in folders.items()}, held_out_share=held_out_share,
        image_size=image_size, training_seconds=round(seconds, 1))


def load_or_train_painting_judge(folders: Mapping[str, str | os.PathLike],
                                 held_out_share: float = DEFAULT_HELD_OUT_SHARE, epochs: int = DEFAULT_EPOCHS,
                                 images_per_epoch: int = DEFAULT_IMAGES_PER_EPOCH,
                                 batch_size: int = DEFAULT_BATCH_SIZE, limit_per_class: int | None = None,
                                 seed: int = 0, learning_rate: float = DEFAULT_LEARNING_RATE,
                                 weight_decay: float = DEFAULT_WEIGHT_DECAY,
                                 filters: tuple[int, ...] = DEFAULT_FILTERS,
                                 feature_units: int = DEFAULT_FEATURE_UNITS, image_size: int = IMAGE_SIZE,
                                 cache: str | os.PathLike | None = None, progress: bool = True,
                                 convolutions_per_block: int = DEFAULT_CONVOLUTIONS_PER_BLOCK,
                                 artefacts: bool = DEFAULT_ARTEFACTS) -> PaintingJudge:
    """The cached judge for exactly these folders' images and these settings; trained, saved
    under `<cache>/painting_judge/<key>/` and its accuracy printed when missing."""
    held_out_share = paintings.check_held_out_share(held_out_share)
    data = load_judge_data(folders, held_out_share, image_size, limit_per_class, cache, progress)
    settings = judge_settings(held_out_share, epochs, images_per_epoch, batch_size, limit_per_class, seed,
                              learning_rate, weight_decay, filters, feature_units, image_size,
                              convolutions_per_block, artefacts)
    folder = Path(cache or default_cache_dir()) / PaintingJudge.CACHE_FOLDER / painting_judge_key(data, settings)
    if (folder / INFO_FILE).is_file():
        return PaintingJudge.load(folder)
    if progress:
        sizes = ", ".join(f"{name} {len(rows)}" for name, rows in data.training_rows.items())
        print(f"training the painting judge ({epochs} epochs of {images_per_epoch} images; training "
              f"files: {sizes}; cached in {folder} for every later evaluation)", file=sys.stderr, flush=True)
    judge = train_painting_judge(folders, held_out_share, epochs, images_per_epoch, batch_size, limit_per_class,
                                 seed, learning_rate, weight_decay, filters, feature_units, image_size, cache,
                                 progress, data=data, convolutions_per_block=convolutions_per_block,
                                 artefacts=artefacts)
    judge.save(cache)
    if progress:
        print(f"{judge.describe()}; trained in {judge.training_seconds:.0f} s", file=sys.stderr, flush=True)
    return judge


# ----------------------------------------------------------------------------------------------
# Using a judge


def to_judge_size(judge: PaintingJudge, images: np.ndarray) -> np.ndarray:
    """uint8 RGB images at the judge's size: resized with Lanczos, as the painting loader resizes
    the paintings the judge learned from, when a run trained at another size; unchanged otherwise.

    The filter matters: the 43 held-out Van Gogh paintings loaded at 128 x 128 and brought to 64
    with Lanczos are the very pixels of the same paintings loaded at 64 (recognised 0.837 both),
    where TensorFlow's antialiased bilinear resize moves each pixel by 4 grey levels on average
    and the judge's recognised share to 0.977.
    """
    from PIL import Image

    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"the painting judge takes uint8 RGB images (N, H, W, 3), got {images.dtype} {images.shape}")
    size = (judge.image_size, judge.image_size)
    if images.shape[1:3] == size:
        return images
    return np.stack([np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS)) for image in images])


def judge_features(judge: PaintingJudge, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, D), class probabilities (N, K)) of uint8 RGB images, each the mean over the
    image and its mirror image (`classifier.features_and_probabilities`)."""
    return features_and_probabilities(judge, to_judge_size(judge, images), batch_size=256)
