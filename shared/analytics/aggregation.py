"""Room-day aggregates kept up to date: a mark per changed room from the sync, a recompute of only what changed,
and a full rebuild with the identical result.

* The sync calls ``mark(tenant, room)`` after it wrote a page (shared.bootstrap wires it): one small
  ``AnalyticsDirty`` row per room; the first mark enqueues one ``analytics-changes`` message (a few seconds
  late, so a burst of pages makes one recompute), later marks only refresh the row.
* ``refresh_room`` reads the room's Events rows, fingerprints them per room-local month, and recomputes and
  rewrites only the months whose fingerprint changed (a moved meeting changes both its old and new month; a
  changed time zone or tenant rule changes every month). The fingerprints live on ``AnalyticsRooms``.
* ``rebuild`` computes every room and month from scratch and replaces whole months; same code path per room,
  so the stored result is identical to any sequence of incremental updates.

The aggregate range is whole months from ``retention_days`` before today to ``lookahead_days`` after.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from shared.analytics import frames, zones
from shared.analytics import room_day as rd
from shared.analytics.definitions import Rules
from shared.analytics.store import AggregateStore
from shared.errors import Conflict, NotFound, RoomCalError
from shared.log import log_event
from shared.messages import parse_stamp, stamp
from shared.models import Room, RoomEvent, Tenant, TenantSettings
from shared.ports import Clock, Entity, GraphPort, MessageQueue, TableStore

log = logging.getLogger("roomcal.analytics")

EVENTS, ROOMS, TENANTS, ROOM_SYNC = "Events", "Rooms", "Tenants", "RoomSync"
STATE = "AnalyticsRooms"
DIRTY = "AnalyticsDirty"
QUEUE = "analytics-changes"
MARK_DELAY_SECONDS = 5
MAILBOX_ZONE_MAX_AGE = timedelta(days=7)
REBUILD_THREADS = 4
LEASE = "~lease"  # RowKey of the tenant's recompute lease in AnalyticsDirty (never a room address)
LEASE_TIME = timedelta(minutes=5)
_EVENT_FIELDS = ["RowKey", "tenant_id", "room_email", "event_type", "start_utc", "end_utc", "start_time_zone",
                 "end_time_zone", "is_all_day", "is_cancelled", "created_utc", "organizer", "attendees",
                 "room_response"]  # what the definitions read: less to fetch and parse than the whole row
_FINGERPRINT_FIELDS = ("start_utc", "end_utc", "start_time_zone", "is_all_day", "is_cancelled", "room_response",
                       "event_type", "created_utc", "organizer", "attendees")


@dataclass
class RefreshResult:
    room: str
    months_recomputed: int
    months_total: int


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_days(month: str) -> tuple[date, date]:
    first = date.fromisoformat(f"{month}-01")
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first, nxt - timedelta(days=1)


def months_between(first: date, last: date) -> list[str]:
    out, day = [], first.replace(day=1)
    while day <= last:
        out.append(month_of(day))
        day = month_days(month_of(day))[1] + timedelta(days=1)
    return out


# The tenant settings the stored figures are computed under: the definitions' rules (fingerprinted per room), the
# zones days are cut in, and the stored range. Changing one queues a rebuild (functions/onboarding.py).
_RULE_SETTINGS = frozenset({"office_hours", "holidays", "holiday_country", "holiday_subdivision",
                            "adhoc_threshold_minutes", "directory_reads"})
REBUILD_SETTINGS = _RULE_SETTINGS | {"time_zone", "building_time_zones", "retention_days", "lookahead_days"}


def settings_fingerprint(settings: TenantSettings) -> str:
    relevant = settings.model_dump(mode="json", include=set(_RULE_SETTINGS))
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


class Aggregation:
    def __init__(self, tables: TableStore, store: AggregateStore, clock: Clock, *, hash_key: str,
                 queues: MessageQueue | None = None, graph: GraphPort | None = None,
                 department: Callable[[str, RoomEvent], str] | None = None) -> None:
        self._tables, self._store, self._clock, self._queues = tables, store, clock, queues
        self._hash_key, self._graph = hash_key, graph
        self._department = department

    # ---------------------------------------------------------------- marking (the sync's hook)
    def mark(self, tenant: str, room: str) -> None:
        """Note that the room's Events changed; the first mark since the last recompute enqueues it."""
        row = {"PartitionKey": tenant, "RowKey": room, "marked_at": stamp(self._clock.now())}
        try:
            self._tables.insert(DIRTY, row)
        except Conflict:
            self._tables.merge(DIRTY, row)
            return
        if self._queues is not None:
            self._queues.send(QUEUE, {"tenant": tenant, "room": room}, delay_seconds=MARK_DELAY_SECONDS)

    def request_rebuild(self, tenant: str) -> None:
        """Queue a full rebuild of the tenant (the queue function runs it: ``handle``)."""
        if self._queues is None:
            raise RoomCalError("analytics has no queue to rebuild through")
        self._queues.send(QUEUE, {"tenant": tenant, "rebuild": True})

    def handle(self, message: dict) -> None:
        """One ``analytics-changes`` message: ``{"tenant", "room"}`` recomputes every marked room of the tenant
        (one pass, so a thousand rooms synced at once rewrite each month once, not a thousand times);
        ``{"tenant", "rebuild": true}`` rebuilds the tenant."""
        tenant = str(message.get("tenant") or "")
        try:
            self._tables.get(TENANTS, "tenant", tenant)
        except NotFound:  # offboarded or never onboarded: nothing to aggregate, and no retry helps
            log_event(log, "analytics message for an unknown tenant dropped", tenant=tenant[:64])
            return
        if message.get("rebuild"):
            self.rebuild(tenant)
            return
        self.refresh_marked(tenant)

    def refresh_marked(self, tenant: str, *, max_passes: int = 5) -> int:
        """Recompute the tenant's marked rooms under a short tenant lease, pass after pass until none is left
        (a message that finds the lease taken returns: the holder's next pass sees its mark). Returns how
        many room refreshes ran."""
        if not self._take_lease(tenant):
            return 0
        done = 0
        try:
            for _ in range(max_passes):
                started = self._clock.now()
                marks = {m["RowKey"]: m for m in self._tables.query(DIRTY, tenant) if m["RowKey"] != LEASE}
                if not marks:
                    return done
                self.refresh_rooms(tenant, sorted(marks))
                done += len(marks)
                for room in marks:
                    self._clear_mark(tenant, room, started)
            if self._queues is not None:  # still changing after max_passes: hand over to a later message
                self._queues.send(QUEUE, {"tenant": tenant}, delay_seconds=MARK_DELAY_SECONDS)
            return done
        finally:
            with contextlib.suppress(RoomCalError):
                self._tables.delete(DIRTY, tenant, LEASE)

    def _take_lease(self, tenant: str) -> bool:
        now = self._clock.now()
        row = {"PartitionKey": tenant, "RowKey": LEASE, "expires_at": stamp(now + LEASE_TIME)}
        try:
            self._tables.insert(DIRTY, row)
            return True
        except Conflict:
            pass
        try:
            held = self._tables.get(DIRTY, tenant, LEASE)
        except NotFound:
            return self._take_lease_once(row)
        expires = parse_stamp(held.get("expires_at"))
        if expires is not None and expires > now:
            return False
        try:  # expired (its holder died): take it over, unless someone else just did
            self._tables.merge(DIRTY, row, etag=held.get("_etag"))
            return True
        except (Conflict, NotFound):
            return False

    def _take_lease_once(self, row: dict) -> bool:
        try:
            self._tables.insert(DIRTY, row)
            return True
        except Conflict:
            return False

    def _clear_mark(self, tenant: str, room: str, started: datetime) -> None:
        try:
            mark = self._tables.get(DIRTY, tenant, room)
        except NotFound:
            return
        marked = parse_stamp(mark.get("marked_at"))
        if marked is not None and marked > started:  # changed again while we computed: the next pass
            return
        self._tables.delete(DIRTY, tenant, room)

    def sweep_marks(self, older_than: timedelta = timedelta(minutes=5)) -> int:
        """Re-enqueue tenants whose marks outlived their message (lost, or its worker died); returns how many."""
        cutoff, tenants = self._clock.now() - older_than, set()
        for mark in self._tables.query(DIRTY):
            marked = parse_stamp(mark.get("marked_at"))
            if mark["RowKey"] != LEASE and (marked is None or marked < cutoff):
                tenants.add(mark["PartitionKey"])
        for tenant in sorted(tenants):
            if self._queues is not None:
                self._queues.send(QUEUE, {"tenant": tenant})
        return len(tenants)

    # ---------------------------------------------------------------- recompute
    def refresh_room(self, tenant_id: str, room_email: str) -> RefreshResult:
        return self.refresh_rooms(tenant_id, [room_email])[0]

    def refresh_rooms(self, tenant_id: str, emails: list[str]) -> list[RefreshResult]:
        """Recompute the changed months of these rooms; each month is rewritten once for all of them."""
        tenant = self._tenant(tenant_id)
        months = self._months(tenant.settings)

        def one_room(email: str):
            room = self._room(tenant_id, email)
            if room is None:  # no longer registered: its aggregates go
                return email, None, {m: frames.empty() for m in months}
            state = self._state(tenant_id, email)
            plan = self._plan(tenant, room, state, months)
            changed = [m for m in months if state.get("digests", {}).get(m) != plan.digests[m]]
            return email, plan, {m: plan.compute(m) for m in changed}

        with ThreadPoolExecutor(REBUILD_THREADS) as pool:
            computed = list(pool.map(one_room, emails))
        by_month: dict[str, list[tuple[str, pl.DataFrame]]] = defaultdict(list)
        for email, _, changed in computed:
            for month, frame in changed.items():
                by_month[month].append((email, frame))
        for month in months:
            if by_month.get(month):
                rooms, parts = zip(*by_month[month], strict=True)
                self._store.replace_rooms(tenant_id, rd.DATASET, month, list(rooms), pl.concat(parts))
        results = []
        for email, plan, changed in computed:
            if plan is None:
                with contextlib.suppress(NotFound):
                    self._tables.delete(STATE, tenant_id, email)
            else:
                self._save_state(tenant_id, email, plan)
            results.append(RefreshResult(email, len(changed), len(months)))
        log_event(log, "analytics rooms refreshed", tenant=tenant_id, rooms=len(emails),
                  months=sum(r.months_recomputed for r in results))
        return results

    def rebuild(self, tenant_id: str) -> dict:
        """Every room and month from Events, replacing whole months; returns counts for the caller."""
        tenant = self._tenant(tenant_id)
        months = self._months(tenant.settings)
        parts: dict[str, list[pl.DataFrame]] = defaultdict(list)
        # rooms whose calendar was never read in full have no aggregates (their coverage is empty), exactly as
        # the incremental path has none for them: the sync marks a room when its first baseline completes
        rooms = [r for r in self._rooms(tenant_id) if r.last_full_sync_at is not None]

        def one_room(room: Room) -> dict[str, pl.DataFrame]:  # reading Events is I/O: rooms in parallel
            plan = self._plan(tenant, room, self._state(tenant_id, room.email), months)
            computed = {month: plan.compute(month) for month in months}
            self._save_state(tenant_id, room.email, plan)
            return computed

        with ThreadPoolExecutor(REBUILD_THREADS) as pool:
            for computed in pool.map(one_room, rooms):  # in room order: the result does not depend on timing
                for month, frame in computed.items():
                    parts[month].append(frame)
        for month in months:
            frame = pl.concat([frames.empty(), *parts.pop(month, [])])
            self._store.write_month(tenant_id, rd.DATASET, month, frame)
        room_days = sum((month_days(m)[1] - month_days(m)[0]).days + 1 for m in months) * len(rooms)
        log_event(log, "analytics rebuilt", tenant=tenant_id, rooms=len(rooms), months=len(months))
        return {"tenant": tenant_id, "rooms": len(rooms), "months": months, "room_days": room_days}

    # ---------------------------------------------------------------- pieces
    def _plan(self, tenant: Tenant, room: Room, state: Entity, months: list[str]) -> _RoomPlan:
        mailbox_zone, checked, error = self._mailbox_zone(tenant.id, room, state)
        zone_name, source = zones.resolve(room, mailbox_zone, tenant.settings)
        events = list(self._events(tenant.id, room.email))
        sync = self._sync_row(tenant.id, room.email)
        return _RoomPlan(room=room, events=events, zone=ZoneInfo(zone_name), zone_name=zone_name, source=source,
                         rules=Rules.from_settings(tenant.settings), months=months, hash_key=self._hash_key,
                         settings_digest=settings_fingerprint(tenant.settings),
                         department=self._departments(tenant), mailbox_zone=mailbox_zone, mailbox_checked=checked,
                         mailbox_error=error, coverage=_coverage(state, sync, self._clock.now(), tenant.settings))

    def _departments(self, tenant: Tenant):
        if self._department is None or not tenant.settings.directory_reads:
            return lambda event: ""
        return lambda event: self._department(tenant.id, event) or ""

    def _mailbox_zone(self, tenant: str, room: Room, state: Entity) -> tuple[str | None, str | None, str]:
        """The mailbox's zone, read from Graph at most weekly; on failure the last known one and the reason."""
        known, checked = state.get("mailbox_time_zone") or None, parse_stamp(state.get("mailbox_checked_at"))
        now = self._clock.now()
        if self._graph is None or (checked is not None and now - checked < MAILBOX_ZONE_MAX_AGE):
            return known, state.get("mailbox_checked_at"), state.get("mailbox_zone_error") or ""
        try:
            return self._graph.get_mailbox_time_zone(tenant, room.email) or None, stamp(now), ""
        except RoomCalError as exc:  # e.g. 403 without 'Application MailboxSettings.Read': fall back, say why
            return known, stamp(now), f"{exc.code}: {exc.message}"[:300]

    def _events(self, tenant: str, room: str) -> Iterable[RoomEvent]:
        from shared import keys

        for entity in self._tables.query(EVENTS, keys.room_partition(tenant, room), select=_EVENT_FIELDS):
            try:
                yield RoomEvent.from_entity(entity)
            except (ValueError, RoomCalError):
                continue  # a row this version cannot read counts as absent (logged by the sync that wrote it)

    def _months(self, settings: TenantSettings) -> list[str]:
        today = self._clock.now().astimezone(ZoneInfo(settings.time_zone)).date()
        return months_between(today - timedelta(days=settings.retention_days),
                              today + timedelta(days=settings.lookahead_days))

    def _tenant(self, tenant_id: str) -> Tenant:
        return Tenant.from_entity(self._tables.get(TENANTS, "tenant", tenant_id))

    def _room(self, tenant: str, room: str) -> Room | None:
        try:
            return Room.from_entity(self._tables.get(ROOMS, tenant, room))
        except NotFound:
            return None

    def _rooms(self, tenant: str) -> list[Room]:
        return sorted((Room.from_entity(e) for e in self._tables.query(ROOMS, tenant)), key=lambda r: r.email)

    def _state(self, tenant: str, room: str) -> Entity:
        try:
            row = self._tables.get(STATE, tenant, room)
        except NotFound:
            return {}
        return {**row, "digests": json.loads(row.get("digests") or "{}")}

    def _sync_row(self, tenant: str, room: str) -> Entity:
        try:
            return self._tables.get(ROOM_SYNC, tenant, room)
        except NotFound:
            return {}

    def _save_state(self, tenant: str, room: str, plan: _RoomPlan) -> None:
        row = {"PartitionKey": tenant, "RowKey": room, "digests": json.dumps(plan.digests, sort_keys=True),
               "time_zone": plan.zone_name, "time_zone_source": plan.source,
               "mailbox_time_zone": plan.mailbox_zone or "", "mailbox_checked_at": plan.mailbox_checked or "",
               "mailbox_zone_error": plan.mailbox_error, **plan.coverage}
        self._tables.upsert(STATE, row)


