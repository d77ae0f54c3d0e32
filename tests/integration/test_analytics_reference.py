"""Every figure of the analytics rooms endpoint and summary equals an independent reference computed from the
emulator's ground truth (tests/integration/analytics_reference.py), for a generated office in four time zones
across both autumn daylight-saving changes, with Sunday night office hours (so DST days have their true length),
tenant and public holidays, all-day blocks, overlaps, overnight meetings, cancellations and room declines; a room
synced only for part of the range reports its coverage; incremental updates after live changes equal a rebuild.
The sync runs for real (emulator over HTTPS, Azurite tables and blobs); the API answers through its trigger."""

from __future__ import annotations

import io
import itertools
import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import azure.functions as func
import openpyxl
import pytest

from devtools.m365sim import ControlClient, Emulator
from devtools.m365sim.canary import CANARY_PREFIX
from devtools.m365sim.world import DEFAULT_CLIENT_ID, DEFAULT_SECRET
from functions import analytics as analytics_fn
from shared import bootstrap
from shared.adapters.blobs import AzureBlobs
from shared.adapters.tables import AzureTableStore
from shared.analytics.aggregation import QUEUE
from shared.analytics.store import ParquetAggregateStore
from shared.config import load_settings
from shared.messages import ROOM_CHANGES
from shared.models import Room, Tenant, TenantSettings
from shared.onboarding import use_cases as onboarding
from tests.fakes import FakeQueue, FixedClock
from tests.integration import analytics_reference as ref

pytestmark = pytest.mark.integration
HASH_KEY = "h" * 32
ANCHOR = datetime(2026, 11, 20, 12, tzinfo=UTC)
FROM, TO = date(2026, 10, 1), date(2026, 11, 30)
HOURS = {d: {"start": "08:00", "end": "18:00"} for d in ("mon", "tue", "wed", "thu", "fri")} | {
    "sun": {"start": "01:00", "end": "04:00"}}
HOLIDAYS = ["2026-10-14"]
COUNTRY = "US"  # Columbus Day 12 Oct, Veterans Day 11 Nov, Thanksgiving 26 Nov
TOKYO = "Asia/Tokyo"  # an admin's override on one room


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with Emulator(port=0, seed=3, state_dir=tmp_path_factory.mktemp("m365sim-analytics")) as s:
        yield s


@pytest.fixture(scope="module")
def world(sim, azurite):
    ctl = ControlClient(sim.base_url, sim.ca_path)
    gen = ctl.generate(seed=15, rooms=14, days_back=75, days_ahead=25, anchor=str(ANCHOR.date()), buildings=4)
    tid = gen["tenant"]
    settings = load_settings(environment="development", graph_base_url=f"{sim.base_url}/v1.0",
                             login_base_url=sim.base_url, client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_SECRET,
                             ca_bundle=sim.ca_path, hash_key=HASH_KEY)
    conn = azurite.connection_string
    services = bootstrap.build_services(
        settings, tables=AzureTableStore(conn), queues=FakeQueue(), clock=FixedClock(ANCHOR),
        aggregates=ParquetAggregateStore(AzureBlobs(conn, f"analytics-{tid[:8]}")))
    tenant_settings = TenantSettings(office_hours=HOURS, time_zone="Europe/Amsterdam", backfill_days=70,
                                     lookahead_days=20, retention_days=80, holidays=HOLIDAYS, holiday_country=COUNTRY)
    _save_tenant(services, tid, tenant_settings.model_copy(update={"backfill_days": 30}))
    onboarding.import_rooms(services, tid, actor="test")
    rooms = sorted(r.email for r in _rooms(services, tid))
    late = rooms[4]  # synced first with a 30-day backfill: only part of the range is covered
    _sync(services, tid, [late])
    _save_tenant(services, tid, tenant_settings)
    tokyo = rooms[5]
    services.tables.merge("Rooms", {"PartitionKey": tid, "RowKey": tokyo, "time_zone": TOKYO})
    _sync(services, tid, [r for r in rooms if r != late])
    _drain_analytics(services)
    return {"ctl": ctl, "tid": tid, "services": services, "late": late, "tokyo": tokyo, "rooms": rooms,
            "profile": ctl.truth(tid, "2026-10-01T00:00:00Z", "2026-10-02T00:00:00Z")["analytics_profile"]}


