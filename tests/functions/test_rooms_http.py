"""Room registry, verify, sync, settings and offboarding over HTTP: status codes and JSON bodies."""

import json

import azure.functions as func
import pytest

from functions import onboarding as onboarding_fn
from functions import rooms as rooms_fn
from shared import bootstrap
from shared.config import load_settings
from shared.onboarding import tenants
from tests.fakes import FakeGraph, FakeQueue, FakeTokenSource, FixedClock, InMemoryTables

TID = "aaaaaaaa-bbbb-cccc-dddd-000000000001"


@pytest.fixture
def services(monkeypatch):
    settings = load_settings(environment="development", client_id="11111111-2222-3333-4444-555555555555",
                             client_secret="x")
    graph = FakeGraph()
    graph.add_room(TID, "good@contoso.com", capacity=6, building="HQ", floor=1)
    built = bootstrap.build_services(settings, tables=InMemoryTables(), queues=FakeQueue(), clock=FixedClock(),
                                     graph=graph, tokens=FakeTokenSource(consented={TID}))
    tenants.mark_consented(built.tables, built.clock, TID)
    monkeypatch.setattr(bootstrap, "get_services", lambda: built)
    return built


def call(fn, method, route_params, body=b"", headers=None, params=None):
    req = func.HttpRequest(method, "/api/x", body=body, route_params={"tenant_id": TID, **route_params},
                           headers=headers or {}, params=params or {})
    resp = fn(req)
    return resp.status_code, json.loads(resp.get_body())


def test_register_json_then_list(services):
    status, body = call(rooms_fn.register_rooms, "POST", {}, json.dumps(
        {"rooms": [{"email": "Good@contoso.com"}, {"email": "nope"}]}).encode())
    assert status == 201 and body["added"] == ["good@contoso.com"] and body["errors"][0]["row"] == 2
    status, body = call(rooms_fn.list_rooms, "GET", {})
    assert status == 200 and body["counts"]["pending"] == 1


def test_register_csv(services):
    status, body = call(rooms_fn.register_rooms, "POST", {}, b"email,capacity\ngood@contoso.com,4\n",
                        headers={"content-type": "text/csv; charset=utf-8"})
    assert status == 201 and body["added"] == ["good@contoso.com"]


@pytest.mark.parametrize("raw", [b"{oops", b'"just a string"', b'{"rooms": [{"email": "bad"}]}'])
def test_bad_registrations_are_400(services, raw):
    status, body = call(rooms_fn.register_rooms, "POST", {}, raw)
    assert status == 400 and body["message"]


def test_import_verify_sync_flow(services):
    assert call(rooms_fn.import_rooms, "POST", {})[1]["added"] == ["good@contoso.com"]
    status, body = call(rooms_fn.start_verification, "POST", {})
    assert status == 202 and body["total"] == 1
    for message in services.queues.messages("room-verify"):
        rooms_fn.verify_room(func.QueueMessage(body=json.dumps(message).encode()))
    status, body = call(rooms_fn.verification_progress, "GET", {})
    assert body["done"] and body["by_reason"] == {"ready": 1}
    status, body = call(rooms_fn.start_sync, "POST", {})
    assert status == 200 and body["queued"] == ["good@contoso.com"]


def test_room_update_and_delete(services):
    call(rooms_fn.register_rooms, "POST", {}, b'{"email": "good@contoso.com"}')
    status, body = call(rooms_fn.update_room, "PATCH", {"email": "good@contoso.com"}, b'{"sensor_id": "s-9"}')
    assert status == 200 and body["sensor_id"] == "s-9"
    status, body = call(rooms_fn.update_room, "PATCH", {"email": "good@contoso.com"}, b'{"time_zone": "Nowhere"}')
    assert status == 400 and "time_zone" in body["detail"]
    assert call(rooms_fn.remove_room, "DELETE", {"email": "good@contoso.com"})[0] == 200
    assert call(rooms_fn.remove_room, "DELETE", {"email": "good@contoso.com"})[0] == 404


def test_settings_get_patch_and_offboard(services):
    assert call(onboarding_fn.tenant_settings_get, "GET", {})[1]["noshow_release"] is False
    status, body = call(onboarding_fn.tenant_settings_update, "PATCH", {}, b'{"noshow_release": true}')
    assert status == 200 and body["changed"] == ["noshow_release"] and "next_step" in body
    status, body = call(onboarding_fn.tenant_settings_update, "PATCH", {}, b'{"grace_minutes": 0}')
    assert status == 400 and "grace_minutes" in body["detail"]
    status, body = call(onboarding_fn.tenant_settings_update, "PATCH", {}, b'{"colour": "red"}')
    assert status == 400
    status, body = call(onboarding_fn.tenant_audit, "GET", {})
    assert body["entries"][0]["action"] == "settings.changed"
    status, body = call(onboarding_fn.offboard_tenant, "DELETE", {})
    assert status == 202 and body["status"] == "offboarding"
    assert call(onboarding_fn.tenant_overview, "GET", {})[1]["status"] == "offboarding"
    assert call(onboarding_fn.offboarding_progress, "GET", {})[1]["status"] == "offboarding"


def test_other_tenant_route_is_404_and_bad_id_400(services):
    unknown = "aaaaaaaa-bbbb-cccc-dddd-00000000000f"
    req = func.HttpRequest("GET", "/api/x", body=b"", route_params={"tenant_id": unknown})
    assert rooms_fn.list_rooms(req).status_code == 404
    req = func.HttpRequest("GET", "/api/x", body=b"", route_params={"tenant_id": "../etc"})
    assert rooms_fn.list_rooms(req).status_code == 400


@pytest.mark.parametrize("patch", [b'{"display_name": null}', b'{"display_name": null, "building": null}'])
def test_room_update_with_null_display_name_clears_it_not_500(services, patch):
    """RoomUpdate documents null as "clear": a null display name must not become a 500."""
    call(rooms_fn.register_rooms, "POST", {}, b'{"email": "good@contoso.com", "display_name": "Rainier"}')
    status, body = call(rooms_fn.update_room, "PATCH", {"email": "good@contoso.com"}, patch)
    assert status == 200, body
    assert body["display_name"] == ""
