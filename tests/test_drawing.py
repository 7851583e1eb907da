"""The drawing page: suggestions that agree with the strokes, the server, the page in a real
browser, and the SavedModel export, on a real (briefly trained) rabbit generator."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import robustness
from PIL import Image

from sketchdraw.drawing import completion, server

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def completer(rabbit_run):
    from sketchdraw import sampling

    return completion.Completer(sampling.load_generator(rabbit_run), bank=512, screen=256)


@pytest.fixture(scope="module")
def half_rabbits(quickdraw_mirror) -> np.ndarray:
    """The top halves of 6 real rabbits the generator never saw (the file's last rows)."""
    rabbits = np.load(quickdraw_mirror / "rabbit.npy")[-6:].reshape(-1, 28, 28).copy()
    rabbits[:, 14:] = 0
    return rabbits


def coverage(images: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """The share of the ink (0-255) that each drawing (0-255, 255 = ink) covers."""
    mask = ink.astype(np.float64) / 255
    return (images.astype(np.float64) / 255 * mask).sum(axis=(1, 2)) / mask.sum()


def test_suggestions_cover_the_strokes_better_than_samples_do(completer, half_rabbits):
    gains = []
    for index, ink in enumerate(half_rabbits):
        suggestions = completer.complete(ink, count=8, seed=index)
        assert len(suggestions) == 8
        assert [item.loss for item in suggestions] == sorted(item.loss for item in suggestions)
        images = np.stack([item.image for item in suggestions])
        assert images.dtype == np.uint8 and images.shape == (8, 28, 28)
        np.testing.assert_allclose([item.agreement for item in suggestions], coverage(images, ink), atol=2e-3)
        samples = np.stack([item.image for item in completer.complete(None, count=8, seed=100 + index)])
        gains.append(coverage(images, ink).mean() - coverage(samples, ink).mean())
    print("coverage gained over plain samples, per drawing:", np.round(gains, 3))
    assert min(gains) > 0.1


def test_more_like_this_keeps_the_chosen_drawing_and_stays_near_it(completer):
    chosen = completer.complete(None, count=4, seed=3)[2]
    near = completer.complete(None, count=6, seed=4, around=chosen.noise, spread=0.3)
    np.testing.assert_array_equal(near[0].image, chosen.image)
    distances = [np.linalg.norm(item.noise - chosen.noise) for item in near[1:]]
    far = [np.linalg.norm(item.noise - chosen.noise) for item in completer.complete(None, count=5, seed=5)]
    assert max(distances) < min(far)
    np.testing.assert_array_equal(completer.drawing(chosen.noise), chosen.image)


def test_seeds_give_other_suggestions_and_the_same_seed_the_same(completer, half_rabbits):
    first = completer.complete(half_rabbits[0], count=4, seed=7)
    again = completer.complete(half_rabbits[0], count=4, seed=7)
    other = completer.complete(half_rabbits[0], count=4, seed=8)
    np.testing.assert_allclose([item.noise for item in first], [item.noise for item in again], atol=1e-5)
    assert not np.allclose([item.noise for item in first], [item.noise for item in other])


@pytest.mark.parametrize("bad, message", [
    ([1, 2, 3], "784 values"), (np.full(784, 300), "between 0 (paper) and 255"),
    (np.full(784, np.nan), "between 0 (paper) and 255"), (["a"] * 784, "must be numbers")])
def test_bad_ink_is_refused_by_name(completer, bad, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        completer.complete(bad)


def test_bad_counts_and_vectors_are_refused(completer):
    for count in (0, 17, True, 2.0):
        with pytest.raises(ValueError, match="count is the number of suggestions"):
            completer.complete(None, count=count)
    with pytest.raises(ValueError, match="'around' is a noise vector of 100"):
        completer.complete(None, around=[0.0] * 3)
    with pytest.raises(ValueError, match="spread is 0 to 3"):
        completer.complete(None, around=[0.0] * 100, spread=9)
    with pytest.raises(ValueError, match="a noise vector is 100 finite numbers"):
        completer.drawing([float("inf")] * 100)


def test_a_painting_generator_is_refused():
    import keras

    painter = keras.Sequential([keras.Input((8,)), keras.layers.Dense(64 * 64 * 3), keras.layers.Reshape((64, 64, 3))])
    with pytest.raises(ValueError, match="takes a Quick, Draw! run's generator"):
        completion.Completer(painter)


# -- the server --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def page_server(rabbit_run, completer):
    app = server.DrawingApp(rabbit_run, completer=completer)
    httpd = server.make_server(app, port=0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def call(url: str, document=None, data: bytes | None = None, headers=None) -> tuple[int, dict | bytes]:
    body = json.dumps(document).encode() if document is not None else data
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, content, kind = response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as error:
        status, content, kind = error.code, error.read(), error.headers["Content-Type"]
    return status, json.loads(content) if kind == "application/json" else content


def test_the_server_suggests_and_saves_without_overwriting(page_server, rabbit_run, half_rabbits):
    status, info = call(page_server + "/api/info")
    assert status == 200 and info["categories"] == ["rabbit"] and info["run"] == "rabbit"
    status, reply = call(page_server + "/api/complete", {"ink": half_rabbits[1].ravel().tolist(), "count": 5})
    assert status == 200 and len(reply["completions"]) == 5 and reply["seconds"] > 0
    first = reply["completions"][0]
    shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(first["image"].split(",", 1)[1]))))
    assert shown.shape == (28, 28)
    saved = [call(page_server + "/api/save", {"noise": first["noise"]})[1] for _ in range(2)]
    assert [item["png"] for item in saved] == ["/drawings/drawing-0001.png", "/drawings/drawing-0002.png"]
    folder = rabbit_run / "drawings"
    row = np.load(folder / "drawing-0001.npy", allow_pickle=False)
    assert row.shape == (1, 784) and row.dtype == np.uint8  # Quick, Draw!'s numpy_bitmap convention
    np.testing.assert_array_equal(255 - row.reshape(28, 28), np.asarray(Image.open(folder / "drawing-0001.png")))
    assert abs(row.astype(int).reshape(28, 28) - (255 - shown.astype(int))).max() <= 2  # what was shown
    status, content = call(page_server + saved[0]["npy"])
    assert status == 200 and content == (folder / "drawing-0001.npy").read_bytes()


@pytest.mark.parametrize("path, document, data, expected", [
    ("/api/complete", {"ink": [1, 2]}, None, "784 values"),
    ("/api/complete", {"count": 99}, None, "count is the number"),
    ("/api/complete", {"seed": -1}, None, "seed is a whole number"),
    ("/api/complete", {"category": "cat"}, None, "this run draws rabbit; not 'cat'"),
    ("/api/complete", None, b"{not json", "not JSON"),
    ("/api/complete", None, b"[1, 2]", "a JSON object"),
    ("/api/complete", None, b" " * (server.BODY_LIMIT + 1), "a request body is 1 to"),
    ("/api/save", {"noise": [1, 2]}, None, "a noise vector is 100 finite numbers"),
])
def test_bad_requests_get_a_400_that_says_why(page_server, path, document, data, expected):
    with robustness.attempt("refusals", f"POST {path} {expected}"):
        status, reply = call(page_server + path, document, data)
        assert status == 400 and expected in reply["error"], reply


def test_nothing_but_the_page_and_saved_drawings_is_served(page_server):
    for path in ("/config.json", "/drawings/../config.json", "/drawings/x.png", "/drawings/drawing-9999.png",
                 "/api/nothing"):
        status, reply = call(page_server + path)
        assert status == 404, path
    assert call(page_server + "/api/info", data=b"{}")[0] == 404  # a POST to a GET route


# -- the page in a real browser ----------------------------------------------------------------------
WAIT_FOR_SUGGESTIONS = """(async () => {{
    const deadline = Date.now() + 60000;
    while ((window.sketchdraw.shownNumber < {number} || window.sketchdraw.busy) && Date.now() < deadline)
        await new Promise(resolve => setTimeout(resolve, 50));
    return {{shown: window.sketchdraw.shownNumber, count: document.querySelectorAll('#suggestions img').length,
            status: document.getElementById('status').textContent}};
}})()"""


def draw_stroke(browser, points: list[tuple[float, float]]) -> None:
    """A stroke as the mouse makes it: press, moves, release (Chromium turns them into pointer events)."""
    box = browser.evaluate("(() => { const b = document.getElementById('canvas').getBoundingClientRect();"
                           " return [b.left, b.top, b.width / 280]; })()")
    left, top, scale = box
    at = [(left + x * scale, top + y * scale) for x, y in points]
    browser.call("Input.dispatchMouseEvent", type="mousePressed", x=at[0][0], y=at[0][1], button="left",
                 buttons=1, clickCount=1)
    for x, y in at[1:]:
        browser.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y, button="left", buttons=1)
    browser.call("Input.dispatchMouseEvent", type="mouseReleased", x=at[-1][0], y=at[-1][1], button="left",
                 buttons=0, clickCount=1)