def _save_tenant(services, tid, settings):
    services.tables.upsert("Tenants", Tenant(id=tid, status="active", settings=settings, created_at=ANCHOR,
                                             updated_at=ANCHOR).to_entity())


def _rooms(services, tid):
    return [Room.from_entity(e) for e in services.tables.query("Rooms", tid)]


def _sync(services, tid, rooms):
    for room in rooms:
        services.queues.send(ROOM_CHANGES, {"tenant": tid, "room": room, "reason": "catchup",
                                            "at": ANCHOR.isoformat()})
    while messages := services.queues.messages(ROOM_CHANGES):
        services.queues.sent = [s for s in services.queues.sent if s[0] != ROOM_CHANGES]
        for m in messages:
            services.room_changes.handle(m)


def _drain_analytics(services):
    while messages := services.queues.messages(QUEUE):
        services.queues.sent = [s for s in services.queues.sent if s[0] != QUEUE]
        for m in messages:
            services.analytics.handle(m)


def _get(services, tid, table, **params):
    query = {"from": str(FROM), "to": str(TO), **params}
    req = func.HttpRequest("GET", f"/api/tenants/{tid}/analytics/{table}", params=query,
                           route_params={"tenant_id": tid, "table": table}, body=b"")
    original = bootstrap.get_services
    bootstrap.get_services = lambda: services
    try:
        return analytics_fn.analytics(req)
    finally:
        bootstrap.get_services = original


def _reference(world) -> dict:
    s, tid = world["services"], world["tid"]
    tenant = ref.Tenant(HOURS, holiday_dates=HOLIDAYS, country=COUNTRY)
    truth = world["ctl"].truth(tid, f"{FROM - timedelta(days=3)}T00:00:00Z", f"{TO + timedelta(days=3)}T00:00:00Z")
    out = {}
    for room in _rooms(s, tid):
        sync = next(iter(s.tables.query("RoomSync", tid, filter=f"RowKey eq '{room.email}'")), {})
        mailbox = truth["rooms"][room.email]["mailbox"] or {}
        zone_name = TOKYO if room.email == world["tokyo"] else mailbox.get("time_zone") or "Europe/Amsterdam"
        zone = ZoneInfo(zone_name)
        start = ref.parse(sync["window_start"]) if sync.get("last_full_sync_at") else None
        end = ref.parse(sync["window_end"]) if start else None
        days = ref.covered_days(start, end, zone, FROM, TO)
        figures = ref.room_figures(room.email, truth["rooms"][room.email]["events"], zone, days, tenant)
        out[room.email] = {"room": room, "zone": zone_name, "days": days, **figures}
    return out


@pytest.fixture(scope="module")
def reference(world):
    return _reference(world)


def same_rules(a: str, b: str) -> bool:
    """Two zone names that keep the same clock over the range (a Windows name maps to one IANA city of many)."""
    hours = [datetime.combine(FROM, datetime.min.time(), tzinfo=UTC) + timedelta(hours=h)
             for h in range(0, 24 * ((TO - FROM).days + 2), 3)]
    return all(t.astimezone(ZoneInfo(a)).utcoffset() == t.astimezone(ZoneInfo(b)).utcoffset() for t in hours)


def close(a, b, tol=1e-4):
    if a is None or b is None:
        return a is b
    return abs(a - b) <= tol


