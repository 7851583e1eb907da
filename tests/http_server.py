"""A real HTTP server on 127.0.0.1 for download tests: serves bytes per path, honours Range,
counts requests, and can misbehave on purpose (truncate a body, stall)."""

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
                self.send_response(status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(payload)))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
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
                self.wfile.write(payload)

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
