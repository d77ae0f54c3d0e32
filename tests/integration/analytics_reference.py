"""An independent reference for every analytics figure, computed from the emulator's ground truth.

Deliberately naive and separate from shared.analytics: time is a set of whole UTC minutes, a day's available
time is the set of minutes between its office hours (built with zoneinfo wall-clock times), booked time is the
union of the minute sets of the events that count, intersected with it. Nothing here imports production code.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holidays_lib

BUCKETS = [("< 15 min", 15), ("15 min - 1 h", 60), ("1 h - 1 day", 1440), ("1 day - 1 week", 10080),
           (">= 1 week", None)]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "")[:26]).replace(tzinfo=UTC)


def minutes(start: datetime, end: datetime) -> set[int]:
    a, b = int(start.timestamp()) // 60, int(end.timestamp()) // 60
    return set(range(a, b))


class Tenant:
    def __init__(self, office_hours: dict, *, holiday_dates=(), country=None, adhoc_minutes=15):
        self.hours = {DAYS.index(d): (time.fromisoformat(h["start"]), time.fromisoformat(h["end"]))
                      for d, h in office_hours.items()}
        self.dates = {date.fromisoformat(d) for d in holiday_dates}
        self.country = holidays_lib.country_holidays(country, years=range(2024, 2030)) if country else {}
        self.adhoc = adhoc_minutes

    def available(self, day: date, zone: ZoneInfo) -> set[int]:
        if day.weekday() not in self.hours or day in self.dates or day in self.country:
            return set()
        start, end = self.hours[day.weekday()]
        return minutes(datetime.combine(day, start, tzinfo=zone), datetime.combine(day, end, tzinfo=zone))


WINDOWS = {"W. Europe Standard Time": "Europe/Berlin", "GMT Standard Time": "Europe/London",
           "Eastern Standard Time": "America/New_York", "UTC": "UTC"}


def all_day_dates(event: dict) -> list[date]:
    """An all-day booking's dates, read in its own time zone (midnight to midnight there)."""
    zone = ZoneInfo(WINDOWS.get(event["originalStartTimeZone"], event["originalStartTimeZone"]))
    first = parse(event["start"]["dateTime"]).astimezone(zone).date()
    last = parse(event["end"]["dateTime"]).astimezone(zone).date()
    return [first + timedelta(days=k) for k in range(max(1, (last - first).days))]


def start_date(event: dict, zone: ZoneInfo) -> date:
    return all_day_dates(event)[0] if event["isAllDay"] else parse(event["start"]["dateTime"]).astimezone(zone).date()


def counts(event: dict) -> bool:
    return not event["isCancelled"] and event["responseStatus"]["response"] != "declined"


def size(event: dict, room: str) -> int:
    people = {a["emailAddress"]["address"].lower() for a in event["attendees"] if a["type"] != "resource"}
    people.add(event["organizer"]["emailAddress"]["address"].lower())
    people.discard(room)
    return max(1, len(people))


def bucket(lead: timedelta) -> str:
    for name, limit in BUCKETS:
        if limit is None or lead < timedelta(minutes=limit):
            return name
    raise AssertionError


def room_figures(room: str, events: list[dict], zone: ZoneInfo, days: list[date], tenant: Tenant) -> dict:
    """Everything about one room over the given (covered) days."""
    counted = [e for e in events if counts(e)]
    spans = [(e, minutes(parse(e["start"]["dateTime"]), parse(e["end"]["dateTime"]))) for e in counted
             if not e["isAllDay"]]
    whole_days = {d for e in counted if e["isAllDay"] for d in all_day_dates(e)}
    available, booked = 0, 0
    hours_available, hours_booked = defaultdict(int), defaultdict(int)
    starting = []
    per_day = {}
    for day in days:
        avail = tenant.available(day, zone)
        taken = avail if day in whole_days else (set().union(*(m for _, m in spans)) & avail if spans else set())
        available, booked = available + len(avail), booked + len(taken)
        per_day[day] = (len(avail), len(taken))
        for m in avail:
            key = (day.weekday(), datetime.fromtimestamp(m * 60, zone).hour)
            hours_available[key] += 1
            hours_booked[key] += m in taken
        starting += [e for e in counted if start_date(e, zone) == day]
    sizes = sorted(size(e, room) for e in starting)
    leads = [parse(e["start"]["dateTime"]) - parse(e["createdDateTime"]) for e in starting]
    groups = defaultdict(lambda: [0, 0])
    for e in starting:
        if e["isAllDay"]:
            own_booked = sum(len(tenant.available(d, zone)) for d in all_day_dates(e))
        else:
            own = minutes(parse(e["start"]["dateTime"]), parse(e["end"]["dateTime"]))
            first = parse(e["start"]["dateTime"]).astimezone(zone).date()
            last = (parse(e["end"]["dateTime"]) - timedelta(microseconds=1)).astimezone(zone).date()
            within = set()
            d = first
            while d <= last:
                within |= tenant.available(d, zone)
                d += timedelta(days=1)
            own_booked = len(own & within)
        domain = e["organizer"]["emailAddress"]["address"].lower().split("@")[1]
        groups[domain][0] += 1
        groups[domain][1] += own_booked
    return {
        "available_minutes": available, "booked_minutes": booked,
        "booking_rate": booked / available if available else None,
        "meetings": len(starting), "ad_hoc_meetings": sum(lead < timedelta(minutes=tenant.adhoc) for lead in leads),
        "all_day_meetings": sum(bool(e["isAllDay"]) for e in starting),
        "distinct_organisers": len({e["organizer"]["emailAddress"]["address"].lower() for e in starting}),
        "median_meeting_size": statistics.median(sizes) if sizes else None,
        "sizes": sizes, "organisers": {e["organizer"]["emailAddress"]["address"].lower() for e in starting},
        "buckets": [sum(bucket(lead) == name for lead in leads) for name, _ in BUCKETS],
        "hours_available": hours_available, "hours_booked": hours_booked, "groups": groups, "per_day": per_day,
    }


def covered_days(window_start: datetime | None, window_end: datetime | None, zone: ZoneInfo, first: date,
                 last: date) -> list[date]:
    """Days of [first, last] wholly inside the synced window, in the room's zone."""
    if window_start is None:
        return []
    out, day = [], first
    while day <= last:
        lo = datetime.combine(day, time(), tzinfo=zone)
        hi = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
        if lo >= window_start and hi <= window_end:
            out.append(day)
        day += timedelta(days=1)
    return out