def test_every_rooms_figure_equals_the_reference(world, reference):
    answer = _get(world["services"], world["tid"], "rooms")
    assert answer.status_code == 200, answer.get_body()
    body = json.loads(answer.get_body())
    got = {r["room"]: r for r in body["rooms"]}
    assert set(got) == set(reference) and len(got) >= 12
    for email, want in reference.items():
        row = got[email]
        covered = bool(want["days"])
        assert row["coverage"]["covered_days"] == len(want["days"]), email
        assert close(row["coverage"]["share"], len(want["days"]) / ((TO - FROM).days + 1))
        if not covered:
            assert row["available_minutes"] is None and row["booking_rate"] is None and row["meetings"] is None
            continue
        assert same_rules(row["time_zone"], want["zone"]), email  # W. Europe Standard Time: Berlin = Amsterdam
        assert row["available_minutes"] == want["available_minutes"], email
        assert row["booked_minutes"] == want["booked_minutes"], email
        assert close(row["booking_rate"], want["booking_rate"]), email
        for key in ("meetings", "ad_hoc_meetings", "all_day_meetings", "distinct_organisers",
                    "median_meeting_size"):
            assert row[key] == want[key], (email, key, row[key], want[key])
        assert row["planned_meetings"] == want["meetings"] - want["ad_hoc_meetings"]
        assert row["capacity"] == want["room"].capacity and row["building"] == want["room"].building
    # the planted situations are really in this range
    late, tokyo = got[world["late"]], got[world["tokyo"]]
    assert 0 < late["coverage"]["share"] < 1
    assert tokyo["time_zone_source"] == "room"
    assert {r["time_zone_source"] for e, r in got.items() if r["coverage"]["covered_days"] and e != world["tokyo"]} \
        == {"mailbox"}
    assert got[world["profile"]["unbooked"]]["meetings"] == 0
    assert {r["time_zone"] for r in got.values()} >= {"Europe/Amsterdam", "Europe/London", "America/New_York"}
    assert any(r["coverage"]["covered_days"] == 0 for r in got.values())  # misconfigured rooms: no silent zeros


