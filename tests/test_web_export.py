"""The drawing page as static files (`sketchdraw export --web`): refusals before anything is loaded,
a failed conversion that leaves nothing behind, and the exported page in a real Chromium served by
a plain static web server, drawing with TensorFlow.js what the run's Keras generator draws."""

from __future__ import annotations

import base64
import functools
import http.server
import io
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_drawing import WAIT_FOR_SUGGESTIONS, coverage, draw_stroke, rabbit_top_strokes

from sketchdraw import cli
from sketchdraw.drawing import web_export

REPO = Path(__file__).resolve().parents[1]
# `make export-web` fetches both tools here; the variables point elsewhere
CONVERTER = Path(os.environ.get("SKETCHDRAW_TFJS_CONVERTER", REPO / ".tfjs/venv/bin/tensorflowjs_converter"))
SCRIPT = Path(os.environ.get("SKETCHDRAW_TFJS_SCRIPT", REPO / ".tfjs/node_modules/@tensorflow/tfjs/dist/tf.min.js"))
# Headless Chromium has no graphics card: TF.js draws on the CPU, about three drawings a second.
WAIT = WAIT_FOR_SUGGESTIONS.replace("60000", "300000")


def test_missing_tools_are_named_with_the_fix_before_the_run_is_opened(tmp_path, capsys):
    no_run = str(tmp_path / "no-such-run")
    assert cli.main(["export", "--run", no_run, "--web", "--converter", str(tmp_path / "converter")]) == 2
    error = capsys.readouterr().err
    assert "converter is not an executable" in error and "make export-web" in error and "no such run" not in error
    assert cli.main(["export", "--run", no_run, "--web", "--converter", "python3",
                     "--tfjs-script", str(tmp_path / "tf.min.js")]) == 2
    error = capsys.readouterr().err
    assert "tf.min.js is not a file" in error and "npm install" in error
    (tmp_path / "tf.min.css").write_text("")
    with pytest.raises(ValueError, match="not a JavaScript file"):
        web_export.find_script(tmp_path / "tf.min.css")
    assert cli.main(["export", "--run", no_run, "--converter", "python3"]) == 2
    assert "are for --web" in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tf.min.css"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, quickdraw_mirror) -> Path:
    """One epoch on 64 rabbits: a generator to export, no more."""
    from sketchdraw import dcgan

    runs = tmp_path_factory.mktemp("runs")
    dcgan.train(dcgan.resolve("rabbit_small", name="rabbit", epochs=1, limit=64, quality_every=0, keep_best=False,
                              runs_dir=str(runs), progress=False, mirror=str(quickdraw_mirror)))
    return runs / "rabbit"


def test_a_failed_conversion_leaves_nothing_and_an_export_is_never_replaced(small_run, tmp_path):
    script = tmp_path / "tf.min.js"
    script.write_text("// stands in for the bundle: the converter fails first\n")
    target = tmp_path / "web"
    with pytest.raises(RuntimeError, match="the TF.js converter failed"):
        web_export.export_web(small_run, target, converter="false", script=script)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tf.min.js"]  # no folder, no staging
    target.mkdir()
    with pytest.raises(FileExistsError, match="already exists"):
        web_export.export_web(small_run, target, converter="false", script=script)


def test_the_static_page_loads_its_helpers_before_the_pages_script():
    page = web_export.static_page()
    assert page.index('src="tf.min.js"') < page.index('src="local_api.js"') < page.index("<script>\n")
    assert "http://" not in page and "https://" not in page  # nothing from a CDN


@pytest.fixture(scope="module")
def static_site(rabbit_run, tmp_path_factory):
    """The exported folder behind Python's plain static file server on 127.0.0.1."""
    if not (CONVERTER.exists() and SCRIPT.is_file()):
        pytest.skip(f"the TF.js tools are not in {REPO / '.tfjs'}: `make export-web` fetches them "
                    "(a separate environment with TensorFlow 2.19, and npm's @tensorflow/tfjs)")
    folder = web_export.export_web(rabbit_run, tmp_path_factory.mktemp("site") / "web", CONVERTER, SCRIPT)
    handler = functools.partial(QuietFiles, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def shown_images(browser) -> np.ndarray:
    """The suggestions on the page, as ink (0-255, 255 = ink)."""
    urls = browser.evaluate("window.sketchdraw.suggestions.map(s => s.image)")
    return np.stack([255 - np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("L"))
                     for url in urls])


