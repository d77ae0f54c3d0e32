"""The analytics tables over a date range and filters: per room, the summary, and each summary table alone.

Every figure is computed over the room-days that are **covered** (the room's Events were complete then, see
aggregation._coverage); ``coverage`` says how much of the range that is, so a gap is never a silent zero. A
room with no covered day reports ``null`` figures. Days are each room's local calendar days.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from shared.analytics import findings as rules
from shared.analytics import zones
from shared.analytics.aggregation import ROOMS, STATE, TENANTS, months_between
from shared.analytics.definitions import LEAD_BUCKET_NAMES
from shared.analytics.room_day import DATASET
from shared.analytics.store import AggregateStore
from shared.errors import InvalidInput
from shared.messages import parse_stamp
from shared.models import WEEKDAYS, Room, Tenant
from shared.ports import Clock, TableStore

DEFINITIONS_URL = "docs/analytics.md"  # in the deployed repository; the same text is served as "definitions"
TABLES = ("rooms", "heatmap", "lead-times", "sizes", "groups", "findings", "series")
ROOM_COLUMNS = ("room", "name", "building", "floor", "capacity", "time_zone", "time_zone_source", "time_zone_problem",
                "available_minutes", "booked_minutes", "booking_rate", "meetings", "ad_hoc_meetings",
                "planned_meetings", "all_day_meetings", "distinct_organisers", "median_meeting_size", "coverage")
DEFINITIONS = {
    "available_minutes": "office hours of each room-local day in the room's time zone (true length on daylight-"
                         "saving days), minus tenant holidays; only days the room was synced (coverage)",
    "booked_minutes": "union of bookings not cancelled and not declined by the room, clipped to available time; "
                      "overlaps count once; all-day bookings cover the whole available day",
    "booking_rate": "booked_minutes / available_minutes",
    "meetings": "bookings counted once, on the room-local day they start",
    "ad_hoc_meetings": "meetings whose lead time (start - created) is below the tenant's ad-hoc threshold",
    "planned_meetings": "meetings - ad_hoc_meetings",
    "distinct_organisers": "distinct organisers of those meetings",
    "median_meeting_size": "median of distinct people invited (organiser plus attendees that are not rooms)",
    "coverage": "share of the range's days on which the room's calendar was synced",
    "heatmap": "booked / available seconds per room-local weekday and wall-clock hour",
    "lead_times": "meetings per lead-time bucket: " + ", ".join(LEAD_BUCKET_NAMES),
    "groups": "meetings and their booked minutes per organiser e-mail domain (and department when directory "
              "reads are on); never an address",
    "findings": rules.RULES,
}


class AnalyticsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    building: str | None = None
    floor: str | None = None
    room: str | None = None
    format: Literal["json", "csv", "xlsx"] = "json"
    granularity: Literal["day", "week"] | None = None
    top: int = Field(default=5, ge=1, le=100)


@dataclass(frozen=True)
class Range:
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def parse_range(query: AnalyticsQuery, tenant: Tenant, now: datetime, *, max_days: int) -> Range:
    """The inclusive day range, or InvalidInput saying what is wrong and how to fix it."""
    parsed = {}
    for name, value in (("from", query.from_), ("to", query.to)):
        try:
            parsed[name] = date.fromisoformat(value)
            if len(value) != 10:
                raise ValueError
        except ValueError:
            raise InvalidInput(f"'{name}' must be a date as YYYY-MM-DD, got {value[:40]!r}",
                               fix=f"send {name}=2026-01-31 (both from and to are inclusive local days)",
                               detail={name: "malformed date"}) from None
    first, last = parsed["from"], parsed["to"]
    if last < first:
        raise InvalidInput(f"'to' ({last}) is before 'from' ({first})",
                           fix=f"swap them: from={last}&to={first}", detail={"from": str(first), "to": str(last)})
    days = (last - first).days + 1
    if days > max_days:
        raise InvalidInput(f"the range has {days} days; one request may cover at most {max_days}",
                           fix=f"ask for at most {max_days} days, e.g. from={first}"
                               f"&to={first + timedelta(max_days - 1)}",
                           detail={"days": days, "max_days": max_days})
    today = now.astimezone(ZoneInfo(tenant.settings.time_zone)).date()
    oldest = today - timedelta(days=tenant.settings.retention_days)
    if first < oldest:
        raise InvalidInput(f"'from' ({first}) is before the tenant's retention ({tenant.settings.retention_days} "
                           f"days: nothing older than {oldest} is kept)", fix=f"use from={oldest} or later",
                           detail={"oldest": str(oldest)})
    newest = today + timedelta(days=tenant.settings.lookahead_days)
    if last > newest:
        raise InvalidInput(f"'to' ({last}) is after the synced lookahead ({tenant.settings.lookahead_days} days: "
                           f"nothing after {newest} is synced)", fix=f"use to={newest} or earlier",
                           detail={"newest": str(newest)})
    return Range(first, last)


class Analytics:
    def __init__(self, tables: TableStore, store: AggregateStore, clock: Clock, *, max_days: int = 400) -> None:
        self._tables, self._store, self._clock, self._max_days = tables, store, clock, max_days

    # ------------------------------------------------------------------ inputs
    def _load(self, tenant_id: str, query: AnalyticsQuery, columns: tuple[str, ...] | None = None):
        tenant = Tenant.from_entity(self._tables.get(TENANTS, "tenant", tenant_id))
        span = parse_range(query, tenant, self._clock.now(), max_days=self._max_days)
        with ThreadPoolExecutor(3) as pool:  # three independent reads: the registry, analytics state, aggregates
            registry = pool.submit(self._rooms, tenant_id)
            state_rows = pool.submit(lambda: list(self._tables.query(STATE, tenant_id, select=_STATE_FIELDS)))
            aggregates = pool.submit(self._store.read, tenant_id, DATASET, months_between(span.first, span.last),
                                     columns)
            rooms = [r for r in registry.result() if _matches(r, query)]
            states = {e["RowKey"]: e for e in state_rows.result()}
            frame = aggregates.result()
        directory = [self._directory_entry(r, states.get(r.email, {}), tenant, span) for r in rooms]
        return tenant, span, directory, _covered_only(frame, directory)

    def _rooms(self, tenant_id: str) -> list[Room]:
        out = []
        for entity in self._tables.query(ROOMS, tenant_id, select=_ROOM_FIELDS):
            with contextlib.suppress(ValueError, TypeError):
                out.append(_light_room(entity))
        return sorted(out, key=lambda r: r.email)

    def _directory_entry(self, room: Room, state: dict, tenant: Tenant, span: Range) -> dict:
        zone_name, source = state.get("time_zone"), state.get("time_zone_source")
        if not zone_name:
            zone_name, source = zones.resolve(room, None, tenant.settings)
        covered = _covered_days(state, zone_name, span)
        days = 0 if covered[0] > covered[1] else (covered[1] - covered[0]).days + 1
        return {"room": room.email, "name": room.display_name, "building": room.building, "floor": room.floor,
                "capacity": room.capacity, "time_zone": zone_name, "time_zone_source": source,
                "time_zone_problem": _zone_problem(state, source),
                "coverage": {"share": round(days / span.days, 4), "covered_days": days, "days": span.days,
                             "covered_from": str(covered[0]) if days else None,
                             "covered_to": str(covered[1]) if days else None,
                             "sync_status": room.sync_status, "sync_reason": room.sync_reason or None,
                             "last_sync_at": room.last_sync_at.isoformat() if room.last_sync_at else None},
                "_covered": covered}

    # ------------------------------------------------------------------ tables
    def rooms(self, tenant_id: str, query: AnalyticsQuery) -> dict:
        _, span, directory, frame = self._load(tenant_id, query, ROOM_FRAME_COLUMNS)
        return {**self._head(span, query), "rooms": [_public(r) for r in _room_rows(directory, frame)]}

    def summary(self, tenant_id: str, query: AnalyticsQuery) -> dict:
        _, span, directory, frame = self._load(tenant_id, query)
        rows = _room_rows(directory, frame)
        sizes = _sizes_long(frame)
        return {**self._head(span, query), "totals": _totals(rows, frame, sizes),
                "rankings": _rankings(rows, query.top), "heatmap": _heatmap(frame),
                "lead_times": _lead_times(frame), "sizes": _sizes(directory, sizes), "groups": _groups(frame),
                "findings": _findings(rows, directory, sizes), "series": _series(frame, _granularity(query, span))}

    def table(self, tenant_id: str, name: str, query: AnalyticsQuery) -> dict:
        """One table of the summary (or the rooms table), computing only that table."""
        if name == "rooms":
            return self.rooms(tenant_id, query)
        _, span, directory, frame = self._load(tenant_id, query)
        key = name.replace("-", "_")
        parts = {
            "heatmap": lambda: _heatmap(frame), "lead_times": lambda: _lead_times(frame),
            "sizes": lambda: _sizes(directory, _sizes_long(frame)), "groups": lambda: _groups(frame),
            "findings": lambda: _findings(_room_rows(directory, frame), directory, _sizes_long(frame)),
            "series": lambda: _series(frame, _granularity(query, span)),
        }
        return {**self._head(span, query), key: parts[key]()}

    def _head(self, span: Range, query: AnalyticsQuery) -> dict:
        return {"from": str(span.first), "to": str(span.last),
                "filters": {"building": query.building, "floor": query.floor, "room": query.room},
                "definitions_url": DEFINITIONS_URL, "definitions": DEFINITIONS}


_ROOM_FIELDS = ["PartitionKey", "RowKey", "display_name", "capacity", "building", "floor", "time_zone", "sync_status",
                "sync_reason", "last_sync_at"]
_STATE_FIELDS = ["RowKey", "time_zone", "time_zone_source", "covered_from", "covered_to", "mailbox_zone_error"]
ROOM_FRAME_COLUMNS = ("room", "day", "available_seconds", "booked_seconds", "meetings", "ad_hoc_meetings",
                      "all_day_meetings", "sizes", "organisers")


def _covered_only(frame: pl.DataFrame, directory: list[dict]) -> pl.DataFrame:
    """Rows of the directory's rooms on their covered days (a mask on two small columns: cheap when all pass)."""
    first = {d["room"]: d["_covered"][0] for d in directory}
    last = {d["room"]: d["_covered"][1] for d in directory}
    room = pl.col("room")
    keep = (room.is_in(list(first)) & (pl.col("day") >= room.replace_strict(first, default=None, return_dtype=pl.Date))
            & (pl.col("day") <= room.replace_strict(last, default=None, return_dtype=pl.Date))).fill_null(False)
    mask = frame.select(keep.alias("keep"))["keep"]
    return frame if mask.all() else frame.filter(mask)


