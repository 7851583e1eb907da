"""A real Chromium for page tests: one tab driven over the DevTools protocol (no extra package).

The `browser` fixture (tests/conftest.py) starts Debian's chromium headless and yields a
DevToolsPage; without chromium the browser tests skip with the reason.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import shutil
import socket
import struct
import subprocess
import time
import urllib.parse
from pathlib import Path

CHROMIUM = Path(os.environ.get("SKETCHDRAW_CHROMIUM", "/usr/bin/chromium"))


class DevToolsPage:
    """One Chromium tab driven over the DevTools protocol: a websocket client in ~50 lines."""

    def __init__(self, websocket_url: str, timeout: float = 30.0):
        parts = urllib.parse.urlsplit(websocket_url)
        self.socket = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        self.reader = self.socket.makefile("rb")
        key = base64.b64encode(os.urandom(16)).decode()
        self.socket.sendall((f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                             "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                             f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        status = self.reader.readline()
        assert b" 101 " in status, f"DevTools refused the websocket: {status!r}"
        while self.reader.readline() not in (b"\r\n", b""):
            pass
        self.next_id = 0
        self.events: list[dict] = []

    def _send_frame(self, payload: bytes, opcode: int = 0x1) -> None:
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        self.socket.sendall(header + mask + masked)

    def _receive_message(self) -> dict:
        message = b""
        while True:
            first, second = self.reader.read(2)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self.reader.read(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self.reader.read(8))
            payload = self.reader.read(length)
            opcode = first & 0x0F
            if opcode == 0x9:  # ping
                self._send_frame(payload, opcode=0xA)
                continue
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the websocket")
            message += payload
            if first & 0x80:
                return json.loads(message)

    def call(self, method: str, **params):
        self.next_id += 1
        self._send_frame(json.dumps({"id": self.next_id, "method": method, "params": params}).encode())
        while True:
            message = self._receive_message()
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method} failed: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, target: Path | str) -> None:
        """Load a local file (a Path) or a URL, and wait until the page has loaded."""
        self.events.clear()
        self.call("Page.navigate", url=target.as_uri() if isinstance(target, Path) else target)
        deadline = time.monotonic() + 30
        while self.evaluate("document.readyState") != "complete":
            assert time.monotonic() < deadline, f"{target} did not finish loading"
            time.sleep(0.05)

    def problems(self) -> list[str]:
        """Script errors and console errors (a missing file shows up as 'Failed to load resource')."""
        found = []
        for event in self.events:
            if event.get("method") == "Runtime.exceptionThrown":
                found.append(json.dumps(event["params"]["exceptionDetails"])[:500])
            elif event.get("method") == "Log.entryAdded" and event["params"]["entry"]["level"] == "error":
                found.append(event["params"]["entry"].get("text", "") + " " + event["params"]["entry"].get("url", ""))
        return found

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        self.reader.close()
        self.socket.close()


@contextlib.contextmanager
def chromium(profile: Path):
    """Start headless Chromium with an empty profile folder `profile` and yield a DevToolsPage."""
    log = open(profile.parent / "chromium.log", "wb")
    process = subprocess.Popen(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--remote-debugging-port=0", "--window-size=1280,2000",
         "about:blank"],
        stdout=log, stderr=subprocess.STDOUT)
    page = None
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not start: see {log.name}")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/json/list")
        targets = json.loads(connection.getresponse().read())
        connection.close()
        target = next(target for target in targets if target["type"] == "page")
        page = DevToolsPage(target["webSocketDebuggerUrl"])
        for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
            page.call(domain)
        yield page
    finally:
        if page is not None:
            page.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(profile, ignore_errors=True)
