"""Occupancy sensors of a generated office: which rooms have one, when a sensor was silent, and ghost series.

The presence truth itself (``Tenant.occupancy``: what happened in each room, whether or not a sensor saw it) is
drawn with the bookings (``bookings._presence``: attended meetings, late arrivals and early leavers, no-shows,
ad-hoc meet-ups). This module adds what a sensor platform knows on top of it, from a generator of its own so the
bookings stay as they were:

- ``Tenant.sensors``: room e-mail → sensor id, for about three rooms in four (rooms, not misconfigured ones);
- ``Tenant.sensor_outages``: periods a sensor reported nothing (battery, gateway down): about one sensor in five
  has one, from a few hours to three days, in the past;
- ghost series: a few weekly series (at least one per office, when a series is long enough) whose people
  stopped coming: from some occurrence on, no presence at all.

What a platform reports is the presence truth of a room with a sensor, outside its outages
(``devtools/sensorsim`` turns that into samples or intervals).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from .calendar import instances

SENSOR_SHARE = 0.75
OUTAGE_SHARE = 0.2
GHOST_SHARE = 0.15


def equip(t, seed: int, first: datetime, anchor: datetime) -> None:
    """Give the office's rooms sensors; ``first``..``anchor`` is the past the presence truth covers."""
    rng = random.Random(f"m365sim-sensors-{seed}")
    rooms = sorted(e for e in t.occupancy if e in t.places and e in t.mailboxes and e not in t.labels)
    for i, email in enumerate(rooms):
        if rng.random() >= SENSOR_SHARE:
            continue
        t.sensors[email] = f"sn-{rng.getrandbits(32):08x}-{i:03d}"
        if rng.random() < OUTAGE_SHARE and anchor - first > timedelta(days=4):
            span = (anchor - first) // timedelta(hours=1)
            start = first + timedelta(hours=rng.randrange(24, span - 24))
            length = timedelta(hours=rng.choice([3, 6, 20, 30, 50, 72]))
            t.sensor_outages[email] = [(start, min(start + length, anchor))]
    series = []
    for email in sorted(t.sensors):
        for copy in t.by_mailbox.get(email, []):
            if copy.meeting.recurrence is not None:
                past = [i for i in instances(copy, first, anchor) if i.end <= anchor and not i.cancelled]
                if len(past) >= 4:
                    series.append((email, past))
    if series:  # at least one ghost per office that has a series long enough to show it
        for email, past in rng.sample(series, max(1, round(len(series) * GHOST_SHARE))):
            _ghost(t, email, past, rng)


def _ghost(t, email: str, past: list, rng: random.Random) -> None:
    """From some occurrence on (at least the last three), nobody comes to this series any more."""
    since = past[rng.randrange(0, len(past) - 3)].start
    gone = [(i.start, i.end) for i in past if i.start >= since]
    t.occupancy[email] = [
        (s, e, n) for s, e, n in t.occupancy[email] if not any(s < ge and gs < e for gs, ge in gone)
    ]


def outages_json(rows) -> list[dict]:
    return [{"start": _z(s), "end": _z(e)} for s, e in rows]


def _z(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")