def rabbit_top_strokes(shared_data: Path) -> list[list[tuple[float, float]]]:
    """The strokes of a real rabbit (simplified ndjson, 0-255 box) that lie in its top half, in
    canvas pixels (280 box, 20 pixels of margin)."""
    from sketchdraw import strokes

    drawing = next(item for item in strokes.read_ndjson(shared_data / "quickdraw" / "ndjson_25" / "rabbit.ndjson",
                                                        recognized_only=True, limit=30)
                   if len(item.strokes) >= 4)
    kept = []
    for xs, ys in drawing.strokes:
        points = [(20 + x * 240 / 255, 20 + y * 240 / 255) for x, y in zip(xs, ys) if y < 128]
        if len(points) >= 2:
            kept.append(points)
    return kept


@pytest.mark.browser
def test_the_page_in_chromium_draws_suggests_and_saves(page_server, browser, completer, shared_data,
                                                       rabbit_run, tmp_path):
    browser.open(page_server + "/")
    start = browser.evaluate(WAIT_FOR_SUGGESTIONS.format(number=1))
    assert start["count"] == 8, start  # samples before the first stroke
    assert browser.evaluate("document.getElementById('run-name').textContent") == "rabbit"
    strokes = rabbit_top_strokes(shared_data)
    assert strokes
    for stroke in strokes:
        draw_stroke(browser, stroke)
    done = browser.evaluate(WAIT_FOR_SUGGESTIONS.format(number=2))
    assert done["count"] == 8 and "suggestions in" in done["status"], done
    ink = np.asarray(browser.evaluate("ink()"), dtype=np.float64).reshape(28, 28)
    assert ink.sum() > 255 * 10 and ink[16:].sum() == 0  # the top half of a rabbit, as the page sends it
    shown = np.stack([np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
                      for url in browser.evaluate("window.sketchdraw.suggestions.map(s => s.image)")])
    suggested = coverage(255 - shown, ink).mean()
    samples = coverage(np.stack([item.image for item in completer.complete(None, count=8, seed=42)]), ink).mean()
    print(f"the page's suggestions cover {suggested:.2f} of the drawn ink, plain samples {samples:.2f}")
    assert suggested > samples + 0.1
    # choose one, ask for more like it, then save it
    browser.evaluate("document.querySelector('#suggestions figure[data-index=\"1\"]').click()")
    browser.evaluate("document.getElementById('more').click()")
    more = browser.evaluate(WAIT_FOR_SUGGESTIONS.format(number=3))
    assert more["count"] == 8, more
    browser.evaluate("document.querySelector('#suggestions figure[data-index=\"0\"]').click()")
    before = set((rabbit_run / "drawings").glob("*.npy")) if (rabbit_run / "drawings").is_dir() else set()
    browser.evaluate("document.getElementById('save').click()")
    deadline = time.monotonic() + 30
    while browser.evaluate("document.querySelectorAll('#saved a').length") < 2:
        assert time.monotonic() < deadline, browser.evaluate("document.getElementById('status').textContent")
        time.sleep(0.1)
    new = set((rabbit_run / "drawings").glob("*.npy")) - before
    assert len(new) == 1
    links = browser.evaluate("Array.from(document.querySelectorAll('#saved a')).map(a => a.getAttribute('href'))")
    assert links[1] == f"/drawings/{new.pop().name}"
    assert browser.problems() == []
    screenshot = browser.screenshot(tmp_path / "drawing-page.png")
    print(f"drawing page screenshot: {screenshot}")


