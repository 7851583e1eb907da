"""Error bars: percentile-bootstrap intervals for the figures of an evaluation and of the quality curve.

A figure such as "CS 0.647 against the real drawings' 0.638" is two samples' values: other noise
draws give other generated drawings, and other real drawings would give another reference. The
bootstrap redraws both: each resample takes, with replacement, the items of every noise draw, the
real held-out drawings and the reference drawings that FID and KID compare with, and recomputes
every figure; the interval is the middle `confidence` share of the resampled values, shifted so
that their mean is the figure itself (a resample repeats some drawings and leaves others out,
which raises FID, biased by set size, by far more than its spread: without the shift its interval
would lie wholly above the figure; the other figures move by a few thousandths). With several
noise draws, each resample redraws every draw's items and averages over the draws, as the reported
figure does, so the interval is the interval of that mean.

The resamples are counts (how often each item is drawn), so a resampled figure is a weighted sum
over the matrices computed once (kernel values, pairwise distances): 200 resamples of 1,000 items
cost about as much as one more evaluation. Pairs of one item with its own copy are left out of the
within-set means of KID and GD, as the unbiased estimators leave out the diagonal.

    intervals = bootstrap_intervals({"generated": [draw_a, draw_b], "real_held_out": [real]},
                                    training_features, target_index=3)
    intervals["generated"]["cs"]               # [low, high]
    intervals["generated_over_real"]["cs"]     # is "as recognisable as real" inside it?
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 200
FIGURES = ("cs", "kid_mean", "fid", "gd", "memorisation_distance")
RATIO_FIGURES = ("cs", "gd", "memorisation_distance")  # generated / real: "0.9x as recognisable"
DIFFERENCE_FIGURES = ("kid_mean", "fid")  # generated - real: both near 0 for a perfect generator
RESAMPLED = ("each noise draw's generated drawings, the real held-out drawings and the reference "
             "drawings of FID and KID (the GAN's training drawings for make evaluate, the held-out "
             "ones for the quality curve), with replacement; memorisation keeps the whole training set")


@dataclass(frozen=True)
class ItemSet:
    """One set of measured drawings: classifier features (N, D), whether each is recognised as
    the category (N,), and each one's distance to its nearest training drawing (N,), if measured."""

    features: np.ndarray
    recognised: np.ndarray
    nearest_training: np.ndarray | None = None


def item_set(features, probabilities, target_index: int, nearest_training=None) -> ItemSet:
    """An ItemSet from the classifier's features and probabilities (CS counts the argmax)."""
    recognised = (np.argmax(np.asarray(probabilities), axis=1) == target_index).astype(np.float64)
    return ItemSet(np.asarray(features, dtype=np.float64), recognised,
                   None if nearest_training is None else np.asarray(nearest_training, dtype=np.float64))


def resample_counts(count: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(1 + resamples, count) int: how often each of `count` items is drawn; row 0 is the whole set
    once (the figure itself), then one row per resample of `count` drawn with replacement."""
    return np.concatenate([np.ones((1, count), dtype=np.int64),
                           rng.multinomial(count, np.full(count, 1.0 / count), size=resamples)])


def _weighted_within(matrix: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per resample, the mean of matrix[a, b] over pairs of drawn items, pairs of an item with
    itself (or its copy) left out: (c K c - Σ c_i² K_ii) / (n² - Σ c_i²)."""
    squared = counts.astype(np.float64) ** 2
    total = np.einsum("bi,ij,bj->b", counts, matrix, counts, optimize=True) - squared @ np.diag(matrix)
    pairs = counts.sum(axis=1).astype(np.float64) ** 2 - squared.sum(axis=1)
    return total / np.maximum(pairs, 1.0)


def _weighted_cross(matrix: np.ndarray, counts_a: np.ndarray, counts_b: np.ndarray) -> np.ndarray:
    total = np.einsum("bi,ij,bj->b", counts_a, matrix, counts_b, optimize=True)
    return total / (counts_a.sum(axis=1) * counts_b.sum(axis=1))


def _cubic_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a @ b.T / a.shape[1] + 1.0) ** 3  # metrics.kid's kernel


