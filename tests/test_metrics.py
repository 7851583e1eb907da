"""The metrics on arrays with known answers, and SWD on real doodles (no classifier needed here;
the classifier-based checks, CS = held-out accuracy and `evaluate_drawings`, are in test_classifier.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sketchdraw.quality import metrics


def correlated_features(count: int, dimensions: int, seed: int) -> np.ndarray:
    generator = np.random.default_rng(seed)
    mixing = np.random.default_rng(1234).standard_normal((dimensions, dimensions)) / np.sqrt(dimensions)
    return generator.standard_normal((count, dimensions)) @ mixing + 0.3


# ---------------------------------------------------------------------------------------------- registry


def test_every_metric_is_registered_by_name():
    assert metrics.METRICS.names() == sorted(
        ["fid", "kid", "cs", "gd", "sds", "memorisation", "near_copies", "coverage", "swd", "inception_kid"])
    assert metrics.get("fid").function is metrics.fid
    with pytest.raises(ValueError, match="did you mean 'fid'"):
        metrics.get("fdi")


# ---------------------------------------------------------------------------------------------- FID


def test_fid_of_a_set_with_itself_is_zero_and_fid_is_symmetric():
    a = correlated_features(400, 32, seed=0)
    b = correlated_features(300, 32, seed=1)
    assert metrics.fid(a, a) == pytest.approx(0.0, abs=1e-6)
    assert metrics.fid(a, b) == pytest.approx(metrics.fid(b, a), rel=1e-8)
    assert metrics.fid(a, b) > 0


def test_fid_matches_the_textbook_formula():
    # An independent route: eigenvalues of the (non-symmetric) product S_a S_b.
    a = correlated_features(400, 16, seed=2)
    b = correlated_features(400, 16, seed=3) * 1.5
    covariance_a, covariance_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    trace_of_root = np.sum(np.sqrt(np.linalg.eigvals(covariance_a @ covariance_b).real))
    mean_difference = a.mean(0) - b.mean(0)
    expected = mean_difference @ mean_difference + np.trace(covariance_a + covariance_b) - 2 * trace_of_root
    assert metrics.fid(a, b, eps=0.0) == pytest.approx(expected, rel=1e-8)


def test_fid_grows_monotonically_as_one_set_is_shifted():
    a = correlated_features(400, 32, seed=4)
    b = correlated_features(400, 32, seed=5)
    distances = [metrics.fid(a, b + shift) for shift in (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)]
    assert all(near < far for near, far in itertools.pairwise(distances)), distances


def test_fid_with_fewer_items_than_dimensions_is_finite():
    # Singular covariances: the ridge keeps it finite and the self-distance at zero.
    a = correlated_features(20, 64, seed=6)
    b = correlated_features(20, 64, seed=7)
    assert np.isfinite(metrics.fid(a, b)) and metrics.fid(a, b) > 0
    assert metrics.fid(a, a) == pytest.approx(0.0, abs=1e-5)


def test_fid_refuses_mismatched_or_tiny_inputs():
    with pytest.raises(ValueError, match="feature dimensions differ"):
        metrics.fid(np.zeros((10, 4)), np.zeros((10, 5)))
    with pytest.raises(ValueError, match="at least 2"):
        metrics.fid(np.zeros((1, 4)), np.zeros((10, 4)))
    with pytest.raises(ValueError, match="2-D"):
        metrics.fid(np.zeros(10), np.zeros(10))


# ---------------------------------------------------------------------------------------------- KID


def test_kid_is_near_zero_for_two_samples_of_one_distribution():
    a = correlated_features(400, 16, seed=8)
    b = correlated_features(400, 16, seed=9)
    same_mean, same_std = metrics.kid(a, b, subsets=20, subset_size=200)
    shifted_mean, _ = metrics.kid(a, b + 0.5, subsets=20, subset_size=200)
    assert shifted_mean > 0
    assert abs(same_mean) < 0.05 * shifted_mean, (same_mean, shifted_mean)
    assert same_std >= 0


def test_kid_equals_the_unbiased_mmd_when_one_subset_is_the_whole_set():
    a = correlated_features(50, 8, seed=10)
    b = correlated_features(50, 8, seed=11) + 0.2

    def kernel(x, y):
        return (x @ y.T / 8 + 1) ** 3

    off_diagonal = ~np.eye(50, dtype=bool)
    expected = kernel(a, a)[off_diagonal].mean() + kernel(b, b)[off_diagonal].mean() - 2 * kernel(a, b).mean()
    mean, std = metrics.kid(a, b, subsets=1, subset_size=50)
    assert mean == pytest.approx(expected, rel=1e-10)
    assert std == 0.0


def test_kid_is_seeded_and_refuses_too_few_samples():
    a, b = correlated_features(100, 8, seed=12), correlated_features(80, 8, seed=13)
    assert metrics.kid(a, b, subsets=5, seed=3) == metrics.kid(a, b, subsets=5, seed=3)
    with pytest.raises(ValueError, match="larger than the smaller set"):
        metrics.kid(a, b, subset_size=81)
    with pytest.raises(ValueError, match="at least 2"):
        metrics.kid(a, b, subset_size=1)


# ---------------------------------------------------------------------------------------------- CS


def test_characteristic_score_from_labels_or_probabilities():
    labels = np.array([0, 2, 2, 1, 2])
    probabilities = np.eye(3)[labels] * 0.7 + 0.1
    assert metrics.characteristic_score(labels, 2) == pytest.approx(0.6)
    assert metrics.characteristic_score(probabilities, 2) == pytest.approx(0.6)
    assert metrics.characteristic_score(labels, [1, 2]) == pytest.approx(0.8)
    with pytest.raises(ValueError, match="category index"):
        metrics.characteristic_score(labels, "rabbit")
    with pytest.raises(ValueError, match="integer labels"):
        metrics.characteristic_score(np.array([0.5, 0.2]), 0)


# ---------------------------------------------------------------------------------------------- GD


def test_generation_diversity_of_identical_drawings_is_zero():
    assert metrics.generation_diversity(np.tile([[1.0, 2.0, 3.0]], (50, 1))) == pytest.approx(0.0, abs=1e-6)


def test_generation_diversity_is_the_mean_pairwise_distance():
    features = correlated_features(37, 5, seed=14)
    expected = np.mean([np.linalg.norm(x - y) for x, y in itertools.combinations(features, 2)])
    # A small block size exercises the blocked path.
    assert metrics.generation_diversity(features, block_size=8) == pytest.approx(expected, rel=1e-9)
    assert metrics.generation_diversity(np.array([[0.0, 0.0], [3.0, 4.0]])) == pytest.approx(5.0)


# ---------------------------------------------------------------------------------------------- SDS


def test_semantic_diversity_is_zero_for_one_class_and_maximal_for_a_uniform_spread():
    categories = 5
    one_class = np.tile(np.eye(categories)[2], (40, 1))
    uniform_by_drawing = np.eye(categories)[np.arange(40) % categories]  # each drawing sure, the set spread
    assert metrics.semantic_diversity_score(one_class) == pytest.approx(0.0, abs=1e-12)
    assert metrics.semantic_diversity_score(uniform_by_drawing) == pytest.approx(np.log(categories))
    assert metrics.semantic_diversity_score(uniform_by_drawing, normalised=True) == pytest.approx(1.0)
    generator = np.random.default_rng(15)
    for _ in range(20):
        random_probabilities = generator.dirichlet(np.ones(categories), size=40)
        assert 0.0 <= metrics.semantic_diversity_score(random_probabilities) < np.log(categories)


def test_semantic_diversity_counts_only_the_target_categories():
    # Half the mass on {0, 1} evenly, half outside the set: P_C = 0.5, entropy within = ln 2.
    probabilities = np.array([[0.25, 0.25, 0.5, 0.0]] * 10)
    assert metrics.semantic_diversity_score(probabilities, target_indices=[0, 1]) == pytest.approx(0.5 * np.log(2))
    with pytest.raises(ValueError, match="probability distributions"):
        metrics.semantic_diversity_score(np.array([[2.0, -1.0]]))


# ---------------------------------------------------------------------------------------------- memorisation


def test_memorisation_distance_is_zero_for_a_copy_of_the_training_set():
    training = correlated_features(300, 64, seed=16) * 10
    assert metrics.memorisation_distance(training[::-1].copy(), training) == pytest.approx(0.0, abs=1e-5)


def test_nearest_distances_match_brute_force_across_blocks():
    queries = correlated_features(45, 6, seed=17)
    references = correlated_features(70, 6, seed=18)
    expected = np.array([np.min(np.linalg.norm(references - query, axis=1)) for query in queries])
    np.testing.assert_allclose(metrics.nearest_distances(queries, references, block_size=4), expected, rtol=1e-9)
    # the rows too, across reference blocks of 32 (the nearest is often in the third block)
    _, rows = metrics.nearest_neighbours(queries, references, block_size=4)
    np.testing.assert_array_equal(rows, [np.argmin(np.linalg.norm(references - query, axis=1)) for query in queries])
    with pytest.raises(ValueError, match="feature dimensions differ"):
        metrics.memorisation_distance(queries, references[:, :5])


def test_near_copies_count_the_close_ones_that_the_mean_distance_hides():
    rng = np.random.default_rng(21)
    training = rng.normal(size=(400, 8))
    real = metrics.nearest_distances(rng.normal(size=(200, 8)), training)
    drawn_alike = metrics.nearest_distances(rng.normal(size=(200, 8)), training)
    assert metrics.near_copy_share(real, real) == pytest.approx(0.05, abs=0.006)  # by construction
    assert metrics.near_copy_share(drawn_alike, real) < 0.15
    # a tenth copied (with a little noise), the rest drawn further out: the mean distance is the
    # real one's, the near copies are not
    copies = training[:20] + 0.01 * rng.normal(size=(20, 8))
    mixed = metrics.nearest_distances(np.concatenate([copies, 1.1 * rng.normal(size=(180, 8))]), training)
    assert abs(mixed.mean() / real.mean() - 1.0) < 0.15
    assert metrics.near_copy_share(mixed, real) >= 0.1
    with pytest.raises(ValueError, match="quantile must be between 0 and 1"):
        metrics.near_copy_share(real, real, quantile=1.5)
    with pytest.raises(ValueError, match="real_distances must be a non-empty 1-D array"):
        metrics.near_copy_share(real, np.array([]))


# ---------------------------------------------------------------------------------------------- coverage


def test_coverage_is_full_for_another_sample_and_low_for_a_collapsed_one():
    rng = np.random.default_rng(19)
    real = rng.normal(size=(200, 8))
    assert metrics.coverage(real, real) == 1.0  # each real item is its own generated match
    another = metrics.coverage(rng.normal(size=(200, 8)), real)
    assert another > 0.85, "a second sample of the same distribution covers nearly everything"
    # collapse onto the very centre of the distribution: KID-friendly, yet covers almost nothing
    collapsed = np.repeat(real.mean(axis=0, keepdims=True), 200, axis=0) + 0.01 * rng.normal(size=(200, 8))
    assert metrics.coverage(collapsed, real) < 0.1
    assert metrics.coverage(real + 100.0, real) == 0.0  # far away


def test_coverage_matches_its_definition_by_brute_force():
    rng = np.random.default_rng(20)
    real, generated = rng.normal(size=(30, 3)), rng.normal(size=(25, 3))
    expected = []
    for item in real:
        radius = np.sort(np.linalg.norm(real - item, axis=1))[3]  # 3rd neighbour besides itself
        expected.append(np.min(np.linalg.norm(generated - item, axis=1)) < radius)
    assert metrics.coverage(generated, real, neighbours=3) == pytest.approx(np.mean(expected))


@pytest.mark.parametrize("neighbours", [0, 30, 2.5, True])
def test_coverage_refuses_a_neighbour_count_it_cannot_use(neighbours):
    real = np.random.default_rng(21).normal(size=(30, 3))
    with pytest.raises(ValueError, match="neighbours must be a whole number from 1 to 29"):
        metrics.coverage(real, real, neighbours=neighbours)


# ---------------------------------------------------------------------------------------------- SWD


def box_blur(images: np.ndarray, size: int) -> np.ndarray:
    """Mean over a size x size window (edges padded by repetition), back to uint8."""
    images = images.astype(np.float64)
    padded = np.pad(images, ((0, 0), (size // 2, size // 2), (size // 2, size // 2)), mode="edge")
    height, width = images.shape[1:]
    total = sum(padded[:, dy:dy + height, dx:dx + width] for dy in range(size) for dx in range(size))
    return np.round(total / size**2).astype(np.uint8)


@pytest.fixture(scope="module")
def rabbits(quickdraw_mirror) -> np.ndarray:
    return np.load(quickdraw_mirror / "rabbit.npy", allow_pickle=False)[:400].reshape(-1, 28, 28)


def test_swd_of_a_set_with_itself_is_near_zero_and_grows_with_blur(rabbits):
    options = dict(minimum_resolution=14, patches_per_image=32)
    first, second = rabbits[:200], rabbits[200:]
    itself = metrics.sliced_wasserstein_distance(first, first, **options)
    two_real_samples = metrics.sliced_wasserstein_distance(first, second, **options)
    blurred = [metrics.sliced_wasserstein_distance(first, box_blur(second, size), **options)["mean"]
               for size in (3, 5, 7)]
    assert itself["resolutions"] == [28, 14] and len(itself["levels"]) == 2
    assert itself["mean"] == pytest.approx(0.0, abs=1e-9)
    # Two real samples differ only by sampling (~28 here); the lightest blur already doubles that.
    assert two_real_samples["mean"] < 0.7 * blurred[0]
    assert all(near < far for near, far in itertools.pairwise(blurred)), blurred


def test_swd_accepts_rgb_and_flat_quickdraw_rows_and_refuses_floats(rabbits):
    rgb = np.repeat(rabbits[:20, :, :, None], 3, axis=3)
    result = metrics.sliced_wasserstein_distance(rgb, rgb[::-1], minimum_resolution=14, patches_per_image=8)
    assert np.isfinite(result["mean"])
    flat = rabbits[:20].reshape(20, 784)
    assert np.isfinite(metrics.sliced_wasserstein_distance(flat, flat, minimum_resolution=14,
                                                           patches_per_image=8)["mean"])
    with pytest.raises(ValueError, match="uint8"):
        metrics.sliced_wasserstein_distance(rabbits[:10] / 255.0, rabbits[:10])
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.sliced_wasserstein_distance(rabbits[:10], rgb[:10])


# ---------------------------------------------------------------------------------------------- Inception KID


def test_inception_kid_without_weights_says_so_and_points_to_swd(monkeypatch):
    import keras

    def no_weights(*args, **kwargs):
        raise OSError("URL fetch failure: no network")

    monkeypatch.setattr(keras.applications, "InceptionV3", no_weights)
    images = np.zeros((4, 32, 32, 3), dtype=np.uint8)
    with pytest.raises(RuntimeError, match="could not be obtained.*swd"):
        metrics.inception_kid(images, images)