def _zone_problem(state: dict, source: str) -> dict | None:
    """Why the mailbox's own zone was not used, and what to do (None when it was, or an admin overrode it)."""
    error = state.get("mailbox_zone_error") or ""
    if not error or source in ("room", "mailbox"):
        return None
    if error.startswith(("access_denied", "mailbox_access_denied")):
        fix = ("add the Exchange RBAC role 'Application MailboxSettings.Read' to RoomCal's management scope "
               "(re-run the generated RBAC script), or set the room's time zone")
    else:
        fix = "set the room's time zone (PATCH the room) or the building's zone in the tenant settings"
    return {"message": f"the room mailbox's time zone could not be read ({error[:120]}); using the {source}'s",
            "fix": fix}


def _light_room(entity: dict) -> Room:
    """A Room from a registry row without re-validating it (the registry validated it when it was written):
    a thousand full validations per request were a quarter of the rooms endpoint's time."""
    last = entity.get("last_sync_at")
    return Room.model_construct(
        tenant_id=entity["PartitionKey"], email=entity["RowKey"], display_name=entity.get("display_name") or "",
        capacity=int(entity["capacity"]) if entity.get("capacity") is not None else None,
        building=entity.get("building"), floor=None if entity.get("floor") is None else str(entity["floor"]),
        time_zone=entity.get("time_zone"), sync_status=entity.get("sync_status") or "pending",
        sync_reason=entity.get("sync_reason") or "",
        last_sync_at=last if isinstance(last, datetime) or last is None else datetime.fromisoformat(str(last)))


