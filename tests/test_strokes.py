"""The simplified-ndjson reader and the rasteriser: errors, the recognised filter, ink in the right place."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sketchdraw import strokes

# Ink statistics of 25 rasterised drawings vs all of the category's real numpy_bitmap drawings.
# With the chosen line width the 35 shared categories differ by 3-4% on average and at most 10%
# (25 drawings are a small sample); pooled over all of them 1-3%. So 15% per category and 5%
# pooled leave room for sampling noise only.
PER_CATEGORY_TOLERANCE = 0.15
POOLED_TOLERANCE = 0.05
COMPARED_CATEGORIES = ["cat", "rabbit", "flower", "apple"]


def ndjson_path(shared_data, category):
    return shared_data / "quickdraw" / "ndjson_25" / f"{category}.ndjson"


def test_diagonal_stroke_inks_the_diagonal_only():
    image = strokes.rasterize([[[0, 255], [0, 255]]])
    assert image.shape == (28, 28) and image.dtype == np.uint8
    rows, columns = np.indices(image.shape)
    distance = np.abs(rows - columns)
    # Pixels the pen covers fully are solid ink...
    assert (np.diagonal(image)[3:25] >= 250).all()
    # ...pixels three or more steps off the diagonal are untouched background.
    assert (image[distance >= 3] == 0).all()
    # The 16-unit padding leaves the outer pixel ring blank, like numpy_bitmap.
    assert image[0].max() == 0 and image[-1].max() == 0
    assert image[:, 0].max() == 0 and image[:, -1].max() == 0


def test_vertical_stroke_is_centred():
    image = strokes.rasterize([[[40, 40], [0, 255]]]).astype(int)
    # A single vertical line is centred horizontally: columns 13 and 14 share its ink.
    column_ink = image.sum(axis=0)
    assert column_ink.argmax() in (13, 14)
    assert column_ink[13] == pytest.approx(column_ink[14], rel=0.05)


def test_without_antialias_pixels_are_black_or_white():
    image = strokes.rasterize([[[0, 100, 255], [0, 200, 30]]], antialias=False)
    assert set(np.unique(image)) == {0, 255}


def test_empty_drawing_is_blank_and_bad_strokes_raise():
    assert strokes.rasterize([]).max() == 0
    with pytest.raises(ValueError, match="stroke 0"):
        strokes.rasterize([[[0, 1, 2], [0, 1]]])
    with pytest.raises(ValueError, match="size"):
        strokes.rasterize([[[0], [0]]], size=0)


def test_rasterize_many_has_the_numpy_bitmap_layout(shared_data):
    drawings = strokes.read_ndjson(ndjson_path(shared_data, "cat"), limit=5)
    images = strokes.rasterize_many(drawings)
    assert images.shape == (5, 784) and images.dtype == np.uint8
    assert images.max() == 255 and images.min() == 0
    assert strokes.rasterize_many([]).shape == (0, 784)


@pytest.mark.parametrize("category", COMPARED_CATEGORIES)
def test_ink_statistics_match_real_bitmaps(shared_data, quickdraw_mirror, category):
    mine = strokes.ink_statistics(strokes.rasterize_many(strokes.read_ndjson(ndjson_path(shared_data, category))))
    real = strokes.ink_statistics(np.load(quickdraw_mirror / f"{category}.npy"))
    for name in ("mean_ink", "share_inked", "share_dark"):
        assert mine[name] == pytest.approx(real[name], rel=PER_CATEGORY_TOLERANCE), name


def test_pooled_ink_statistics_match_real_bitmaps(shared_data, quickdraw_mirror):
    # Every category with both files (35 shared, 10 in the sample): 250-875 drawings average out
    # the sampling noise. The same count of real drawings per category, as 25 per category on the
    # rasterised side: categories differ in ink, so unequal counts would weigh them differently.
    categories = sorted(path.stem for path in quickdraw_mirror.glob("*.npy")
                        if ndjson_path(shared_data, path.stem).is_file())
    assert len(categories) >= 10
    mine = np.concatenate([strokes.rasterize_many(strokes.read_ndjson(ndjson_path(shared_data, category)))
                           for category in categories])
    real_files = [np.load(quickdraw_mirror / f"{category}.npy", mmap_mode="r") for category in categories]
    per_category = min(1000, *(len(drawings) for drawings in real_files))
    real = np.concatenate([drawings[:per_category] for drawings in real_files])
    mine_statistics, real_statistics = strokes.ink_statistics(mine), strokes.ink_statistics(real)
    for name in ("mean_ink", "share_inked", "share_dark"):
        assert mine_statistics[name] == pytest.approx(real_statistics[name], rel=POOLED_TOLERANCE), name


@pytest.mark.parametrize("category", ["cat", "dog", "rabbit", "panda", "sleeping bag", "flower"])
def test_recognized_only_keeps_exactly_the_recognised_lines(shared_data, category):
    path = ndjson_path(shared_data, category)
    with open(path, encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    expected = [record["key_id"] for record in records if record["recognized"] is True]

    kept = strokes.read_ndjson(path, recognized_only=True)
    assert [drawing.key_id for drawing in kept] == expected
    assert all(drawing.recognized for drawing in kept)
    everything = strokes.read_ndjson(path)
    assert len(everything) == len(records)
    assert everything[0].strokes[0][0] == tuple(records[0]["drawing"][0][0])


BROKEN_LINES = {
    "bad json": '{"word": "cat", "drawing": [[[1, 2], [3, 4]]',
    "no drawing": '{"word": "cat", "recognized": true}',
    "uneven stroke": '{"word": "cat", "recognized": true, "drawing": [[[1, 2, 3], [3, 4]]]}',
    "stroke not a pair": '{"word": "cat", "recognized": true, "drawing": [[1, 2]]}',
    "text coordinate": '{"word": "cat", "recognized": true, "drawing": [[["a"], [3]]]}',
}


@pytest.mark.parametrize("problem", sorted(BROKEN_LINES))
def test_malformed_line_names_file_and_line(shared_data, tmp_path, problem):
    with open(ndjson_path(shared_data, "cat"), encoding="utf-8") as lines:
        good = [next(lines) for _ in range(5)]
    path = tmp_path / "broken cat.ndjson"
    path.write_text("".join(good[:3]) + BROKEN_LINES[problem] + "\n" + "".join(good[3:]), encoding="utf-8")

    with pytest.raises(ValueError) as error:
        strokes.read_ndjson(path)
    assert str(path) in str(error.value)
    assert "line 4" in str(error.value)
    # Streaming: the lines before the broken one come out first.
    reader = strokes.iter_ndjson(path)
    assert [next(reader).line_number for _ in range(3)] == [1, 2, 3]
    with pytest.raises(ValueError, match="line 4"):
        next(reader)
