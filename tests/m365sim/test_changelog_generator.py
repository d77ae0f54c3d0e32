"""The change-log listener hook, and the generator: determinism, realism and its misconfigured rooms."""

from __future__ import annotations

from datetime import datetime, timedelta

from devtools.m365sim import generator
from devtools.m365sim.changelog import ChangeRecord
from devtools.m365sim.control_calendar import truth_json
from devtools.m365sim.world import World

WINDOW = "startDateTime=2026-01-01T00:00:00Z&endDateTime=2026-03-01T00:00:00Z"


def test_change_log_listener_hook(office, ctl, sim):
    seen: list[ChangeRecord] = []
    unsubscribe = sim.world.changes.add_listener(seen.append)
    try:
        since = sim.world.changes.last_stamp
        room = office.rooms[0]
        m = ctl.create_meeting(
            office.tid, f"ann@{office.domain}", [room, office.rooms[1]], "2026-03-02T09:00:00", "2026-03-02T10:00:00"
        )
        ctl.update_meeting(office.tid, m["id"], end="2026-03-02T10:30:00")
        ctl.update_meeting(office.tid, m["id"], rooms=[room])  # room2 dropped: its copy is deleted
        ctl.delete_meeting(office.tid, m["id"])
    finally:
        unsubscribe()
    mine = [r for r in seen if r.tenant_id == office.tid]
    room_records = [(r.change_type, r.event_id) for r in mine if r.mailbox == room]
    rid = m["copies"][room]
    assert room_records == [("created", rid), ("updated", rid), ("updated", rid), ("deleted", rid)]
    r2 = [r.change_type for r in mine if r.mailbox == office.rooms[1]]
    assert r2 == ["created", "updated", "deleted"]
    assert [r.stamp for r in seen] == sorted(r.stamp for r in seen)
    assert all(r.mailbox_id and r.at for r in mine)
    assert [c["stamp"] for c in ctl.changes(since)] == [r.stamp for r in seen]
    assert sim.world.changes.since(since)[0] == seen[0]
    ctl.create_meeting(office.tid, f"ann@{office.domain}", [room], "2026-03-03T09:00:00", "2026-03-03T10:00:00")
    assert len(seen) == len(mine) or all(r.tenant_id == office.tid for r in seen)  # unsubscribed: no new records
    assert seen[-1].stamp < sim.world.changes.last_stamp


def test_a_failing_listener_does_not_break_the_organiser(office, ctl, sim):
    def boom(_):
        raise RuntimeError("subscriber bug")

    unsubscribe = sim.world.changes.add_listener(boom)
    try:
        ctl.create_meeting(
            office.tid, f"ann@{office.domain}", [office.rooms[0]], "2026-03-04T09:00:00", "2026-03-04T10:00:00"
        )
    finally:
        unsubscribe()


def _truth(seed: int, rooms: int = 10):
    w = World(seed)
    t = generator.generate(w, seed=seed, rooms=rooms, days_back=30, days_ahead=30, anchor="2026-02-01")
    return truth_json(
        t, datetime.fromisoformat("2026-01-01T00:00:00+00:00"), datetime.fromisoformat("2026-03-03T00:00:00+00:00")
    )


def test_generator_is_deterministic_per_seed():
    a, b, c = _truth(7), _truth(7), _truth(8)
    assert a == b
    assert a != c
    events = [e for r in a["rooms"].values() for e in r["events"]]
    assert len(events) > 200