# -- the command line --------------------------------------------------------------------------------
def test_sketchdraw_serve_prints_its_address_and_serves(rabbit_run):
    process = subprocess.Popen([sys.executable, "-m", "sketchdraw", "serve", "--run", str(rabbit_run), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    try:
        line = process.stdout.readline()
        assert "drawing page of" in line, process.stderr.read() if process.poll() is not None else line
        address = line.split("http://", 1)[1].split("/", 1)[0]
        status, info = call(f"http://{address}/api/info")
        assert status == 200 and info["categories"] == ["rabbit"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_export_writes_a_savedmodel_that_draws_what_the_run_draws(rabbit_run, tmp_path, capsys):
    import tensorflow as tf

    from sketchdraw import cli, sampling

    assert cli.main(["export", "--run", str(rabbit_run), "--output", str(tmp_path / "exported")]) == 0
    assert "wrote" in capsys.readouterr().out
    loaded = tf.saved_model.load(str(tmp_path / "exported"))
    noise = tf.random.stateless_normal([4, 100], seed=[1, 2])
    expected = sampling.load_generator(rabbit_run)(noise, training=False).numpy()
    np.testing.assert_allclose(loaded.serve(noise).numpy(), expected, atol=1e-5)
    # an existing export is never replaced
    assert cli.main(["export", "--run", str(rabbit_run), "--output", str(tmp_path / "exported")]) == 2
    assert "already exists: remove it first" in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["exported"]
