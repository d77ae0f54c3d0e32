"""The generator as Exchange would have it: a non-room mailbox in the rooms group is not in /places, all-day room
blocks, and buildings in several time zones whose calendarView agrees with the truth export."""

from __future__ import annotations

import tracemalloc
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from devtools.m365sim import generator
from devtools.m365sim.calendar import instances
from devtools.m365sim.control_calendar import truth_json
from devtools.m365sim.eventshape import WINDOWS_TZ
from devtools.m365sim.world import World

ANCHOR = "2026-03-20"  # the window below spans the US (8 March) and EU (29 March) daylight-saving changes
START, END = "2026-02-28T00:00:00Z", "2026-04-09T00:00:00Z"


def _page_all(office, path: str, headers: dict | None = None) -> list[dict]:
    out, url = [], path
    while url:
        r = office.graph("GET", url, headers=dict(headers or {}))
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["value"]
        url = body.get("@odata.nextLink")
    return out


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value.rstrip("Z")[:26]).replace(tzinfo=ZoneInfo("UTC"))


def test_a_shared_mailbox_in_the_rooms_group_is_readable_but_not_a_place(office, ctl):
    gen = ctl.generate(seed=11, rooms=10, days_back=14, days_ahead=14, anchor="2026-02-01")
    office.tid, domain = gen["tenant"], gen["domain"]
    truth = ctl.truth(office.tid, "2026-01-18T00:00:00Z", "2026-02-15T00:00:00Z")
    shared = [email for email, label in truth["misconfigured"].items() if label == "not_a_room"]
    assert shared == [f"facilities-amstel@{domain}"]
    email = shared[0]
    row = truth["rooms"][email]
    assert row["listed_as_room"] is False and row["misconfiguration"] == "not_a_room"
    assert row["mailbox"]["kind"] == "SharedMailbox" and row["mailbox"]["exchange_enabled"]
    # Exchange lists room mailboxes only: the places API neither lists it nor its room list
    places = _page_all(office, "/places/microsoft.graph.room")
    assert len(places) == 10 and email not in {p["emailAddress"].lower() for p in places}
    for rl in _page_all(office, "/places/microsoft.graph.roomlist"):
        in_list = _page_all(office, f"/places/{rl['emailAddress']}/microsoft.graph.roomlist/rooms")
        assert email not in {p["emailAddress"].lower() for p in in_list}
    # ... but it is in the rooms group, hence in the RBAC scope: Graph reads its calendar, as the truth says
    tenant = ctl.tenant(office.tid)
    group = next(g for g in tenant["groups"] if g["email"].startswith("roomcal-rooms@"))
    assert email in [m.lower() for m in group["members"]]
    seen = _page_all(
        office, f"/users/{email}/calendarView?startDateTime=2026-01-18T00:00:00Z&endDateTime=2026-02-15T00:00:00Z"
    )
    assert row["events"] and [e["id"] for e in seen] == [e["id"] for e in row["events"]]
    # its meetings invite it like a person, never as a resource
    assert all(
        a["type"] == "required" for e in seen for a in e["attendees"] if a["emailAddress"]["address"].lower() == email
    )


def test_all_day_blocks_are_midnight_to_midnight_in_the_rooms_zone(office, ctl):
    gen = ctl.generate(seed=3, rooms=50, days_back=60, days_ahead=60, anchor=ANCHOR)
    office.tid = gen["tenant"]
    t = office.sim.world.tenants[office.tid]
    meetings = list(t.meetings.values())
    all_day = [m for m in meetings if m.is_all_day]
    assert all_day and len(all_day) < 0.02 * len(meetings)  # a small share
    assert {m.tz for m in all_day} >= {"Europe/Amsterdam", "Europe/London"}
    for m in all_day:
        room = m.rooms()[0].email.lower()
        assert m.tz == t.mailboxes[room].time_zone
        assert m.start.time() == m.end.time() == datetime.min.time() and m.end - m.start in (
            timedelta(days=1),
            timedelta(days=2),
        )
        # the room is blocked: no other booking and no sensor presence overlaps the day(s)
        s, e = m.to_utc(m.start), m.to_utc(m.end)
        others = [c for c in t.by_mailbox[room] if c.meeting is not m]
        assert not [i for c in others for i in instances(c, s, e) if i.start < e and s < i.end]
        assert not [row for row in t.occupancy.get(room, []) if row[0] < e and s < row[1]]
    # Graph: in the room's zone the block runs from midnight to midnight; in UTC it is shifted by the offset
    m = sorted(all_day, key=lambda m: (m.tz != "Europe/London", m.start))[0]
    room = m.rooms()[0].email.lower()
    day = m.start.date()
    window = f"startDateTime={day}T00:00:00Z&endDateTime={day + timedelta(days=3)}T00:00:00Z"
    local = _page_all(
        office,
        f"/users/{room}/calendarView?{window}",
        {"Prefer": f'outlook.timezone="{WINDOWS_TZ[m.tz]}"'},
    )
    ev = next(e for e in local if e["isAllDay"])
    assert ev["start"] == {"dateTime": f"{day}T00:00:00.0000000", "timeZone": WINDOWS_TZ[m.tz]}
    assert ev["end"]["dateTime"] == f"{m.end.date()}T00:00:00.0000000"
    utc = next(e for e in _page_all(office, f"/users/{room}/calendarView?{window}") if e["id"] == ev["id"])
    assert _utc(utc["start"]["dateTime"]) == m.to_utc(m.start)
    truth = ctl.truth(office.tid, f"{day}T00:00:00Z", f"{day + timedelta(days=3)}T00:00:00Z")["rooms"][room]
    assert next(e for e in truth["events"] if e["id"] == ev["id"])["isAllDay"] is True