def test_generated_world_is_realistic():
    w = World(3)
    t = generator.generate(w, seed=3, rooms=12, days_back=60, days_ahead=30, anchor="2026-02-01")
    caps = {p.email.lower(): p.capacity for p in t.places.values()}
    meetings = list(t.meetings.values())
    leads = [m.to_utc(m.start) - m.created for m in meetings]
    assert any(lead < timedelta(minutes=15) for lead in leads) and any(lead > timedelta(days=7) for lead in leads)
    assert any(m.recurrence for m in meetings) and any(m.cancelled for m in meetings)
    assert any(m.sensitivity == "private" for m in meetings) and any(m.online for m in meetings)
    for m in meetings:
        if not m.rooms():  # the shared mailbox labelled not_a_room is invited like a person
            invited = [a.email.lower() for a in m.attendees if a.email.lower() in t.labels]
            assert invited == [f"facilities-amstel@{t.domain}"]
            continue
        room = m.rooms()[0].email.lower()
        assert 1 <= len(m.attendees) - 1 <= caps[room] + 2
        assert m.created <= datetime.fromisoformat("2026-02-01T00:00:00+00:00")
    anchor = datetime.fromisoformat("2026-02-01T00:00:00+00:00")
    occupancy = [row for rows in t.occupancy.values() for row in rows]
    assert occupancy and all(s < e and s < anchor and n >= 1 for s, e, n in occupancy)
    # ad-hoc meet-ups: presence that overlaps no booking
    room = next(iter(sorted(t.occupancy)))
    copies = t.by_mailbox[room]
    from devtools.m365sim.calendar import instances

    booked = [(i.start, i.end) for c in copies for i in instances(c, anchor - timedelta(days=60), anchor)]
    unbooked = [(s, e) for s, e, _ in t.occupancy[room] if not any(s < be and bs < e for bs, be in booked)]
    no_shows = [b for b in booked if not any(s < b[1] and b[0] < e for s, e, _ in t.occupancy[room])]
    assert unbooked or no_shows


def test_generated_misconfigured_rooms_answer_as_documented(office, ctl):
    gen = ctl.generate(seed=5, rooms=12, days_back=14, days_ahead=14)
    office.tid = gen["tenant"]
    t = ctl.tenant(gen["tenant"])
    labels = {}
    truth = ctl.truth(gen["tenant"])
    for email in truth["rooms"]:
        labels[email] = office.sim.world.tenants[gen["tenant"]].labels.get(email, "ok")
    assert {e: lb for e, lb in labels.items() if lb != "ok"} == truth["misconfigured"]
    expect = {"ok": 200, "outside_scope": 403, "no_mailbox": 404, "not_exchange_enabled": 404, "not_a_room": 200}
    assert set(labels.values()) == set(expect)
    for email, label in labels.items():
        r = office.graph("GET", f"/users/{email}/calendarView?{WINDOW}")
        assert r.status_code == expect[label], (email, label, r.text)
    rooms = office.graph("GET", "/places/microsoft.graph.room").json()["value"]
    assert len(rooms) == 12 and all(2 <= r["capacity"] <= 20 for r in rooms)
    listed = {r["emailAddress"].lower() for r in rooms}
    assert {e for e, lb in labels.items() if lb == "not_a_room"}.isdisjoint(listed)  # /places: room mailboxes only
    admin = next(u for u in t["users"] if u["is_admin"])
    assert admin["app_roles"] == ["RoomCal.Admin"]
    assert any(room["events"] for room in truth["rooms"].values())


def test_generation_of_200_rooms_makes_a_year_of_bookings():
    """Its speed is a benchmark (benchmarks/generator.py), not a timed assertion."""
    t = generator.generate(World(1), seed=1, rooms=200, anchor="2026-01-15")
    assert len(t.places) == 200 and len(t.meetings) > 50_000


def test_listeners_run_outside_the_world_lock(office, ctl, sim):
    """A publisher may call back into the emulator (e.g. to read Graph) from its listener without deadlocking."""
    answers = []

    def call_back(record):
        answers.append(ctl.changes(record.stamp - 1)[0]["eventId"] == record.event_id)

    unsubscribe = sim.world.changes.add_listener(call_back)
    try:
        m = ctl.create_meeting(
            office.tid, f"ann@{office.domain}", [office.rooms[0]], "2026-03-05T09:00:00", "2026-03-05T10:00:00"
        )
        event_id = m["copies"][office.rooms[0]]
        office.graph("POST", f"/users/{office.rooms[0]}/events/{event_id}/decline", json={})
    finally:
        unsubscribe()
    assert answers and all(answers)
