"""The run pages and the runs index (`sketchdraw.gallery`): their HTML, and the pages in a real browser.

The run folders here are made without TensorFlow, but from real Quick, Draw! rabbits: epoch grids that
sharpen from noise to drawings, `reals.png`, `history.csv` with the columns training writes, a loss
plot drawn by matplotlib, `config.json`, a progress GIF and an executed-notebook stand-in.

The browser tests start Debian's headless Chromium and drive it over the DevTools protocol (a small
websocket client below, standard library only), so what is checked is what a person sees: every image
decoded, the slider showing each epoch's grid, the settings table, the index listing the runs.
"""

from __future__ import annotations

import html.parser
import json
import re
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import numpy as np
import pytest
from browser import DevToolsPage

from sketchdraw import gallery, gallery_tables
from sketchdraw.artifacts import RunFolder, grid_image

TRICKY_TEXT = '<b>bold & "brave"</b><script>alert(1)</script>'


# -- realistic run folders -----------------------------------------------------------------------

def rabbit_drawings(quickdraw_mirror: Path, count: int) -> np.ndarray:
    path = quickdraw_mirror / "rabbit.npy"
    if not path.exists():
        pytest.skip(f"{path} is not in the shared data")
    return np.asarray(np.load(path, mmap_mode="r")[:count]).reshape(count, 28, 28)


