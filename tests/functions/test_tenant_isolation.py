"""Tenant isolation, walked over the app's own registrations: every HTTP function either goes through
functions.guard, or is on the short public list below with the reason it needs no admin. A signed-in admin of
another tenant gets 403/404 from every admin endpoint of this tenant, a reader gets 403 from every write, and
nobody gets in without a session. A new endpoint that skips the guard fails here."""

from __future__ import annotations

import json
import re

import azure.functions as func
import pytest

from functions.guard import SESSION_PREFIX, admin_api
from shared import bootstrap
from shared.admin.access import AdminAccess
from shared.admin.principal import ADMIN_ROLE, READER_ROLE, Need, Principal
from shared.admin.sessions import SessionCodec, fernet_for
from shared.config import load_settings
from shared.onboarding import tenants
from tests.fakes import FakeGraph, FakeQueue, FakeTokenSource, FixedClock, InMemoryTables
from tests.functions.registrations import auth_level, http_functions, trigger

T1 = "aaaaaaaa-bbbb-cccc-dddd-000000000001"
T2 = "aaaaaaaa-bbbb-cccc-dddd-000000000002"
ROOM = "good@contoso.com"
# Anonymous functions that are not admin endpoints, and why each is safe without a session.
PUBLIC = {
    "health": "no tenant data: version and reachability only",
    "graph_notifications": "Microsoft-facing: clientState checked per item",
    "graph_lifecycle": "Microsoft-facing: clientState checked per item",
    "consent_callback": "Microsoft's redirect: one-time state bound to the tenant that started it",
    "signin_start": "starts the Entra sign-in",
    "signin_callback": "Entra's redirect: the PKCE flow in the cookie and a validated ID token",
    "signin_me": "answers only about the caller's own session",
    "signin_signout": "deletes the caller's own cookie",
    "admin_page": "static page, no data (the data comes from the guarded API)",
    "admin_static": "static assets shipped in the package",
    "openapi_document": "the API's description, no data",
}


@pytest.fixture
def world(monkeypatch):
    settings = load_settings(environment="development", client_id="11111111-2222-3333-4444-555555555555",
                             client_secret="x")
    graph = FakeGraph()
    graph.add_room(T1, ROOM, capacity=6)
    built = bootstrap.build_services(settings, tables=InMemoryTables(), queues=FakeQueue(), clock=FixedClock(),
                                     graph=graph, tokens=FakeTokenSource(consented={T1, T2}))
    for tid in (T1, T2):
        tenants.mark_consented(built.tables, built.clock, tid)
    codec = SessionCodec(fernet_for("test-secret-" * 4, development=True), clock=built.clock, minutes=60)
    monkeypatch.setattr(bootstrap, "get_services", lambda: built)
    monkeypatch.setattr(bootstrap, "get_admin_access", lambda: AdminAccess(codec, "http://127.0.0.1:7071"))
    return built, codec


def session(codec, tid: str, *roles: str) -> tuple[str, str]:
    """(Cookie header, CSRF token) of a signed-in admin."""
    cookie = codec.session_cookie(Principal(kind="entra", tenant_id=tid, object_id="o-" + tid[-1],
                                            username=f"someone@{tid[-1]}.example", roles=frozenset(roles)))
    pair = cookie.split(";", 1)[0]
    return pair, codec.principal(pair).csrf


def call(fn, method: str, route: str, cookie: str | None, csrf: str | None = None) -> tuple[int, dict]:
    params = {"tenant_id": T1, "email": ROOM, "probe_id": "p-1"}
    names = re.findall(r"{(\w+)(?::[^}]*)?}", route)
    headers = {"content-type": "application/json"}
    if cookie:
        headers["cookie"] = cookie
    if csrf:
        headers["x-csrf-token"] = csrf
    req = func.HttpRequest(method, f"/api/{route}", body=b"{}", headers=headers,
                           route_params={n: params.get(n, "x") for n in names})
    resp = fn.get_user_function()(req)
    body = resp.get_body()
    return resp.status_code, (json.loads(body) if body and resp.mimetype == "application/json" else {})


