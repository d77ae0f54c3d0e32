"""RoomDay aggregates as a columnar frame (polars): what both storage layouts hold and the queries read.

Keys: ``room`` (lower-case e-mail) and ``day`` (room-local date). A sibling dataset (sensors, issue 11) uses the
same two key columns, so queries join on them.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from shared.analytics.definitions import LEAD_BUCKETS
from shared.analytics.room_day import Group, RoomDay

N_BUCKETS = len(LEAD_BUCKETS)
GROUP = pl.Struct({"domain": pl.String, "department": pl.String, "meetings": pl.Int32, "booked_seconds": pl.Int64})
SCHEMA: dict[str, pl.DataType] = {
    "room": pl.String,
    "day": pl.Date,
    "available_seconds": pl.Int32,
    "booked_seconds": pl.Int32,
    "meetings": pl.Int32,
    "ad_hoc_meetings": pl.Int32,
    "all_day_meetings": pl.Int32,
    "lead_buckets": pl.List(pl.Int32),
    "sizes": pl.List(pl.Int32),
    "organisers": pl.List(pl.UInt64),  # 64-bit keyed hashes: counted distinct faster than text
    "hour_available": pl.List(pl.Int32),
    "hour_booked": pl.List(pl.Int32),
    "groups": pl.List(GROUP),
}
KEYS = ("room", "day")
# dataset -> schema; a sibling dataset (occupancy, issue 11) registers its own with register() and keeps the
# KEYS columns; an unregistered dataset is stored and read back as given
SCHEMAS: dict[str, dict[str, pl.DataType]] = {"bookings": SCHEMA}


def register(dataset: str, schema: dict[str, pl.DataType]) -> None:
    if not all(k in schema for k in KEYS):
        raise ValueError(f"a dataset's schema must have the key columns {KEYS}")
    SCHEMAS[dataset] = schema


def empty(columns=None, dataset: str = "bookings") -> pl.DataFrame:
    schema = SCHEMAS.get(dataset)
    if schema is None:
        return pl.DataFrame(schema={k: pl.Null for k in columns} if columns else {k: pl.Null for k in KEYS})
    return pl.DataFrame(schema={k: schema[k] for k in columns} if columns else schema)


def to_frame(days: Iterable[RoomDay]) -> pl.DataFrame:
    rows = [{
        "room": x.room, "day": x.day, "available_seconds": x.available_seconds, "booked_seconds": x.booked_seconds,
        "meetings": x.meetings, "ad_hoc_meetings": x.ad_hoc_meetings, "all_day_meetings": x.all_day_meetings,
        "lead_buckets": list(x.lead_buckets), "sizes": list(x.sizes), "organisers": list(x.organisers),
        "hour_available": list(x.hour_available), "hour_booked": list(x.hour_booked),
        "groups": [{"domain": g.domain, "department": g.department, "meetings": g.meetings,
                    "booked_seconds": g.booked_seconds} for g in x.groups],
    } for x in days]
    return sort(pl.DataFrame(rows, schema=SCHEMA) if rows else empty())


def from_frame(frame: pl.DataFrame) -> list[RoomDay]:
    return [RoomDay(
        room=r["room"], day=r["day"], available_seconds=r["available_seconds"], booked_seconds=r["booked_seconds"],
        meetings=r["meetings"], ad_hoc_meetings=r["ad_hoc_meetings"], all_day_meetings=r["all_day_meetings"],
        lead_buckets=tuple(r["lead_buckets"]), sizes=tuple(r["sizes"]), organisers=tuple(r["organisers"]),
        hour_available=tuple(r["hour_available"]), hour_booked=tuple(r["hour_booked"]),
        groups=tuple(Group(**g) for g in r["groups"]),
    ) for r in frame.iter_rows(named=True)]


def sort(frame: pl.DataFrame) -> pl.DataFrame:
    """One canonical row order, so a rebuild and an incremental update store identical bytes."""
    return frame.sort(list(KEYS))


def conform(frame: pl.DataFrame, columns=None, dataset: str = "bookings") -> pl.DataFrame:
    """``frame`` with exactly the dataset's columns (or ``columns``) and types (what a store read may have
    loosened); an unregistered dataset's frame as it is (only ``columns`` when given)."""
    schema = SCHEMAS.get(dataset)
    if schema is None:
        return frame.select(list(columns)) if columns else frame
    return frame.select([pl.col(name).cast(schema[name]) for name in (columns or schema)])
