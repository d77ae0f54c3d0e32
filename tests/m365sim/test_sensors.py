"""The generated office's sensors (which rooms, outages, late arrivals, ghost series) and the sensor control API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from devtools.m365sim import generator
from devtools.m365sim.calendar import instances
from devtools.m365sim.world import World

ANCHOR = datetime(2026, 6, 1, tzinfo=UTC)


def _office(seed=4, rooms=24):
    return generator.generate(World(), seed=seed, rooms=rooms, days_back=120, days_ahead=14, anchor="2026-06-01")


def _past_meetings(t, room):
    return [i for c in t.by_mailbox[room] for i in instances(c, ANCHOR - timedelta(days=120), ANCHOR)
            if not i.cancelled and not c.meeting.is_all_day and i.end <= ANCHOR]


def test_some_rooms_have_sensors_and_some_sensors_go_silent():
    t = _office()
    rooms = [e for e in t.places if e in t.mailboxes and e not in t.labels]
    assert 0 < len(t.sensors) < len(rooms)
    assert set(t.sensors) <= set(rooms) and len(set(t.sensors.values())) == len(t.sensors)
    assert t.sensor_outages and set(t.sensor_outages) <= set(t.sensors)
    for rows in t.sensor_outages.values():
        assert all(s < e <= ANCHOR for s, e in rows)


def test_presence_truth_has_late_arrivals_early_leavers_no_shows_and_ghost_series():
    t = _office()
    late = early = no_show = 0
    for room in t.sensors:
        presence = t.occupancy[room]
        for i in _past_meetings(t, room):
            seen = [(s, e) for s, e, _ in presence if s < i.end and i.start < e]
            if not seen:
                no_show += 1
                continue
            first = min(s for s, _ in seen)
            late += first - i.start > timedelta(minutes=10)
            early += i.end - max(e for _, e in seen) > (i.end - i.start) / 3
    assert late and early and no_show
    ghosts = 0
    for room in t.sensors:
        for c in t.by_mailbox[room]:
            if c.meeting.recurrence is None:
                continue
            runs, best = 0, 0
            for i in sorted(_past_meetings_of(c), key=lambda x: x.start):
                empty = not any(s < i.end and i.start < e for s, e, _ in t.occupancy[room])
                runs = runs + 1 if empty else 0
                best = max(best, runs)
            ghosts += best >= 3
    assert ghosts


def _past_meetings_of(copy):
    return [i for i in instances(copy, ANCHOR - timedelta(days=120), ANCHOR) if not i.cancelled and i.end <= ANCHOR]


def test_same_seed_same_sensors():
    a, b = _office(seed=6, rooms=12), _office(seed=6, rooms=12)
    assert a.sensors == b.sensors and a.sensor_outages == b.sensor_outages and a.occupancy == b.occupancy


def test_sensor_control_api_and_truth(office, ctl):
    room = office.rooms[0]
    outage = {"start": "2026-03-02T10:00:00Z", "end": "2026-03-02T12:00:00Z"}
    assert ctl.set_sensor(office.tid, room, "sn-1", [outage]) == {"id": "sn-1", "outages": [outage]}
    truth = ctl.truth(office.tid, "2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z")
    assert truth["rooms"][room]["sensor"] == {"id": "sn-1", "outages": [outage]}
    assert truth["rooms"][office.rooms[1]]["sensor"] is None
    ctl.set_sensor(office.tid, room, None)
    assert ctl.truth(office.tid, "2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z")["rooms"][room]["sensor"] is None