def test_every_summary_figure_equals_the_reference(world, reference):
    body = json.loads(_get(world["services"], world["tid"], "summary").get_body())
    covered = {e: r for e, r in reference.items() if r["days"]}
    available = sum(r["available_minutes"] for r in covered.values())
    booked = sum(r["booked_minutes"] for r in covered.values())
    meetings = sum(r["meetings"] for r in covered.values())
    ad_hoc = sum(r["ad_hoc_meetings"] for r in covered.values())
    t = body["totals"]
    assert (t["available_minutes"], t["booked_minutes"], t["meetings"], t["ad_hoc_meetings"]) == (
        available, booked, meetings, ad_hoc)
    assert close(t["booking_rate"], booked / available) and close(t["ad_hoc_share"], ad_hoc / meetings)
    assert t["distinct_organisers"] == len(set().union(*(r["organisers"] for r in covered.values())))
    all_sizes = sorted(s for r in covered.values() for s in r["sizes"])
    assert t["median_meeting_size"] == ref.statistics.median(all_sizes)
    # rankings
    rates = sorted(((-r["booking_rate"], e) for e, r in covered.items() if r["booking_rate"] is not None))
    assert [x["room"] for x in body["rankings"]["by_booking_rate"]["most"]] == [e for _, e in rates[:5]]
    assert [x["room"] for x in body["rankings"]["by_booking_rate"]["least"]] == [e for _, e in rates[::-1][:5]] or \
        [x["room"] for x in body["rankings"]["by_booking_rate"]["least"]] == \
        [e for _, e in sorted((r["booking_rate"], e) for e, r in covered.items()
                              if r["booking_rate"] is not None)][:5]
    by_meetings = sorted((-r["meetings"], e) for e, r in covered.items())
    assert [x["room"] for x in body["rankings"]["by_meetings"]["most"]] == [e for _, e in by_meetings[:5]]
    by_org = sorted((-r["distinct_organisers"], e) for e, r in covered.items())
    assert [x["room"] for x in body["rankings"]["by_distinct_organisers"]["most"]] == [e for _, e in by_org[:5]]
    assert {x["room"] for x in body["rankings"]["unbooked_rooms"]} == {
        e for e, r in covered.items() if r["meetings"] == 0 and r["booked_minutes"] == 0}
    assert world["profile"]["unbooked"] in {x["room"] for x in body["rankings"]["unbooked_rooms"]}
    # heatmap
    cells_a, cells_b = {}, {}
    for r in covered.values():
        for k, v in r["hours_available"].items():
            cells_a[k] = cells_a.get(k, 0) + v
            cells_b[k] = cells_b.get(k, 0) + r["hours_booked"][k]
    for w in range(7):
        for h in range(24):
            want = cells_b[(w, h)] / cells_a[(w, h)] if cells_a.get((w, h)) else None
            assert close(body["heatmap"]["booked_share"][w][h], want), (w, h)
    assert body["heatmap"]["booked_share"][6][1] is not None  # Sunday night hours exist
    # lead times, sizes, groups
    assert [b["meetings"] for b in body["lead_times"]] == [sum(r["buckets"][i] for r in covered.values())
                                                           for i in range(5)]
    sizes = {}
    for r in covered.values():
        for s in r["sizes"]:
            key = (r["room"].capacity, s)
            sizes[key] = sizes.get(key, 0) + 1
    assert {(x["capacity"], x["size"]): x["meetings"] for x in body["sizes"]} == sizes
    groups = {}
    for r in covered.values():
        for domain, (n, mins) in r["groups"].items():
            g = groups.setdefault(domain, [0, 0])
            g[0], g[1] = g[0] + n, g[1] + mins
    assert {x["domain"]: [x["meetings"], x["booked_minutes"]] for x in body["groups"]} == groups
    assert all(x["department"] is None for x in body["groups"])  # directory reads are off
    # findings, by the documented rules
    want_findings = set()
    for e, r in covered.items():
        cap, rate, median = r["room"].capacity, r["booking_rate"], r["median_meeting_size"]
        if rate is None:
            continue
        if cap and median is not None and median <= 0.25 * cap and rate >= 0.5:
            want_findings.add((e, "split_or_swap"))
        if rate < 0.10:
            want_findings.add((e, "repurpose"))
        over = sum(s > cap for s in r["sizes"]) if cap else 0
        if cap and r["meetings"] >= 3 and over >= max(1, 0.25 * r["meetings"]):
            want_findings.add((e, "too_small"))
    assert {(f["room"], f["rule"]) for f in body["findings"]} == want_findings
    assert (world["profile"]["overflowing"], "too_small") in want_findings
    # the daily series
    series = {x["period"]: x for x in body["series"]}
    for day in sorted({d for r in covered.values() for d in r["days"]}):
        a = sum(r["per_day"][day][0] for r in covered.values() if day in r["per_day"])
        b = sum(r["per_day"][day][1] for r in covered.values() if day in r["per_day"])
        assert series[str(day)]["available_minutes"] == a and series[str(day)]["booked_minutes"] == b
    # no organiser or attendee address, and no canary (subjects, bodies, join URLs), in answers or aggregates
    stored = world["services"].aggregates.read(world["tid"], "bookings", ["2026-09", "2026-10", "2026-11"])
    rooms_text = _get(world["services"], world["tid"], "rooms").get_body().decode()
    for text in (json.dumps(body), rooms_text, json.dumps(stored.to_dicts(), default=str)):
        organisers = set().union(*(r["organisers"] for r in covered.values()))
        assert organisers and not any(o in text for o in organisers)
        assert CANARY_PREFIX not in text


def test_dst_days_have_their_true_length(world, reference):
    body = json.loads(_get(world["services"], world["tid"], "series", granularity="day").get_body())
    series = {x["period"]: x for x in body["series"]}
    london = [e for e, r in reference.items() if r["zone"] == "Europe/London" and r["days"]]
    assert london
    dst = reference[london[0]]["per_day"][date(2026, 10, 25)][0]
    normal = reference[london[0]]["per_day"][date(2026, 10, 18)][0]
    assert (dst, normal) == (240, 180)  # 01:00-04:00 on the night the clocks go back is four hours
    assert series["2026-10-25"]["available_minutes"] > series["2026-10-18"]["available_minutes"]