@pytest.mark.slow  # a TF.js conversion (a second TensorFlow starts) and a page that runs the generator
@pytest.mark.browser
def test_the_exported_page_draws_suggests_and_saves_without_python(static_site, browser, rabbit_run,
                                                                   shared_data, tmp_path):
    from sketchdraw import sampling
    from sketchdraw.drawing.completion import Completer

    folder, address = static_site
    browser.socket.settimeout(600)
    assert sorted(path.name for path in folder.iterdir()) == ["index.html", "info.json", "local_api.js",
                                                             "model", "tf.min.js"]
    browser.open(address + "/")
    start = browser.evaluate(WAIT.format(number=1))
    assert start["count"] == 8, (start, browser.problems())
    assert browser.evaluate("document.getElementById('run-name').textContent") == "rabbit"
    # TF.js draws what Keras draws for the same noise vector
    completer = Completer(sampling.load_generator(rabbit_run), bank=8, screen=8)
    noises = browser.evaluate("window.sketchdraw.suggestions.map(s => s.noise)")
    keras = np.stack([completer.drawing(noise) for noise in noises]).astype(int)
    samples = shown_images(browser)
    assert np.abs(samples.astype(int) - keras).max() <= 2

    for stroke in rabbit_top_strokes(shared_data):
        draw_stroke(browser, stroke)
    done = browser.evaluate(WAIT.format(number=2))
    assert done["count"] == 8 and "suggestions in" in done["status"], done
    ink = np.asarray(browser.evaluate("ink()"), dtype=np.float64).reshape(28, 28)
    suggested, plain = coverage(shown_images(browser), ink).mean(), coverage(samples, ink).mean()
    print(f"the static page's suggestions cover {suggested:.2f} of the drawn ink, its first samples {plain:.2f}; "
          f"first samples: {start['status']}; after the strokes: {done['status']}")
    assert suggested > plain + 0.1

    browser.evaluate("document.querySelector('#suggestions figure[data-index=\"0\"]').click()")
    browser.evaluate("document.getElementById('more').click()")
    assert browser.evaluate(WAIT.format(number=3))["count"] == 8
    browser.evaluate("document.querySelector('#suggestions figure[data-index=\"0\"]').click()")
    chosen = browser.evaluate("window.sketchdraw.suggestions[0].noise")
    browser.evaluate("document.getElementById('save').click()")
    links = browser.evaluate("""(async () => {
        const deadline = Date.now() + 30000;
        while (document.querySelectorAll('#saved a').length < 2 && Date.now() < deadline)
            await new Promise(resolve => setTimeout(resolve, 50));
        return Promise.all(Array.from(document.querySelectorAll('#saved a')).map(async a => {
            const bytes = new Uint8Array(await (await fetch(a.href)).arrayBuffer());
            return {name: a.download, bytes: Array.from(bytes)};
        }));
    })()""")
    assert [link["name"] for link in links] == ["drawing-0001.png", "drawing-0001.npy"]
    row = np.load(io.BytesIO(bytes(links[1]["bytes"])), allow_pickle=False)
    assert row.shape == (1, 784) and row.dtype == np.uint8  # Quick, Draw!'s numpy_bitmap convention
    assert np.abs(row.reshape(28, 28).astype(int) - completer.drawing(chosen).astype(int)).max() <= 2
    png = np.asarray(Image.open(io.BytesIO(bytes(links[0]["bytes"]))).convert("L"))
    np.testing.assert_array_equal(255 - png, row.reshape(28, 28))
    assert browser.problems() == []
    print(f"static drawing page screenshot: {browser.screenshot(tmp_path / 'static-drawing-page.png')}")


@pytest.mark.slow  # a conditional run, a TF.js conversion and a page that runs the generator
@pytest.mark.browser
def test_the_exported_page_of_a_conditional_run_draws_the_chosen_category(browser, quickdraw_mirror, tmp_path):
    from sketchdraw import conditional, sampling
    from sketchdraw.drawing.completion import Completer

    if not (CONVERTER.exists() and SCRIPT.is_file()):
        pytest.skip(f"the TF.js tools are not in {REPO / '.tfjs'}: `make export-web` fetches them")
    config = conditional.resolve("doodles3", name="three", limit=96, epochs=1, runs_dir=str(tmp_path / "runs"),
                                 progress=False, mirror=str(quickdraw_mirror))
    conditional.train(config)
    folder = web_export.export_web(tmp_path / "runs" / "three", tmp_path / "web", CONVERTER, SCRIPT)
    handler = functools.partial(QuietFiles, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        browser.socket.settimeout(600)
        browser.open(f"http://127.0.0.1:{server.server_address[1]}/")
        assert browser.evaluate(WAIT.format(number=1))["count"] == 8
        options = browser.evaluate("Array.from(document.querySelectorAll('#category option')).map(o => o.value)")
        assert options == ["rabbit", "flower", "cat"]
        browser.evaluate("(() => { const select = document.getElementById('category'); select.value = 'cat';"
                         " select.dispatchEvent(new Event('change')); })()")
        assert browser.evaluate(WAIT.format(number=2))["count"] == 8
        completer = Completer(sampling.load_generator(tmp_path / "runs" / "three"), bank=8, screen=8)
        noises = browser.evaluate("window.sketchdraw.suggestions.map(s => s.noise)")
        shown = shown_images(browser).astype(int)
        as_cat = np.stack([completer.drawing(noise, label=2) for noise in noises]).astype(int)
        as_rabbit = np.stack([completer.drawing(noise, label=0) for noise in noises]).astype(int)
        assert np.abs(shown - as_cat).max() <= 2 and np.abs(shown - as_rabbit).max() > 2
        assert browser.problems() == []
    finally:
        server.shutdown()
