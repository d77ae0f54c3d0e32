"""A tiny subscriber endpoint on 127.0.0.1 (plain http: the emulator accepts loopback http) that records every
request and answers as a test programs it. Waits are on conditions, never sleeps."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote_plus, urlsplit


@dataclass
class Received:
    path: str
    query: dict
    headers: dict
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.cv = threading.Condition()
        self.validation = "ok"  # ok | wrong | encoded | json | late | 500
        self.late_s = 1.0
        self.statuses: list[int] = []  # answers for the next notification POSTs (then 202)
        self.delay_s = 0.0  # sleep before answering notifications
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- what arrived ------------------------------------------------------------------------------------------
    def validations(self, path: str | None = None) -> list[Received]:
        with self.cv:
            return [r for r in self.requests if "validationToken" in r.query and (path is None or r.path == path)]

    def posts(self, path: str = "/notify") -> list[Received]:
        with self.cv:
            return [r for r in self.requests if "validationToken" not in r.query and r.path == path]

    def items(self, path: str = "/notify") -> list[dict]:
        return [item for r in self.posts(path) for item in r.json["value"]]

    def wait_items(self, n: int, path: str = "/notify", timeout: float = 15.0) -> list[dict]:
        end = time.monotonic() + timeout
        with self.cv:
            while len(self.items(path)) < n:
                left = end - time.monotonic()
                assert left > 0, f"expected {n} notifications on {path}, got {self.items(path)}"
                self.cv.wait(left)
        return self.items(path)

    # --- the HTTP side ------------------------------------------------------------------------------------------
    def _handler(self):
        rx = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                rec = Received(parts.path, query, dict(self.headers), body)
                with rx.cv:  # recorded before answering: once the emulator has its answer, the record is there
                    validation = "validationToken" in query
                    status = 202 if validation or not rx.statuses else rx.statuses.pop(0)
                    delay = 0 if validation else rx.delay_s
                    rx.requests.append(rec)
                    rx.cv.notify_all()
                if validation:
                    self._validate(query["validationToken"])
                else:
                    time.sleep(delay)
                    self._answer(status, b"", "text/plain")

            def _validate(self, token: str) -> None:
                mode = rx.validation
                if mode == "late":
                    time.sleep(rx.late_s)
                if mode == "500":
                    return self._answer(500, b"", "text/plain")
                text = {"wrong": token + "x", "encoded": quote_plus(token)}.get(mode, token)
                self._answer(200, text.encode(), "application/json" if mode == "json" else "text/plain")

            def _answer(self, status: int, body: bytes, ctype: str) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the emulator gave up waiting (a timeout test)
                    pass

        return Handler