def make_run(runs_dir: Path, name: str, drawings: np.ndarray, epochs_done: int, epochs_planned: int,
             finished_extras: bool = True, metrics: dict | None = None) -> Path:
    """A run folder as training leaves it after `epochs_done` of `epochs_planned` epochs."""
    run = RunFolder(runs_dir / name)
    run.root.mkdir(parents=True)
    config = {
        "experiment": "rabbit_small", "name": name, "source": "quickdraw", "category": "rabbit",
        "model": "tutorial", "loss": "non_saturating",
        "epochs": epochs_planned, "batch_size": 256, "noise_dimension": 100,
        "generator_learning_rate": 0.0001, "discriminator_learning_rate": 0.0004,
        "augment": "color,translation,cutout", "seed": 7, "mixed_precision": False,
        "adam": {"beta_1": 0.5, "beta_2": 0.999}, "note": TRICKY_TEXT,
    }
    run.save_config(config)
    reals = drawings[:16]
    run.save_grid(reals[..., None], run.reals_path, columns=4, invert=True)
    noise = np.random.default_rng(0).integers(0, 256, reals.shape)
    rows = []
    for epoch in range(1, epochs_done + 1):
        share = epoch / max(epochs_planned, 1)  # later epochs look more like rabbits
        generated = np.clip(share * drawings[16:32] + (1 - share) * noise, 0, 255).astype(np.uint8)
        run.save_epoch_grid(epoch, generated[..., None], columns=4, invert=True)
        rows.append({
            "epoch": epoch, "generator_loss": 0.7 + 0.1 * epoch, "discriminator_loss": 1.3 - 0.05 * epoch,
            "discriminator_real_probability": 0.6, "discriminator_fake_probability": 0.4,
            "discriminator_accuracy": 0.55 + 0.01 * epoch, "seconds": 12.5, "images_per_second": 4100.0,
        })
        run.append_history(rows[-1])
    save_loss_plot(run, rows)
    (run.root / ".lock").write_text("process 1 on here\n")
    (run.checkpoints_dir).mkdir()
    (run.checkpoints_dir / "checkpoint").write_text('model_checkpoint_path: "ckpt-1"\n')
    if finished_extras:
        if epochs_done > 1:
            run.save_gif()
        else:  # RunFolder.save_gif fails on a single frame (a list of durations for one frame)
            grid_image(generated[..., None], columns=4, invert=True).save(run.gif_path)
        (run.root / "rabbit.ipynb").write_text(json.dumps(
            {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    if metrics is not None:
        (run.metrics_path).write_text(json.dumps(metrics))
    return run.root


def save_loss_plot(run: RunFolder, rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3))
    epochs = [row["epoch"] for row in rows]
    axes.plot(epochs, [row["generator_loss"] for row in rows], label="generator")
    axes.plot(epochs, [row["discriminator_loss"] for row in rows], label="discriminator")
    axes.set_xlabel("epoch")
    axes.legend()
    figure.savefig(run.losses_plot_path, dpi=60)
    plt.close(figure)


METRICS = {
    "samples": 900,
    "generated": {"fid": 41.25, "kid_mean": 0.0312, "cs": 0.62, "gd": 7.5},
    "real": {"fid": 1.5, "kid_mean": 0.0004, "cs": 0.93, "gd": 8.1},
    f"odd {TRICKY_TEXT}": {"nested": {"deep": 1}},
}


@pytest.fixture(scope="module")
def runs(quickdraw_mirror, tmp_path_factory) -> Path:
    """runs/: a finished 3-epoch rabbit run, one still training, one with a single epoch, and one
    made before the gallery existed (only images/), plus folders that are not runs."""
    drawings = rabbit_drawings(quickdraw_mirror, 32)
    runs_dir = tmp_path_factory.mktemp("gallery") / "runs"
    make_run(runs_dir, "rabbit", drawings, 3, 3, metrics=METRICS)
    training = make_run(runs_dir, "rabbit-training", drawings, 2, 10, finished_extras=False)
    (training / ".history.csv.abc.tmp").write_text("half a file")  # an atomic write in flight
    make_run(runs_dir, "rabbit one epoch", drawings, 1, 1)
    legacy = RunFolder(runs_dir / "old-run")
    legacy.save_epoch_grid(1, drawings[:16, ..., None], columns=4, invert=True)
    legacy.save_epoch_grid(2, drawings[16:32, ..., None], columns=4, invert=True)
    (runs_dir / "notes").mkdir()
    (runs_dir / ".hidden").mkdir()
    pages = gallery.rebuild_all(runs_dir)
    assert len(pages) == 5
    return runs_dir


# -- reading the HTML ----------------------------------------------------------------------------

class PageParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.external_resources: list[str] = []
        self.scripts: list[str] = []
        self.elements: dict[str, dict] = {}
        self._script = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.elements[attrs["id"]] = {"tag": tag, **attrs}
        if tag == "img":
            self.images.append(attrs["src"])
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
        if tag in ("script", "link", "iframe") and ("src" in attrs or "href" in attrs):
            self.external_resources.append(attrs.get("src") or attrs.get("href"))
        if tag == "script":
            self._script = []

    def handle_data(self, data):
        if self._script is not None:
            self._script.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append("".join(self._script))
            self._script = None


class TableParser(html.parser.HTMLParser):
    """The rows of the table (or of every table inside the element) with a given id: each row as
    (its class, the text of each cell)."""

    def __init__(self, element_id: str):
        super().__init__()
        self.element_id = element_id
        self.rows: list[tuple[str, list[str]]] = []
        self._depth = 0  # open elements inside the one wanted; 0: outside it
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self._depth:
            self._depth += tag not in VOID_ELEMENTS
            if tag == "tr":
                self.rows.append((attrs.get("class") or "", []))
            elif tag in ("th", "td"):
                self._cell = []
        elif attrs.get("id") == self.element_id:
            self._depth = 1

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if not self._depth:
            return
        if tag in ("th", "td") and self._cell is not None:
            self.rows[-1][1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        self._depth -= 1


VOID_ELEMENTS = {"br", "img", "input", "meta", "link", "hr", "wbr"}


def table_rows(text: str, element_id: str, with_class: bool = False) -> list:
    parser = TableParser(element_id)
    parser.feed(text)
    assert parser.rows, f"no table rows in #{element_id}"
    return parser.rows if with_class else [cells for _, cells in parser.rows]


def parse(page: Path) -> PageParser:
    parser = PageParser()
    parser.feed(page.read_text())
    return parser


def epoch_frames(page: Path) -> list[dict]:
    match = re.search(r'<script type="application/json" id="epoch-frames">(.*?)</script>',
                      page.read_text(), re.S)
    return json.loads(match.group(1)) if match else []


def assert_relative_and_present(page: Path, references: list[str]) -> None:
    for reference in references:
        parts = urllib.parse.urlsplit(reference)
        assert not parts.scheme and not parts.netloc, f"{page}: {reference!r} is not a relative link"
        assert not reference.startswith("/"), f"{page}: {reference!r} is absolute"
        target = (page.parent / urllib.parse.unquote(parts.path)).resolve()
        assert target.exists(), f"{page} refers to {reference!r}, which is not there"


# -- the HTML ------------------------------------------------------------------------------------

def test_run_page_refers_only_to_files_in_the_run_folder(runs):
    for name in ("rabbit", "rabbit-training", "rabbit one epoch", "old-run"):
        page = runs / name / "index.html"
        parsed = parse(page)
        references = parsed.images + parsed.links + [frame["src"] for frame in epoch_frames(page)]
        assert parsed.images, f"{page} shows no image"
        assert_relative_and_present(page, references)
        assert parsed.external_resources == [], "CSS and JavaScript must be inlined"
        assert "http://" not in page.read_text() and "https://" not in page.read_text()
        assert not any("fetch(" in script or "XMLHttpRequest" in script for script in parsed.scripts)


def test_run_page_shows_newest_grid_and_lists_every_epoch(runs):
    page = runs / "rabbit" / "index.html"
    parsed = parse(page)
    assert parsed.elements["epoch-image"]["src"] == "images/image_at_epoch_0003.png"
    assert [frame["epoch"] for frame in epoch_frames(page)] == [1, 2, 3]
    slider = parsed.elements["epoch-slider"]
    assert (slider["min"], slider["max"], slider["value"]) == ("0", "2", "2")
    assert "reals.png" in parsed.images
    assert parsed.images.index("losses.png") < len(parsed.images)
    for link in ("progress.gif", "checkpoints/", "rabbit.ipynb", "history.csv", "config.json"):
        assert link in parsed.links


def test_run_page_shows_settings_history_and_metrics(runs):
    text = (runs / "rabbit" / "index.html").read_text()
    settings = {row[0]: row[1] for row in table_rows(text, "settings")}
    for name, value in [("category", "rabbit"), ("model", "tutorial"), ("epochs", "3"),
                        ("batch_size", "256"), ("generator_learning_rate", "0.0001"),
                        ("augment", "color,translation,cutout"), ("adam.beta_1", "0.5"),
                        ("mixed_precision", "false")]:
        assert settings[name] == value
    assert "<tr><th>epochs done</th><td>3 of 3</td></tr>" in text
    assert "<tr><th>seconds per epoch (mean)</th><td>12.5</td></tr>" in text
    assert "<tr><th>last generator loss</th><td>1</td></tr>" in text
    metrics = {row[0].split()[-1]: row[2:] for row in table_rows(text, "metrics")[1:]}
    assert metrics["fid"] == ["41.25", "1.5"] and metrics["cs"] == ["0.62", "0.93"]  # generated, real


def test_text_from_config_and_metrics_is_escaped(runs):
    text = (runs / "rabbit" / "index.html").read_text()
    assert TRICKY_TEXT not in text
    assert "<script>alert(1)" not in text
    assert "&lt;b&gt;bold &amp; &quot;brave&quot;&lt;/b&gt;" in text or \
        "&lt;b&gt;bold &amp; \"brave\"&lt;/b&gt;" in text


def test_page_of_a_run_still_training(runs):
    page = runs / "rabbit-training" / "index.html"
    text = page.read_text()
    assert "2 of 10 epochs" in text
    assert "progress.gif (every epoch as an animation): not made yet" in text
    assert [frame["epoch"] for frame in epoch_frames(page)] == [1, 2]
    assert "progress.gif" not in parse(page).links
    assert not list(page.parent.glob(".index.html.*")), "the page is written atomically"


def test_page_of_a_run_with_one_epoch_and_of_an_old_run(runs):
    one = parse(runs / "rabbit one epoch" / "index.html")
    assert one.elements["epoch-slider"]["max"] == "0"
    assert one.elements["epoch-image"]["src"] == "images/image_at_epoch_0001.png"
    old = runs / "old-run" / "index.html"
    assert "No config.json in this run folder." in old.read_text()
    assert "No history.csv yet" in old.read_text()
    assert [frame["epoch"] for frame in epoch_frames(old)] == [1, 2]


def test_runs_index_lists_every_run_folder(runs):
    page = runs / "index.html"
    parsed = parse(page)
    text = page.read_text()
    pages = sorted(parsed.links)
    assert pages == sorted(["old-run/index.html", "rabbit/index.html", "rabbit%20one%20epoch/index.html",
                            "rabbit-training/index.html"])
    assert_relative_and_present(page, parsed.images + parsed.links)
    assert "rabbit/images/image_at_epoch_0003.png" in parsed.images
    assert 'data-name="rabbit-training" data-epochs="2"' in text
    assert "2 of 10 epochs" in text
    assert '<p class="subject">rabbit_small · rabbit</p>' in text
    assert "<li><span>fid</span> 41.25</li>" in text  # the generated drawings' FID, not the real one
    assert text.count('<article class="card"') == 4  # not notes/ (no config, no images) nor .hidden/


def test_broken_files_are_reported_on_the_page_not_raised(tmp_path):
    run = tmp_path / "broken"
    run.mkdir()
    (run / "config.json").write_text("{not json")
    (run / "metrics.json").write_text("[1, 2")
    page = gallery.write_run_page(run)
    text = page.read_text()
    assert "is not valid JSON" in text and "metrics.json could not be read" in text
    assert "No epoch grids yet" in text
    index = gallery.write_runs_index(tmp_path)
    assert "broken/index.html" in index.read_text()


def test_empty_runs_folder_and_wrong_paths(tmp_path):
    assert "No runs yet" in gallery.write_runs_index(tmp_path).read_text()
    with pytest.raises(ValueError, match="not a run folder"):
        gallery.write_run_page(tmp_path / "missing")
    with pytest.raises(ValueError, match="not a folder of runs"):
        gallery.write_runs_index(tmp_path / "missing")


def test_headline_metrics_prefer_generated_numbers():
    assert gallery_tables.headline_metrics(METRICS) == [("fid", 41.25), ("kid_mean", 0.0312), ("cs", 0.62),
                                                        ("gd", 7.5)]
    assert gallery_tables.headline_metrics({"swd": 3.0, "real_swd": 1.0}) == [("swd", 3.0)]
    assert gallery_tables.headline_metrics(None) == []


# What `sketchdraw.quality.evaluate` writes (two noise draws), with one metric and one entry the
# pages do not know.
EVALUATED = {
    "category": "rabbit", "model": "upsample",
    "classifier": {"key": "3-categories-83c7", "categories": ["apple", "cat", "rabbit"],
                   "held_out_accuracy": 0.91, "category_accuracy": 0.88, "epochs": 2},
    "generated": {"count": 1000, "fid": 136.9, "kid_mean": 2.226, "kid_std": 0.031, "cs": 0.0,
                  "gd": 0.2651, "memorisation_distance": 0.1717, "sharpness": 4.5},
    "real_held_out": {"count": 1000, "fid": 0.917, "kid_mean": 0.0004, "kid_std": 0.001, "cs": 0.93,
                      "gd": 0.3325, "memorisation_distance": 0.2803, "sharpness": 5.5},
    "generated_draws": [{"count": 1000, "fid": 130.0, "kid_mean": 2.0, "cs": 0.0},
                        {"count": 1000, "fid": 143.8, "kid_mean": 2.452, "cs": 0.0}],
    "images_seen": 384000, "epochs": 857, "samples": 1000, "seed": 0, "draws": 2, "truncation": 0.0,
    "evaluated": "2026-12-02T13:57:55", "surprise": {"new": 12},
}


def test_each_metric_is_named_in_full_with_its_direction_and_the_real_reference(tmp_path):
    run = tmp_path / "measured"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps(EVALUATED))
    text = gallery.write_run_page(run).read_text()
    header, *rows = table_rows(text, "metrics")
    assert header == ["metric", "better", "this run", "real held-out drawings"]
    shown = {row[0]: row[1:] for row in rows}
    expected = {
        "Fréchet distance (FID, classifier features) fid": ["↓ lower is better", "136.9", "0.917"],
        "Kernel distance (KID, classifier features; mean over subsets) kid_mean":
            ["↓ lower is better", "2.226", "0.0004"],
        "Classifier score (CS: share recognised as the category) cs": ["↑ higher is better", "0", "0.93"],
        "Diversity (GD: mean feature distance between two drawings) gd":
            ["≈ closest to the real drawings is best", "0.2651", "0.3325"],
        "Memorisation (distance to the nearest training drawing; 0: copies) memorisation_distance":
            ["≈ closest to the real drawings is best", "0.1717", "0.2803"],
        "drawings measured count": ["", "1000", "1000"],
    }
    for name, cells in expected.items():
        assert shown[name] == cells, name
    assert rows[-1] == ["sharpness", "", "4.5", "5.5"], "an unknown metric shows raw, at the end"
    assert [row[0].split()[-1] for row in rows[:2]] == ["fid", "kid_mean"]
    # The measurement by name, the noise draws folded away, the unknown entry raw at the end.
    assert "<tr><th>images seen in training</th><td>384000</td></tr>" in text
    assert "<tr><th>classifier&#x27;s accuracy on held-out drawings</th><td>0.91</td></tr>" in text \
        or "<tr><th>classifier's accuracy on held-out drawings</th><td>0.91</td></tr>" in text
    assert "the mean over 2 noise draws" in text and "<summary>each noise draw (2)</summary>" in text
    assert "<tr><th>surprise.new</th><td>12</td></tr>" in text
    assert text.index("surprise.new") > text.index("images seen in training") > text.index('id="metrics"')


def test_each_number_shows_its_interval_where_metrics_json_has_one(tmp_path):
    run = tmp_path / "measured"
    run.mkdir()
    bars = {"generated": {"cs": [0.61, 0.68]}, "real_held_out": {"cs": [0.59, 0.68], "kid_mean": [0.0, 0.001]},
            "generated_over_real": {"cs": [0.93, 1.1]}, "confidence": 0.95, "resamples": 200}
    (run / "metrics.json").write_text(json.dumps({**EVALUATED, "intervals": bars}))
    text = gallery.write_run_page(run).read_text()
    shown = {row[0]: row[1:] for row in table_rows(text, "metrics")[1:]}
    assert shown["Classifier score (CS: share recognised as the category) cs"][1:] == [
        "0 [0.61, 0.68]", "0.93 [0.59, 0.68]"]
    assert shown["Fréchet distance (FID, classifier features) fid"][1:] == ["136.9", "0.917"]  # none given
    assert "95% bootstrap interval" in text


def test_metrics_without_a_real_reference_say_so(tmp_path):
    run = tmp_path / "flat"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"swd": 3.0, "real_swd": 1.0, "fid": 9.0}))
    text = gallery.write_run_page(run).read_text()
    assert table_rows(text, "metrics")[1:] == [
        ["Fréchet distance (FID, classifier features) fid", "↓ lower is better", "9", ""],
        ["Sliced Wasserstein distance (SWD, image patches) swd", "↓ lower is better", "3", "1"]]
    (run / "metrics.json").write_text(json.dumps({"generated": {"cs": 0.5}}))
    text = gallery.write_run_page(run).read_text()
    assert table_rows(text, "metrics")[1:] == [
        ["Classifier score (CS: share recognised as the category) cs", "↑ higher is better", "0.5"]]
    assert "holds no real reference" in text


