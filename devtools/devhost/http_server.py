"""The HTTP front door: function routes under routePrefix, authLevel keys, admin endpoints.

A WSGI app on werkzeug's threaded server. Requests become real ``func.HttpRequest``
objects; an ``HttpResponse`` goes back unchanged, its Content-Type built from
mimetype/charset as the Python worker does; a ``str`` return is text, ``None`` is 204.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from collections.abc import Callable
from types import SimpleNamespace
from urllib.parse import parse_qs, unquote

import azure.functions as func
from werkzeug import serving
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from devtools.devhost import auth
from devtools.devhost.app_loader import FunctionSpec
from devtools.devhost.invoke import Invoker
from devtools.devhost.routes import RouteTable

log = logging.getLogger("devhost")
MAX_REQUEST_BYTES = 100 * 1024 * 1024  # the Functions HTTP request length limit
# The host's app setting that lowers (or raises) that limit; Kestrel enforces it on Content-Length and,
# for a chunked body, while reading (functions-app-settings#functions_request_body_size_limit).
BODY_LIMIT_SETTING = "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"


def body_limit(environ=None) -> int:
    raw = (os.environ if environ is None else environ).get(BODY_LIMIT_SETTING, "")
    try:
        return int(raw) if raw else MAX_REQUEST_BYTES
    except ValueError:
        raise ValueError(f"{BODY_LIMIT_SETTING} must be a number of bytes, got {raw!r}") from None


class _NoDrain:
    """werkzeug's server drains "left-over" request bytes after every response (select with a 10 ms timeout,
    then a blocking read), written for one request per connection. On a keep-alive connection that costs each
    request 10 ms and can swallow the next request. The front door instead reads every body it accepts in
    full and closes the connection when it answers without reading one (``_refused``), as Kestrel does."""

    def __init__(self, *_):
        pass

    def register(self, *_):
        pass

    def select(self, timeout=None):
        return []

    def close(self):
        pass


serving.selectors = SimpleNamespace(DefaultSelector=_NoDrain, EVENT_READ=1)


def json_reply(body: dict, status: int, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")


def _has_body(request: Request) -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


_DRAIN_BYTES = 64 * 1024


def _refused(request: Request, response: Response) -> Response:
    """An answer decided without the body. A small declared body is then read and dropped so the connection
    stays open (Kestrel drains an unread body the same way); a large or chunked one closes the connection,
    so its bytes are never read, nor parsed as the next request."""
    if not _has_body(request):
        return response
    if request.content_length and request.content_length <= _DRAIN_BYTES and "chunked" not in \
            request.headers.get("Transfer-Encoding", "").lower():
        request.get_data(cache=False)
    else:
        response.headers["Connection"] = "close"
    return response


@functools.cache
def _unauthorized(level: str) -> bytes:
    return json.dumps(auth.unauthorized_body(level)).encode()


def too_large(limit: int) -> Response:
    return json_reply({"error": "request_too_large", "message": f"request body exceeds {limit} bytes",
                       "fix": f"send at most {limit} bytes ({BODY_LIMIT_SETTING})"}, 413, {"Connection": "close"})


def to_response(result) -> Response:
    if result is None:
        return Response(status=204)
    if isinstance(result, str):
        return Response(result, status=200, content_type="text/plain; charset=utf-8")
    if not isinstance(result, func.HttpResponse):
        raise TypeError(f"an HTTP function must return HttpResponse, str or None, not {type(result).__name__}")
    headers = list(result.headers.items())
    if not any(k.lower() == "content-type" for k, _ in headers):
        mimetype = result.mimetype or "text/plain"
        ctype = f"{mimetype}; charset={result.charset}" if mimetype.startswith("text/") else mimetype
        headers.append(("Content-Type", ctype))
    response = Response(result.get_body() or b"", status=int(result.status_code))
    response.headers.clear()
    for key, value in headers:
        response.headers.add(key, str(value))
    return response


def to_http_request(request: Request, params: dict[str, str], body: bytes) -> func.HttpRequest:
    return func.HttpRequest(method=request.method, url=request.url, headers=dict(request.headers),
                            params={k: request.args.get(k) for k in request.args}, route_params=params, body=body)


class KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1 with persistent connections, as the real host's front end (Kestrel) serves them.

    werkzeug's default is HTTP/1.0: a new TCP connection (and a new server thread) per request,
    which no production front end costs a caller. Every response carries a Content-Length
    (werkzeug sets it for the byte bodies built in ``to_response``), so keep-alive is safe."""

    protocol_version = "HTTP/1.1"

    def run_wsgi(self) -> None:
        # A keyless call of a keyed function is refused from the request line and headers alone, before a
        # WSGI environ exists: on Azure the .NET host refuses it outside the Python worker, so here it must
        # cost the worker's one GIL as little as it can (docs/performance.md).
        refusal = self.server.app.early_refusal(self.command, self.path, self.headers)
        if refusal is None:
            super().run_wsgi()
            return
        length = self.headers.get("Content-Length") or ""
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        drain = length.isdigit() and int(length) <= _DRAIN_BYTES and not chunked
        if drain:
            self.rfile.read(int(length))
        close = chunked or (bool(length) and not drain)  # as _refused: a body not read closes the connection
        head = b"HTTP/1.1 401 UNAUTHORIZED\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
        self.wfile.write(head % (len(refusal), b"Connection: close\r\n" if close else b"") + refusal)
        self.close_connection = close

    def log_request(self, code="-", size="-") -> None:
        # werkzeug formats every request line (URL decoding included) before its logger drops it; the host does not
        # log requests, and the dev host keeps werkzeug's logger at WARNING (logs.py).
        if logging.getLogger("werkzeug").isEnabledFor(logging.INFO):
            super().log_request(code, size)


