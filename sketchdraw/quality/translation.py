"""How well the image-to-image families translate, on images their run never trained on.

- `sketch_to_photo_scores(run)`: a sketch-to-image run's held-out pairs (the `holdout` pairs its
  split kept out of training): the generated photo against the true one, by L1 (pixels in [0, 1])
  and SSIM (Wang et al. 2004, 11x11 Gaussian window), over several noise vectors per sketch.
- `cycle_scores(run)`: a CycleGAN run's held-out photos (the files of domain X its `limit` left
  out): the cycle error |y2x(x2y(x)) - x| (pixels in [0, 1]), and the translations judged by the
  painting judge (`painting_judge.py`): KID in its features against domain Y's paintings that the
  judge held out, and the share it recognises as domain Y.

Each figure comes with its per-image values' 95% bootstrap interval (images resampled), so two
runs can be read side by side. Used by `studies/upsampling.py` (transposed convolution against
resize-then-convolve in the two generators).
"""

from __future__ import annotations

import json
import os

import numpy as np

from sketchdraw.artifacts import RunFolder

CONFIDENCE = 0.95
RESAMPLES = 1_000


def mean_interval(values, resamples: int = RESAMPLES, seed: int = 0) -> list[float]:
    """[low, high]: the 95% bootstrap interval of the mean of `values` (items resampled)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        raise ValueError(f"an interval needs at least 2 values, got {len(values)}")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (resamples, len(values)))].mean(axis=1)
    tail = (1 - CONFIDENCE) / 2
    return [float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))]


def ssim(images_a, images_b) -> np.ndarray:
    """Per-image SSIM (N,) of two uint8 RGB batches of one shape (tf.image.ssim, max value 255)."""
    import tensorflow as tf

    images_a, images_b = np.asarray(images_a), np.asarray(images_b)
    if images_a.shape != images_b.shape or images_a.ndim != 4:
        raise ValueError(f"SSIM compares two image batches of one shape, got {images_a.shape} and {images_b.shape}")
    return tf.image.ssim(tf.cast(images_a, tf.float32), tf.cast(images_b, tf.float32), max_val=255.0).numpy()


def l1(images_a, images_b) -> np.ndarray:
    """Per-image mean absolute difference (N,) of two uint8 batches, pixels scaled to [0, 1]."""
    difference = np.abs(np.asarray(images_a, np.float32) - np.asarray(images_b, np.float32)) / 255.0
    return difference.reshape(len(difference), -1).mean(axis=1)


def _figure(values, seed: int) -> dict:
    return {"mean": float(np.mean(values)), "interval": mean_interval(values, seed=seed)}


# ----------------------------------------------------------------------------------------------
# Sketch to image


def sketch_to_photo_scores(run_dir: str | os.PathLike, draws: int = 4, seed: int = 0) -> dict:
    """L1 and SSIM of a sketch-to-image run's generated photos against the true photos of its
    held-out pairs, each sketch drawn with `draws` noise vectors (the per-pair mean is one value
    of the interval's resampling). {"l1", "ssim": {"mean", "interval"}, "pairs", "draws"}."""
    import tensorflow as tf

    from sketchdraw.sampling import load_model_file
    from sketchdraw.sketch2img import networks  # noqa: F401  (registers the layers)
    from sketchdraw.sketch2img.data import (
        DATA_STATISTICS_FILE,
        denormalize_to_uint8,
        load_pairs_for,
        normalize,
        split_pairs,
    )
    from sketchdraw.sketch2img.settings import Sketch2ImgConfig

    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise ValueError(f"draws must be a whole number >= 1, got {draws!r}")
    run = RunFolder(run_dir)
    statistics_path = run.root / DATA_STATISTICS_FILE
    if not run.generator_path.is_file() or not statistics_path.is_file():
        raise ValueError(f"{run.root} is not a finished sketch-to-image run (it needs "
                         f"{run.generator_path.name} and {DATA_STATISTICS_FILE}): train it first")
    config = Sketch2ImgConfig.from_dict(run.load_config(), where=str(run.config_path))
    statistics = json.loads(statistics_path.read_text())
    _, held_out = split_pairs(load_pairs_for(config), config.holdout, config.seed)
    generator = load_model_file(run.generator_path)
    sketches = normalize(held_out.sketches, statistics["sketch_mean"], statistics["sketch_scale"])
    l1_values, ssim_values = [], []
    for draw in range(draws):
        noise = tf.random.stateless_normal([len(held_out), config.noise_dim], seed=[seed + draw, 7])
        generated = denormalize_to_uint8(
            generator([sketches, noise, tf.constant(held_out.labels)], training=False).numpy(),
            statistics["photo_mean"], statistics["photo_scale"])
        l1_values.append(l1(generated, held_out.photos))
        ssim_values.append(ssim(generated, held_out.photos))
    per_pair_l1, per_pair_ssim = np.mean(l1_values, axis=0), np.mean(ssim_values, axis=0)
    return {"l1": _figure(per_pair_l1, seed), "ssim": _figure(per_pair_ssim, seed),
            "pairs": len(held_out), "draws": draws}


# ----------------------------------------------------------------------------------------------
# CycleGAN


def cycle_scores(run_dir: str | os.PathLike, judge=None, cache=None, seed: int = 0,
                 progress: bool = False) -> dict:
    """A CycleGAN run's held-out photos (domain X's files it did not train on: set `limit` when
    training): the cycle error, and the translations' KID to domain Y's judge-held-out paintings
    and recognised-as-Y share in the painting judge's features (`judge` None: the cached judge of
    the shared layout above domain Y, as `make evaluate` trains it).
    {"cycle_error", "recognised": {"mean", "interval"}, "kid", "photos", "reference_paintings"}."""
    from sketchdraw import paintings
    from sketchdraw.cyclegan.run import held_out_files, load_domain
    from sketchdraw.cyclegan.settings import CycleConfig
    from sketchdraw.cyclegan.translate import load_generator
    from sketchdraw.quality import metrics
    from sketchdraw.quality.painting_evaluation import judge_target
    from sketchdraw.quality.painting_judge import (
        judge_features,
        judge_folders,
        load_or_train_painting_judge,
    )

    run = RunFolder(run_dir)
    config = CycleConfig.from_dict(run.load_config(), where=str(run.config_path))
    config = CycleConfig.from_dict({**config.to_dict(), "progress": False})
    _, training_files = load_domain(config.domain_x, config, config.domain_x_label)
    files = held_out_files(config.domain_x, training_files, count=10**9)
    if len(files) < 2:
        raise ValueError(f"{run.root} trained on every photo of {config.domain_x} but {len(files)}: "
                         "train with limit= below the folder's size to keep photos unseen")
    photos = np.stack([paintings.decode_image(path, config.image_size, config.fit) for path in files])
    forward, backward = load_generator(run.root, "x2y"), load_generator(run.root, "y2x")

    def apply(generator, images):
        batches = [generator(images[start:start + 16].astype(np.float32) / 127.5 - 1.0, training=False).numpy()
                   for start in range(0, len(images), 16)]
        return np.clip(np.rint((np.concatenate(batches) + 1.0) * 127.5), 0, 255).astype(np.uint8)

    translated = apply(forward, photos)
    back = apply(backward, translated)
    if judge is None:
        folders, _ = judge_folders(config.domain_y)
        judge = load_or_train_painting_judge(folders, cache=cache, progress=progress)
    target = judge_target(judge, config.domain_y)
    target_index = judge.category_index(target)
    found = paintings.load_painting_folder(config.domain_y, image_size=config.image_size, fit=config.fit,
                                           progress=False)
    _, reference_rows = paintings.split_held_out(found, judge.held_out_share)
    reference_features = judge_features(judge, found.images[reference_rows])[0]
    features, probabilities = judge_features(judge, translated)
    kid_mean, _ = metrics.kid(features, reference_features, subsets=100,
                              subset_size=min(len(features), len(reference_features)), seed=seed)
    recognised = (np.argmax(probabilities, axis=1) == target_index).astype(np.float64)
    return {"cycle_error": _figure(l1(back, photos), seed), "recognised": _figure(recognised, seed),
            "kid": float(kid_mean), "photos": len(photos), "reference_paintings": int(len(reference_rows)),
            "judge_class": target}