def test_settings_that_differ_from_the_preset_come_first_and_are_marked(tmp_path):
    preset = gallery.find_preset("rabbit")
    assert preset.family == "dcgan"
    assert {key: preset.values[key] for key in ("batch_size", "model", "generator_learning_rate", "augment")} \
        == {"batch_size": 256, "model": "tutorial", "generator_learning_rate": 1e-3, "augment": ""}
    run = RunFolder(tmp_path / "runs" / "rabbit")
    run.root.mkdir(parents=True)
    run.save_config({**preset.values, "batch_size": 32, "augment": "translation"})
    # Rendered in a process of its own: a DCGAN preset is read without TensorFlow.
    script = ("import sys; from sketchdraw import gallery; gallery.write_run_page(sys.argv[1]); "
              "assert 'tensorflow' not in sys.modules, 'the page imported TensorFlow'")
    subprocess.run([sys.executable, "-c", script, str(run.root)], check=True, timeout=120)
    text = (run.root / "index.html").read_text()
    rows = table_rows(text, "settings", with_class=True)
    assert rows[:2] == [("changed", ["augment", "translation", "preset: none"]),
                        ("changed", ["batch_size", "32", "preset: 256"])]
    assert all(css == "" and len(cells) == 2 for css, cells in rows[2:])
    assert len(rows) == len(preset.values)
    assert "preset <strong>rabbit</strong> (dcgan) · 2 settings differ from the preset" in text
    assert f"<summary>{len(preset.values) - 2} settings as in the preset</summary>" in text
    assert text.index('class="changed"') < text.index("<details") < text.index("<th>category</th>")
    # Where the run lives (and what a rerun may change) differs after what is trained.
    run.save_config({**preset.values, "name": "aaa", "epochs": 3, "batch_size": 32})
    rows = table_rows(gallery.write_run_page(run.root).read_text(), "settings", with_class=True)
    assert [(css, cells[0]) for css, cells in rows[:3]] == [
        ("changed", "batch_size"), ("changed bookkeeping", "epochs"), ("changed bookkeeping", "name")]