def _matches(room: Room, query: AnalyticsQuery) -> bool:
    return ((query.building is None or (room.building or "").lower() == query.building.lower())
            and (query.floor is None or (room.floor or "") == query.floor)
            and (query.room is None or room.email == query.room.strip().lower()))


def _covered_days(state: dict, zone_name: str, span: Range) -> tuple[date, date]:
    """The room-local days of the span whose Events were complete (an empty range when none)."""
    zone = ZoneInfo(zone_name)
    frm, to = parse_stamp(state.get("covered_from")), parse_stamp(state.get("covered_to"))
    if frm is None or to is None:
        return span.last + timedelta(days=1), span.last
    first_full = frm.astimezone(zone).date()
    if frm.astimezone(zone).time() != datetime.min.time():
        first_full += timedelta(days=1)  # a day the window starts inside is not complete
    last_full = to.astimezone(zone).date() - timedelta(days=1)
    return max(span.first, first_full), min(span.last, last_full)


def _minutes(seconds) -> float | None:
    return None if seconds is None else round(seconds / 60, 2)


def _rate(booked, available) -> float | None:
    return round(booked / available, 4) if available else None


def _room_rows(directory: list[dict], frame: pl.DataFrame) -> list[dict]:
    per_room = frame.group_by("room").agg(
        pl.col("available_seconds").sum().alias("available"), pl.col("booked_seconds").sum().alias("booked"),
        pl.col("meetings").sum(), pl.col("ad_hoc_meetings").sum(), pl.col("all_day_meetings").sum(),
        pl.col("organisers").list.explode(keep_nulls=False, empty_as_null=False).n_unique()
        .alias("distinct_organisers"),
        pl.col("sizes").list.explode(keep_nulls=False, empty_as_null=False).median().alias("median_meeting_size"),
    )
    by_room = {r["room"]: r for r in per_room.iter_rows(named=True)}
    out = []
    for entry in directory:
        got = by_room.get(entry["room"])
        covered = entry["coverage"]["covered_days"] > 0
        figures = {
            "available_minutes": _minutes(got["available"] if got else 0) if covered else None,
            "booked_minutes": _minutes(got["booked"] if got else 0) if covered else None,
            "booking_rate": _rate(got["booked"], got["available"]) if got else None,
            "meetings": (got["meetings"] if got else 0) if covered else None,
            "ad_hoc_meetings": (got["ad_hoc_meetings"] if got else 0) if covered else None,
            "planned_meetings": (got["meetings"] - got["ad_hoc_meetings"] if got else 0) if covered else None,
            "all_day_meetings": (got["all_day_meetings"] if got else 0) if covered else None,
            "distinct_organisers": (got["distinct_organisers"] if got else 0) if covered else None,
            "median_meeting_size": got["median_meeting_size"] if got and got["meetings"] else None,
        }
        out.append({**entry, **figures})
    return out