class HttpFrontDoor:
    def __init__(self, specs: list[FunctionSpec], route_prefix: str, invoker: Invoker,
                 keys: auth.Keys, admin_run: Callable[[FunctionSpec, str], None], host_status: Callable[[], dict]):
        self.specs = {s.name.lower(): s for s in specs}
        self.routes = RouteTable(route_prefix)
        for spec in specs:
            if spec.kind == "http":
                self.routes.add(spec.trigger.get("route") or spec.name, spec, spec.trigger.get("methods") or ())
        self.invoker, self.keys = invoker, keys
        self.admin_run, self.host_status = admin_run, host_status
        self.body_limit = body_limit()
        self._server = None
        self._thread: threading.Thread | None = None

    def early_refusal(self, method: str, target: str, headers) -> bytes | None:
        """The 401 body for a call of a function route whose key is missing or wrong, decided like
        ``dispatch`` decides it; None for anything else (admin, unknown routes, disabled functions,
        ``Expect``), which ``dispatch`` then answers in full."""
        path, _, query = target.partition("?")
        path = unquote(path)
        if path.lower().startswith("/admin/") or headers.get("Expect"):
            return None
        found = self.routes.resolve(method, path)
        if found.status != 200 or found.route.target.disabled:
            return None
        args = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}  # werkzeug's args.get: the first
        return self._key_refusal(found.route.target, auth.presented_key(headers, args))

    def _key_refusal(self, spec: FunctionSpec, key: str | None) -> bytes | None:
        """The 401 body when ``key`` does not meet the function's auth level; None when it does."""
        level = spec.trigger.get("authLevel", "function")
        return None if auth.authorized(level, key, self.keys, spec.name) else _unauthorized(level)

    # -- WSGI -----------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        request.max_content_length = self.body_limit
        try:
            response = self.dispatch(request)
        except RequestEntityTooLarge:
            response = too_large(self.body_limit)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path.lower().startswith("/admin/"):
            return self.admin(request, path)
        found = self.routes.resolve(request.method, path)
        if found.status == 404:
            return _refused(request, json_reply({"error": "not_found",
                                                 "message": f"no function route matches {path}"}, 404))
        if found.status == 405:
            return _refused(request, json_reply(
                {"error": "method_not_allowed",
                 "message": f"{request.method} is not allowed on {path}; use {', '.join(found.allowed)}"},
                405, {"Allow": ", ".join(found.allowed)}))
        spec: FunctionSpec = found.route.target
        key = auth.presented_key(request.headers, request.args)
        if spec.disabled and not auth.authorized("admin", key, self.keys, None):
            # As the host does: a disabled function answers 404 to any key but the master key.
            return _refused(request, json_reply({"error": "not_found", "message": f"function {spec.name} is "
                                                 f"disabled (AzureWebJobs.{spec.name}.Disabled)"}, 404))
        if (refusal := self._key_refusal(spec, key)) is not None:
            # Before the body is read and before any Python of the app runs, as the host's auth handler.
            return _refused(request, Response(refusal, status=401, content_type="application/json"))
        if (request.content_length or 0) > self.body_limit:
            return too_large(self.body_limit)  # refused on Content-Length alone: nothing of the body is read
        body = self._read_body(request)
        try:
            result = self.invoker.call(spec, to_http_request(request, found.params, body))
        except Exception:
            return Response(status=500)  # the host answers 500 with no body; the invoker logged the trace
        try:
            return to_response(result)
        except (TypeError, ValueError) as exc:
            log.error("function %s: %s", spec.name, exc)
            return Response(status=500)

    def _read_body(self, request: Request) -> bytes:
        """The whole body; a chunked one is read piece by piece and refused (413) once it passes the limit,
        never truncated (werkzeug's own limit on a chunked stream silently cuts it off)."""
        if "chunked" not in request.headers.get("Transfer-Encoding", "").lower():
            return request.get_data(cache=False)  # framed by Content-Length, already checked against the limit
        stream, parts, total = request.environ["wsgi.input"], [], 0
        while piece := stream.read(min(65536, self.body_limit + 1 - total)):
            parts.append(piece)
            total += len(piece)
            if total > self.body_limit:
                raise RequestEntityTooLarge()
        return b"".join(parts)

    def admin(self, request: Request, path: str) -> Response:
        key = auth.presented_key(request.headers, request.args)
        if not auth.authorized("admin", key, self.keys, None):
            return _refused(request, json_reply(auth.unauthorized_body("admin"), 401))
        parts = [p for p in path.split("/") if p]
        if parts == ["admin", "host", "status"] and request.method == "GET":
            return json_reply(self.host_status(), 200)
        if len(parts) == 3 and parts[:2] == ["admin", "functions"]:
            spec = self.specs.get(parts[2].lower())
            if spec is None:
                return json_reply({"error": "not_found", "message": f"no function named {parts[2]!r}"}, 404)
            if request.method != "POST":
                return json_reply({"error": "method_not_allowed", "message": "use POST"}, 405, {"Allow": "POST"})
            if spec.kind == "http":
                return json_reply({"error": "bad_request",
                                   "message": f"{spec.name} is an HTTP function: call its route instead"}, 400)
            try:
                payload = json.loads(request.get_data() or b"{}")
            except ValueError:
                return json_reply({"error": "bad_request", "message": 'body must be JSON like {"input": "..."}'}, 400)
            value = payload.get("input", "") if isinstance(payload, dict) else ""
            self.admin_run(spec, value if isinstance(value, str) else json.dumps(value))
            return Response(status=202)
        return json_reply({"error": "not_found", "message": f"no admin endpoint {path}"}, 404)

    # -- server ---------------------------------------------------------------------------
    def start(self, port: int, host: str = "127.0.0.1") -> int:
        self._server = make_server(host, port, self, threaded=True, request_handler=KeepAliveHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="devhost-http", daemon=True)
        self._thread.start()
        return self._server.server_port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