def test_settings_without_a_preset_are_one_table(tmp_path):
    run = RunFolder(tmp_path / "old")
    run.root.mkdir()
    run.save_config({"category": "cat", "batch_size": 64})
    text = gallery.write_run_page(run.root).read_text()
    assert "config.json names no experiment (preset), so nothing is compared" in text
    assert table_rows(text, "settings") == [["batch_size", "64"], ["category", "cat"]] or \
        table_rows(text, "settings") == [["category", "cat"], ["batch_size", "64"]]
    assert "<details" not in text[text.index('<section class="settings">'):]


def test_the_pages_know_every_metric_row_and_preset_the_training_code_has():
    """The pages keep their own copy of what quality and the families define (importing those
    would import TensorFlow): the copies must agree."""
    from sketchdraw import families
    from sketchdraw.quality import compare, metrics

    assert compare.REAL_ROW in gallery_tables.REAL_ROWS
    for name in list(metrics.METRICS.names()) + ["count", "kid_mean", "kid_std", "memorisation_distance"]:
        assert name in gallery_tables.METRIC_NAMES, f"the run page has no name for the metric {name!r}"
    for experiment, family in families.experiments().items():
        preset = gallery.find_preset(experiment)
        assert (preset.family, preset.values) == (family.name, family.presets.get(experiment).to_dict())
    assert gallery.find_preset("no-such-preset") is None