def _public(row: dict) -> dict:
    return {k: row[k] for k in ROOM_COLUMNS}


def _granularity(query: AnalyticsQuery, span: Range) -> str:
    return query.granularity or ("day" if span.days <= 62 else "week")


def _sizes_long(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per meeting: its room and size."""
    return frame.select("room", "sizes").explode("sizes").drop_nulls("sizes")


def _totals(rows: list[dict], frame: pl.DataFrame, sizes_long: pl.DataFrame) -> dict:
    available, booked = int(frame["available_seconds"].sum() or 0), int(frame["booked_seconds"].sum() or 0)
    meetings, ad_hoc = int(frame["meetings"].sum() or 0), int(frame["ad_hoc_meetings"].sum() or 0)
    sizes = sizes_long["sizes"]
    return {"rooms": len(rows), "rooms_covered": sum(1 for r in rows if r["coverage"]["covered_days"]),
            "rooms_with_meetings": sum(1 for r in rows if r["meetings"]),
            "available_minutes": _minutes(available), "booked_minutes": _minutes(booked),
            "booking_rate": _rate(booked, available), "meetings": meetings, "ad_hoc_meetings": ad_hoc,
            "planned_meetings": meetings - ad_hoc, "ad_hoc_share": round(ad_hoc / meetings, 4) if meetings else None,
            "all_day_meetings": int(frame["all_day_meetings"].sum() or 0),
            "distinct_organisers": frame["organisers"].explode().drop_nulls().n_unique(),
            "median_meeting_size": float(sizes.median()) if len(sizes) else None}


def _ranking(rows: list[dict], key: str, top: int) -> dict:
    ranked = [r for r in rows if r[key] is not None]
    def entry(r):
        return {"room": r["room"], "name": r["name"], key: r[key]}

    most = sorted(ranked, key=lambda r: (-r[key], r["room"]))
    least = sorted(ranked, key=lambda r: (r[key], r["room"]))
    return {"most": [entry(r) for r in most[:top]], "least": [entry(r) for r in least[:top]]}


def _rankings(rows: list[dict], top: int) -> dict:
    return {"by_booking_rate": _ranking(rows, "booking_rate", top), "by_meetings": _ranking(rows, "meetings", top),
            "by_distinct_organisers": _ranking(rows, "distinct_organisers", top),
            "unbooked_rooms": [{"room": r["room"], "name": r["name"]} for r in rows
                               if r["meetings"] == 0 and not r["booked_minutes"]]}


def _heatmap(frame: pl.DataFrame) -> dict:
    booked, available = [f"b{h}" for h in range(24)], [f"a{h}" for h in range(24)]
    by_day = (frame.select(pl.col("day").dt.weekday().alias("weekday"),
                           pl.col("hour_booked").list.to_struct(fields=booked),
                           pl.col("hour_available").list.to_struct(fields=available))
              .unnest("hour_booked", "hour_available").group_by("weekday").sum())
    cells = {r["weekday"]: r for r in by_day.iter_rows(named=True)}
    share = [[_rate(cells[w][f"b{h}"], cells[w][f"a{h}"]) if w in cells else None for h in range(24)]
             for w in range(1, 8)]
    return {"weekdays": list(WEEKDAYS), "hours": list(range(24)), "booked_share": share}


def _lead_times(frame: pl.DataFrame) -> list[dict]:
    sums = [int(frame["lead_buckets"].list.get(i).sum() or 0) for i in range(len(LEAD_BUCKET_NAMES))]
    return [{"bucket": name, "meetings": n} for name, n in zip(LEAD_BUCKET_NAMES, sums, strict=True)]


def _sizes(directory: list[dict], sizes_long: pl.DataFrame) -> list[dict]:
    capacity = pl.DataFrame({"room": [d["room"] for d in directory], "capacity": [d["capacity"] for d in directory]},
                            schema={"room": pl.String, "capacity": pl.Int64})
    counted = (sizes_long.join(capacity, on="room")
               .group_by("capacity", "sizes").len().sort("capacity", "sizes", nulls_last=True))
    return [{"capacity": r["capacity"], "size": r["sizes"], "meetings": r["len"]}
            for r in counted.iter_rows(named=True)]


def _groups(frame: pl.DataFrame) -> list[dict]:
    exploded = frame.select(pl.col("groups").explode()).unnest("groups").drop_nulls("domain")
    counted = (exploded.group_by("domain", "department").agg(pl.col("meetings").sum(), pl.col("booked_seconds").sum())
               .sort(["meetings", "domain", "department"], descending=[True, False, False]))
    return [{"domain": r["domain"], "department": r["department"] or None, "meetings": r["meetings"],
             "booked_minutes": _minutes(r["booked_seconds"])} for r in counted.iter_rows(named=True)]


def _findings(rows: list[dict], directory: list[dict], sizes_long: pl.DataFrame) -> list[dict]:
    capacity = {d["room"]: d["capacity"] for d in directory}
    seats = pl.col("room").replace_strict(capacity, default=None, return_dtype=pl.Int64)
    over = sizes_long.filter(pl.col("sizes") > seats).group_by("room").len()
    over_by_room = dict(over.iter_rows())
    return [f for r in rows for f in rules.findings(r, over_by_room.get(r["room"], 0))]


def _series(frame: pl.DataFrame, granularity: str) -> list[dict]:
    period = pl.col("day") if granularity == "day" else pl.col("day").dt.truncate("1w")
    grouped = (frame.group_by(period.alias("period")).agg(pl.col("available_seconds").sum(),
                                                         pl.col("booked_seconds").sum()).sort("period"))
    return [{"period": str(r["period"]), "granularity": granularity,
             "available_minutes": _minutes(r["available_seconds"]), "booked_minutes": _minutes(r["booked_seconds"]),
             "booking_rate": _rate(r["booked_seconds"], r["available_seconds"])} for r in grouped.iter_rows(named=True)]