def _coverage(state: Entity, sync: Entity, now: datetime, settings: TenantSettings) -> dict:
    """The days whose Events are complete: within a finished baseline's window, widened over time (earlier
    windows stay retained), cut at retention, and ending at the last sync when the room stopped syncing."""
    frm, to = state.get("covered_from") or "", state.get("covered_to") or ""
    if sync.get("last_full_sync_at") and sync.get("window_start") and sync.get("window_end"):
        frm = min(filter(None, [frm, sync["window_start"]]))
        to = max(filter(None, [to, sync["window_end"]]))
    if sync.get("sync_status") == "not_synced" and sync.get("last_sync_at") and to:
        to = min(to, sync["last_sync_at"])  # stopped syncing: what came after its last sync is unknown
    oldest = stamp(now - timedelta(days=settings.retention_days))
    if frm and frm < oldest:
        frm = oldest
    return {"covered_from": frm, "covered_to": to}


@dataclass
class _RoomPlan:
    room: Room
    events: list[RoomEvent]
    zone: ZoneInfo
    zone_name: str
    source: str
    rules: Rules
    months: list[str]
    hash_key: str
    settings_digest: str
    department: Callable[[RoomEvent], str]
    mailbox_zone: str | None
    mailbox_checked: str | None
    mailbox_error: str
    coverage: dict

    def __post_init__(self) -> None:
        self.by_month: dict[str, list[RoomEvent]] = defaultdict(list)
        wanted = set(self.months)
        for event in self.events:
            for month in self._months_of(event):
                if month in wanted:
                    self.by_month[month].append(event)
        self.digests = {m: self._digest(m) for m in self.months}

    def _months_of(self, event: RoomEvent) -> set[str]:
        days = {d for d, _ in rd._booked_pieces(event, self.zone)}
        from shared.analytics.definitions import start_day

        days.add(start_day(event, self.zone))
        return {month_of(d) for d in days}

    def _digest(self, month: str) -> str:
        h = hashlib.sha256(f"{self.zone_name}|{self.settings_digest}|{month}".encode())
        for event in sorted(self.by_month.get(month, []), key=lambda e: e.row_key):
            fields = event.model_dump(mode="json", include=set(_FINGERPRINT_FIELDS))
            h.update(event.row_key.encode() + json.dumps(fields, sort_keys=True).encode())
        return h.hexdigest()[:24]

    def compute(self, month: str) -> pl.DataFrame:
        first, last = month_days(month)
        days = rd.compute_room_days(self.room.email, self.by_month.get(month, []), self.zone, first, last,
                                    self.rules, hash_key=self.hash_key, department=self.department)
        return frames.to_frame(days)
