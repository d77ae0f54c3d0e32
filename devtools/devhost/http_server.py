"""The HTTP front door: function routes under routePrefix, authLevel keys, admin endpoints.

A WSGI app on werkzeug's threaded server. Requests become real ``func.HttpRequest``
objects; an ``HttpResponse`` goes back unchanged, its Content-Type built from
mimetype/charset as the Python worker does; a ``str`` return is text, ``None`` is 204.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable

import azure.functions as func
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from devtools.devhost import auth
from devtools.devhost.app_loader import FunctionSpec
from devtools.devhost.invoke import Invoker
from devtools.devhost.routes import RouteTable

log = logging.getLogger("devhost")
MAX_REQUEST_BYTES = 100 * 1024 * 1024  # the Functions HTTP request length limit


def json_reply(body: dict, status: int, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")


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
        self._server = None
        self._thread: threading.Thread | None = None

    # -- WSGI -----------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        request.max_content_length = MAX_REQUEST_BYTES
        try:
            response = self.dispatch(request)
        except RequestEntityTooLarge:
            response = json_reply({"error": "request_too_large",
                                   "message": f"request body exceeds {MAX_REQUEST_BYTES} bytes"}, 413)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path.lower().startswith("/admin/"):
            return self.admin(request, path)
        found = self.routes.resolve(request.method, path)
        if found.status == 404:
            return json_reply({"error": "not_found", "message": f"no function route matches {path}"}, 404)
        if found.status == 405:
            return json_reply({"error": "method_not_allowed",
                               "message": f"{request.method} is not allowed on {path}; use {', '.join(found.allowed)}"},
                              405, {"Allow": ", ".join(found.allowed)})
        spec: FunctionSpec = found.route.target
        level = spec.trigger.get("authLevel", "function")
        key = auth.presented_key(request.headers, request.args)
        if spec.disabled and not auth.authorized("admin", key, self.keys, None):
            # As the host does: a disabled function answers 404 to any key but the master key.
            return json_reply({"error": "not_found", "message": f"function {spec.name} is disabled "
                               f"(AzureWebJobs.{spec.name}.Disabled)"}, 404)
        if not auth.authorized(level, key, self.keys, spec.name):
            return json_reply(auth.unauthorized_body(level), 401)
        body = request.get_data(cache=False)
        try:
            result = self.invoker.call(spec, to_http_request(request, found.params, body))
        except Exception:
            return Response(status=500)  # the host answers 500 with no body; the invoker logged the trace
        try:
            return to_response(result)
        except (TypeError, ValueError) as exc:
            log.error("function %s: %s", spec.name, exc)
            return Response(status=500)

    def admin(self, request: Request, path: str) -> Response:
        key = auth.presented_key(request.headers, request.args)
        if not auth.authorized("admin", key, self.keys, None):
            return json_reply(auth.unauthorized_body("admin"), 401)
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