def _weighted_moments(features: np.ndarray, counts: np.ndarray, eps: float) -> tuple[np.ndarray, list]:
    """Per resample: the mean (B, D) and the covariance (with metrics.fid's ridge) of the drawn items."""
    total = counts.sum(axis=1, keepdims=True).astype(np.float64)
    means = counts @ features / total
    covariances = []
    for row, mean in zip(counts, means, strict=True):
        weighted = features.T @ (features * row[:, None])
        covariances.append((weighted - row.sum() * np.outer(mean, mean)) / (row.sum() - 1)
                           + eps * np.eye(features.shape[1]))
    return means, covariances


def _square_root(matrix: np.ndarray) -> np.ndarray:
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


class _Reference:
    """The FID/KID reference drawings and, per resample, what every item set is compared with."""

    def __init__(self, features: np.ndarray, counts: np.ndarray, figures: Sequence[str], eps: float):
        self.features = features
        self.counts = counts
        self.kernel_within = None
        if "kid_mean" in figures:
            self.kernel_within = _weighted_within(_cubic_kernel(features, features), counts)
        self.means = self.roots = self.traces = None
        if "fid" in figures:
            self.means, covariances = _weighted_moments(features, counts, eps)
            self.roots = [_square_root(covariance) for covariance in covariances]
            self.traces = np.array([np.trace(covariance) for covariance in covariances])


def _resampled_figures(items: ItemSet, counts: np.ndarray, reference: _Reference,
                       figures: Sequence[str], eps: float) -> dict[str, np.ndarray]:
    """Every figure of one item set for every resample, (B,) each."""
    size = counts.sum(axis=1).astype(np.float64)
    values = {}
    if "cs" in figures:
        values["cs"] = counts @ items.recognised / size
    if "memorisation_distance" in figures and items.nearest_training is not None:
        values["memorisation_distance"] = counts @ items.nearest_training / size
    if "gd" in figures:
        squared = np.einsum("ij,ij->i", items.features, items.features)
        distances = np.sqrt(np.clip(squared[:, None] + squared[None, :]
                                    - 2.0 * items.features @ items.features.T, 0.0, None))
        values["gd"] = _weighted_within(distances, counts)
    if "kid_mean" in figures:
        within = _weighted_within(_cubic_kernel(items.features, items.features), counts)
        cross = _weighted_cross(_cubic_kernel(items.features, reference.features), counts, reference.counts)
        values["kid_mean"] = within + reference.kernel_within - 2.0 * cross
    if "fid" in figures:
        means, covariances = _weighted_moments(items.features, counts, eps)
        fids = np.empty(len(counts))
        for index, (mean, covariance) in enumerate(zip(means, covariances, strict=True)):
            root = reference.roots[index]
            product = np.linalg.eigvalsh(root @ covariance @ root)
            difference = mean - reference.means[index]
            fids[index] = max(0.0, difference @ difference + np.trace(covariance) + reference.traces[index]
                              - 2.0 * np.sum(np.sqrt(np.clip(product, 0.0, None))))
        values["fid"] = fids
    return values


def _interval(values: np.ndarray, confidence: float) -> list[float] | None:
    """`values`: the figure itself, then its resampled values. The middle `confidence` share of
    the finite resampled values, shifted by (figure - their mean); None when the figure or no
    resample is finite (a ratio to a real figure of 0)."""
    figure, resampled = values[0], values[1:]
    finite = resampled[np.isfinite(resampled)]
    if not len(finite) or not np.isfinite(figure):
        return None
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(finite, [tail, 100.0 - tail]) + (figure - finite.mean())
    return [float(low), float(high)]


