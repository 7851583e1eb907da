"""Quality metrics for generated drawings and paintings, registered by name in `METRICS`.

Most metrics follow "Creative Sketch Generation" (Ge et al., ICLR 2021) and work in the feature
space of the project's Quick, Draw! classifier (`sketchdraw.quality.classifier`):

| name           | function                    | input                         | better |
| -------------- | --------------------------- | ----------------------------- | ------ |
| `fid`          | `fid`                       | two feature sets              | lower  |
| `kid`          | `kid` -> (mean, std)        | two feature sets              | lower  |
| `cs`           | `characteristic_score`      | labels or probabilities       | higher |
| `gd`           | `generation_diversity`      | one feature set               | closer to the real row |
| `sds`          | `semantic_diversity_score`  | probabilities                 | higher (for multi-category sets) |
| `memorisation` | `memorisation_distance`     | generated and training features | closer to the real row (near 0 = copies) |
| `near_copies`  | `near_copy_share`           | nearest-training distances, generated and real | near the real row's 0.05 |
| `swd`          | `sliced_wasserstein_distance` | two image sets (no network) | lower  |
| `inception_kid`| `inception_kid`             | two image sets (ImageNet InceptionV3) | lower |

A number alone means little: `evaluate_drawings` reports every number for the generated drawings
and, beside it, for real held-out drawings of the same category, measured the same way.

What this file is not: the classifier or its training (`classifier.py`), nor the code that reads a
run folder and writes `metrics.json` (the evaluation entry point calls `evaluate_drawings`).
Everything here is numpy on arrays; no scipy (the FID matrix square root uses a symmetric
eigendecomposition, see `fid`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sketchdraw.registry import Registry


@dataclass(frozen=True)
class Metric:
    name: str
    function: Callable
    inputs: str  # what the function takes, in words, for listings and error messages
    description: str


METRICS: Registry[Metric] = Registry("metric")


def register(name: str, inputs: str, description: str) -> Callable:
    def add(function: Callable) -> Callable:
        METRICS.register(name)(Metric(name, function, inputs, description))
        return function

    return add


def get(name: str) -> Metric:
    return METRICS.get(name)


# ----------------------------------------------------------------------------------------------
# Input checks


def _feature_matrix(features, name: str, minimum_rows: int = 1) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D (items, feature dimensions) array, got shape {features.shape}")
    if len(features) < minimum_rows:
        raise ValueError(f"{name}: needs at least {minimum_rows} items, got {len(features)}")
    if not np.all(np.isfinite(features)):
        raise ValueError(f"{name}: features contain NaN or infinity")
    return features


def _same_dimensions(features_a: np.ndarray, features_b: np.ndarray) -> None:
    if features_a.shape[1] != features_b.shape[1]:
        raise ValueError(f"feature dimensions differ: {features_a.shape[1]} vs {features_b.shape[1]}; "
                         "both sets must come from the same layer of the same network")


def _symmetric_square_root(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix; round-off negatives are clipped."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


# ----------------------------------------------------------------------------------------------
# Distribution distances in feature space


@register("fid", "two feature sets (N, D) and (M, D)", "Fréchet distance of Gaussians fitted to the features")
def fid(features_a, features_b, eps: float = 1e-6) -> float:
    """Fréchet distance ||mu_a - mu_b||² + Tr(S_a + S_b - 2 (S_a S_b)^½), float64.

    Tr((S_a S_b)^½) is computed as Tr((A S_b A)^½) with A = S_a^½: the product A S_b A is
    symmetric positive semi-definite and has the same eigenvalues as S_a S_b, so two `eigh` calls
    replace scipy's general `sqrtm` and never return complex round-off. `eps` is added to both
    diagonals: with fewer items than dimensions the covariances are singular, and the same small
    ridge on both keeps the result finite and leaves FID(a, a) at 0. It is biased upwards for
    small sets: compare FIDs only between sets of the same size.
    """
    features_a = _feature_matrix(features_a, "fid features_a", 2)
    features_b = _feature_matrix(features_b, "fid features_b", 2)
    _same_dimensions(features_a, features_b)
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    mean_difference = features_a.mean(axis=0) - features_b.mean(axis=0)
    ridge = eps * np.eye(features_a.shape[1])
    covariance_a = np.cov(features_a, rowvar=False) + ridge
    covariance_b = np.cov(features_b, rowvar=False) + ridge
    root_a = _symmetric_square_root(covariance_a)
    product_eigenvalues = np.linalg.eigvalsh(root_a @ covariance_b @ root_a)
    trace_of_root = np.sum(np.sqrt(np.clip(product_eigenvalues, 0.0, None)))
    distance = mean_difference @ mean_difference + np.trace(covariance_a) + np.trace(covariance_b) \
        - 2.0 * trace_of_root
    return float(max(distance, 0.0))  # a tiny negative is round-off around an exact 0


@register("kid", "two feature sets (N, D) and (M, D)", "kernel inception distance: unbiased MMD², (mean, std) over subsets")
def kid(features_a, features_b, subsets: int = 100, subset_size: int | None = None,
        seed: int = 0) -> tuple[float, float]:
    """Unbiased MMD² with the cubic polynomial kernel k(x, y) = (x·y / D + 1)³ (Bińkowski et al. 2018),
    averaged over `subsets` random subsets of `subset_size` items drawn without replacement from
    each set; returns (mean, standard deviation over subsets).

    `subset_size` defaults to min(1000, N // 2, M // 2): half the smaller set, so the subsets differ
    and the spread means something (with the whole set every subset is the same one). Being
    unbiased, the mean can be slightly negative for two samples of one distribution; unlike FID it
    does not grow as the sets get smaller.
    """
    features_a = _feature_matrix(features_a, "kid features_a", 2)
    features_b = _feature_matrix(features_b, "kid features_b", 2)
    _same_dimensions(features_a, features_b)
    smallest = min(len(features_a), len(features_b))
    if subset_size is None:
        subset_size = max(2, min(1000, smallest // 2))
    if subset_size < 2:
        raise ValueError(f"kid: subset_size must be at least 2, got {subset_size}")
    if subset_size > smallest:
        raise ValueError(f"kid: subset_size {subset_size} is larger than the smaller set ({smallest} items); "
                         "pass a smaller subset_size or more items")
    if subsets < 1:
        raise ValueError(f"kid: subsets must be at least 1, got {subsets}")
    dimensions = features_a.shape[1]
    generator = np.random.default_rng(seed)
    estimates = np.empty(subsets)
    size = subset_size
    for subset in range(subsets):
        x = features_a[generator.choice(len(features_a), size, replace=False)]
        y = features_b[generator.choice(len(features_b), size, replace=False)]
        kernel_xx = (x @ x.T / dimensions + 1.0) ** 3
        kernel_yy = (y @ y.T / dimensions + 1.0) ** 3
        kernel_xy = (x @ y.T / dimensions + 1.0) ** 3
        # Unbiased: the diagonals k(x_i, x_i) are left out of the within-set means.
        within = (kernel_xx.sum() - np.trace(kernel_xx) + kernel_yy.sum() - np.trace(kernel_yy)) / (size * (size - 1))
        estimates[subset] = within - 2.0 * kernel_xy.mean()
    return float(estimates.mean()), float(estimates.std())


# ----------------------------------------------------------------------------------------------
# Scores from the classifier's predictions


def _predicted_labels(predictions, name: str) -> np.ndarray:
    predictions = np.asarray(predictions)
    if predictions.ndim == 2:
        return np.argmax(predictions, axis=1)
    if predictions.ndim == 1 and np.issubdtype(predictions.dtype, np.integer):
        return predictions
    raise ValueError(f"{name}: expected integer labels (N,) or probabilities (N, K), "
                     f"got shape {predictions.shape} and dtype {predictions.dtype}")


@register("cs", "predicted labels (N,) or probabilities (N, K), and the intended category index",
          "characteristic score: share classified as the intended category")
def characteristic_score(predictions, target_index: int | Sequence[int]) -> float:
    """Share of drawings whose most probable category is `target_index` (or one of several, as
    Ge et al. count any bird-like class for Creative Birds). For real held-out drawings of one
    category this is the classifier's held-out accuracy on that category."""
    labels = _predicted_labels(predictions, "characteristic_score")
    if len(labels) == 0:
        raise ValueError("characteristic_score: no predictions given")
    targets = np.atleast_1d(np.asarray(target_index))
    if not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(f"target_index must be a category index (int), got {target_index!r}; "
                         "use TrainedClassifier.category_index(name)")
    return float(np.mean(np.isin(labels, targets)))


@register("sds", "probabilities (N, K), optionally the category indices that count",
          "semantic diversity score (Ge et al.): spread of the mean prediction over the categories")
def semantic_diversity_score(probabilities, target_indices: Sequence[int] | None = None,
                             normalised: bool = False) -> float:
    """Ge et al.'s SDS, as their evaluation code computes it (natural log):

        p̄ = mean over drawings of the predicted distribution,  P_C = Σ_{c in C} p̄_c,
        SDS = Σ_{c in C} -p̄_c · ln(p̄_c / P_C) = P_C · H(p̄ restricted to C and renormalised).

    C is `target_indices` (default: every category). Range [0, ln |C|]: 0 when all probability
    mass sits on one category, ln |C| when it is spread evenly over C (and none falls outside C).
    `normalised=True` divides by ln |C|, giving [0, 1].
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or len(probabilities) == 0:
        raise ValueError(f"semantic_diversity_score: expected probabilities (N, K), got shape {probabilities.shape}")
    if np.any(probabilities < -1e-9) or not np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("semantic_diversity_score: rows must be probability distributions "
                         "(non-negative, summing to 1); pass softmax outputs, not logits")
    mean_distribution = probabilities.mean(axis=0)
    categories = (np.arange(probabilities.shape[1]) if target_indices is None
                  else np.unique(np.asarray(target_indices, dtype=int)))
    if len(categories) == 0 or categories.min() < 0 or categories.max() >= probabilities.shape[1]:
        raise ValueError(f"target_indices must name categories 0..{probabilities.shape[1] - 1}")
    in_set = np.clip(mean_distribution[categories], 0.0, None)
    set_probability = in_set.sum()
    positive = in_set[in_set > 0]
    score = float(-np.sum(positive * np.log(positive / set_probability))) if set_probability > 0 else 0.0
    if normalised:
        return score / np.log(len(categories)) if len(categories) > 1 else 0.0
    return score


# ----------------------------------------------------------------------------------------------
# Diversity and memorisation in feature space


def _squared_distances(rows: np.ndarray, columns: np.ndarray, column_norms: np.ndarray) -> np.ndarray:
    row_norms = np.einsum("ij,ij->i", rows, rows)
    return np.clip(row_norms[:, None] + column_norms[None, :] - 2.0 * rows @ columns.T, 0.0, None)


@register("gd", "one feature set (N, D)", "generation diversity: mean pairwise Euclidean feature distance")
def generation_diversity(features, block_size: int = 1024) -> float:
    """Mean Euclidean distance over all pairs i < j, computed in blocks (memory ~ block_size × N).

    Ge et al. take the first 1,000 items; this uses them all, which has the same expectation.
    0 for identical drawings; compare with the same number for real drawings.
    """
    features = _feature_matrix(features, "generation_diversity", 2)
    norms = np.einsum("ij,ij->i", features, features)
    total = 0.0
    for start in range(0, len(features), block_size):
        rows = features[start:start + block_size]
        distances = np.sqrt(_squared_distances(rows, features, norms))
        # Keep only j > i, so each pair counts once and the zero diagonal not at all.
        row_index = np.arange(start, start + len(rows))[:, None]
        total += distances[np.arange(len(features))[None, :] > row_index].sum()
    pairs = len(features) * (len(features) - 1) / 2
    return float(total / pairs)


def nearest_neighbours(query_features, reference_features, block_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distance from each query item to its nearest reference item, and that item's row
    in `reference_features`: two (N,) arrays.

    Blocks of `block_size` queries × `block_size * 8` references bound the memory (a few MB),
    so 10,000 generated drawings against 100,000 training drawings never build a 10⁹ matrix.
    """
    queries = _feature_matrix(query_features, "nearest_distances query", 1)
    references = _feature_matrix(reference_features, "nearest_distances reference", 1)
    _same_dimensions(queries, references)
    nearest = np.full(len(queries), np.inf)
    rows = np.zeros(len(queries), dtype=np.int64)
    reference_block = block_size * 8
    for reference_start in range(0, len(references), reference_block):
        block = references[reference_start:reference_start + reference_block]
        block_norms = np.einsum("ij,ij->i", block, block)
        for start in range(0, len(queries), block_size):
            squared = _squared_distances(queries[start:start + block_size], block, block_norms)
            best = squared.argmin(axis=1)
            best_squared = squared[np.arange(len(squared)), best]
            closer = best_squared < nearest[start:start + block_size]
            nearest[start:start + block_size][closer] = best_squared[closer]
            rows[start:start + block_size][closer] = best[closer] + reference_start
    return np.sqrt(nearest), rows


def nearest_distances(query_features, reference_features, block_size: int = 512) -> np.ndarray:
    """Euclidean distance from each query item to its nearest reference item, (N,)."""
    return nearest_neighbours(query_features, reference_features, block_size)[0]


@register("memorisation", "generated features (N, D) and training features (M, D)",
          "mean distance from each generated drawing to its nearest training drawing")
def memorisation_distance(generated_features, training_features, block_size: int = 512) -> float:
    """Mean over generated items of the distance to the nearest training item. 0 means copies;
    read it beside the same number for real held-out drawings (`evaluate_drawings` does)."""
    return float(nearest_distances(generated_features, training_features, block_size).mean())


NEAR_COPY_QUANTILE = 0.05  # the real held-out items' own share, by construction


@register("near_copies", "nearest-training distances of generated items (N,) and of real held-out items (M,)",
          "share of generated items nearer a training item than all but 5% of real held-out items")
def near_copy_share(distances, real_distances, quantile: float = NEAR_COPY_QUANTILE) -> float:
    """The share of generated items whose distance to their nearest training item is below the
    `quantile` of the same distance for real held-out items (`nearest_distances` gives both).

    The mean memorisation distance cannot tell a few copies from pictures that all sit a little
    nearer the training set (smooth, averaged ones do); this counts the close ones: about `quantile`
    for a generator that draws like the held-out set, well above it where it copies."""
    distances = np.asarray(distances, dtype=np.float64)
    real_distances = np.asarray(real_distances, dtype=np.float64)
    for name, values in (("distances", distances), ("real_distances", real_distances)):
        if values.ndim != 1 or len(values) == 0 or not np.all(np.isfinite(values)):
            raise ValueError(f"near_copy_share: {name} must be a non-empty 1-D array of finite distances, "
                             f"got shape {values.shape}")
    if isinstance(quantile, bool) or not 0.0 < float(quantile) < 1.0:
        raise ValueError(f"near_copy_share: quantile must be between 0 and 1, got {quantile!r}")
    return float(np.mean(distances < np.quantile(real_distances, quantile)))


COVERAGE_NEIGHBOURS = 5  # Naeem et al.'s k: each real item's ball reaches its 5th nearest real neighbour


@register("coverage", "generated features (N, D) and real features (M, D)",
          "share of real items with a generated item inside their k-nearest-neighbour ball")
def coverage(generated_features, real_features, neighbours: int = COVERAGE_NEIGHBOURS) -> float:
    """Coverage (Naeem et al. 2020, "Reliable fidelity and diversity metrics"): the share of real
    items that have at least one generated item closer than their `neighbours`-th nearest real
    neighbour. A collapsed generator covers only the few real items near its pictures, however
    central they are, where KID and recognition can still call it good. 1 when every real item is
    matched; compare with real items of another sample of the same size (`painting_evaluation`)."""
    generated = _feature_matrix(generated_features, "coverage generated", 1)
    real = _feature_matrix(real_features, "coverage real", 2)
    _same_dimensions(generated, real)
    if isinstance(neighbours, bool) or not isinstance(neighbours, int) or not 1 <= neighbours < len(real):
        raise ValueError(f"coverage: neighbours must be a whole number from 1 to {len(real) - 1} "
                         f"(fewer than the {len(real)} real items), got {neighbours!r}")
    norms = np.einsum("ij,ij->i", real, real)
    within = np.sqrt(_squared_distances(real, real, norms))
    # Column 0 of the sorted row is the item itself (distance 0); its k-th neighbour is column k.
    radii = np.partition(within, neighbours, axis=1)[:, neighbours]
    return float(np.mean(nearest_distances(real, generated) < radii))


# ----------------------------------------------------------------------------------------------
# Sliced Wasserstein distance on Laplacian-pyramid patches (Karras et al. 2018), no network


_BINOMIAL = np.array([1.0, 4.0, 6.0, 4.0, 1.0], dtype=np.float32) / 16.0


def _blur(images: np.ndarray) -> np.ndarray:
    """Separable 5x5 binomial (Gaussian-like) filter over H and W of NHWC, mirrored edges."""
    padded = np.pad(images, ((0, 0), (2, 2), (0, 0), (0, 0)), mode="reflect")
    images = sum(weight * padded[:, offset:offset + images.shape[1]] for offset, weight in enumerate(_BINOMIAL))
    padded = np.pad(images, ((0, 0), (0, 0), (2, 2), (0, 0)), mode="reflect")
    return sum(weight * padded[:, :, offset:offset + images.shape[2]] for offset, weight in enumerate(_BINOMIAL))


def _pyramid_down(images: np.ndarray) -> np.ndarray:
    return _blur(images)[:, ::2, ::2]


def _pyramid_up(images: np.ndarray, height: int, width: int) -> np.ndarray:
    upsampled = np.zeros((len(images), images.shape[1] * 2, images.shape[2] * 2, images.shape[3]), np.float32)
    upsampled[:, ::2, ::2] = images
    # x4: three in four pixels are the zeros just inserted. Cropped for odd sizes (7 -> 4 -> 8).
    return 4.0 * _blur(upsampled)[:, :height, :width]


def laplacian_pyramid(images: np.ndarray, levels: int) -> list[np.ndarray]:
    """Band-pass levels, finest first; the last level is the remaining low-pass image."""
    pyramid = [images.astype(np.float32)]
    for _ in range(1, levels):
        pyramid.append(_pyramid_down(pyramid[-1]))
        pyramid[-2] = pyramid[-2] - _pyramid_up(pyramid[-1], *pyramid[-2].shape[1:3])
    return pyramid


def _as_nhwc(images, name: str) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim == 2 and images.shape[1] == 784:  # Quick, Draw! rows
        images = images.reshape(-1, 28, 28)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[3] not in (1, 3):
        raise ValueError(f"{name}: expected images (N, H, W), (N, H, W, 1|3) or (N, 784), got {images.shape}")
    if images.dtype != np.uint8:
        raise ValueError(f"{name}: expected uint8 images (0..255), got dtype {images.dtype}")
    return images


def _patches(pyramid_level: np.ndarray, patch_size: int, patches_per_image: int,
             generator: np.random.Generator) -> np.ndarray:
    """`patches_per_image` random patch_size² neighbourhoods per image, flattened (count, P*P*C)."""
    count, height, width, channels = pyramid_level.shape
    half = patch_size // 2
    image_index = np.repeat(np.arange(count), patches_per_image)
    rows = generator.integers(half, height - half, size=len(image_index))
    columns = generator.integers(half, width - half, size=len(image_index))
    offsets = np.arange(-half, half + 1)
    patches = pyramid_level[image_index[:, None, None],
                            rows[:, None, None] + offsets[None, :, None],
                            columns[:, None, None] + offsets[None, None, :]]
    return patches.reshape(len(image_index), -1, channels)


def _normalise_descriptors(descriptors: np.ndarray) -> np.ndarray:
    # Per set and per channel, as Karras et al.: SWD then compares the shapes of the distributions.
    descriptors = descriptors - descriptors.mean(axis=(0, 1), keepdims=True)
    descriptors /= descriptors.std(axis=(0, 1), keepdims=True) + 1e-8
    return descriptors.reshape(len(descriptors), -1)


@register("swd", "two uint8 image sets (N, H, W[, C])",
          "sliced Wasserstein distance on Laplacian-pyramid patches (x10³), per level and mean")
def sliced_wasserstein_distance(images_a, images_b, minimum_resolution: int = 16, patch_size: int = 7,
                                patches_per_image: int = 128, projection_repeats: int = 4,
                                projections_per_repeat: int = 128, seed: int = 0,
                                batch_size: int = 64) -> dict:
    """Karras et al. (2018, Progressive GAN)'s SWD between two image sets; needs no trained network.

    Each image becomes a Laplacian pyramid (levels down to `minimum_resolution`, e.g. 256, 128,
    ..., 16; for 28x28 doodles pass 14 to get levels 28 and 14). From every level,
    `patches_per_image` random 7x7 patches (the same positions for both sets, see below) are
    normalised per set and channel, projected on
    `projection_repeats` × `projections_per_repeat` random unit directions, and the sorted
    projections of the two sets compared (mean absolute difference = 1-D Wasserstein-1).
    Returns {"levels": [per-level distance, finest first], "resolutions": [...], "mean": ...},
    scaled by 10³ like the paper's tables. Grayscale or RGB, uint8; sets may differ in size (the
    larger one's patches are subsampled to the smaller count).
    """
    images_a = _as_nhwc(images_a, "images_a")
    images_b = _as_nhwc(images_b, "images_b")
    if images_a.shape[1:] != images_b.shape[1:]:
        raise ValueError(f"image sets differ in shape: {images_a.shape[1:]} vs {images_b.shape[1:]}")
    if len(images_a) < 2 or len(images_b) < 2:
        raise ValueError("sliced_wasserstein_distance needs at least 2 images in each set")
    height, width = images_a.shape[1:3]
    if min(height, width) < max(minimum_resolution, patch_size):
        raise ValueError(f"images of {height}x{width} are smaller than minimum_resolution "
                         f"{minimum_resolution} or patch_size {patch_size}")
    levels, resolution = 0, min(height, width)
    while resolution >= max(minimum_resolution, patch_size):
        levels += 1
        resolution = (resolution + 1) // 2

    def descriptors(images: np.ndarray) -> list[np.ndarray]:
        # Each set draws its patch positions from a fresh generator with the same seed (common
        # random numbers): positions never depend on content, so this adds no bias, makes a set's
        # descriptors independent of what it is compared with, and makes SWD(a, a) exactly 0.
        positions = np.random.default_rng([seed, 1])
        per_level = [[] for _ in range(levels)]
        for start in range(0, len(images), batch_size):
            pyramid = laplacian_pyramid(images[start:start + batch_size], levels)
            for level, band in enumerate(pyramid):
                per_level[level].append(_patches(band, patch_size, patches_per_image, positions))
        return [np.concatenate(level) for level in per_level]

    descriptors_a, descriptors_b = descriptors(images_a), descriptors(images_b)
    generator = np.random.default_rng([seed, 2])  # subsampling and projection directions
    distances, resolutions = [], []
    for level in range(levels):
        a, b = descriptors_a[level], descriptors_b[level]
        count = min(len(a), len(b))
        a = _normalise_descriptors(a[generator.choice(len(a), count, replace=False)] if len(a) > count else a)
        b = _normalise_descriptors(b[generator.choice(len(b), count, replace=False)] if len(b) > count else b)
        repeats = []
        for _ in range(projection_repeats):
            directions = generator.standard_normal((a.shape[1], projections_per_repeat)).astype(np.float32)
            directions /= np.linalg.norm(directions, axis=0, keepdims=True)
            projected_a = np.sort(a @ directions, axis=0)
            projected_b = np.sort(b @ directions, axis=0)
            repeats.append(np.abs(projected_a - projected_b).mean())
        distances.append(float(np.mean(repeats)) * 1e3)
        resolutions.append(int(-(-min(height, width) // 2 ** level)))
    return {"levels": distances, "resolutions": resolutions, "mean": float(np.mean(distances))}


# ----------------------------------------------------------------------------------------------
# KID with ImageNet InceptionV3 features (paintings), when the weights can be had


def inception_network():
    """The ImageNet InceptionV3 without its top, average-pooled (2048-d), for 299x299 RGB.

    Keras downloads the weights once into ~/.keras/models; without network access and without that
    file this raises RuntimeError (SWD needs no weights and works anyway).
    """
    import keras

    try:
        return keras.applications.InceptionV3(weights="imagenet", include_top=False, pooling="avg",
                                              input_shape=(299, 299, 3))
    except Exception as error:  # a failed download and an unreadable file mean the same to the user
        raise RuntimeError(
            "the ImageNet InceptionV3 weights could not be obtained (Keras downloads them once into "
            "~/.keras/models; this machine may have no network access). Copy "
            "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5 there, or use the "
            f"'swd' metric, which needs no pretrained network. Cause: {error}") from error


def inception_features(images, batch_size: int = 32, network=None) -> np.ndarray:
    """2048-d average-pooled InceptionV3 (ImageNet) features of uint8 images at 299x299.

    `network`: an `inception_network()` already built (several image sets, one load of the
    weights); None builds one, raising RuntimeError when the weights cannot be had.
    """
    import keras
    import tensorflow as tf

    images = _as_nhwc(images, "images")
    if network is None:
        network = inception_network()
    outputs = []
    for start in range(0, len(images), batch_size):
        batch = tf.image.resize(tf.cast(images[start:start + batch_size], tf.float32), (299, 299))
        if batch.shape[-1] == 1:
            batch = tf.image.grayscale_to_rgb(batch)
        batch = keras.applications.inception_v3.preprocess_input(batch)
        outputs.append(np.asarray(network(batch, training=False), dtype=np.float64))
    return np.concatenate(outputs)


@register("inception_kid", "two uint8 image sets (N, H, W[, C])",
          "KID with ImageNet InceptionV3 features (needs the weights)")
def inception_kid(images_a, images_b, subsets: int = 100, subset_size: int | None = None,
                  seed: int = 0) -> tuple[float, float]:
    """`kid` on InceptionV3 features, for paintings; RuntimeError when the weights are unavailable."""
    return kid(inception_features(images_a), inception_features(images_b), subsets, subset_size, seed)


# ----------------------------------------------------------------------------------------------
# Everything for one category, with the real reference row


def feature_row(probabilities: np.ndarray, item_features: np.ndarray, reference_features: np.ndarray,
                training_features: np.ndarray, target_index: int, kid_subsets: int, seed: int) -> dict:
    """One measured row: count, FID and KID against `reference_features`, CS for `target_index`,
    GD, and the memorisation distance to `training_features` (a judge's features and probabilities)."""
    kid_mean, kid_std = kid(item_features, reference_features, subsets=kid_subsets, seed=seed)
    return {
        "count": int(len(item_features)),
        "fid": fid(item_features, reference_features),
        "kid_mean": kid_mean,
        "kid_std": kid_std,
        "cs": characteristic_score(probabilities, target_index),
        "gd": generation_diversity(item_features),
        "memorisation_distance": memorisation_distance(item_features, training_features),
    }


def evaluate_drawings(generated_uint8, category: str, classifier, real_held_out_uint8, training_uint8,
                      equal_counts: bool = True, kid_subsets: int = 100, seed: int = 0,
                      keep_items: bool = False) -> dict:
    """FID, KID (mean, std), CS, GD and memorisation distance of generated drawings of `category`,
    and the same for real held-out drawings, both measured against the training drawings.

    - `classifier`: a `classifier.TrainedClassifier` that knows `category`.
    - `real_held_out_uint8`: real drawings of the category that neither the GAN nor the classifier
      trained on (`TrainedClassifier.held_out_indices[category]` rows of the category's array).
    - `training_uint8`: the drawings the GAN trained on: FID/KID reference and memorisation target.
    - `equal_counts`: FID (and, more weakly, the others) depends on the number of items, so both
      rows use the same count, min(generated, held-out), drawn at random with `seed`.

    Returns {"category", "classifier_key", "generated": {...}, "real_held_out": {...}} with keys
    count, fid, kid_mean, kid_std, cs, gd, memorisation_distance in each row. `keep_items` adds
    "items": the measured sets (`intervals.ItemSet`, generated and real_held_out) and the training
    features, for `intervals.bootstrap_intervals`.
    """
    from sketchdraw.quality.classifier import features_and_probabilities

    target_index = classifier.category_index(category)
    generator = np.random.default_rng(seed)
    generated = np.asarray(generated_uint8)
    held_out = np.asarray(real_held_out_uint8)
    if len(generated) < 2 or len(held_out) < 2:
        raise ValueError(f"need at least 2 generated and 2 held-out drawings, got {len(generated)} and {len(held_out)}")
    if equal_counts:
        count = min(len(generated), len(held_out))
        if len(generated) > count:
            generated = generated[np.sort(generator.choice(len(generated), count, replace=False))]
        if len(held_out) > count:
            held_out = held_out[np.sort(generator.choice(len(held_out), count, replace=False))]

    training_features, _ = features_and_probabilities(classifier, training_uint8)
    generated_features, generated_probabilities = features_and_probabilities(classifier, generated)
    held_out_features, held_out_probabilities = features_and_probabilities(classifier, held_out)
    measured = {
        "category": category,
        "classifier_key": getattr(classifier, "key", ""),
        "generated": feature_row(generated_probabilities, generated_features, training_features,
                                 training_features, target_index, kid_subsets, seed),
        "real_held_out": feature_row(held_out_probabilities, held_out_features, training_features,
                                     training_features, target_index, kid_subsets, seed),
    }
    if keep_items:
        from sketchdraw.quality.intervals import item_set

        measured["items"] = {
            "generated": item_set(generated_features, generated_probabilities, target_index,
                                  nearest_distances(generated_features, training_features)),
            "real_held_out": item_set(held_out_features, held_out_probabilities, target_index,
                                      nearest_distances(held_out_features, training_features)),
            "training_features": training_features,
        }
    return measured