# -- a real browser (the `browser` fixture: tests/conftest.py) -------------------------------

BROKEN_IMAGES = """Array.from(document.images)
    .filter(image => !(image.complete && image.naturalWidth > 0))
    .map(image => image.getAttribute('src'))"""

SHOW_EPOCH = """(async () => {{
    const slider = document.getElementById('epoch-slider');
    slider.value = '{index}';
    slider.dispatchEvent(new Event('input', {{bubbles: true}}));
    const image = document.getElementById('epoch-image');
    try {{ await image.decode(); }} catch (error) {{}}
    return {{src: image.getAttribute('src'), width: image.naturalWidth,
            label: document.getElementById('epoch-label').textContent}};
}})()"""


def check_run_page_in_browser(browser: DevToolsPage, page: Path, epochs: list[int]) -> None:
    browser.open(page)
    assert browser.evaluate(BROKEN_IMAGES) == []
    assert browser.evaluate("document.querySelector('.player').hidden") is False
    for index, epoch in enumerate(epochs):
        shown = browser.evaluate(SHOW_EPOCH.format(index=index))
        assert shown["src"] == f"images/image_at_epoch_{epoch:04d}.png"
        assert shown["width"] > 0, f"the grid of epoch {epoch} did not load"
        assert shown["label"] == f"epoch {epoch} of {epochs[-1]}"
    assert browser.problems() == []