def isolation_problems(functions: dict, codec) -> list[str]:
    """Every way a registered HTTP function lets the wrong caller in (empty when the app is sound)."""
    problems = []
    foreign, _ = session(codec, T2, ADMIN_ROLE)
    reader, reader_csrf = session(codec, T1, READER_ROLE)
    for name, fn in sorted(functions.items()):
        t = trigger(fn)
        if name in PUBLIC:
            continue
        if getattr(fn.get_user_function(), "roomcal_operation", None) is None:
            problems.append(f"{name}: does not go through functions.guard.admin_api")
            continue
        if auth_level(fn) != "anonymous":
            continue  # the host refuses any caller without a Functions key before the code runs
        for method in t.methods:
            method = str(getattr(method, "value", method))
            status, _ = call(fn, method, t.route, None)
            if status != 401:
                problems.append(f"{name} {method}: {status} without a session (expected 401)")
            status, _ = call(fn, method, t.route, foreign, codec.principal(foreign).csrf)
            # A route without {tenant_id} acts for the caller's own tenant (e.g. Add tenant): nothing foreign to see.
            if "{tenant_id}" in t.route and status not in (403, 404):
                problems.append(f"{name} {method}: {status} for another tenant's admin (expected 403/404)")
            if method != "GET":
                status, _ = call(fn, method, t.route, reader, reader_csrf)
                if status != 403:
                    problems.append(f"{name} {method}: {status} for a reader (expected 403)")
    return problems


def test_every_registered_http_function_keeps_tenants_apart(world):
    _, codec = world
    functions = http_functions()
    assert sum(1 for f in functions.values() if trigger(f).route.startswith(SESSION_PREFIX + "/")) >= 15
    assert isolation_problems(functions, codec) == []


def test_the_walk_catches_an_endpoint_that_skips_the_guard(world):
    """The walker is not vacuous: a rogue anonymous endpoint, and a guarded one with the wrong need, are caught."""
    _, codec = world
    app = func.FunctionApp()
    bp = func.Blueprint()

    @bp.route(route="tenants/{tenant_id}/leak", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    def leak(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("{}", mimetype="application/json")

    @admin_api(bp, "tenants/{tenant_id}/wipe", ["POST"], need=Need.signed_in)
    def wipe(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("{}", mimetype="application/json")

    app.register_functions(bp)
    found = isolation_problems({f.get_function_name(): f for f in app.get_functions()}, codec)
    assert "leak: does not go through functions.guard.admin_api" in found
    assert "wipe_session POST: 200 for a reader (expected 403)" in found
    assert not any(p.startswith("wipe_session POST") and "another tenant" in p for p in found)


def test_a_write_without_the_csrf_token_is_refused(world):
    _, codec = world
    cookie, _ = session(codec, T1, ADMIN_ROLE)
    fn = http_functions()["register_rooms_session"]
    assert call(fn, "POST", trigger(fn).route, cookie)[0] == 403
    assert call(fn, "POST", trigger(fn).route, cookie, "wrong")[0] == 403


def test_the_tenants_own_admin_gets_in(world):
    """The positive control: the same requests succeed for the right admin, and the audit names them."""
    _built, codec = world
    cookie, csrf = session(codec, T1, ADMIN_ROLE)
    fns = http_functions()
    assert call(fns["list_rooms_session"], "GET", "session/tenants/{tenant_id}/rooms", cookie)[0] == 200
    req = func.HttpRequest("POST", "/api/x", body=json.dumps({"email": ROOM}).encode(),
                           headers={"cookie": cookie, "x-csrf-token": csrf, "content-type": "application/json",
                                    "x-ms-client-principal-name": "forged@evil.example"},
                           route_params={"tenant_id": T1})
    assert fns["register_rooms_session"].get_user_function()(req).status_code == 201
    status, audit = call(fns["tenant_audit_session"], "GET", "session/tenants/{tenant_id}/audit", cookie)
    actors = {e["actor"] for e in audit["entries"]}
    assert status == 200 and any("someone@1.example" in a for a in actors) and not any("evil" in a for a in actors)
