"""The generator's bookings and sensor timelines for one office (see ``generator`` for the overall picture).

Per room: a popularity; a few all-day blocks first (an offsite or maintenance: ``isAllDay``, midnight to midnight in
the room's time zone, one day or two, no presence); weekly series next (with removed, moved and cancelled
occurrences), then singles in free half-hour slots between 08:00 and 18:00 room time; about a fifth ad hoc (created
under 15 minutes before start), the rest planned hours to weeks ahead. Sensors cover past days only: attended
meetings give presence, about 15% are no-shows (no presence), and ad-hoc meet-ups give presence without any booking.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .calendar import Attendee, Meeting, Override
from .organizer import add_copy

DURATIONS = [30, 30, 30, 45, 60, 60, 60, 90, 120]


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _lead(rng: random.Random) -> timedelta:
    if rng.random() < 0.2:
        return timedelta(minutes=rng.uniform(0, 14.5))
    return timedelta(hours=min(24 * 42, rng.lognormvariate(3.0, 1.3)))


def book_office(world, t, rng, people, room_tz, anchor_dt, days_back, days_ahead) -> None:
    first_day, last_day = (
        (anchor_dt - timedelta(days=days_back)).date(),
        (anchor_dt + timedelta(days=days_ahead)).date(),
    )
    days = [first_day + timedelta(days=k) for k in range((last_day - first_day).days + 1)]
    workdays = [d for d in days if d.weekday() < 5]
    for email in sorted(room_tz):
        _room_bookings(world, t, rng, people, email, room_tz[email], anchor_dt, workdays)


def _room_bookings(world, t, rng, people, email, tz_name, anchor_dt, workdays) -> None:
    place, zone = t.places.get(email), ZoneInfo(tz_name)
    if place is not None:
        room_att, capacity = Attendee(place.email, place.name, "resource"), place.capacity or 4
    else:  # a mailbox that is not a room (generator's ``not_a_room``): it is invited like a person
        mbx = t.mailboxes[email]
        room_att, capacity = Attendee(mbx.email, mbx.name, "required"), 4
    popularity = rng.uniform(0.1, 0.75)
    busy: dict[date, list[tuple[int, int]]] = {}
    presence: list[tuple[datetime, datetime, int]] = []

    def book(day: date, start_min: int, dur: int) -> bool:
        slots = busy.setdefault(day, [])
        if any(s < start_min + dur and start_min < e for s, e in slots):
            return False
        slots.append((start_min, start_min + dur))
        return True

    def attendees(cap: int) -> list[Attendee]:
        size = max(1, min(cap + 2, round(cap * rng.uniform(0.15, 1.0))))
        picks = rng.sample(range(len(people)), min(size, len(people)))
        return [people[i] for i in picks]

    def add(start_local: datetime, dur: int, recurrence=None, n_occ: int = 1):
        group = attendees(capacity)
        org = group[0]
        start_utc = start_local.replace(tzinfo=zone).astimezone(UTC)
        created = min(start_utc - _lead(rng), anchor_dt - timedelta(minutes=rng.randint(1, 600)))
        online = rng.random() < 0.4
        # a bulk import: build the meeting directly (no parsing, no change records) and give the room its copy
        m = Meeting(
            id=_guid(world.ids),
            tenant_id=t.id,
            organizer=org,
            attendees=(*group, room_att),  # a tuple: smaller than a list, never mutated
            start=start_local,
            end=start_local + timedelta(minutes=dur),
            tz=tz_name,
            created=created,
            modified=created,
            stamp=world.next_stamp(),
            recurrence=recurrence,
            sensitivity="private" if rng.random() < 0.08 else "normal",
            online=online,
            online_provider="skypeForBusiness" if online and rng.random() < 0.1 else "teamsForBusiness",
        )
        t.meetings[m.id] = m
        add_copy(world, t, m, email)
        if recurrence is None and rng.random() < 0.05:
            m.cancelled = True
        return m, len(group)

    # all-day blocks (rooms only): about one every eight working weeks, some over two days
    for _ in range(rng.randint(0, len(workdays) // 40) if place is not None else 0):
        i = rng.randrange(len(workdays))
        days = workdays[i : i + (2 if rng.random() < 0.2 else 1)]
        days = [d for d in days if d - days[0] < timedelta(days=len(days))]  # consecutive only
        if any(not book(d, 0, 24 * 60) for d in days):
            continue
        start_local = datetime.combine(days[0], time())
        created = min(
            start_local.replace(tzinfo=zone).astimezone(UTC) - timedelta(days=rng.randint(2, 45)),
            anchor_dt - timedelta(minutes=rng.randint(1, 600)),
        )
        org = people[rng.randrange(len(people))]
        m = Meeting(
            id=_guid(world.ids),
            tenant_id=t.id,
            organizer=org,
            attendees=(org, room_att),
            start=start_local,
            end=start_local + timedelta(days=len(days)),
            tz=tz_name,
            created=created,
            modified=created,
            stamp=world.next_stamp(),
            is_all_day=True,
        )
        t.meetings[m.id] = m
        add_copy(world, t, m, email)
    # weekly series: a few per room, 8-26 occurrences each
    for _ in range(int(popularity * 4)):
        d0 = workdays[rng.randrange(len(workdays))]
        start_min, dur, count = (
            rng.randrange(16, 34) * 30,
            DURATIONS[rng.randrange(len(DURATIONS))],
            rng.randint(8, 26),
        )
        dates = [d0 + timedelta(weeks=k) for k in range(count)]
        if any(not book(d, start_min, dur) for d in dates):
            continue
        recurrence = {
            "pattern": {
                "type": "weekly",
                "interval": 1,
                "daysOfWeek": [d0.strftime("%A").lower()],
                "firstDayOfWeek": "sunday",
            },
            "range": {
                "type": "numbered",
                "startDate": d0.isoformat(),
                "numberOfOccurrences": count,
                "recurrenceTimeZone": tz_name,
            },
        }
        start_local = datetime.combine(d0, time()) + timedelta(minutes=start_min)
        m, size = add(start_local, dur, recurrence)
        for d in dates:
            key = d.isoformat()
            r = rng.random()
            if r < 0.04:
                m.own_overrides()[key] = Override(removed=True, cancelled=True, stamp=m.stamp, modified=m.created)
            elif r < 0.07:
                moved = datetime.combine(d, time()) + timedelta(minutes=start_min + 30)
                m.own_overrides()[key] = Override(
                    start=moved, end=moved + timedelta(minutes=dur), stamp=m.stamp, modified=m.created
                )
            elif r < 0.09:
                m.own_overrides()[key] = Override(cancelled=True, stamp=m.stamp, modified=m.created)
            else:
                _presence(
                    rng,
                    presence,
                    datetime.combine(d, time()) + timedelta(minutes=start_min),
                    dur,
                    size,
                    zone,
                    anchor_dt,
                )
    # singles in free slots
    for d in workdays:
        minute = 8 * 60
        while minute < 18 * 60 - 30:
            if rng.random() < popularity * 0.35:
                dur = DURATIONS[rng.randrange(len(DURATIONS))]
                if minute + dur <= 18 * 60 and book(d, minute, dur):
                    start_local = datetime.combine(d, time()) + timedelta(minutes=minute)
                    m, size = add(start_local, dur)
                    if not m.cancelled:
                        _presence(rng, presence, start_local, dur, size, zone, anchor_dt)
                    minute += dur
                    continue
            elif rng.random() < 0.03:  # an ad-hoc meet-up: people, no booking
                dur = rng.choice([15, 20, 30, 45])
                if book(d, minute, dur):
                    s = (datetime.combine(d, time()) + timedelta(minutes=minute)).replace(tzinfo=zone).astimezone(UTC)
                    if s < anchor_dt:
                        presence.append((s, s + timedelta(minutes=dur), rng.randint(1, 4)))
            minute += 30
    t.occupancy[email] = sorted(presence)


def _presence(rng, out, start_local: datetime, dur: int, size: int, zone, anchor_dt) -> None:
    """Attended (about 85%): presence from a few minutes after start to near the end. Else a no-show."""
    s = start_local.replace(tzinfo=zone).astimezone(UTC)
    if s >= anchor_dt or rng.random() < 0.15:
        return
    begin = s + timedelta(minutes=rng.randint(0, 8))
    end = s + timedelta(minutes=max(10, dur - rng.randint(0, 10)))
    people = max(1, round(size * rng.uniform(0.5, 1.0)))
    begin, end = arrival(s, dur, begin, end)
    out.append((begin, end, people))


def arrival(start: datetime, dur: int, begin: datetime, end: datetime) -> tuple[datetime, datetime]:
    """Some attendees come late (after a 10-minute grace period) or leave early. A generator of its own, keyed by
    the meeting's start and length, so the office's bookings (drawn from the main generator) stay as they were."""
    r = random.Random(f"m365sim-arrival-{start.isoformat()}-{dur}")
    if r.random() < 0.08 and dur >= 30:
        begin = start + timedelta(minutes=r.randint(11, min(25, dur - 5)))
    if r.random() < 0.1:
        end = begin + timedelta(minutes=(end - begin) // timedelta(minutes=2))
    return begin, max(end, begin + timedelta(minutes=5))
