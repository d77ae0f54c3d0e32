"""The stored per-room, per-day sensor figures (``OccupancyMonthly``), so a report reads one row per room and month
instead of recomputing it from Events and Occupancy rows.

OccupancyMonthly: PartitionKey ``<tenant>|<YYYY-MM>`` (room-local month), RowKey the room; ``days`` = zlib JSON of
one dict of figures per local day, ``digest`` of what the figures depend on besides the data (grace and meet-up
minutes, office hours and holidays, the room's zone, the sample hold), ``computed_at`` = when the computation
started. OccupancyDirty: PartitionKey tenant, RowKey ``<room>|<YYYY-MM>`` (or ``<room>|*`` for every month),
``marked_at``. The ingest marks the months its rows touched, the sync marks a room whose Events changed, the
release marks the month of a released meeting. A stored month is used only when its digest matches and it was
computed after the room's latest marks; otherwise it is recomputed and stored. Starting the clock before reading
means a change that lands during a computation marks the month again, so it is never missed.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable, Iterable
from datetime import date, timedelta

from shared.analytics.aggregation import month_days as month_bounds
from shared.analytics.aggregation import month_of, months_between
from shared.messages import parse_stamp, stamp

TABLE, MARKS = "OccupancyMonthly", "OccupancyDirty"
ALL = "*"


def digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


class MonthlyFigures:
    def __init__(self, tables, clock) -> None:
        self._tables, self._clock = tables, clock

    def mark(self, tenant: str, room: str, months: Iterable[str] | None = None) -> None:
        """Note that the room's figures of those months (None: every month) must be recomputed."""
        at = stamp(self._clock.now())
        for month in sorted(set(months)) if months is not None else [ALL]:
            self._tables.upsert(MARKS, {"PartitionKey": tenant, "RowKey": f"{room}|{month}", "marked_at": at})

    def mark_utc_days(self, tenant: str, room: str, days: Iterable[date]) -> None:
        """A UTC day can be part of the local day before or after it: mark the months of all three."""
        months = {month_of(d + timedelta(days=k)) for d in days for k in (-1, 0, 1)}
        self.mark(tenant, room, months)

    def days(self, tenant: str, rooms: list[str], first: date, last: date, *,
             digest_of: Callable[[str], str], compute: Callable[[str, date, date], list[dict]]) -> dict[str, list]:
        """Per room, the figures of each local day of [first, last], from stored months where still valid."""
        months = months_between(first, last)
        marks = {row["RowKey"]: parse_stamp(row.get("marked_at"))
                 for row in self._tables.query(MARKS, tenant, select=["RowKey", "marked_at"])}
        wanted = set(rooms)
        stored: dict[tuple[str, str], dict] = {}
        for month in months:
            for row in self._tables.query(TABLE, f"{tenant}|{month}"):
                if row["RowKey"] in wanted:
                    stored[(row["RowKey"], month)] = row
        out: dict[str, list] = {room: [] for room in rooms}
        for room in rooms:
            expected = digest_of(room)
            for month in months:
                row = stored.get((room, month))
                figures = self._valid(row, expected, marks, room, month)
                if figures is None:
                    started = self._clock.now()
                    lo, hi = month_bounds(month)
                    figures = compute(room, lo, hi)
                    self._tables.upsert(TABLE, {
                        "PartitionKey": f"{tenant}|{month}", "RowKey": room, "digest": expected,
                        "computed_at": stamp(started),
                        "days": zlib.compress(json.dumps(figures, separators=(",", ":")).encode(), 6)})
                out[room] += [f for f in figures if first.isoformat() <= f["day"] <= last.isoformat()]
        return out

    @staticmethod
    def _valid(row: dict | None, expected: str, marks: dict, room: str, month: str) -> list[dict] | None:
        if row is None or row.get("digest") != expected:
            return None
        computed = parse_stamp(row.get("computed_at"))
        for key in (f"{room}|{month}", f"{room}|{ALL}"):
            marked = marks.get(key)
            if marked is not None and (computed is None or marked >= computed):
                return None
        return json.loads(zlib.decompress(bytes(row["days"])))
