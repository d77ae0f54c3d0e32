"""Occupancy ingest: per-row validation (JSON and CSV), duplicates, idempotent re-send, the minute timeline."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shared.errors import InvalidInput
from shared.models import Room
from shared.occupancy import ingest as occ
from shared.occupancy.store import TABLE, OccupancyStore
from shared.occupancy.timeline import NO_DATA, OCCUPIED, VACANT, RoomDay, minute_states
from shared.onboarding import tenants
from tests.fakes import FixedClock, InMemoryTables

TID = "aaaaaaaa-bbbb-cccc-dddd-00000000000a"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
R1, R2 = "room1@contoso.com", "room2@contoso.com"


@pytest.fixture
def world():
    tables, clock = InMemoryTables(), FixedClock(NOW)
    tenants.mark_consented(tables, clock, TID)
    for email, sensor in ((R1, "sn-1"), (R2, None)):
        tables.upsert("Rooms", Room(tenant_id=TID, email=email, sensor_id=sensor).to_entity())
    changes = []
    return tables, clock, occ.Ingest(tables, clock, on_change=lambda t, r, d: changes.append((r, d))), changes


def _z(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def _states(tables, room, start, end, hold=15):
    days = OccupancyStore(tables).load(TID, room, start.date() - timedelta(days=1), end.date())
    return minute_states(days, start, end, hold=hold)


def test_each_bad_row_is_reported_and_good_rows_are_kept(world):
    tables, _, ingest, changes = world
    t = NOW - timedelta(hours=2)
    body = {"samples": [
        {"sensor": "sn-1", "time": _z(t), "occupied": True, "people": 3},  # 1 good
        {"sensor": "sn-9", "time": _z(t), "occupied": True},  # 2 unknown sensor
        {"room": "nobody@contoso.com", "time": _z(t), "occupied": True},  # 3 unknown room
        {"room": R2, "time": _z(NOW + timedelta(hours=1)), "occupied": False},  # 4 future
        {"room": R2, "time": _z(NOW - timedelta(days=400)), "occupied": False},  # 5 before retention
        {"room": R2, "time": _z(t), "occupied": True, "people": -2},  # 6 bad count
        {"room": R2, "time": _z(t), "occupied": False, "people": 2},  # 7 count without presence
        {"sensor": "sn-1", "time": _z(t), "occupied": True, "people": 3},  # 8 duplicate of 1
        {"sensor": "sn-1", "time": _z(t), "occupied": False},  # 9 contradicts 1
        {"room": R2, "time": "2026-03-10T09:00:00", "occupied": True},  # 10 naive time
        {"room": R2, "time": _z(t), "occupied": True, "colour": "red"},  # 11 unknown field
        {"sensor": "sn-1", "room": R2, "time": _z(t), "occupied": True},  # 12 sensor of another room
        "sn-1,2026-03-10T09:00:00Z,true",  # 13 not an object
        {"room": R2, "time": _z(t + timedelta(minutes=5)), "occupied": False},  # 14 good
    ]}
    report = ingest.ingest(TID, *occ.rows_from_json(body))
    assert (report["accepted"], report["duplicates"], report["rejected"]) == (2, 1, 11)
    assert [e["row"] for e in report["errors"]] == [2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13]
    assert "unknown sensor" in report["errors"][0]["error"] and report["errors"][0]["fix"]
    assert report["errors"][4]["field"] == "people"
    assert report["room_days_changed"] == 2 and sorted(r for r, _ in changes) == [R1, R2]
    states = _states(tables, R1, t, t + timedelta(minutes=20))
    assert states == bytes([OCCUPIED] * 15 + [NO_DATA] * 5)  # the sample holds 15 minutes, then no data


def test_re_sending_a_batch_changes_nothing(world):
    tables, _, ingest, changes = world
    t = NOW - timedelta(hours=3)
    body = {"intervals": [{"sensor": "sn-1", "start": _z(t), "end": _z(t + timedelta(minutes=30)), "people": 2},
                          {"sensor": "sn-1", "start": _z(t + timedelta(minutes=30)),
                           "end": _z(t + timedelta(minutes=90)), "occupied": False}]}
    first = ingest.ingest(TID, *occ.rows_from_json(body))
    stored = dict(tables.rows[TABLE])
    again = ingest.ingest(TID, *occ.rows_from_json(body))
    assert first["room_days_changed"] == 1 and again["room_days_changed"] == 0 and again["accepted"] == 2
    assert {k: v["minutes"] for k, v in tables.rows[TABLE].items()} == {k: v["minutes"] for k, v in stored.items()}
    assert len(changes) == 1
    assert _states(tables, R1, t, t + timedelta(minutes=90)) == bytes([OCCUPIED] * 30 + [VACANT] * 60)


def test_overlapping_intervals_in_one_batch_are_rejected(world):
    _, _, ingest, _ = world
    t = NOW - timedelta(hours=3)
    rows = [{"room": R2, "start": _z(t), "end": _z(t + timedelta(minutes=30))},
            {"room": R2, "start": _z(t + timedelta(minutes=20)), "end": _z(t + timedelta(minutes=40))},
            {"room": R2, "start": _z(t - timedelta(minutes=20)), "end": _z(t + timedelta(minutes=1))},
            {"room": R2, "start": _z(t + timedelta(minutes=30)), "end": _z(t + timedelta(minutes=40))},
            {"room": R2, "start": _z(t), "end": _z(t - timedelta(minutes=1))},
            {"room": R2, "start": _z(t - timedelta(hours=30)), "end": _z(t)}]
    report = ingest.ingest(TID, *occ.rows_from_json({"intervals": rows}))
    assert [e["row"] for e in report["errors"]] == [2, 3, 5, 6]
    assert "overlaps row 1" in report["errors"][0]["error"] and "24 hours" in report["errors"][3]["error"]


def test_csv_samples_and_intervals_with_line_numbers(world):
    tables, _, ingest, _ = world
    text = ("\ufeffsensor,time,occupied,people\n"
            "sn-1,2026-03-10T08:00:00Z,true,4\n"
            "sn-1,2026-03-10T08:10:00Z,no,\n"
            "sn-1,not-a-time,true,1\n"
            "sn-1,2026-03-10T08:20:00Z,true,1,extra\n")
    report = ingest.ingest(TID, *occ.rows_from_csv(text))
    assert report["accepted"] == 2 and [e["row"] for e in report["errors"]] == [4, 5]
    start = datetime(2026, 3, 10, 8, tzinfo=UTC)
    assert _states(tables, R1, start, start + timedelta(minutes=30)) == bytes([OCCUPIED] * 10 + [VACANT] * 15
                                                                                 + [NO_DATA] * 5)
    text = "room,start,end,occupied\nroom2@contoso.com,2026-03-10T07:00:00Z,2026-03-10T07:30:00+00:00,1\n"
    assert ingest.ingest(TID, *occ.rows_from_csv(text))["accepted"] == 1
    with pytest.raises(InvalidInput):
        occ.rows_from_csv("sensor,when,occupied\nsn-1,x,true\n")
    with pytest.raises(InvalidInput):
        occ.rows_from_csv("sensor,time,occupied,colour\n")


def test_body_shape_and_row_limit(world):
    tables, clock, _, _ = world
    with pytest.raises(InvalidInput):
        occ.rows_from_json({"samples": [], "intervals": []})
    with pytest.raises(InvalidInput):
        occ.rows_from_json([{"sensor": "sn-1"}])
    small = occ.Ingest(tables, clock, limits=occ.Limits(max_rows=2))
    with pytest.raises(InvalidInput):
        small.ingest(TID, "samples", [(i, {}) for i in range(3)])


def test_timeline_merge_is_order_free_and_samples_end_at_the_next_one():
    day = date(2026, 3, 10)
    at = datetime(2026, 3, 10, 9, tzinfo=UTC)
    a, b = RoomDay(day), RoomDay(day)
    a.add_sample(at, True, 2)
    b.add_sample(at + timedelta(minutes=5), False, None)
    b.add_interval(at + timedelta(minutes=30, seconds=30), at + timedelta(minutes=32), True, 1)
    ab, ba = RoomDay(day), RoomDay(day)
    ab.merge(a), ab.merge(b), ba.merge(b), ba.merge(a)
    assert ab.pack() == ba.pack() and not ab.merge(a)
    states = minute_states({day: ab}, at, at + timedelta(minutes=35), hold=15)
    assert states == bytes([OCCUPIED] * 5 + [VACANT] * 15 + [NO_DATA] * 10 + [OCCUPIED] * 2 + [NO_DATA] * 3)


def test_a_sample_late_in_the_day_holds_into_the_next_day():
    day = date(2026, 3, 9)
    rd = RoomDay(day)
    rd.add_sample(datetime(2026, 3, 9, 23, 55, tzinfo=UTC), True, 1)
    start = datetime(2026, 3, 10, tzinfo=UTC)
    assert minute_states({day: rd}, start, start + timedelta(minutes=12), hold=15) == bytes([OCCUPIED] * 10
                                                                                             + [NO_DATA] * 2)


def test_sensor_health_says_stale_never_reported_and_lists_the_gaps(world):
    from shared.occupancy.health import sensor_health

    tables, clock, ingest, _ = world
    tables.upsert("Rooms", Room(tenant_id=TID, email="room3@contoso.com", sensor_id="sn-3").to_entity())
    rows = [{"sensor": "sn-1", "start": _z(NOW - timedelta(hours=5)), "end": _z(NOW - timedelta(hours=4))},
            {"sensor": "sn-1", "start": _z(NOW - timedelta(hours=2)), "end": _z(NOW - timedelta(minutes=40)),
             "occupied": False}]
    ingest.ingest(TID, *occ.rows_from_json({"intervals": rows}))
    health = {r["room"]: r for r in sensor_health(tables, clock, TID, hold=15, stale_minutes=30, days=1)["rooms"]}
    r1 = health[R1]
    assert r1["status"] == "stale" and r1["last_report"] == _z(NOW - timedelta(minutes=40))
    assert [(g["start"], g["end"]) for g in r1["gaps"]] == [
        (_z(NOW - timedelta(days=1)), _z(NOW - timedelta(hours=5))),
        (_z(NOW - timedelta(hours=4)), _z(NOW - timedelta(hours=2))),
        (_z(NOW - timedelta(minutes=40)), _z(NOW))]
    assert health["room3@contoso.com"]["status"] == "never_reported" and health[R2]["status"] == "no_sensor"


def test_retention_purges_old_room_days_and_monthly_figures_and_keeps_the_rest(world):
    from shared.occupancy.monthly import TABLE as MONTHLY
    from shared.occupancy.retention import purge_expired_occupancy

    tables, clock, _, _ = world
    store = OccupancyStore(tables)
    old, recent = date(2025, 1, 10), date(2026, 3, 9)
    for day in (old, recent):
        rd = RoomDay(day)
        rd.add_sample(datetime.combine(day, datetime.min.time(), UTC), True, 1)
        store.merge_days(TID, R1, [rd])
        tables.upsert(MONTHLY, {"PartitionKey": f"{TID}|{day:%Y-%m}", "RowKey": R1, "days": b""})
    counts = purge_expired_occupancy(tables, clock)
    assert counts["room_days"] == 1 and counts["months"] == 1
    assert list(store.load(TID, R1, date(2020, 1, 1), date(2030, 1, 1))) == [recent]
    assert [k[0] for k in tables.rows[MONTHLY]] == [f"{TID}|2026-03"]
