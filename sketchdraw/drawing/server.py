"""`sketchdraw serve`: the drawing page of a run, on a local web server.

The page (page.html, one file: no CDN, no internet) lets a person draw on a canvas; when a stroke
ends it posts the ink to /api/complete and shows the suggestions beside the canvas. The server
holds the run's generator and a `Completer`; the endpoints, all JSON:

    GET  /              the page
    GET  /api/info      the run, its categories, the suggestion settings
    POST /api/complete  {"ink": 784 values 0-255, "count", "seed", "around": a noise vector or null}
                        -> {"completions": [{"image": PNG data URL, "noise", "agreement"}], "seconds"}
    POST /api/save      {"noise": a suggestion's vector} -> the drawing saved in <run>/drawings/ as
                        PNG and as a (1, 784) uint8 .npy (Quick, Draw!'s numpy_bitmap convention)
    GET  /drawings/NAME a saved drawing

Only 127.0.0.1 by default: the server runs a model for whoever reaches it.
"""

from __future__ import annotations

import base64
import http.server
import io
import json
import re
import threading
import time
from pathlib import Path

import numpy as np

from sketchdraw.drawing.completion import MAX_COUNT, Completer

PAGE = Path(__file__).with_name("page.html")
DEFAULT_PORT = 8765
BODY_LIMIT = 64 * 1024  # a request is 784 numbers and a noise vector: a few kilobytes
SAVED_NAME = re.compile(r"^drawing-\d{4}\.(png|npy)$")


class RequestError(ValueError):
    """A request the page would never send: answered 400 with the reason."""


def run_categories(run) -> list[str]:
    """What a run's generator draws, by label: a class-conditional run's `categories` in order, or
    the one category of a single-category run."""
    settings = run.load_config() if run.config_path.is_file() else {}
    settings = settings if isinstance(settings, dict) else {}
    return [name.strip() for name in str(settings.get("categories") or "").split(",")
            if name.strip()] or [str(settings.get("category") or "drawing")]


class DrawingApp:
    """What the server serves for one run: its generator's completer and its drawings folder."""

    def __init__(self, run_dir, completer: Completer | None = None):
        from sketchdraw import sampling
        from sketchdraw.artifacts import RunFolder

        self.run = RunFolder(run_dir)
        self.categories = run_categories(self.run)
        if completer is None:
            completer = Completer(sampling.load_generator(run_dir))
            completer.warm_up()
        self.completer = completer
        self.folder = self.run.root / "drawings"
        self.lock = threading.Lock()  # one model call at a time: TF's threads already use the cores

    def info(self) -> dict:
        return {"run": self.run.root.name, "categories": self.categories, "image_size": 28,
                "max_count": MAX_COUNT, "noise_dim": self.completer.noise_dim}

    def complete(self, request: dict) -> dict:
        ink = request.get("ink")
        count = request.get("count", 8)
        seed = request.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 32:
            raise RequestError(f"seed is a whole number from 0 to 2^32-1, got {seed!r}")
        label = self.label_of(request)
        started = time.perf_counter()
        with self.lock:
            completions = self.completer.complete(ink, count=count, seed=seed, around=request.get("around"),
                                                  spread=request.get("spread", 0.6), label=label)
        seconds = time.perf_counter() - started
        return {"completions": [{"image": png_data_url(item.image), "noise": item.noise.round(5).tolist(),
                                 "agreement": round(item.agreement, 4)} for item in completions],
                "seconds": round(seconds, 4)}

    def save(self, request: dict) -> dict:
        from sketchdraw.atomicfiles import atomic_write_bytes

        label = self.label_of(request)
        with self.lock:
            image = self.completer.drawing(request.get("noise"), label)
            self.folder.mkdir(exist_ok=True)
            number = 1 + max((int(path.stem.split("-")[1]) for path in self.folder.glob("drawing-*.*")
                              if SAVED_NAME.match(path.name)), default=0)
            if number > 9999:
                raise RequestError(f"{self.folder} holds 9,999 drawings: move them elsewhere to save more")
            stem = f"drawing-{number:04d}"
            buffer = io.BytesIO()
            np.save(buffer, image.reshape(1, -1), allow_pickle=False)
            atomic_write_bytes(self.folder / f"{stem}.npy", buffer.getvalue())
            atomic_write_bytes(self.folder / f"{stem}.png", png_bytes(image))
        return {"png": f"/drawings/{stem}.png", "npy": f"/drawings/{stem}.npy",
                "folder": str(self.folder)}


    def label_of(self, request: dict) -> int:
        """The label of the request's category (default: the run's first)."""
        category = request.get("category", self.categories[0])
        if category not in self.categories:
            shown = ", ".join(self.categories[:12]) + (" ..." if len(self.categories) > 12 else "")
            raise RequestError(f"this run draws {shown}; not {category!r}")
        return self.categories.index(category)