def test_buildings_span_time_zones_and_calendar_view_agrees_with_the_truth(office, ctl):
    gen = ctl.generate(seed=4, rooms=130, days_back=20, days_ahead=20, anchor=ANCHOR)
    office.tid = gen["tenant"]
    t = office.sim.world.tenants[office.tid]
    zones = {}
    for email, mbx in sorted(t.mailboxes.items()):
        place = t.places.get(email)
        if mbx.kind == "room" and mbx.exchange_enabled and email not in t.labels and t.by_mailbox.get(email):
            zones.setdefault(mbx.time_zone, email)
            assert place is not None
    assert set(zones) == {"Europe/Amsterdam", "Europe/London", "Europe/Berlin", "America/New_York"}
    truth = ctl.truth(office.tid, START, END)
    for tz, room in zones.items():
        expected = truth["rooms"][room]["events"]
        assert len(expected) > 20
        got = _page_all(office, f"/users/{room}/calendarView?startDateTime={START}&endDateTime={END}")
        key = ["id", "start", "end", "isAllDay", "isCancelled", "type", "originalStartTimeZone"]
        assert [{k: e[k] for k in key} for e in got] == [{k: e[k] for k in key} for e in expected]
        assert {e["originalStartTimeZone"] for e in got} == {WINDOWS_TZ[tz]}
        # in the room's own zone, singles book between 08:00 and 18:00 wall-clock time, across DST changes
        local = _page_all(
            office,
            f"/users/{room}/calendarView?startDateTime={START}&endDateTime={END}",
            {"Prefer": f'outlook.timezone="{tz}"'},
        )
        assert [e["id"] for e in local] == [e["id"] for e in got]
        for e, u in zip(local, got, strict=True):
            assert _utc(u["start"]["dateTime"]).astimezone(ZoneInfo(tz)).replace(tzinfo=None) == datetime.fromisoformat(
                e["start"]["dateTime"][:26]
            )
            planted_dst_block = (room, e["start"]["dateTime"][:10]) in {
                (d["room"], d["day"]) for d in t.analytics_profile.get("dst", [])}  # generator_stats: 00:30-04:30
            if e["type"] == "singleInstance" and not e["isAllDay"] and not planted_dst_block:
                hour = int(e["start"]["dateTime"][11:13])
                assert 8 <= hour < 18, (tz, e["start"])


def test_truth_export_is_deterministic_with_all_day_and_not_a_room():
    def run():
        t = generator.generate(World(9), seed=9, rooms=45, days_back=40, days_ahead=40, anchor=ANCHOR)
        return truth_json(t, datetime.fromisoformat(f"{START[:-1]}+00:00"), datetime.fromisoformat(f"{END[:-1]}+00:00"))

    a, b = run(), run()
    assert a == b
    assert "not_a_room" in a["misconfigured"].values()
    assert any(e["isAllDay"] for r in a["rooms"].values() for e in r["events"])


def test_generated_meetings_share_read_only_empties_until_written():
    """The memory savings must not leak writes: a decline or an exception gets the meeting its own dict."""
    from devtools.m365sim import organizer
    from devtools.m365sim.calendar import NO_DECLINES, NO_OVERRIDES

    w = World(2)
    t = generator.generate(w, seed=2, rooms=10, days_back=20, days_ahead=20, anchor=ANCHOR)
    singles = [m for m in t.meetings.values() if m.recurrence is None and not m.is_all_day]
    series = next(m for m in t.meetings.values() if m.recurrence and not m.overrides)
    assert all(m.overrides is NO_OVERRIDES for m in singles)
    copy = next(iter(singles[0].copies.values()))
    other = next(iter(singles[1].copies.values()))
    assert copy.declined is NO_DECLINES and other.declined is NO_DECLINES
    assert t.copies[copy.raw] is copy and copy.id.startswith("AAMkAG")
    organizer.decline(w, t, copy, None)
    assert "*" in copy.declined and other.declined is NO_DECLINES and not NO_DECLINES
    key = series.recurrence["range"]["startDate"]
    organizer.cancel_meeting(w, t, series, occurrence=key)
    assert series.overrides[key].cancelled and not NO_OVERRIDES
    assert all(m.overrides is NO_OVERRIDES for m in singles)


def test_generated_world_stays_compact():
    """About 1.0 kB a meeting (copy, ids and sensors included); it was 1.27 kB before the empties were shared."""
    if tracemalloc.is_tracing():
        pytest.skip("tracemalloc is already in use")
    w = World(1)
    tracemalloc.start()
    try:
        t = generator.generate(w, seed=1, rooms=20, days_back=60, days_ahead=60, anchor=ANCHOR)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(t.meetings) > 3000
    assert held / len(t.meetings) < 1150, held / len(t.meetings)
