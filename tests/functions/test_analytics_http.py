"""The analytics trigger: unknown tables and tenants, bad tenant ids and ranges, the rebuild request, an empty
office answered with nulls (no coverage) rather than zeros, and the CSV/XLSX content types."""

import io
import json

import azure.functions as func
import openpyxl
import pytest

from functions import analytics as analytics_fn
from shared import bootstrap
from shared.analytics.aggregation import QUEUE
from shared.config import load_settings
from shared.models import Room
from shared.onboarding import tenants
from tests.fakes import FakeQueue, FixedClock, InMemoryTables

TID = "aaaaaaaa-bbbb-cccc-dddd-000000000015"


@pytest.fixture
def services(monkeypatch):
    built = bootstrap.build_services(load_settings(environment="development"), tables=InMemoryTables(),
                                     queues=FakeQueue(), clock=FixedClock())
    tenants.mark_consented(built.tables, built.clock, TID)
    built.tables.upsert("Rooms", Room(tenant_id=TID, email="r1@contoso.com", capacity=6, building="HQ").to_entity())
    monkeypatch.setattr(bootstrap, "get_services", lambda: built)
    return built


def call(method, table, tenant=TID, **params):
    req = func.HttpRequest(method, "/api/x", body=b"", route_params={"tenant_id": tenant, "table": table},
                           params={"from": "2026-11-01", "to": "2026-11-20", **params})
    # GET reads (RoomCal.Reader), POST rebuilds (RoomCal.Admin): two functions behind functions.guard.
    return (analytics_fn.analytics_rebuild if method == "POST" else analytics_fn.analytics)(req)


def test_unknown_table_tenant_and_bad_tenant_id(services):
    assert call("GET", "nope").status_code == 404
    assert call("GET", "rooms", tenant="aaaaaaaa-bbbb-cccc-dddd-00000000ffff").status_code == 404
    bad = call("GET", "rooms", tenant="not-a-guid")
    assert bad.status_code == 400 and "GUID" in json.loads(bad.get_body())["message"]


def test_rebuild_is_queued(services):
    answer = call("POST", "rebuild")
    assert answer.status_code == 202
    assert services.queues.messages(QUEUE) == [{"tenant": TID, "rebuild": True}]
    assert call("POST", "rooms").status_code == 404


def test_a_room_never_synced_has_null_figures_and_zero_coverage(services):
    body = json.loads(call("GET", "rooms").get_body())
    (room,) = body["rooms"]
    assert room["coverage"]["covered_days"] == 0 and room["coverage"]["days"] == 20
    assert room["booking_rate"] is None and room["meetings"] is None and room["available_minutes"] is None
    assert body["definitions"]["booking_rate"] and body["definitions_url"]
    summary = json.loads(call("GET", "summary").get_body())
    assert summary["totals"]["rooms"] == 1 and summary["totals"]["rooms_covered"] == 0
    assert summary["totals"]["booking_rate"] is None and summary["rankings"]["unbooked_rooms"] == []


def test_formats(services):
    csv_answer = call("GET", "lead-times", format="csv")
    assert csv_answer.mimetype == "text/csv"
    assert csv_answer.get_body().decode("utf-8-sig").splitlines()[0] == "bucket,meetings"
    assert 'filename="roomcal-lead-times-2026-11-01-2026-11-20.csv"' in csv_answer.headers["Content-Disposition"]
    xlsx = call("GET", "heatmap", format="xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.get_body()))["heatmap"]
    assert [c.value for c in sheet[1]][:3] == ["weekday", "h00", "h01"] and sheet["A2"].value == "mon"
    bad = call("GET", "rooms", format="pdf")
    assert bad.status_code == 400
    reversed_range = call("GET", "rooms", **{"from": "2026-11-20", "to": "2026-11-01"})
    assert reversed_range.status_code == 400 and "swap" in json.loads(reversed_range.get_body())["fix"]


def test_a_room_whose_mailbox_zone_is_unreadable_says_what_to_do(services):
    services.tables.upsert("AnalyticsRooms", {"PartitionKey": TID, "RowKey": "r1@contoso.com", "time_zone": "UTC",
                                              "time_zone_source": "tenant",
                                              "mailbox_zone_error": "mailbox_access_denied: Access is denied."})
    (room,) = json.loads(call("GET", "rooms").get_body())["rooms"]
    assert room["time_zone_source"] == "tenant"
    assert "Application MailboxSettings.Read" in room["time_zone_problem"]["fix"]


def test_a_settings_change_that_alters_figures_rebuilds_them_and_one_that_does_not_leaves_them(monkeypatch):
    from datetime import UTC, datetime, timedelta

    from functions import onboarding as onboarding_fn
    from shared.analytics.aggregation import ROOM_SYNC
    from shared.sync.event_rows import EventRows, PageTotals
    from tests.fakes import make_graph_event

    monkeypatch.setenv("ROOMCAL_HASH_KEY", "k" * 32)
    services = bootstrap.build_services(load_settings(environment="development"), tables=InMemoryTables(),
                                        queues=FakeQueue(), clock=FixedClock())
    monkeypatch.setattr(bootstrap, "get_services", lambda: services)
    tenants.mark_consented(services.tables, services.clock, TID)
    services.tables.upsert("Rooms", Room(tenant_id=TID, email="r1@contoso.com", capacity=6, building="HQ",
                                         last_full_sync_at=services.clock.now()).to_entity())
    start = datetime(2026, 11, 2, 10, tzinfo=UTC)  # a Monday; the tenant's zone is UTC
    item = make_graph_event(start=start, end=start + timedelta(minutes=60), event_id="e1", room="r1@contoso.com",
                            attendees=("a@contoso.com",))
    EventRows(services.tables, services.clock, hash_key="k" * 32).write_page(TID, "r1@contoso.com", [item], "g1",
                                                                        PageTotals())
    services.tables.upsert(ROOM_SYNC, {"PartitionKey": TID, "RowKey": "r1@contoso.com",  # a finished baseline
                                       "last_full_sync_at": "2026-11-24T09:00:00+00:00",
                                       "window_start": "2026-06-01T00:00:00+00:00",
                                       "window_end": "2027-06-01T00:00:00+00:00"})
    services.require_analytics().rebuild(TID)

    def monday() -> dict:
        (room,) = json.loads(call("GET", "rooms", **{"from": "2026-11-02", "to": "2026-11-02"}).get_body())["rooms"]
        return room

    assert (monday()["available_minutes"], monday()["booking_rate"]) == (600, 60 / 600)  # 08:00-18:00 by default

    def patch(body: bytes) -> dict:
        req = func.HttpRequest("PATCH", "/api/x", body=body, route_params={"tenant_id": TID})
        return json.loads(onboarding_fn.tenant_settings_update(req).get_body())

    hours = {day: {"start": "09:00", "end": "17:00"} for day in ("mon", "tue", "wed", "thu", "fri")}
    answer = patch(json.dumps({"office_hours": hours}).encode())
    assert answer["changed"] == ["office_hours"] and answer["analytics"] == "rebuild queued"
    queued = services.queues.messages(QUEUE)
    assert queued == [{"tenant": TID, "rebuild": True}]
    analytics_fn.recompute_analytics(func.QueueMessage(body=json.dumps(queued[0]).encode()))
    assert (monday()["available_minutes"], monday()["booking_rate"]) == (480, 60 / 480)  # the new 8-hour day

    answer = patch(b'{"grace_minutes": 15}')  # a no-show rule: the stored aggregates do not depend on it
    assert answer["changed"] == ["grace_minutes"] and "analytics" not in answer
    assert services.queues.messages(QUEUE) == queued
