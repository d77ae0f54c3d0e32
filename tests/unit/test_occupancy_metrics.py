"""Every sensor metric equals an independent reference computed here from the emulator's ground truth.

A generated office (bookings, presence truth, sensors with outages) is stored as the sync would store it and its
presence posted by the sensor-platform simulator, in both shapes; the report must match a minute-set reference
written in this file (office hours, booked minutes, presence and outages from the truth; no production code).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from devtools import sensorsim
from devtools.m365sim import generator
from devtools.m365sim.control_calendar import truth_json
from devtools.m365sim.world import World
from shared.models import Room
from shared.occupancy import ingest as occ
from shared.occupancy.report import RangeQuery, occupancy_report
from shared.onboarding import tenants
from shared.sync.privacy import normalise_event
from tests.fakes import FixedClock, InMemoryTables

HASH = "k" * 32
ANCHOR = datetime(2026, 3, 30, tzinfo=UTC)  # a Monday; Europe changes to summer time on 29 March 2026
FIRST, LAST = date(2026, 3, 16), date(2026, 3, 29)  # through the European DST change
HOLD = 15


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _minutes(a: datetime, b: datetime) -> set[int]:
    """Epoch minutes that [a, b) touches."""
    lo = int(a.timestamp() // 60)
    hi = -int(-b.timestamp() // 60)
    return set(range(lo, hi))


@pytest.fixture(scope="module")
def office():
    world = World()
    t = generator.generate(world, seed=11, rooms=16, days_back=28, days_ahead=3, anchor=ANCHOR.date())
    silent = sorted(t.sensors)[0]  # silent all of Thursday 19 and Friday 20 March, UTC
    t.sensor_outages[silent] = [*t.sensor_outages.get(silent, []), (datetime(2026, 3, 19, tzinfo=UTC),
                                                                     datetime(2026, 3, 21, tzinfo=UTC))]
    truth = truth_json(t, ANCHOR - timedelta(days=28), ANCHOR + timedelta(days=3))
    zones = {email: m.time_zone for email, m in t.mailboxes.items()}
    return t, truth, zones


def _stored(office, shape, fmt="json"):
    t, truth, zones = office
    tables, clock = InMemoryTables(), FixedClock(ANCHOR)
    tenants.mark_consented(tables, clock, t.id)
    for email, room in truth["rooms"].items():
        if room["misconfiguration"] or not room["listed_as_room"]:
            continue
        sensor = (room["sensor"] or {}).get("id")
        tables.upsert("Rooms", Room(tenant_id=t.id, email=email, sensor_id=sensor, time_zone=zones[email],
                                    building=t.places[email].building).to_entity())
        for item in room["events"]:
            event = normalise_event(item, tenant_id=t.id, room_email=email, hash_key=HASH)
            tables.upsert("Events", event.to_entity())
    start = ANCHOR - timedelta(days=20)
    rows = sensorsim.office_readings(truth, start, ANCHOR, shape)
    ingest = occ.Ingest(tables, clock, limits=occ.Limits(max_rows=10**6))
    if fmt == "csv":
        report = ingest.ingest(t.id, *occ.rows_from_csv(sensorsim.as_csv(rows, shape)))
    else:
        report = ingest.ingest(t.id, *occ.rows_from_json({shape: rows}))
    assert report["rejected"] == 0 and report["accepted"] == len(rows)
    return tables, rows


def _reference(office, room: str, observed_of) -> dict:
    _, truth, zones = office
    zone = ZoneInfo(zones[room])
    entry = truth["rooms"][room]
    available: set[int] = set()
    day = FIRST
    while day <= LAST:
        if day.weekday() < 5:
            available |= _minutes(datetime.combine(day, time(8), zone), datetime.combine(day, time(18), zone))
        day += timedelta(days=1)
    occupied = set().union(*[_minutes(_at(p["start"]), _at(p["end"])) for p in entry["occupancy"]])
    observed, said_occupied = observed_of(room)
    occupied = said_occupied if said_occupied is not None else occupied & observed
    counted = [e for e in entry["events"]
               if not e["isCancelled"] and e["type"] != "seriesMaster"
               and not any(a["emailAddress"]["address"].lower() == room and a["status"]["response"] == "declined"
                           for a in e["attendees"])]
    booked: set[int] = set()
    meetings = []
    for e in counted:
        s, end = _at(e["start"]["dateTime"] + "Z"), _at(e["end"]["dateTime"] + "Z")
        if e["isAllDay"]:
            local = datetime.fromisoformat(e["start"]["dateTime"]).date()
            n_days = (datetime.fromisoformat(e["end"]["dateTime"]) - datetime.fromisoformat(e["start"]["dateTime"]))
            for k in range(max(1, n_days.days)):
                d0 = local + timedelta(days=k)
                booked |= _minutes(datetime.combine(d0, time(), zone),
                                   datetime.combine(d0 + timedelta(days=1), time(), zone))
            continue
        booked |= _minutes(s, end)
        if FIRST <= s.astimezone(zone).date() <= LAST:
            meetings.append((s, end))
    ref = {"available_minutes": len(available), "observed_minutes": len(available & observed),
           "occupied_minutes": len(available & occupied), "booked_minutes": len(available & booked),
           "booked_observed_minutes": len(available & booked & observed),
           "booked_used_minutes": len(available & booked & occupied),
           "unused_booked_minutes": len((available & booked & observed) - occupied),
           "unbooked_used_minutes": len((available & occupied) - booked)}
    attended = no_show = no_data = candidates = late = 0
    for s, end in meetings:
        span = _minutes(s, end)
        head = _minutes(s, min(end, s + timedelta(minutes=10)))
        if span & occupied:
            attended += 1
        elif span <= observed:
            no_show += 1
        else:
            no_data += 1
        if head <= observed and not head & occupied:
            candidates += 1
            late += bool(span & occupied)
    free = sorted((available & occupied) - booked)
    runs, run = [], []
    for m in free:
        if run and m == run[-1] + 1:
            run.append(m)
        else:
            if run:
                runs.append(len(run))
            run = [m]
    if run:
        runs.append(len(run))
    runs = [r for r in runs if r >= 10]
    ref.update(meetings=len(meetings), attended=attended, no_shows=no_show, no_data_meetings=no_data,
               release_candidates=candidates, late_arrivals=late, meetups=len(runs), meetup_minutes=sum(runs))
    return ref


def _outage_free(office):
    def observed(room):
        entry = office[1]["rooms"][room]
        window = _minutes(ANCHOR - timedelta(days=20), ANCHOR)
        silent = set().union(*[_minutes(_at(o["start"]), _at(o["end"])) for o in entry["sensor"]["outages"]])
        return window - silent, None
    return observed


def _held(rows):
    """What samples say by the documented rule: each holds until the next sample, at most HOLD minutes."""
    by_sensor: dict[str, list[tuple[int, bool]]] = {}
    for r in rows:
        by_sensor.setdefault(r["sensor"], []).append((int(_at(r["time"]).timestamp() // 60), r["occupied"]))

    def observed(room):
        points = sorted(by_sensor.get(office_sensor[room], []))
        seen, occupied = set(), set()
        for i, (p, state) in enumerate(points):
            stop = min(p + HOLD, points[i + 1][0] if i + 1 < len(points) else p + HOLD)
            seen |= set(range(p, stop))
            if state:
                occupied |= set(range(p, stop))
        return seen, occupied
    office_sensor: dict[str, str] = {}
    return observed, office_sensor


def _check(office, tables, observed_of):
    t, truth, _ = office
    report = occupancy_report(tables, t.id, RangeQuery.model_validate({"from": FIRST, "to": LAST}), hold=HOLD)
    rooms = {r["room"]: r for r in report["rooms"]}
    checked = 0
    for email, entry in rooms.items():
        if not truth["rooms"][email]["sensor"]:
            assert entry["data"] == "no_sensor" and entry["occupancy_rate"] is None and entry["no_shows"] is None
            continue
        ref = _reference(office, email, observed_of)
        assert {k: entry[k] for k in ref} == ref, email
        checked += 1
    assert checked >= 5
    total = report["summary"]
    assert total["no_shows"] == sum(r["no_shows"] for r in rooms.values() if r["no_shows"] is not None)
    assert total["meetups"] > 0 and total["no_shows"] > 0 and total["late_arrivals"] > 0
    return report


def test_interval_platform_metrics_equal_the_reference(office):
    tables, _ = _stored(office, "intervals")
    _check(office, tables, _outage_free(office))


def test_sample_platform_metrics_equal_the_reference_of_its_samples(office):
    tables, rows = _stored(office, "samples", fmt="csv")
    observed, sensor_of = _held(rows)
    for email, room in office[1]["rooms"].items():
        if room["sensor"]:
            sensor_of[email] = room["sensor"]["id"]
    report = _check(office, tables, observed)
    assert report["summary"]["coverage"] < 1  # outages are no data, not vacant


def test_a_silent_sensor_is_no_data_not_an_empty_room(office):
    t = office[0]
    tables, _ = _stored(office, "intervals")
    silent = sorted(t.sensors)[0]
    day = date(2026, 3, 20)
    report = occupancy_report(tables, t.id, RangeQuery.model_validate({"from": day, "to": day, "room": silent}),
                              hold=HOLD)
    entry = report["rooms"][0]
    assert entry["available_minutes"] == 600 and entry["observed_minutes"] == 0 and entry["data"] == "none"
    assert entry["occupancy_rate"] is None and entry["no_shows"] == 0 and entry["attended"] == 0
    assert entry["no_data_meetings"] == entry["meetings"]



class CountingTables:
    def __init__(self, inner):
        self.inner, self.event_reads = inner, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def query(self, table, *args, **kw):
        self.event_reads += table == "Events"
        return self.inner.query(table, *args, **kw)


def test_stored_monthly_figures_are_reused_and_recomputed_after_a_change(office):
    from shared.models import TenantSettings
    from shared.occupancy.monthly import MonthlyFigures

    t = office[0]
    tables, _ = _stored(office, "intervals")
    clock = FixedClock(ANCHOR + timedelta(minutes=1))
    counted = CountingTables(tables)
    query = RangeQuery.model_validate({"from": FIRST, "to": LAST})
    cold = occupancy_report(counted, t.id, query, hold=HOLD, clock=clock)
    reads = counted.event_reads
    clock.advance(minutes=1)
    warm = occupancy_report(counted, t.id, query, hold=HOLD, clock=clock)
    assert warm == cold and reads > 0 and counted.event_reads == reads  # served from OccupancyMonthly
    room = next(r["room"] for r in cold["rooms"] if r["data"] == "complete")
    clock.advance(minutes=1)
    ingest = occ.Ingest(tables, clock, limits=occ.Limits(max_rows=10**6))
    zone = ZoneInfo(office[2][room])
    times = [datetime.combine(date(2026, 3, 26), time(h), zone) for h in (8, 10, 12, 14, 16)]
    rows = [(i, {"room": room, "start": s.isoformat(), "end": (s + timedelta(minutes=5)).isoformat()})
            for i, s in enumerate(times, 1)]
    assert ingest.ingest(t.id, "intervals", rows)["room_days_changed"] == 1
    clock.advance(minutes=1)
    MonthlyFigures(tables, clock).mark(t.id, sorted(t.sensors)[-1])  # as the sync does when Events change
    clock.advance(minutes=1)
    after = occupancy_report(counted, t.id, query, hold=HOLD, clock=clock)
    tables.rows["OccupancyMonthly"].clear()
    fresh = occupancy_report(tables, t.id, query, hold=HOLD, clock=clock)
    assert after == fresh and after != cold
    tenant = tenants.load(tables, t.id)
    tenants.save(tables, tenant.model_copy(update={"settings": TenantSettings(grace_minutes=20)}))
    regraced = occupancy_report(tables, t.id, query, hold=HOLD, clock=clock)
    assert regraced["summary"]["release_candidates"] < fresh["summary"]["release_candidates"]
