"""A real HTTP server on 127.0.0.1 for download tests: serves bytes per path, honours Range,
counts requests, and can misbehave on purpose (truncate a body, stall, trickle, answer a Range
request with other bytes or a wrong Content-Range, send bytes beyond Content-Length)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/octet-stream"
    truncate_to: int | None = None  # promise len(body) in Content-Length, send only this many bytes
    stall_after: int | None = None  # send this many bytes, then go silent for `stall_seconds`
    stall_seconds: float = 5.0
    honour_range: bool = True
    serve_range_from: int | None = None  # answer a Range request with as many bytes as asked, from here
    content_range: str | None = None  # send this Content-Range on a 206 instead of the true one ("": none)
    extra_bytes: bytes = b""  # sent after the body, beyond what Content-Length promised
    trickle_after: int | None = None  # send this many bytes, then one byte every `trickle_seconds`
    trickle_seconds: float = 0.3


@dataclass
class FileServer:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)

    def start(self) -> FileServer:
        server_state = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                server_state.requests.append((self.path, self.headers.get("Range")))
                route = server_state.routes.get(self.path)
                if route is None:
                    self.send_error(404, "Not Found")
                    return
                body, status, start = route.body, route.status, 0
                requested = self.headers.get("Range")
                if requested and route.honour_range and status == 200:
                    start = int(requested.split("=")[1].split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.end_headers()
                        return
                    status = 206
                payload = body[start:]
                if status == 206 and route.serve_range_from is not None:
                    start = route.serve_range_from
                    payload = body[start:start + len(payload)]
                self.send_response(status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(payload)))
                if status == 206:
                    true_range = f"bytes {start}-{start + len(payload) - 1}/{len(body)}"
                    content_range = true_range if route.content_range is None else route.content_range
                    if content_range:
                        self.send_header("Content-Range", content_range)
                self.end_headers()
                if route.truncate_to is not None:
                    self.wfile.write(payload[:route.truncate_to])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if route.stall_after is not None and start == 0:
                    self.wfile.write(payload[:route.stall_after])
                    self.wfile.flush()
                    time.sleep(route.stall_seconds)
                    self.close_connection = True
                    return
                if route.trickle_after is not None:
                    self.trickle(payload, route)
                    return
                self.wfile.write(payload + route.extra_bytes)

            def trickle(self, payload: bytes, route: Route) -> None:
                try:
                    self.wfile.write(payload[:route.trickle_after])
                    self.wfile.flush()
                    for index in range(route.trickle_after, len(payload)):
                        time.sleep(route.trickle_seconds)
                        self.wfile.write(payload[index:index + 1])
                        self.wfile.flush()
                except OSError:  # the client gave up and hung up, which is what the tests want
                    pass
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
