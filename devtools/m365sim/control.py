"""Control API (``/_control/...``, JSON): shared helpers and the system routes (settings, app registration,
faults, clock, stats, reset).

Never reachable under ``/v1.0``; no auth (a dev tool bound to 127.0.0.1). Directory routes live in
``control_directory``, calendar and sensor routes in ``control_calendar``.
Errors answer ``{"error": "..."}`` with 400/404.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .world import Tenant

P = "/_control"


class ControlError(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def reply(body: object, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status=status, content_type="application/json")


def body_of(request: Request) -> dict:
    raw = request.get_data()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ControlError("body is not JSON") from exc
    if not isinstance(data, dict):
        raise ControlError("body must be a JSON object")
    return data


def guarded(fn, lock: bool = True):
    """Map control errors to JSON. ``lock=False`` for routes that mutate calendars through ``world.mutate()``:
    change listeners must run after the world lock is released, so the route must not hold it around the call."""

    def wrapper(sim, request, **kw):
        try:
            if lock:
                with sim.world.lock:
                    return fn(sim, request, **kw)
            return fn(sim, request, **kw)
        except ControlError as err:
            return reply({"error": str(err)}, err.status)
        except (KeyError, ValueError, TypeError) as err:
            return reply({"error": f"{type(err).__name__}: {err}"}, 400)

    wrapper.__name__ = fn.__name__
    return wrapper


def tenant_of(sim, tid: str) -> Tenant:
    t = sim.world.tenant(tid)
    if t is None:
        raise ControlError(f"no tenant {tid}", 404)
    return t


def rules() -> list[Rule]:
    r = [
        ("/health", health, ["GET"]),
        ("/reset", reset, ["POST"]),
        ("/settings", settings, ["GET", "PATCH"]),
        ("/app", app_registration, ["GET", "PATCH"]),
        ("/clock", clock, ["GET", "POST"]),
        ("/faults", faults, ["GET", "POST", "DELETE"]),
        ("/stats", stats, ["GET"]),
        ("/signing-keys/rotate", rotate_signing_key, ["POST"]),
    ]
    return [Rule(P + path, endpoint=guarded(fn), methods=methods) for path, fn, methods in r]


def health(sim, request):
    return reply({"ok": True, "base_url": sim.base_url, "ca_path": sim.ca_path, "seed": sim.world.seed})


def reset(sim, request):
    b = body_of(request)
    sim.reset(
        seed=b.get("seed"),
        generate_rooms=int(b.get("generate_rooms", 0)),
        default_tenant=bool(b.get("default_tenant", True)),
    )
    from .control_directory import tenant_json

    return reply({"ok": True, "tenants": [tenant_json(t) for t in sim.world.tenants.values()]})


def settings(sim, request):
    if request.method == "PATCH":
        b = body_of(request)
        unknown = [k for k in b if not hasattr(sim.world.settings, k)]
        if unknown:
            raise ControlError(f"unknown settings {unknown}")
        if "delta_expired_mode" in b and b["delta_expired_mode"] not in ("gone", "syncStateNotFound"):
            raise ControlError("delta_expired_mode is 'gone' or 'syncStateNotFound'")
        sim.world.settings.update(b)
    return reply(asdict(sim.world.settings))


def app_registration(sim, request):
    app = sim.world.app
    if request.method == "PATCH":
        for k, v in body_of(request).items():
            if not hasattr(app, k):
                raise ControlError(f"unknown app field {k}")
            setattr(app, k, v)
    return reply(asdict(app))


def rotate_signing_key(sim, request):
    """Entra's signing-key rollover: tokens are signed with a new key from now on (entra-docs
    signing-key-rollover.md); ``keep_previous: false`` also withdraws the old key from the JWKS."""
    kid = sim.tokens.rotate(keep_previous=bool(body_of(request).get("keep_previous", True)))
    return reply({"kid": kid, "published": [k["kid"] for k in sim.tokens.jwks()["keys"]]})


def clock(sim, request):
    if request.method == "POST":
        b = body_of(request)
        if b.get("reset"):
            sim.world.clock.offset = type(sim.world.clock.offset)()
        sim.world.clock.advance(float(b.get("advance_s", 0)))
    return reply({"now": sim.world.clock.now().isoformat(), "offset_s": sim.world.clock.offset.total_seconds()})


def faults(sim, request):
    f = sim.faults
    if request.method == "DELETE":
        f.reset()
        for it in sim.notifications.faults.clear():  # notification plans too; held items still go out
            sim.notifications.engine.schedule(it)
    elif request.method == "POST":
        b = body_of(request)
        kind = b.get("kind")
        if kind == "graph_5xx":
            f.add_burst(int(b.get("count", 1)), int(b.get("status", 503)), b.get("retry_after"), b.get("mailbox"))
        elif kind == "token_failure":
            f.token_failures += int(b.get("count", 1))
            f.token_failure_status = int(b.get("status", 503))
        elif kind == "expire_delta_tokens":
            if b.get("mode"):
                sim.world.settings.update({"delta_expired_mode": b["mode"]})
            if b.get("status"):
                sim.world.settings.update({"delta_expired_status": b["status"]})
            f.count("delta_tokens_expired", sim.deltas.expire_all())
        else:
            raise ControlError("kind is graph_5xx, token_failure or expire_delta_tokens (latency: PATCH settings)")
    snap = f.snapshot()
    snap["counters"]["throttled"] = sim.throttle.throttled
    snap["counters"]["delta_tokens_evicted"] = sim.deltas.evicted
    snap["pending"]["notifications"] = sim.notifications.faults.snapshot()
    return reply(snap)


def stats(sim, request):
    with sim.notifications._lock:
        notifications = dict(sim.notifications.stats)
    return reply(
        {
            "stats": dict(sim.stats),
            "declines": sim.declines,
            "change_log_stamp": sim.world.changes.last_stamp,
            "notifications": notifications,
        }
    )
