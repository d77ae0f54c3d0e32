"""The threaded HTTPS server and the WSGI dispatcher that ties the surface modules together."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from pathlib import Path

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from . import (
    batch,
    consent,
    control,
    control_calendar,
    control_directory,
    control_notifications,
    decline,
    delta,
    directory_users,
    entra,
    events,
    mailboxsettings,
    places,
    signin,
    subscriptions,
    tls,
)
from . import graph_errors as ge
from .deltastore import DeltaStore
from .faults import Faults
from .graphctx import GraphContext
from .notifications import Notifications
from .throttling import Throttle
from .tokens import TokenService
from .world import World

log = logging.getLogger(__name__)
GRAPH_MODULES = (places, events, delta, decline, batch, subscriptions, mailboxsettings, directory_users)
ENTRA_MODULES = (entra, consent, signin)
CONTROL_MODULES = (control, control_directory, control_calendar, control_notifications)


class Emulator:
    """Entra + Graph + Exchange emulator. ``with Emulator(port=0, seed=1) as sim: sim.base_url, sim.ca_path``."""

    def __init__(
        self,
        port: int = 0,
        seed: int = 1,
        state_dir: str | Path | None = None,
        generate_rooms: int = 0,
        host: str = "127.0.0.1",
        default_tenant: bool = True,
    ) -> None:
        self.host, self.port, self.seed = host, port, seed
        self.state_dir = Path(state_dir or ".run/m365sim")
        self.world = World(seed)
        self.tls = tls.generate()
        self.tokens = TokenService(self.world, lambda: self.base_url)
        self.faults = Faults()
        self.throttle = Throttle(self.world)
        self.deltas = DeltaStore(self.world)
        self.auth_codes: dict[str, dict] = {}
        self.stats: Counter = Counter()  # non-fault counters: tokens issued, ...
        self.declines: list[dict] = []  # every decline Graph accepted, for tests and the demo
        self.notifications = Notifications(self)  # subscriptions, delivery, lifecycle (listens to the change log)
        self.url_map = Map()
        for module in (*ENTRA_MODULES, *GRAPH_MODULES, *CONTROL_MODULES):
            for rule in module.rules():
                self.url_map.add(rule)
        self.graph_endpoints = {r.endpoint for m in GRAPH_MODULES for r in m.rules()}
        self._server = None
        self._thread: threading.Thread | None = None
        if default_tenant or generate_rooms:
            from . import generator

            generator.bootstrap(self.world, rooms=generate_rooms, seed=seed)

    # --- lifecycle -------------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def ca_path(self) -> str:
        return str(self.state_dir / "ca.pem")

    def start(self) -> Emulator:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        Path(self.ca_path).write_bytes(self.tls.ca_pem)
        self._server = make_server(
            self.host, self.port, self.wsgi, threaded=True, ssl_context=self.tls.server_context()
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="m365sim", daemon=True)
        self._thread.start()
        self.notifications.start()
        return self

    def stop(self) -> None:
        self.notifications.stop()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def reset(self, seed: int | None = None, generate_rooms: int = 0, default_tenant: bool = True) -> None:
        from . import generator

        with self.world.lock:
            app, changes = self.world.app, self.world.changes
            self.world = World(self.seed if seed is None else seed)
            self.world.app = app
            changes.clear()  # keep the ChangeLog object: listeners registered on it survive a reset
            self.world.changes = changes
            self.tokens.world = self.world
            self.throttle = Throttle(self.world)
            self.deltas = DeltaStore(self.world)
            self.faults.reset()
            self.notifications.reset()
            self.auth_codes.clear()
            self.declines.clear()
            self.stats.clear()
            if default_tenant or generate_rooms:
                generator.bootstrap(self.world, rooms=generate_rooms, seed=self.world.seed)

    def wait_idle(self, timeout: float = 10.0, now: bool = False) -> bool:
        """Block until no change notification is queued or in flight (see ``Notifications.wait_idle``)."""
        return self.notifications.wait_idle(timeout, now)

    # --- WSGI --------------------------------------------------------------------------------------------------
    def wsgi(self, environ, start_response):
        request = Request(environ)
        return self.handle(request)(environ, start_response)

    def handle(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except NotFound:
            if request.path.startswith("/v1.0"):
                return ge.GraphError(
                    400, "BadRequest", f"Resource not found for the segment '{request.path.rsplit('/', 1)[-1]}'."
                ).response()
            return Response("Not found", status=404)
        except MethodNotAllowed:
            if request.path.startswith("/v1.0"):
                return ge.GraphError(
                    405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."
                ).response()
            return Response("Method not allowed", status=405)
        except HTTPException as exc:  # redirects for trailing slashes and the like
            return exc.get_response(request.environ)
        if endpoint in self.graph_endpoints:
            return self.handle_graph(endpoint, request, values)
        return endpoint(self, request, **values)

    def handle_graph(self, endpoint, request: Request, values: dict) -> Response:
        ctx = GraphContext(self, request)
        client_request_id = request.headers.get("client-request-id")
        try:
            ctx.authenticate()
            if endpoint is not batch.post_batch:
                burst = self.faults.take_burst(None)
                if burst:
                    raise ge.injected_burst(burst.status, burst.retry_after)
            resp = endpoint(ctx, **values)
        except ge.GraphError as err:
            resp = err.response(client_request_id)
        except Exception:
            log.exception("m365sim: unhandled error in %s", request.path)
            resp = ge.GraphError(500, "generalException", "An unspecified error has occurred.").response(
                client_request_id
            )
        finally:
            ctx.release()
        resp.headers.setdefault("request-id", resp.headers.get("request-id") or _rid())
        if client_request_id:
            resp.headers["client-request-id"] = client_request_id
        return resp


class _QuietHandler(WSGIRequestHandler):
    """Access logs at DEBUG only: tests make thousands of requests."""

    def log_request(self, code="-", size="-") -> None:
        if log.isEnabledFor(logging.DEBUG):
            super().log_request(code, size)


def _rid() -> str:
    import uuid

    return str(uuid.uuid4())


def wait_forever() -> None:  # pragma: no cover - CLI only
    while True:
        time.sleep(3600)
