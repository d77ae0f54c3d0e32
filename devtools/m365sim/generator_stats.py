"""The generator's analytics extras: offices whose booking statistics are realistic and known (issue 15).

On top of ``bookings`` (which gives every room a popularity, hence a booking-rate spread, about a fifth ad hoc,
sizes from 15 % to over capacity, all-day blocks and cancellations), this pass plants, with its own random
stream (so every other id and booking of a seed stays as it was):

* ``unbooked``: one room nobody books (its bookings and sensor timeline removed): listed, never dropped;
* ``overflowing``: the smallest room, where about half the meetings invite more people than it seats;
* ``declined``: about 3 % of single meetings declined by the room (the room's copy only, as Exchange does);
* ``overlaps``: double bookings that overlap an existing meeting by half (a delegate accepted a conflict);
* ``overnight``: a meeting from 17:00 to 09:00 the next morning (counts on its first day, booked both days);
* ``dst``: a block from 00:30 to 04:30 local on every daylight-saving change day of each zone in the window.

What was planted is recorded in ``tenant.analytics_profile`` and served with the control API's truth.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .calendar import Attendee, Meeting
from .organizer import add_copy


def plant(world, t, seed: int, room_tz: dict[str, str], anchor_dt: datetime, days_back: int, days_ahead: int) -> None:
    rng = random.Random(f"m365sim-analytics-{seed}")
    people = sorted((Attendee(u.upn, u.name) for u in t.users.values()), key=lambda a: a.email)
    rooms = [e for e in sorted(room_tz) if e in t.places and e not in t.labels]
    if len(rooms) < 3 or not people:
        return
    first = (anchor_dt - timedelta(days=days_back)).date()
    last = (anchor_dt + timedelta(days=days_ahead)).date()
    profile: dict = {"declined": 0, "overlaps": 0, "overnight": 0, "dst": []}
    unbooked = rooms[-1]
    _clear(t, unbooked)
    profile["unbooked"] = unbooked
    overflowing = min(rooms[:-1], key=lambda e: (t.places[e].capacity or 99, e))
    profile["overflowing"] = overflowing
    for copy in t.by_mailbox.get(overflowing, []):
        m = copy.meeting
        if not m.is_all_day and rng.random() < 0.5:
            # more people than seats, within what bookings.py allows (at most capacity + 2 invited)
            extra = rng.sample(people, min(len(people), (t.places[overflowing].capacity or 2) + rng.randint(0, 1)))
            room_att = [a for a in m.attendees if a.type == "resource"]
            invited = {a.email.lower(): a for a in [m.organizer, *extra]}
            m.attendees = (*invited.values(), *room_att)
    for email in rooms[:-1]:
        zone, place = ZoneInfo(room_tz[email]), t.places[email]
        room_att = Attendee(place.email, place.name, "resource")
        singles = [c for c in t.by_mailbox.get(email, []) if c.meeting.recurrence is None and not c.meeting.is_all_day]
        for copy in singles:
            if rng.random() < 0.03:
                copy.own_declines()["*"] = (world.next_stamp(), copy.meeting.created + timedelta(minutes=2))
                profile["declined"] += 1
        for copy in rng.sample(singles, min(2, len(singles))):
            m = copy.meeting
            start = m.start + (m.end - m.start) / 2
            _book(world, t, email, room_tz[email], start, start + timedelta(hours=1), rng, people, room_att, anchor_dt)
            profile["overlaps"] += 1
        blocked = _all_day_dates(t, email)  # all-day blocks stay exclusive (the room is closed then)
        workdays = [first + timedelta(days=k) for k in range((last - first).days) if
                    (first + timedelta(days=k)).weekday() < 4 and not {first + timedelta(days=k),
                                                                       first + timedelta(days=k + 1)} & blocked]
        if workdays:
            day = workdays[rng.randrange(len(workdays))]
            start = datetime.combine(day, time(17))
            _book(world, t, email, room_tz[email], start, start + timedelta(hours=16), rng, people, room_att,
                  anchor_dt)
            profile["overnight"] += 1
        del zone
    for tz in sorted({room_tz[e] for e in rooms[:-1]}):
        email = next(e for e in rooms[:-1] if room_tz[e] == tz)
        place = t.places[email]
        for day in sorted(set(_dst_days(ZoneInfo(tz), first, last)) - _all_day_dates(t, email)):
            start = datetime.combine(day, time(0, 30))
            _book(world, t, email, tz, start, datetime.combine(day, time(4, 30)), rng, people,
                  Attendee(place.email, place.name, "resource"), anchor_dt)
            profile["dst"].append({"room": email, "day": day.isoformat(), "time_zone": tz})
    t.analytics_profile = profile


def _all_day_dates(t, email: str) -> set[date]:
    out = set()
    for copy in t.by_mailbox.get(email, []):
        m = copy.meeting
        if m.is_all_day:
            out |= {m.start.date() + timedelta(days=k) for k in range((m.end - m.start).days)}
    return out


def _clear(t, email: str) -> None:
    for copy in list(t.by_mailbox.get(email, [])):
        t.copies.pop(copy.raw, None)
        t.meetings.pop(copy.meeting.id, None)
    t.by_mailbox[email] = []
    t.occupancy.pop(email, None)


def _dst_days(zone: ZoneInfo, first: date, last: date) -> list[date]:
    out, day = [], first
    while day < last:
        a = datetime.combine(day, time(), tzinfo=zone).utcoffset()
        b = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).utcoffset()
        if a != b:
            out.append(day)
        day += timedelta(days=1)
    return out


def _book(world, t, email, tz, start_local, end_local, rng, people, room_att, anchor_dt) -> None:
    seats = t.places[email].capacity or 2
    group = rng.sample(people, min(len(people), rng.randint(2, min(5, seats + 2))))
    start_utc = start_local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
    created = min(start_utc - timedelta(hours=rng.randint(1, 200)), anchor_dt - timedelta(minutes=5))
    m = Meeting(id=_guid(rng), tenant_id=t.id, organizer=group[0], attendees=(*group, room_att), start=start_local,
                end=end_local, tz=tz, created=created, modified=created, stamp=world.next_stamp())
    t.meetings[m.id] = m
    add_copy(world, t, m, email)


def _guid(rng: random.Random) -> str:
    import uuid

    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