def png_bytes(image: np.ndarray) -> bytes:
    """A 28×28 drawing as a PNG, dark ink on white paper (as people drew it)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(255 - image, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def png_data_url(image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


class Handler(http.server.BaseHTTPRequestHandler):
    app: DrawingApp  # set on the subclass that `make_server` makes
    quiet = True

    def log_message(self, format, *args):
        if not self.quiet:
            super().log_message(format, *args)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self._send(200, PAGE.read_bytes(), "text/html; charset=utf-8")
        elif path == "/api/info":
            self._json(200, self.app.info())
        elif path.startswith("/drawings/") and SAVED_NAME.match(path[len("/drawings/"):]):
            file = self.app.folder / path[len("/drawings/"):]
            if not file.is_file():
                self._json(404, {"error": f"no saved drawing {file.name}"})
                return
            kind = "image/png" if file.suffix == ".png" else "application/octet-stream"
            self._send(200, file.read_bytes(), kind, attachment=file.name if file.suffix == ".npy" else None)
        else:
            self._json(404, {"error": f"nothing at {path}"})

    def do_POST(self):
        routes = {"/api/complete": self.app.complete, "/api/save": self.app.save}
        route = routes.get(self.path)
        if route is None:
            self._json(404, {"error": f"nothing to post to at {self.path}"})
            return
        try:
            self._json(200, route(self._read_json()))
        except (RequestError, ValueError) as error:
            self._json(400, {"error": str(error)})

    def _read_json(self) -> dict:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise RequestError("the request needs a Content-Length") from None
        if not 0 < length <= BODY_LIMIT:
            raise RequestError(f"a request body is 1 to {BODY_LIMIT} bytes, got {length}")
        try:
            document = json.loads(self.rfile.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise RequestError(f"the request body is not JSON ({error})") from None
        if not isinstance(document, dict):
            raise RequestError("the request body is a JSON object")
        return document

    def _json(self, status: int, document: dict) -> None:
        self._send(status, json.dumps(document).encode(), "application/json")

    def _send(self, status: int, body: bytes, kind: str, attachment: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if attachment:
            self.send_header("Content-Disposition", f'attachment; filename="{attachment}"')
        self.end_headers()
        self.wfile.write(body)


def make_server(app: DrawingApp, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                quiet: bool = True) -> http.server.ThreadingHTTPServer:
    """The HTTP server of `app`, bound (port 0: a free one; `server.server_address` says which)."""
    handler = type("DrawingHandler", (Handler,), {"app": app, "quiet": quiet})
    try:
        server = http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as error:
        raise RuntimeError(f"cannot listen on {host}:{port} ({error.strerror or error}): choose "
                           "another port (--port, make's PORT=)") from None
    server.daemon_threads = True
    return server


def serve(run_dir, host: str = "127.0.0.1", port: int = DEFAULT_PORT, announce=print) -> None:
    """Serve the drawing page of `run_dir` until interrupted (Ctrl-C)."""
    app = DrawingApp(run_dir)
    server = make_server(app, host, port, quiet=False)
    address, bound = server.server_address[:2]
    announce(f"drawing page of {app.run.root}: http://{address}:{bound}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def add_serve_parser(commands) -> None:
    """`serve`: the drawing page of a run."""
    parser = commands.add_parser("serve", help="serve a run's drawing page: draw, and get suggestions")
    parser.add_argument("--run", required=True, help="a Quick, Draw! run folder, e.g. runs/rabbit_small")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port (default {DEFAULT_PORT}; 0: any free port)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.set_defaults(handler=serve_command)


def serve_command(arguments) -> int:
    from sketchdraw.artifacts import check_run_exists

    check_run_exists(arguments.run)
    if not 0 <= arguments.port <= 65535:
        raise ValueError(f"--port is 0 to 65535, got {arguments.port}")
    serve(arguments.run, arguments.host, arguments.port, announce=lambda line: print(line, flush=True))
    return 0