@pytest.mark.browser
def test_run_page_in_chromium(runs, browser, tmp_path):
    page = runs / "rabbit" / "index.html"
    check_run_page_in_browser(browser, page, [1, 2, 3])
    # Every plot and the real drawings are decoded images, not broken icons.
    loaded = browser.evaluate("Array.from(document.images).filter(i => i.naturalWidth > 0)"
                              ".map(i => i.getAttribute('src'))")
    assert {"reals.png", "losses.png"} <= set(loaded)
    # Play runs from the first epoch to the newest one, then stops.
    browser.evaluate(SHOW_EPOCH.format(index=0))
    browser.evaluate("document.getElementById('epoch-play').click()")
    deadline = time.monotonic() + 10
    while browser.evaluate("document.getElementById('epoch-label').textContent") != "epoch 3 of 3":
        assert time.monotonic() < deadline, "play did not reach the newest epoch"
        time.sleep(0.1)
    time.sleep(0.4)
    assert "play" in browser.evaluate("document.getElementById('epoch-play').textContent")
    # The settings table shows the run's values, and tricky text as text, not markup.
    settings = browser.evaluate("""Object.fromEntries(Array.from(document.querySelectorAll('#settings tr'))
        .map(row => [row.cells[0].textContent, row.cells[1].textContent]))""")
    assert settings["category"] == "rabbit"
    assert settings["epochs"] == "3"
    assert settings["generator_learning_rate"] == "0.0001"
    assert settings["note"] == TRICKY_TEXT
    assert browser.evaluate("document.querySelectorAll('#settings b, #settings script').length") == 0
    # What differs from the preset shows; the rest is folded away under its count.
    shown = browser.evaluate("""Array.from(document.querySelectorAll('#settings tr'))
        .filter(row => row.checkVisibility()).map(row => row.cells[0].textContent)""")
    assert "batch_size" in shown and "note" in shown and "category" not in shown, " ".join(shown)
    browser.evaluate("document.querySelector('details.same-settings > summary').click()")
    assert browser.evaluate("document.querySelector('#settings tr:not(.changed)').checkVisibility()")
    # Each metric by name, with which way is better and the real drawings' number.
    fid = browser.evaluate("""Array.from(document.querySelector('#metrics tr[data-metric=fid]').cells)
        .map(cell => cell.innerText)""")
    assert fid == ["Fréchet distance (FID, classifier features) fid", "↓ lower is better", "41.25", "1.5"]
    assert browser.problems() == []
    screenshot = browser.screenshot(tmp_path / "run-page.png")
    assert screenshot.stat().st_size > 10_000
    print(f"run page screenshot: {screenshot}")


