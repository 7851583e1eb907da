"""The bootstrap intervals: their figures are the metrics' own, they cover the truth as often as they
claim, they narrow with more drawings and more noise draws, and they compare generated with real.

Numpy only (synthetic features with known answers); the evaluation tests check metrics.json and
`make evaluate`'s lines on real runs.
"""

from __future__ import annotations

import numpy as np
import pytest

from sketchdraw.quality import intervals, metrics

DIMENSIONS = 16


def features(rng, count: int, shift: float = 0.0) -> np.ndarray:
    return np.abs(rng.normal(shift, 1.0, (count, DIMENSIONS)))


def items(rng, count: int, recognised_share: float, training=None, shift: float = 0.0) -> intervals.ItemSet:
    measured = features(rng, count, shift)
    recognised = (rng.random(count) < recognised_share).astype(float)
    nearest = None if training is None else metrics.nearest_distances(measured, training)
    return intervals.ItemSet(measured, recognised, nearest)


def test_the_whole_set_figure_is_the_metrics_own():
    rng = np.random.default_rng(0)
    training = features(rng, 120)
    generated = items(rng, 120, 0.6, training, shift=0.3)
    values = intervals.resampled_values({"generated": [generated]}, training, resamples=20)["generated"]
    assert values["cs"][0] == pytest.approx(generated.recognised.mean())
    assert values["memorisation_distance"][0] == pytest.approx(
        metrics.memorisation_distance(generated.features, training))
    assert values["gd"][0] == pytest.approx(metrics.generation_diversity(generated.features))
    assert values["fid"][0] == pytest.approx(metrics.fid(generated.features, training), rel=1e-6)
    # KID of the whole sets: metrics.kid with one subset that is the whole of both (equal sizes).
    assert values["kid_mean"][0] == pytest.approx(
        metrics.kid(generated.features, training, subsets=1, subset_size=120)[0], rel=1e-6, abs=1e-9)
    assert all(len(array) == 21 for array in values.values())


def test_intervals_cover_the_true_share_about_as_often_as_they_claim():
    rng = np.random.default_rng(1)
    truth, covered, repeats = 0.65, 0, 60
    reference = features(rng, 50)
    for repeat in range(repeats):
        generated = items(rng, 300, truth)
        low, high = intervals.bootstrap_intervals({"generated": [generated]}, reference, figures=("cs",),
                                                  resamples=200, seed=repeat)["generated"]["cs"]
        covered += low <= truth <= high
    # 95% intervals: 57 of 60 expected; binomial spread allows 52..60.
    assert 52 <= covered <= repeats


def test_intervals_narrow_with_more_drawings_and_with_more_noise_draws():
    rng = np.random.default_rng(2)
    reference = features(rng, 400)

    def width(item_sets, figure):
        low, high = intervals.bootstrap_intervals({"generated": item_sets}, reference, figures=(figure,),
                                                  resamples=200)["generated"][figure]
        return high - low

    small, large = items(rng, 100, 0.5), items(rng, 1600, 0.5)
    assert width([large], "cs") < 0.4 * width([small], "cs")  # 1 / sqrt(16) = 0.25
    four_draws = [items(rng, 100, 0.5) for _ in range(4)]
    assert width(four_draws, "cs") < 0.7 * width([small], "cs")  # 1 / sqrt(4) = 0.5
    assert width([large], "kid_mean") < width([small], "kid_mean")


def test_generated_against_real_ratios_and_differences():
    rng = np.random.default_rng(3)
    training = features(rng, 300)
    real = items(rng, 300, 0.7, training)
    drawn = items(rng, 300, 0.7, training)
    # As many recognised as the real ones, on other drawings of the same distribution.
    alike = intervals.ItemSet(drawn.features, rng.permutation(real.recognised), drawn.nearest_training)
    result = intervals.bootstrap_intervals({"generated": [alike], "real_held_out": [real]}, training)
    low, high = result["generated_over_real"]["cs"]
    assert low < 1.0 < high  # the same distribution: "as recognisable as real" cannot be ruled out
    low, high = result["generated_minus_real"]["kid_mean"]
    assert low < 0.0 < high
    far = items(rng, 300, 0.2, training, shift=1.5)
    result = intervals.bootstrap_intervals({"generated": [far], "real_held_out": [real]}, training)
    assert result["generated_over_real"]["cs"][1] < 0.5
    assert result["generated_minus_real"]["fid"][0] > 0.0 and result["generated_minus_real"]["kid_mean"][0] > 0.0
    assert result["confidence"] == 0.95 and result["resamples"] == intervals.RESAMPLES
    # A ratio to a real CS of 0 has no interval, rather than an infinite one.
    never = intervals.ItemSet(real.features, np.zeros(300), real.nearest_training)
    result = intervals.bootstrap_intervals({"generated": [alike], "real_held_out": [never]}, training,
                                           figures=("cs",), resamples=20)
    assert result["generated_over_real"]["cs"] is None


def test_fid_intervals_are_centred_on_the_figure_not_on_the_resamples_bias():
    rng = np.random.default_rng(4)
    reference = features(rng, 200)
    generated = items(rng, 200, 0.5, shift=0.2)
    figure = metrics.fid(generated.features, reference)
    values = intervals.resampled_values({"generated": [generated]}, reference, figures=("fid",))["generated"]["fid"]
    assert values[1:].mean() > figure * 1.1  # repeated drawings inflate a resample's FID ...
    low, high = intervals.bootstrap_intervals({"generated": [generated]}, reference, figures=("fid",))["generated"]["fid"]
    assert low < figure < high  # ... which the shift takes out


def test_bad_settings_are_refused():
    rng = np.random.default_rng(5)
    reference = features(rng, 20)
    row = {"generated": [items(rng, 20, 0.5)]}
    for bad in (5, 0, True, 2.5):
        with pytest.raises(ValueError, match="resamples"):
            intervals.bootstrap_intervals(row, reference, resamples=bad)
    with pytest.raises(ValueError, match="confidence"):
        intervals.bootstrap_intervals(row, reference, confidence=1.0)
    with pytest.raises(ValueError, match="unknown figures"):
        intervals.bootstrap_intervals(row, reference, figures=("cs", "sharpness"))
    with pytest.raises(ValueError, match="no item sets"):
        intervals.bootstrap_intervals({"generated": []}, reference)


def test_format_interval():
    assert intervals.format_interval(0.6472, [0.6213, 0.6734]) == "0.647 [0.621, 0.673]"
    assert intervals.format_interval(0.0098, None, digits=4) == "0.0098"
