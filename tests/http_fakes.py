"""The transport seam for adapter tests: a ``requests`` BaseAdapter serving canned answers.

``FakeServer`` is a small stateful fake of an HTTP service: per (method, path) it serves a
script of answers in order (the last one repeats). An answer is ``(status, headers, body)``,
an exception instance (raised, like a dropped connection) or a callable ``(request) -> answer``.
It records every request and the peak number of concurrent requests per mailbox.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from urllib.parse import parse_qs, unquote, urlparse

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from shared.adapters.http_session import TimeoutSession


class FakeServer:
    def __init__(self, *, prefix: str = "", delay: float = 0.0) -> None:
        self.prefix = prefix
        self.delay = delay
        self.routes: dict[tuple[str, str], list] = {}
        self.requests: list[requests.PreparedRequest] = []
        self.in_flight: dict[str, int] = defaultdict(int)
        self.peak: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def on(self, method: str, path: str, *answers) -> FakeServer:
        self.routes[(method, path)] = list(answers)
        return self

    def path(self, request) -> str:
        path = unquote(urlparse(request.url).path)
        return path[len(self.prefix):] if path.startswith(self.prefix) else path

    def calls(self, method: str, path: str) -> list[requests.PreparedRequest]:
        return [r for r in self.requests if r.method == method and self.path(r) == path]

    def handle(self, request: requests.PreparedRequest):
        path = self.path(request)
        mailbox = path.split("/")[2] if path.startswith("/users/") else ""
        with self._lock:
            self.requests.append(request)
            self.in_flight[mailbox] += 1
            self.peak[mailbox] = max(self.peak[mailbox], self.in_flight[mailbox])
            script = self.routes.get((request.method, path))
            answer = (script.pop(0) if len(script) > 1 else script[0]) if script else None
        try:
            if self.delay:
                time.sleep(self.delay)
            if answer is None:
                return 501, {}, {"error": {"code": "NoRoute", "message": f"{request.method} {path}"}}
            if callable(answer):
                answer = answer(request)
            if isinstance(answer, Exception):
                raise answer
            return answer
        finally:
            with self._lock:
                self.in_flight[mailbox] -= 1


class FakeTransport(BaseAdapter):
    def __init__(self, server: FakeServer) -> None:
        super().__init__()
        self.server = server
        self.timeouts: list = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.timeouts.append(timeout)
        status, headers, body = self.server.handle(request)
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(headers or {})
        if isinstance(body, dict | list):
            response._content = json.dumps(body).encode()
            response.headers.setdefault("Content-Type", "application/json")
        else:
            response._content = (body or "").encode() if isinstance(body, str | type(None)) else body
        response.encoding = "utf-8"
        response.url = request.url
        response.request = request
        response.reason = "fake"
        return response

    def close(self) -> None:
        return None


def session_for(server: FakeServer, *, timeout: float = 5.0) -> requests.Session:
    """A session like build_session's, with every https/http request going to ``server``."""
    session = TimeoutSession(timeout)
    session.trust_env = False
    transport = FakeTransport(server)
    session.mount("https://", transport)
    session.mount("http://", transport)
    return session


def query(request) -> dict[str, list[str]]:
    return parse_qs(urlparse(request.url).query)


def graph_error(status: int, code: str, message: str = "error", *, request_id: str = "req-1",
                headers: dict | None = None):
    """A Graph error answer in the documented envelope."""
    body = {"error": {"code": code, "message": message,
                      "innerError": {"request-id": request_id, "client-request-id": "client-1",
                                     "date": "2026-11-24T09:00:00"}}}
    return status, {"request-id": request_id, **(headers or {})}, body
