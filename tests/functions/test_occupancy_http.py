"""Occupancy ingest over HTTP and the occupancy-ingest queue: status codes, size bound, CSV, queued reports."""

import json
from datetime import UTC, datetime

import azure.functions as func
import pytest
from azure.functions.queue import QueueMessage

from functions import occupancy as occupancy_fn
from shared import bootstrap
from shared.config import load_settings
from shared.models import Room
from shared.onboarding import tenants
from tests.fakes import FakeQueue, FixedClock, InMemoryTables

TID = "aaaaaaaa-bbbb-cccc-dddd-000000000001"
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


@pytest.fixture
def services(monkeypatch):
    settings = load_settings(environment="development", occupancy_max_body_bytes=2048)
    built = bootstrap.build_services(settings, tables=InMemoryTables(), queues=FakeQueue(), clock=FixedClock(NOW))
    tenants.mark_consented(built.tables, built.clock, TID)
    built.tables.upsert("Rooms", Room(tenant_id=TID, email="room1@contoso.com", sensor_id="sn-1").to_entity())
    monkeypatch.setattr(bootstrap, "get_services", lambda: built)
    return built


def call(fn, method, body=b"", headers=None, route=None):
    req = func.HttpRequest(method, "/api/x", body=body, route_params={"tenant_id": TID, **(route or {})},
                           headers=headers or {})
    resp = fn(req)
    return resp.status_code, json.loads(resp.get_body())


def test_json_batch_then_health(services):
    body = {"samples": [{"sensor": "sn-1", "time": "2026-03-10T11:50:00Z", "occupied": True, "people": 2},
                        {"sensor": "sn-2", "time": "2026-03-10T11:50:00Z", "occupied": True}]}
    status, report = call(occupancy_fn.ingest_occupancy, "POST", json.dumps(body).encode())
    assert status == 200 and report["accepted"] == 1 and report["errors"][0]["row"] == 2
    status, health = call(occupancy_fn.sensor_health, "GET")
    room = next(r for r in health["rooms"] if r["room"] == "room1@contoso.com")
    assert status == 200 and room["status"] == "ok" and room["last_report"].startswith("2026-03-10T11:50")


def test_csv_all_rows_bad_is_400_with_the_rows(services):
    status, body = call(occupancy_fn.ingest_occupancy, "POST", b"sensor,time,occupied\nsn-9,2026-03-10T11:00:00Z,1\n",
                        headers={"content-type": "text/csv"})
    assert status == 400 and body["detail"]["errors"][0]["row"] == 2 and body["fix"]


def test_bodies_over_the_bound_and_malformed_ones_are_400(services):
    status, body = call(occupancy_fn.ingest_occupancy, "POST", b"{" + b" " * 3000 + b"}")
    assert status == 400 and "larger" in body["message"]
    status, body = call(occupancy_fn.ingest_occupancy, "POST", b"not json")
    assert status == 400 and body["error"] == "invalid_input" and body["fix"]


def test_queued_batch_is_ingested_and_its_report_kept(services):
    message = {"tenant": TID, "csv": "room,start,end\nroom1@contoso.com,2026-03-10T10:00:00Z,2026-03-10T10:30:00Z\n"
                                     "room9@contoso.com,2026-03-10T10:00:00Z,2026-03-10T10:30:00Z\n"}
    occupancy_fn.ingest_queued_occupancy(QueueMessage(body=json.dumps(message).encode()))
    status, reports = call(occupancy_fn.queued_reports, "GET")
    assert status == 200 and reports[0]["accepted"] == 1 and reports[0]["errors"][0]["row"] == 3


def _get(fn, params):
    req = func.HttpRequest("GET", "/api/x", body=b"", route_params={"tenant_id": TID}, params=params)
    return fn(req)


def test_sensor_analytics_as_json_csv_and_xlsx_and_bad_ranges(services):
    body = {"intervals": [{"sensor": "sn-1", "start": "2026-03-09T09:00:00Z", "end": "2026-03-09T10:00:00Z"}]}
    call(occupancy_fn.ingest_occupancy, "POST", json.dumps(body).encode())
    resp = _get(occupancy_fn.occupancy_analytics, {"from": "2026-03-09", "to": "2026-03-09"})
    report = json.loads(resp.get_body())
    room = report["rooms"][0]
    assert resp.status_code == 200 and room["occupied_minutes"] == 60 and room["coverage"] == 0.1
    assert "occupancy_rate" in report["definitions"]
    csv_resp = _get(occupancy_fn.occupancy_analytics, {"from": "2026-03-09", "to": "2026-03-09", "format": "csv"})
    lines = csv_resp.get_body().decode("utf-8-sig").splitlines()
    assert csv_resp.mimetype == "text/csv" and lines[0].startswith("room,") and "room1@contoso.com" in lines[1]
    xlsx = _get(occupancy_fn.occupancy_analytics, {"from": "2026-03-09", "to": "2026-03-09", "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.get_body()[:2] == b"PK"
    for bad in ({"from": "2026-03-10", "to": "2026-03-09"}, {"from": "2025-01-01", "to": "2026-03-09"},
                {"from": "March", "to": "2026-03-09"}, {"from": "2026-03-09", "to": "2026-03-09", "format": "pdf"}):
        resp = _get(occupancy_fn.occupancy_analytics, bad)
        assert resp.status_code == 400 and json.loads(resp.get_body())["fix"]


def test_the_range_bound_is_the_analytics_setting_for_sensor_figures_too(monkeypatch):
    """One bound for both APIs: raising ROOMCAL_ANALYTICS_MAX_DAYS past 400 lets a 450-day sensor report through."""
    built = bootstrap.build_services(load_settings(environment="development", analytics_max_days=500),
                                     tables=InMemoryTables(), queues=FakeQueue(), clock=FixedClock(NOW))
    tenants.mark_consented(built.tables, built.clock, TID)
    built.tables.upsert("Rooms", Room(tenant_id=TID, email="room1@contoso.com", sensor_id="sn-1").to_entity())
    monkeypatch.setattr(bootstrap, "get_services", lambda: built)
    long = _get(occupancy_fn.occupancy_analytics, {"from": "2025-03-01", "to": "2026-05-24"})  # 450 days
    assert long.status_code == 200, long.get_body()
    too_long = _get(occupancy_fn.occupancy_analytics, {"from": "2025-03-01", "to": "2026-08-07"})  # 525 days
    assert too_long.status_code == 400 and "500" in json.loads(too_long.get_body())["message"]


def test_release_needs_graph_and_the_switch(services):
    status, body = call(occupancy_fn.release_noshows, "POST")
    assert status == 500 and "Graph" in body["message"]
