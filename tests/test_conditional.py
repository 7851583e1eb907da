"""The class-conditional doodle family: labelled data, the (noise, label) generator and the
projection discriminator, a run that trains, resumes and draws each category on its own row."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from sketchdraw import artifacts, conditional, pipeline, sampling


@pytest.fixture(scope="module")
def trained(tmp_path_factory, quickdraw_mirror):
    """Two epochs of rabbit, flower and cat (96 drawings each)."""
    runs = tmp_path_factory.mktemp("runs")
    config = conditional.resolve("doodles3", name="three", limit=96, epochs=2, checkpoint_every=1,
                                 runs_dir=str(runs), progress=False, mirror=str(quickdraw_mirror))
    result = conditional.train(config)
    return config, result


def test_labels_travel_with_their_drawings_through_the_shuffle():
    labels = np.arange(40) % 4
    images = np.repeat((labels * 60).astype(np.uint8)[:, None], 784, axis=1)  # drawing i is 60*label
    dataset = pipeline.image_dataset(images, 8, (28, 28, 1), seed=3, first_epoch=0, labels=labels)
    seen = []
    for batch, batch_labels in dataset.take(10):
        values = np.rint((batch.numpy()[:, 0, 0, 0] + 1) * 127.5)
        np.testing.assert_array_equal(values, batch_labels.numpy() * 60)
        seen += batch_labels.numpy().tolist()
    assert sorted(seen[:40]) == sorted(labels.tolist())  # one epoch: every drawing once
    with pytest.raises(ValueError, match="labels must be 40 whole numbers"):
        pipeline.image_dataset(images, 8, (28, 28, 1), labels=labels[:5])


def test_a_run_draws_a_row_per_category_and_saves_a_conditional_generator(trained):
    config, result = trained
    run = result.run.root
    for name in ("config.json", "reals.png", "history.csv", "losses.png", "progress.gif", "samples.png",
                 "generator.keras", "index.html", "images/image_at_epoch_0002.png"):
        assert (run / name).exists(), name
    grid = Image.open(run / "images" / "image_at_epoch_0002.png")
    reals = Image.open(run / "reals.png")
    assert grid.size == reals.size  # 3 rows of 8, as the real drawings are shown
    # 3 rows of 8 drawings (28 px and a 2 px gap, 4x), with the category names in a margin on the left
    margin = grid.size[0] - (8 * 30 + 2) * 4
    assert grid.size[1] == (3 * 30 + 2) * 4 and margin > 20
    labels = np.asarray(grid.convert("L"))[:, :margin]
    for row in range(3):
        assert (labels[8 + row * 120:8 + (row + 1) * 120] < 128).sum() > 20, f"row {row} has no name"
    saved = json.loads((run / "config.json").read_text())
    assert saved["categories"] == "rabbit,flower,cat"
    generator = sampling.load_generator(run)
    assert sampling.is_conditional(generator)
    drawings = sampling.generate(generator, 6, seed=1, labels=[0, 1, 2, 0, 1, 2])
    assert drawings.shape == (6, 28, 28, 1) and drawings.dtype == np.uint8
    # the label changes the drawing: the same noise drawn as each category
    same_noise = sampling.generate(generator, 3, seed=5, labels=[0, 0, 0])
    as_each = np.stack([sampling.generate(generator, 1, seed=5, labels=[label])[0] for label in range(3)])
    np.testing.assert_array_equal(as_each[0], same_noise[0])
    assert np.abs(as_each[1].astype(int) - as_each[0]).mean() > 1
    with pytest.raises(ValueError, match="give the labels"):
        sampling.generate(generator, 2)


def test_a_rerun_with_more_epochs_resumes(trained, quickdraw_mirror):
    config, result = trained
    again = conditional.resolve("doodles3", name="three", limit=96, epochs=3, checkpoint_every=1,
                                runs_dir=config.runs_dir, progress=False, mirror=str(quickdraw_mirror))
    resumed = conditional.train(again)
    assert resumed.epochs_trained == 1
    rows = result.run.read_history()
    assert [row["epoch"] for row in rows] == [1, 2, 3]


def test_the_projection_discriminator_judges_the_pair():
    import tensorflow as tf

    discriminator = conditional.projection_discriminator(5)
    image = tf.random.uniform([1, 28, 28, 1], -1, 1)
    logits = [float(discriminator([image, tf.constant([label])], training=False)[0, 0]) for label in range(5)]
    assert len({round(value, 6) for value in logits}) == 5  # the label enters the logit


@pytest.mark.parametrize("changes, message", [
    ({"categories": "rabbit"}, "at least two"),
    ({"categories": "rabbit,rabbit,cat"}, "names rabbit more than once"),
    ({"categories": "rabbit,unicornz"}, "unicornz"),
    ({"loss": "wgan_gp"}, "two inputs"),
    ({"limit": 0}, "drawings per category"),
    ({"noise_dim": 0}, "noise_dim must be at least 1"),
])
def test_bad_settings_are_refused_by_name(changes, message):
    with pytest.raises(ValueError, match=message):
        conditional.resolve("doodles3", **changes)


@pytest.mark.slow  # papermill / a study script in a subprocess: ~40 s
def test_make_run_trains_the_conditional_notebook(tmp_path, quickdraw_mirror):
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "sketchdraw", "run", "--experiment", "doodles3", "--epochs", "1",
                           "--limit", "64", "--runs-dir", str(tmp_path), "--set", "categories=cat,dog"],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "SKETCHDRAW_QUICKDRAW_MIRROR": str(quickdraw_mirror),
                               "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-3000:]
    run = tmp_path / "doodles3"
    assert (run / "conditional.ipynb").is_file() and (run / "generator.keras").is_file()
    assert json.loads((run / "config.json").read_text())["categories"] == "cat,dog"


def test_the_drawing_page_draws_the_category_asked_for(trained, browser):
    import threading

    from sketchdraw.drawing import completion, server

    config, result = trained
    completer = completion.Completer(sampling.load_generator(result.run.root), bank=256, screen=128)
    assert completer.classes == 3
    stroke = np.zeros((28, 28), np.uint8)
    stroke[4:12, 10] = 255
    as_flower = completer.complete(stroke, count=3, seed=1, label=1)
    as_cat = completer.complete(stroke, count=3, seed=1, label=2)
    assert not np.array_equal(as_flower[0].image, as_cat[0].image)
    np.testing.assert_array_equal(completer.drawing(as_cat[0].noise, 2), as_cat[0].image)
    with pytest.raises(ValueError, match="label is a category's number, 0 to 2"):
        completer.complete(stroke, label=3)
    app = server.DrawingApp(result.run.root, completer=completer)
    assert app.info()["categories"] == ["rabbit", "flower", "cat"]
    assert app.label_of({"category": "cat"}) == 2
    with pytest.raises(server.RequestError, match="this run draws rabbit, flower, cat; not 'dog'"):
        app.label_of({"category": "dog"})
    httpd = server.make_server(app, port=0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        browser.open(f"http://127.0.0.1:{httpd.server_address[1]}/")
        wait = """(async () => {{
            while (window.sketchdraw.shownNumber < {number} || window.sketchdraw.busy)
                await new Promise(resolve => setTimeout(resolve, 50));
            return window.sketchdraw.suggestions.map(s => s.category);
        }})()"""
        assert browser.evaluate(wait.format(number=1)) == ["rabbit"] * 8
        options = browser.evaluate("Array.from(document.querySelectorAll('#category option')).map(o => o.value)")
        assert options == ["rabbit", "flower", "cat"]
        browser.evaluate("""(() => { const select = document.getElementById('category'); select.value = 'cat';
                             select.dispatchEvent(new Event('change')); })()""")
        assert browser.evaluate(wait.format(number=2)) == ["cat"] * 8
        assert browser.evaluate("document.getElementById('category-name').textContent") == "cat"
        assert browser.problems() == []
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_evaluate_measures_each_category_beside_its_real_drawings(trained, quickdraw_mirror, isolated_cache,
                                                                  capsys):
    from sketchdraw import cli, quality

    config, result = trained
    judge = quality.domain_classifier(["cat", "flower", "rabbit"], 450, str(quickdraw_mirror), progress=False,
                                      epochs=2)
    document = quality.evaluate_conditional(result.run.root, samples=60, draws=2, classifier=judge,
                                            resamples=20, progress=False)
    assert list(document["per_category"]) == ["rabbit", "flower", "cat"]
    for entry in document["per_category"].values():
        assert 0 <= entry["generated"]["cs"] <= 1 and 0 <= entry["real_held_out"]["cs"] <= 1
        assert entry["generated"]["memorisation_distance"] > 0
        assert "cs" in entry["intervals"]["generated"]
    assert document["generated"]["cs"] == pytest.approx(
        np.mean([entry["generated"]["cs"] for entry in document["per_category"].values()]))
    assert 0 <= document["sds"]["generated"] <= document["sds"]["most"] == pytest.approx(np.log(3))
    assert document["summary"]["lowest_category"] in ("rabbit", "flower", "cat")
    assert json.loads(result.run.metrics_path.read_text())["per_category"].keys() == document["per_category"].keys()
    page = (result.run.root / "index.html").read_text()  # the run page: a row per category
    assert "each category (3)" in page and "<th>flower</th>" in page and "real cs" in page
    # the command line: the same judge, from the cache it was saved in
    code = cli.main(["evaluate", "--run", str(result.run.root), "--categories", "cat,flower,rabbit",
                     "--drawings-per-category", "450", "--classifier-epochs", "2", "--samples", "40",
                     "--resamples", "0"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "SDS across the 3 categories" in printed and printed.count("\nflower ") == 1
    with pytest.raises(ValueError, match="it cannot be measured on dog"):
        quality.evaluate_conditional(result.run.root, classifier=judge, categories="dog", progress=False)


def test_hybrids_blend_two_categories_and_sample_writes_them(trained, capsys):
    from sketchdraw import cli
    from sketchdraw.conditional import hybrids

    config, result = trained
    run = result.run.root
    generator = sampling.load_generator(run)
    plain, _ = hybrids.draw(run, 4, seed=2, category="cat")
    as_cat, labels = hybrids.draw(run, 4, seed=2, hybrid=("cat", "rabbit"), weight=0.0)
    as_rabbit, _ = hybrids.draw(run, 4, seed=2, hybrid=("cat", "rabbit"), weight=1.0)
    assert labels is None
    assert np.abs(as_cat.astype(int) - plain).max() <= 1  # the embedding path draws what the label path draws
    assert np.abs(as_rabbit.astype(int) - hybrids.draw(run, 4, seed=2, category="rabbit")[0]).max() <= 1
    half, _ = hybrids.draw(run, 4, seed=2, hybrid=("cat", "rabbit"))
    assert not np.array_equal(half, as_cat) and not np.array_equal(half, as_rabbit)
    every, labels = hybrids.draw(run, 6, seed=2)
    assert labels.tolist() == [0, 1, 2, 0, 1, 2]
    assert cli.main(["sample", "--run", str(run), "-n", "12", "--hybrid", "cat,rabbit"]) == 0
    assert cli.main(["sample", "--run", str(run), "-n", "12", "--hybrid", "cat,rabbit"]) == 0
    assert cli.main(["sample", "--run", str(run), "-n", "9"]) == 0
    names = sorted(path.name for path in (run / "samples").iterdir())
    assert names == ["samples_12_cat+rabbit_seed0-2.npy", "samples_12_cat+rabbit_seed0-2.png",
                     "samples_12_cat+rabbit_seed0.npy", "samples_12_cat+rabbit_seed0.png",
                     "samples_9_all_seed0.labels.npy", "samples_9_all_seed0.npy", "samples_9_all_seed0.png"]
    assert np.load(run / "samples" / "samples_9_all_seed0.npy").shape == (9, 784)
    sheet = Image.open(run / "samples" / "samples_9_all_seed0.png")  # a named row per category, 3 each
    assert sheet.height == (3 * 30 + 2) * 3 and sheet.width > (3 * 30 + 2) * 3
    capsys.readouterr()
    assert cli.main(["sample", "--run", str(run), "--hybrid", "cat"]) == 2
    assert "--hybrid names two categories" in capsys.readouterr().err
    assert cli.main(["sample", "--run", str(run), "--category", "dog"]) == 2
    assert "this run learned rabbit, flower, cat; not 'dog'" in capsys.readouterr().err
    assert generator.get_layer("label_embedding").input_dim == 3


def test_export_of_a_conditional_generator_takes_noise_and_label(trained, tmp_path):
    import tensorflow as tf

    from sketchdraw.drawing.export import export_generator

    config, result = trained
    folder = export_generator(result.run.root, tmp_path / "exported")
    loaded = tf.saved_model.load(str(folder))
    noise = tf.random.stateless_normal([3, 100], seed=[4, 5])
    labels = tf.constant([2, 0, 1], tf.int32)
    expected = sampling.load_generator(result.run.root)([noise, labels], training=False).numpy()
    np.testing.assert_allclose(loaded.serve([noise, labels]).numpy(), expected, atol=1e-5)


@pytest.mark.slow  # papermill / a study script in a subprocess: ~40 s
def test_the_comparison_study_measures_both_the_same_way(trained, tmp_path, quickdraw_mirror):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from sketchdraw import dcgan

    config, result = trained
    single = dcgan.resolve("rabbit_small", category="cat", name="cat", limit=96, epochs=2, quality_every=0,
                           keep_best=False, checkpoint_every=2, runs_dir=str(tmp_path), progress=False,
                           mirror=str(quickdraw_mirror))
    dcgan.train(single)
    table = tmp_path / "comparison.md"
    study = Path(__file__).resolve().parents[1] / "studies" / "conditional_vs_single.py"
    done = subprocess.run([sys.executable, str(study), str(result.run.root), "--single", f"cat={tmp_path / 'cat'}",
                           "--draws", "2", "--samples", "40", "--classifier-categories", "rabbit,flower,cat",
                           "--classifier-drawings", "450", "--classifier-epochs", "2", "--write", str(table)],
                          capture_output=True, text=True, timeout=900, cwd=tmp_path,
                          env={**os.environ, "SKETCHDRAW_QUICKDRAW_MIRROR": str(quickdraw_mirror),
                               "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-3000:]
    text = table.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| cat |")]
    assert len(rows) == 1 and len(rows[0].split("|")) == 13
    # the conditional run saw 3 x 96 drawings per epoch, as long as the single run: 3x its images
    conditional_seen = int(result.run.read_history()[-1]["epoch"]) * (288 // 32 * 32)
    assert f"the conditional run {conditional_seen:,}" in text and "single runs 192 together" in text
    bad = subprocess.run([sys.executable, str(study), str(result.run.root), "--single", "cat"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert bad.returncode != 0 and "--single takes CATEGORY=RUN" in bad.stderr


def test_row_labels_are_written_beside_their_rows_and_must_match_them():
    drawings = np.zeros((6, 28, 28), np.uint8)
    plain = artifacts.grid_image(drawings, columns=3, invert=True)
    labelled = artifacts.grid_image(drawings, columns=3, invert=True, row_labels=["ant", "helicopter"])
    assert labelled.height == plain.height and labelled.width > plain.width
    margin = np.asarray(labelled)[:, :labelled.width - plain.width]
    inked_rows = np.flatnonzero((margin < 128).any(axis=1))
    assert inked_rows.min() > 8 and inked_rows.max() < plain.height - 8
    # each name sits within its own row's band, and the longer name takes more of the margin
    first, second = margin[:plain.height // 2], margin[plain.height // 2:]
    assert (first < 128).any() and (second < 128).any()
    assert (second < 128).any(axis=0).sum() > (first < 128).any(axis=0).sum()
    np.testing.assert_array_equal(np.asarray(labelled)[:, labelled.width - plain.width:], np.asarray(plain))
    with pytest.raises(ValueError, match="3 row labels for a grid of 2 rows"):
        artifacts.grid_image(drawings, columns=3, row_labels=["a", "b", "c"])


def test_a_sheet_of_many_categories_puts_its_named_rows_in_panels_side_by_side():
    from sketchdraw.conditional.hybrids import category_sheet

    names = [f"category{index}" for index in range(35)]
    labels = np.arange(35 * 3) % 35
    images = np.zeros((len(labels), 28, 28, 1), np.uint8)
    images[labels == 34] = 255  # the last category's drawings are all ink
    sheet = np.asarray(category_sheet(images, labels, names, per_row=8))
    # 3 drawings of each (fewer than 8), 12 rows to a panel: 3 panels, the last holding 11 rows
    assert sheet.shape[0] == (12 * 30 + 2) * 3
    last_panel_drawings = sheet[:, -(3 * 30 + 2) * 3:] < 128
    last_row = slice((10 * 30 + 2) * 3, (11 * 30) * 3)
    assert last_panel_drawings[last_row].sum() == 3 * 28 * 28 * 9  # the inked drawings, at 3x
    assert last_panel_drawings.sum() == 3 * 28 * 28 * 9  # the other categories' are paper
    assert (sheet[:, :-(3 * 30 + 2) * 3] < 128).any()  # names in the margins


def test_a_category_with_few_drawings_trains_on_half_and_keeps_the_rest_for_its_judge(quickdraw_mirror,
                                                                                      isolated_cache):
    from sketchdraw import quality
    from sketchdraw.conditional.run import load_labelled_drawings, training_drawings
    from sketchdraw.quality.per_category import category_view

    files = {name: np.load(quickdraw_mirror / f"{name}.npy", mmap_mode="r") for name in ("bee", "rabbit")}
    config = conditional.resolve("doodles35", categories="bee,rabbit", limit=300, mirror=str(quickdraw_mirror),
                                 progress=False)
    bee, rabbit = (training_drawings(config, name) for name in ("bee", "rabbit"))
    assert len(files["bee"]) < 600 <= len(files["rabbit"])  # the shared (and the sample) mirror's sizes
    np.testing.assert_array_equal(bee, files["bee"][:len(files["bee"]) // 2])  # half of a small file
    np.testing.assert_array_equal(rabbit, files["rabbit"][:300])  # the limit where the file holds 2x
    images, labels = load_labelled_drawings(config)
    assert len(images) == len(bee) + 300 and np.bincount(labels).tolist() == [len(bee), 300]
    # the judge finds bee drawings that neither network saw (at the limit alone it found none)
    judge = quality.domain_classifier(["bee", "rabbit"], 5000, str(quickdraw_mirror), progress=False, epochs=1)
    reference = quality.reference_drawings(category_view(config, "bee"), judge, 450, bee, progress=False)
    assert len(reference) >= len(files["bee"]) // 2 - 1
    assert not {row.tobytes() for row in reference} & {row.tobytes() for row in bee}


@pytest.mark.parametrize("conditioning, label_layers", [("batchnorm", 6), ("batchnorm_scale", 3)])
def test_conditional_batch_norm_takes_the_label_at_every_batch_norm_and_hybrids_follow_it(conditioning,
                                                                                         label_layers):
    import keras
    import tensorflow as tf

    from sketchdraw.conditional import hybrids
    from sketchdraw.conditional.networks import conditional_generator

    generator = conditional_generator(4, noise_dim=16, conditioning=conditioning)
    names = [layer.name for layer in generator.layers]
    assert "label_join" not in names  # the noise goes in as it is
    norms = [layer for layer in generator.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 3 and not any(norm.scale or norm.center for norm in norms)  # the label scales (and shifts)
    embedded = generator.get_layer("label_embedding").output
    from_label = [layer for layer in generator.layers if isinstance(layer, keras.layers.Dense)
                  and layer.input is embedded]
    assert len(from_label) == label_layers  # a scale per batch norm (and a shift)
    noise = tf.random.stateless_normal([2, 16], seed=[1, 2])
    drawn = [generator([noise, tf.constant([label, label])], training=False).numpy() for label in range(4)]
    assert min(np.abs(drawn[a] - drawn[b]).mean() for a in range(4) for b in range(a)) > 1e-3
    # the embedding path (hybrids) draws what the label path draws, though the embedding enters three times
    table = generator.get_layer("label_embedding").get_weights()[0]
    by_embedding = hybrids.embedding_generator(generator)([noise, tf.constant(table[[2, 2]])], training=False)
    np.testing.assert_allclose(by_embedding.numpy(), drawn[2], atol=1e-5)
    with pytest.raises(ValueError, match="conditioning is one of input, batchnorm"):
        conditional_generator(4, conditioning="film")


def test_a_batchnorm_conditioned_run_trains_saves_and_exports(tmp_path, quickdraw_mirror):
    import tensorflow as tf

    from sketchdraw.conditional import hybrids
    from sketchdraw.drawing.export import export_generator

    config = conditional.resolve("doodles3", name="cbn", limit=64, epochs=1, checkpoint_every=1,
                                 conditioning="batchnorm", runs_dir=str(tmp_path), progress=False,
                                 mirror=str(quickdraw_mirror))
    run = conditional.train(config).run.root
    assert json.loads((run / "config.json").read_text())["conditioning"] == "batchnorm"
    generator = sampling.load_generator(run)  # Keras's safe mode: standard layers only
    as_cat, _ = hybrids.draw(run, 3, seed=4, category="cat")
    by_embedding, _ = hybrids.draw(run, 3, seed=4, hybrid=("cat", "flower"), weight=0.0)
    assert np.abs(by_embedding.astype(int) - as_cat).max() <= 1
    folder = export_generator(run, tmp_path / "exported")
    noise = tf.random.stateless_normal([2, 100], seed=[4, 5])
    labels = tf.constant([2, 0], tf.int32)
    loaded = tf.saved_model.load(str(folder))  # kept: its functions need the object alive
    np.testing.assert_allclose(loaded.serve([noise, labels]).numpy(),
                               generator([noise, labels], training=False).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="conditioning"):
        conditional.resolve("doodles3", conditioning="film")