@pytest.mark.browser
def test_page_of_run_still_training_and_of_one_epoch_in_chromium(runs, browser, tmp_path):
    check_run_page_in_browser(browser, runs / "rabbit-training" / "index.html", [1, 2])
    browser.screenshot(tmp_path / "training-page.png")
    check_run_page_in_browser(browser, runs / "rabbit one epoch" / "index.html", [1])
    assert browser.evaluate("document.getElementById('epoch-play').disabled") is True
    check_run_page_in_browser(browser, runs / "old-run" / "index.html", [1, 2])


@pytest.mark.browser
def test_runs_index_in_chromium(runs, browser, tmp_path):
    browser.open(runs / "index.html")
    assert browser.evaluate(BROKEN_IMAGES) == []
    names = "Array.from(document.querySelectorAll('.card h2')).map(title => title.textContent)"
    assert sorted(browser.evaluate(names)) == ["old-run", "rabbit", "rabbit one epoch", "rabbit-training"]
    browser.evaluate("document.querySelector('[data-sort=name]').click()")
    assert browser.evaluate(names) == ["old-run", "rabbit", "rabbit one epoch", "rabbit-training"]
    browser.evaluate("document.querySelector('[data-sort=name]').click()")  # again: reversed
    assert browser.evaluate(names) == ["rabbit-training", "rabbit one epoch", "rabbit", "old-run"]
    browser.evaluate("document.querySelector('[data-sort=epochs]').click()")
    epochs = browser.evaluate("Array.from(document.querySelectorAll('.card')).map(c => +c.dataset.epochs)")
    assert epochs == sorted(epochs, reverse=True) and epochs[0] == 3
    links = browser.evaluate("Array.from(document.querySelectorAll('a.card-link')).map(a => a.href)")
    assert all(link.startswith("file://") and link.endswith("/index.html") for link in links)
    assert all(Path(urllib.parse.unquote(urllib.parse.urlsplit(link).path)).exists() for link in links)
    assert browser.problems() == []
    browser.screenshot(tmp_path / "runs-index.png")
