"""Painting folders: real JPEGs in every flavour load, bad files are reported, bad folders are clear errors."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from sketchdraw.paintings import decode_image, find_image_files, load_painting_folder

GOOD = ["a.jpg", "b.jpeg", "c.png", "d.webp", "gray.png", "gray16.png", "rgba.png", "palette.png",
        "cmyk.jpg", "nested/deeper/E.JPG"]
BAD = {"truncated.jpg": "truncated", "empty.jpg": "0 bytes", "notes.jpg": "not an image"}


@pytest.fixture(scope="session")
def vangogh(shared_data) -> Path:
    return shared_data / "wikiart" / "vangogh"


@pytest.fixture
def mixed_folder(tmp_path, vangogh) -> Path:
    """Real Van Gogh JPEGs, converted copies in other formats and modes, and broken files."""
    folder = tmp_path / "paintings"
    (folder / "nested" / "deeper").mkdir(parents=True)
    sources = sorted(vangogh.glob("*.jpg"))[:6]
    shutil.copy(sources[0], folder / "a.jpg")
    shutil.copy(sources[1], folder / "b.jpeg")
    shutil.copy(sources[2], folder / "nested" / "deeper" / "E.JPG")
    with Image.open(sources[3]) as image:
        image.save(folder / "c.png")
        image.save(folder / "d.webp")
        image.convert("L").save(folder / "gray.png")
        sixteen_bit = np.asarray(image.convert("L")).astype(np.uint16) * 257
        Image.fromarray(sixteen_bit).save(folder / "gray16.png")  # a 16-bit ("I;16") PNG
        image.convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(folder / "palette.png")
        image.convert("CMYK").save(folder / "cmyk.jpg")
        rgba = image.convert("RGBA")
        alpha = np.full((image.height, image.width), 255, dtype=np.uint8)
        alpha[:, : image.width // 2] = 0  # left half fully transparent
        rgba.putalpha(Image.fromarray(alpha))
        rgba.save(folder / "rgba.png")
    data = sources[4].read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("this is not a painting\n")
    (folder / "README.txt").write_text("ignored: no image extension\n")
    shutil.copy(sources[5], folder / ".hidden.jpg")  # hidden files are left out
    return folder


def test_good_files_load_and_bad_ones_are_reported(mixed_folder):
    paintings = load_painting_folder(mixed_folder, image_size=64, progress=False)
    assert paintings.images.shape == (len(GOOD), 64, 64, 3)
    assert paintings.images.dtype == np.uint8
    loaded = sorted(str(path.relative_to(mixed_folder)) for path in paintings.paths)
    assert loaded == sorted(GOOD)
    for image in paintings.images:  # real paintings: not blank, a spread of values
        assert image.std() > 10 and image.min() < 100 and image.max() > 150

    reasons = {path.name: reason for path, reason in paintings.skipped}
    assert set(reasons) == set(BAD)
    for name, expected in BAD.items():
        assert expected in reasons[name]
    assert [path.name for path in paintings.ignored] == ["README.txt"]

    report = paintings.report()
    assert f"loaded {len(GOOD)} images (64x64 RGB, crop)" in report
    assert "skipped 3 file(s)" in report
    for name in BAD:
        assert name in report


def test_rows_follow_paths_and_modes_become_rgb(mixed_folder):
    paintings = load_painting_folder(mixed_folder, image_size=32, progress=False)
    by_name = {path.name: image for path, image in zip(paintings.paths, paintings.images, strict=True)}
    gray = by_name["gray.png"].astype(int)
    assert np.array_equal(gray[..., 0], gray[..., 1]) and np.array_equal(gray[..., 1], gray[..., 2])
    # 16-bit values are scaled to 8 bits, not clipped to white.
    np.testing.assert_array_equal(by_name["gray16.png"], by_name["gray.png"])
    # The transparent left half is composited on white.
    assert by_name["rgba.png"][:, :12].min() >= 250  # Lanczos rings a little near the alpha edge
    assert by_name["rgba.png"][:, 18:].mean() < 200
    # Lossless PNG and the JPEG it came from look alike; the CMYK copy keeps its colours roughly.
    png, cmyk = by_name["c.png"].astype(float), by_name["cmyk.jpg"].astype(float)
    assert np.abs(png - cmyk).mean() < 20


def test_pad_keeps_the_whole_painting_with_black_bars(tmp_path, vangogh):
    folder = tmp_path / "wide"
    folder.mkdir()
    with Image.open(sorted(vangogh.glob("*.jpg"))[0]) as image:
        image.resize((128, 64)).save(folder / "wide.png")
    padded = load_painting_folder(folder, image_size=64, fit="pad", progress=False).images[0]
    assert padded[:16].max() == 0 and padded[48:].max() == 0  # bars above and below
    assert padded[16:48].std() > 10
    cropped = load_painting_folder(folder, image_size=64, fit="crop", progress=False).images[0]
    assert cropped[:4].max() > 0 and cropped[60:].max() > 0  # no bars


def test_exif_orientation_is_honoured(tmp_path):
    # Stored 80x40 landscape, left half red, right half blue; EXIF 6 says "rotate 90 degrees clockwise to
    # display", so the displayed image is a 40x80 portrait with red on top.
    pixels = np.zeros((40, 80, 3), dtype=np.uint8)
    pixels[:, :40] = (255, 0, 0)
    pixels[:, 40:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    Image.fromarray(pixels).save(path, exif=exif.tobytes(), quality=95)
    image = decode_image(path, image_size=64, fit="pad").astype(int)
    assert image[:, :14].max() == 0 and image[:, 50:].max() == 0  # bars at the sides of a portrait
    top, bottom = image[8, 32], image[56, 32]
    assert top[0] > 200 and top[2] < 60  # red
    assert bottom[2] > 200 and bottom[0] < 60  # blue


def test_truncation_is_detected_even_if_pillow_was_told_to_allow_it(mixed_folder, monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    paintings = load_painting_folder(mixed_folder, progress=False)
    assert "truncated.jpg" in {path.name for path, _ in paintings.skipped}
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored afterwards


def test_progress_bar_goes_to_stderr(mixed_folder, capsys):
    load_painting_folder(mixed_folder, progress=True)
    captured = capsys.readouterr()
    assert "decoding paintings" in captured.err and captured.out == ""
    load_painting_folder(mixed_folder, progress=False)
    assert capsys.readouterr().err == ""


def test_missing_folder(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_painting_folder(tmp_path / "nowhere", progress=False)


def test_empty_folder(tmp_path):
    with pytest.raises(ValueError, match="the folder is empty"):
        load_painting_folder(tmp_path, progress=False)


def test_folder_without_images_says_what_it_found(tmp_path):
    for name in ["a.txt", "b.txt", "sub/c.csv"]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x")
    with pytest.raises(ValueError, match=r"found 3 file\(s\): 2 \.txt, 1 \.csv; expected jpg/jpeg/png/webp"):
        load_painting_folder(tmp_path, progress=False)


def test_folder_of_only_unreadable_images(tmp_path):
    (tmp_path / "x.jpg").write_text("not a jpeg")
    (tmp_path / "y.png").write_bytes(b"")
    with pytest.raises(ValueError, match=r"none of the 2 image file\(s\) .* could be read: x\.jpg \(not an image"):
        load_painting_folder(tmp_path, progress=False)


@pytest.mark.parametrize("options, message", [
    ({"image_size": 0}, "image_size"),
    ({"image_size": 64.0}, "image_size"),
    ({"fit": "stretch"}, "unknown fit 'stretch'"),
])
def test_bad_options(mixed_folder, options, message):
    with pytest.raises(ValueError, match=message):
        load_painting_folder(mixed_folder, progress=False, **options)


def test_cache_is_reused_until_a_file_changes(mixed_folder, tmp_path):
    cache = tmp_path / "cache"
    first = load_painting_folder(mixed_folder, progress=False, cache_dir=cache)
    assert not first.from_cache and len(list(cache.glob("*.npz"))) == 1
    second = load_painting_folder(mixed_folder, progress=False, cache_dir=cache)
    assert second.from_cache
    np.testing.assert_array_equal(first.images, second.images)
    assert second.paths == first.paths and second.skipped == first.skipped

    touched = mixed_folder / "a.jpg"
    status = touched.stat()
    os.utime(touched, ns=(status.st_atime_ns, status.st_mtime_ns + 10**9))
    assert not load_painting_folder(mixed_folder, progress=False, cache_dir=cache).from_cache
    assert not load_painting_folder(mixed_folder, progress=False, cache_dir=cache, fit="pad").from_cache


def test_damaged_cache_is_ignored_and_rewritten(mixed_folder, tmp_path):
    cache = tmp_path / "cache"
    first = load_painting_folder(mixed_folder, progress=False, cache_dir=cache)
    (cache_file,) = cache.glob("*.npz")
    cache_file.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="ignoring unreadable painting cache"):
        again = load_painting_folder(mixed_folder, progress=False, cache_dir=cache)
    assert not again.from_cache
    np.testing.assert_array_equal(again.images, first.images)
    assert load_painting_folder(mixed_folder, progress=False, cache_dir=cache).from_cache


def test_find_image_files_any_case_nested_sorted(mixed_folder):
    images, others = find_image_files(mixed_folder)
    names = [str(path.relative_to(mixed_folder)) for path in images]
    assert names == sorted(names) and "nested/deeper/E.JPG" in names and ".hidden.jpg" not in names
    assert [path.name for path in others] == ["README.txt"]


def test_real_van_gogh_folder(vangogh):
    paintings = load_painting_folder(vangogh, image_size=64, progress=False)
    count = len(list(vangogh.glob("*.jpg")))  # 398 shared, 40 in the sample
    assert count >= 40 and paintings.images.shape == (count, 64, 64, 3)
    assert paintings.skipped == [] and paintings.ignored == []
    assert 60 < paintings.images.mean() < 190
