"""Table ``Occupancy``: one row per room and UTC day with what its sensor reported (``timeline.RoomDay``).

PartitionKey ``keys.room_partition(tenant, room)`` (the same as the room's Events), RowKey the UTC day
``YYYY-MM-DD``; ``minutes`` holds the zlib-packed arrays (a few hundred bytes), ``last_report`` the latest
reported moment, ``reports`` how many rows were folded in. One row per room-day instead of one per sample
(DESIGN.md's first sketch): a month of a room is 31 point reads however often the sensor reports, and the
max-merge makes a re-sent batch a no-op. Writes are optimistic (etag); a concurrent writer means reload and merge.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from shared import keys
from shared.errors import Conflict, NotFound
from shared.occupancy.timeline import RoomDay

TABLE = "Occupancy"
_ATTEMPTS = 8


class OccupancyStore:
    def __init__(self, tables) -> None:
        self._tables = tables

    def load(self, tenant: str, room: str, first: date, last: date) -> dict[date, RoomDay]:
        """The stored days of [first, last] (inclusive) of one room."""
        pk = keys.room_partition(tenant, room)
        flt = f"RowKey ge '{first.isoformat()}' and RowKey le '{last.isoformat()}'"
        out = {}
        for row in self._tables.query(TABLE, pk, filter=flt):
            day = date.fromisoformat(row["RowKey"])
            out[day] = _from_row(day, row)
        return out

    def merge_days(self, tenant: str, room: str, incoming: Iterable[RoomDay]) -> list[date]:
        """Fold reports into the stored days; returns the days whose stored state changed."""
        changed = []
        for rd in incoming:
            if self._merge_one(tenant, room, rd):
                changed.append(rd.day)
        return changed

    def _merge_one(self, tenant: str, room: str, rd: RoomDay) -> bool:
        pk, rk = keys.room_partition(tenant, room), rd.day.isoformat()
        for _ in range(_ATTEMPTS):
            try:
                row = self._tables.get(TABLE, pk, rk)
            except NotFound:
                try:
                    self._tables.insert(TABLE, _to_row(pk, rd, reports=1))
                    return True
                except Conflict:
                    continue
            stored = _from_row(rd.day, row)
            changed = stored.merge(rd)
            if not changed and stored.last_report == _stamp_of(row):
                return False
            try:
                self._tables.merge(TABLE, _to_row(pk, stored, reports=int(row.get("reports", 0)) + 1),
                                   etag=row.get("_etag"))
                return changed
            except (Conflict, NotFound):
                continue
        raise Conflict(f"occupancy of {room} on {rk} kept changing under this write; send the batch again")

    def last_report(self, tenant: str, room: str, *, since: date) -> datetime | None:
        pk = keys.room_partition(tenant, room)
        latest = None
        for row in self._tables.query(TABLE, pk, filter=f"RowKey ge '{since.isoformat()}'",
                                      select=["RowKey", "last_report"]):
            at = _stamp_of(row)
            if at and (latest is None or at > latest):
                latest = at
        return latest

    def delete_before(self, tenant: str, room: str, before: date) -> int:
        pk = keys.room_partition(tenant, room)
        rows = list(self._tables.query(TABLE, pk, filter=f"RowKey lt '{before.isoformat()}'", select=["RowKey"]))
        for row in rows:
            self._tables.delete(TABLE, pk, row["RowKey"])
        return len(rows)


def _to_row(pk: str, rd: RoomDay, *, reports: int) -> dict:
    row = {"PartitionKey": pk, "RowKey": rd.day.isoformat(), "minutes": rd.pack(), "reports": reports}
    if rd.last_report is not None:
        row["last_report"] = rd.last_report
    return row


def _from_row(day: date, row: dict) -> RoomDay:
    return RoomDay.unpack(day, bytes(row["minutes"]), _stamp_of(row))


def _stamp_of(row: dict) -> datetime | None:
    value = row.get("last_report")
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]