def resampled_values(rows: Mapping[str, Sequence[ItemSet]],
                     reference_features: np.ndarray | Mapping[str, np.ndarray],
                     figures: Sequence[str] = FIGURES, resamples: int = RESAMPLES, seed: int = 0,
                     eps: float = 1e-6) -> dict[str, dict[str, np.ndarray]]:
    """{row: {figure: (1 + resamples,) values}}: index 0 is the figure of the whole sets (each
    row's mean over its item sets), then one value per resample. The reference and every row's
    items are redrawn together in each resample, so values of two rows at one index are paired.

    `reference_features`: one array that every row's FID and KID compare with, or {row: array}
    when each row has its own (a painting run's generated paintings are compared with the
    held-out paintings, those with the training paintings); each distinct reference is redrawn
    once per resample."""
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 10:
        raise ValueError(f"resamples must be a whole number >= 10, got {resamples!r}")
    unknown = set(figures) - set(FIGURES)
    if unknown:
        raise ValueError(f"unknown figures {sorted(unknown)}; choose from {list(FIGURES)}")
    if isinstance(reference_features, Mapping):
        missing = sorted(set(rows) - set(reference_features))
        if missing:
            raise ValueError(f"no reference features for the rows {missing}; give one array for "
                             "every row, or {row: array} naming each row")
        reference_of = dict(reference_features)
    else:
        reference_of = {name: reference_features for name in rows}
    rng = np.random.default_rng(seed)
    references: dict[int, _Reference] = {}  # by identity: rows given the same array share its redraws
    for name in rows:
        features = reference_of[name]
        if id(features) not in references:
            features = np.asarray(features, dtype=np.float64)
            references[id(reference_of[name])] = _Reference(
                features, resample_counts(len(features), resamples, rng), figures, eps)
    values: dict[str, dict[str, np.ndarray]] = {}
    for name, item_sets in rows.items():
        if not item_sets:
            raise ValueError(f"row {name!r} has no item sets")
        reference = references[id(reference_of[name])]
        per_set = [_resampled_figures(items, resample_counts(len(items.recognised), resamples, rng),
                                      reference, figures, eps) for items in item_sets]
        values[name] = {figure: np.mean([measured[figure] for measured in per_set], axis=0)
                        for figure in per_set[0]}
    return values


def bootstrap_intervals(rows: Mapping[str, Sequence[ItemSet]],
                        reference_features: np.ndarray | Mapping[str, np.ndarray],
                        figures: Sequence[str] = FIGURES, resamples: int = RESAMPLES,
                        confidence: float = CONFIDENCE, seed: int = 0, eps: float = 1e-6) -> dict:
    """{row: {figure: [low, high]}} for every row of item sets (several sets = several noise draws,
    averaged as the reported figure is), plus "generated_over_real" (ratios) and
    "generated_minus_real" (differences) when both a "generated" and a "real_held_out" row are
    given, and the settings ("confidence", "resamples", "resampled"). See `resampled_values`."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie between 0 and 1, got {confidence!r}")
    resampled = resampled_values(rows, reference_features, figures, resamples, seed, eps)
    result: dict = {name: {figure: _interval(values, confidence) for figure, values in row.items()}
                    for name, row in resampled.items()}
    if "generated" in resampled and "real_held_out" in resampled:
        generated, real = resampled["generated"], resampled["real_held_out"]
        with np.errstate(divide="ignore", invalid="ignore"):
            result["generated_over_real"] = {figure: _interval(generated[figure] / real[figure], confidence)
                                             for figure in RATIO_FIGURES if figure in generated and figure in real}
        result["generated_minus_real"] = {figure: _interval(generated[figure] - real[figure], confidence)
                                          for figure in DIFFERENCE_FIGURES if figure in generated and figure in real}
    result.update(confidence=confidence, resamples=resamples, resampled=RESAMPLED)
    return result


def format_interval(value: float, interval: Sequence[float] | None, digits: int = 3) -> str:
    """"0.647 [0.62, 0.67]": a figure with its interval, or the figure alone when there is none."""
    if interval is None:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} [{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"