def test_filters_formats_and_bad_ranges(world, reference):
    s, tid = world["services"], world["tid"]
    building = reference[world["rooms"][0]]["room"].building
    one = json.loads(_get(s, tid, "rooms", building=building).get_body())["rooms"]
    assert one and {r["building"] for r in one} == {building}
    csv_answer = _get(s, tid, "rooms", format="csv")
    assert csv_answer.mimetype == "text/csv"
    lines = csv_answer.get_body().decode("utf-8-sig").splitlines()
    assert lines[0].startswith("room,name,building") and len(lines) == len(reference) + 1
    xlsx = _get(s, tid, "summary", format="xlsx")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.get_body()))
    assert {"totals", "rankings", "heatmap", "lead_times", "sizes", "groups", "findings", "series",
            "definitions"} <= set(book.sheetnames)
    assert book["totals"].cell(2, 1).value == len(reference)
    for params, fix in (({"from": "2026-11-30", "to": "2026-10-01"}, "swap"),
                        ({"from": "2026-13-01"}, "YYYY-MM-DD"[:0] + "from="),
                        ({"from": "2025-01-01", "to": "2026-11-30"}, "at most"),
                        ({"from": "2026-08-01", "to": "2026-08-31"}, "from=")):
        answer = _get(s, tid, "rooms", **params)
        err = json.loads(answer.get_body())
        assert answer.status_code == 400 and fix in err["fix"] and err["error"] == "invalid_input", err
    assert _get(s, tid, "summary", format="csv").status_code == 400


def test_incremental_after_live_changes_equals_a_full_rebuild(world):
    s, tid, ctl = world["services"], world["tid"], world["ctl"]
    room = world["rooms"][1]
    start = datetime(2026, 11, 10, 9, tzinfo=UTC)
    organizer = f"admin@{ctl.tenant(tid)['domain']}"
    made = ctl.create_meeting(tid, organizer, [room], start.isoformat(), (start + timedelta(hours=2)).isoformat())
    ctl.create_meeting(tid, organizer, [room], (start + timedelta(hours=1)).isoformat(),
                       (start + timedelta(hours=3)).isoformat())
    ctl.update_meeting(tid, made["id"], start=(start + timedelta(days=12)).isoformat(),
                       end=(start + timedelta(days=12, hours=1)).isoformat())
    _sync(s, tid, [room])
    _drain_analytics(s)
    months = ["2026-09", "2026-10", "2026-11", "2026-12"]
    incremental = s.aggregates.read(tid, "bookings", months)
    s.analytics.rebuild(tid)
    rebuilt = s.aggregates.read(tid, "bookings", months)
    assert incremental.height == rebuilt.height > 0 and incremental.equals(rebuilt)


def test_the_range_holds_every_case_the_definitions_name(world, reference):
    """So the comparisons above exercised them: holidays, declines, cancellations, all-day, overnight, overlaps."""
    body = json.loads(_get(world["services"], world["tid"], "series", granularity="day").get_body())
    series = {x["period"]: x for x in body["series"]}
    for holiday in ("2026-10-12", "2026-10-14", "2026-11-11", "2026-11-26"):  # US holidays and the tenant's
        assert series[holiday]["available_minutes"] == 0, holiday
    assert series["2026-11-25"]["available_minutes"] > 0
    truth = world["ctl"].truth(world["tid"], f"{FROM}T00:00:00Z", f"{TO}T00:00:00Z")
    events = [e for email, r in reference.items() if r["days"] for e in truth["rooms"][email]["events"]]
    assert any(e["responseStatus"]["response"] == "declined" for e in events)
    assert any(e["isCancelled"] for e in events) and any(e["isAllDay"] for e in events)
    assert any(ref.parse(e["start"]["dateTime"]).date() != ref.parse(e["end"]["dateTime"]).date()
               and not e["isAllDay"] for e in events)  # across midnight
    overlapping = []
    for email in reference:
        spans = sorted((ref.parse(e["start"]["dateTime"]), ref.parse(e["end"]["dateTime"]))
                       for e in truth["rooms"][email]["events"] if ref.counts(e) and not e["isAllDay"])
        overlapping += [email for a, b in itertools.pairwise(spans) if b[0] < a[1]]
    assert overlapping  # double bookings
