"""The painting judge's broken paintings (`quality.artefacts`): each failure is what it says, made
from the painting it breaks, reproducible, and refused on what is not a set of paintings."""

import numpy as np
import pytest

from sketchdraw import paintings
from sketchdraw.quality import artefacts


@pytest.fixture(scope="module")
def images(shared_data):
    found = paintings.load_painting_folder(shared_data / "wikiart" / "vangogh", progress=False)
    return found.images[:24]


def high_frequency_energy(image: np.ndarray, period: int) -> float:
    """The largest over the colour channels of the energy at the spectrum's (period, period) frequency."""
    channels = np.moveaxis(image.astype(np.float64), -1, 0)
    spectrum = np.abs(np.fft.fft2(channels - channels.mean(axis=(1, 2), keepdims=True)))
    size = image.shape[0]
    return float(spectrum[:, size // period, size // period].max())


def test_a_checkerboard_adds_a_grid_of_period_2_or_4(images):
    broken = artefacts.checkerboard(images, np.random.default_rng(0))
    for original, stamped in zip(images, broken, strict=True):
        gain = max(high_frequency_energy(stamped, period) / (high_frequency_energy(original, period) + 1.0)
                   for period in (2, 4))
        assert gain > 5, "the grid's frequency should stand far above the painting's own"
        assert np.abs(stamped.astype(int) - original.astype(int)).mean() < 45  # the painting is still there


def test_stripes_repeat_one_band_of_the_painting(images):
    broken = artefacts.stripes(images, np.random.default_rng(1))
    for original, striped in zip(images, broken, strict=True):
        # a band of rows (or of columns) repeats with some period of 3-12
        repeats = [axis for axis in (0, 1) for period in range(3, 13)
                   if np.array_equal(np.take(striped, range(period, 64), axis=axis),
                                     np.take(striped, range(0, 64 - period), axis=axis))]
        assert repeats, "no repeating band"
        band = np.take(striped, range(3), axis=repeats[0])
        # the band is cut from the painting itself, not invented
        source = original if repeats[0] == 0 else original.transpose(1, 0, 2)
        band = band if repeats[0] == 0 else band.transpose(1, 0, 2)
        assert any(np.array_equal(source[row:row + 3], band) for row in range(62))


def test_blur_keeps_the_colours_and_loses_the_detail(images):
    broken = artefacts.blur(images, np.random.default_rng(2))
    detail = lambda batch: np.abs(np.diff(batch.astype(float), axis=2)).mean()  # noqa: E731
    assert detail(broken) < 0.4 * detail(images)
    np.testing.assert_allclose(broken.mean(axis=(1, 2)), images.mean(axis=(1, 2)), atol=12)


def test_a_blend_mixes_paintings_of_the_pool_at_the_painting_s_contrast(images):
    broken = artefacts.blend(images[:4], np.random.default_rng(3), pool=images)
    for original, mixed in zip(images[:4], broken, strict=True):
        assert not np.array_equal(original, mixed)
        assert abs(float(mixed.std()) - float(original.std())) < 0.15 * float(original.std()) + 2


def test_break_paintings_uses_every_failure_reproducibly(images):
    first = artefacts.break_paintings(images, np.random.default_rng(4))
    again = artefacts.break_paintings(images, np.random.default_rng(4))
    np.testing.assert_array_equal(first, again)
    assert first.shape == images.shape and first.dtype == np.uint8
    assert not np.any(np.all(first == images, axis=(1, 2, 3))), "every painting is broken"
    kinds = np.random.default_rng(4).integers(0, len(artefacts.BREAKERS), size=len(images))
    assert set(kinds) == set(range(len(artefacts.BREAKERS)))  # this seed draws all four kinds


@pytest.mark.parametrize("bad, message", [
    (np.zeros((3, 8, 8), np.uint8), "uint8 RGB images"),
    (np.zeros((3, 8, 8, 3), np.float32), "uint8 RGB images"),
    (np.zeros((1, 8, 8, 3), np.uint8), "a pool of at least 2 images"),
])
def test_what_is_not_a_set_of_paintings_is_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        artefacts.break_paintings(bad, np.random.default_rng(0))


def test_a_folder_cannot_take_the_broken_class_s_name(shared_data, tmp_path):
    from sketchdraw.quality import painting_judge

    folders = {"artefacts": shared_data / "wikiart" / "vangogh",
               "drawings": shared_data / "wikiart" / "vangogh_drawings"}
    with pytest.raises(ValueError, match="names the judge's class of broken paintings"):
        painting_judge.train_painting_judge(folders, epochs=1, images_per_epoch=8, limit_per_class=4,
                                            cache=tmp_path, progress=False)
