"""The delta sync of one room: one round runs under the room's lease (sync_lease).

* No delta link yet, a rejected one (DeltaTokenExpired: 410, syncStateNotFound), or a window
  older than ``window_roll_days`` → a **baseline**: calendarView/delta over the tenant's window
  (backfill/lookahead days), paged to the end. Every row written gets the baseline's
  ``sync_generation``; after the last page, rows of that window not seen are swept. Rows are
  keyed by a hash of the Graph event id, so a repeated baseline neither loses nor duplicates.
* Otherwise an **incremental** round from the stored delta link.
* Every item goes through privacy.normalise_event (the whitelist) before it is stored;
  ``@removed`` deletes the row. Pages are written before the next one is read, and the delta
  link is stored only after all rows are, as the lease holder (etag-conditional merge).
* A long baseline stops after ``max_pages_per_round`` pages, keeps its nextLink and hands over
  through a followup hint, so a huge room never pins a worker while others wait.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from shared import keys
from shared.errors import DeltaTokenExpired, InvalidInput, NotFound
from shared.log import log_event
from shared.messages import (
    ROOM_CHANGES,
    SUBSCRIPTION_MAINTENANCE,
    RoomChange,
    SubscriptionMaintenance,
    parse_stamp,
    stamp,
)
from shared.models import Tenant, TenantSettings
from shared.ports import Clock, Entity, GraphPort, MessageQueue, TableStore
from shared.services import sync_status
from shared.services.catchup import SYNCING_TENANT_STATUSES
from shared.services.privacy import is_removed, normalise_event
from shared.services.sync_lease import Lease, RoomSyncLeases

log = logging.getLogger("roomcal.sync")

EVENTS = "Events"
TENANTS = "Tenants"
ROOMS = "Rooms"


class DeltaSync:
    """A RoundRunner: ``sync(lease, change)`` runs one delta round of the leased room."""

    def __init__(self, graph: GraphPort, tables: TableStore, queues: MessageQueue, leases: RoomSyncLeases,
                 clock: Clock, *, hash_key: str, window_roll_days: int = 7, max_pages_per_round: int = 50) -> None:
        self._graph, self._tables, self._queues = graph, tables, queues
        self._leases, self._clock = leases, clock
        self._hash_key = hash_key
        self._roll = timedelta(days=window_roll_days)
        self._max_pages = max_pages_per_round

    def __call__(self, lease: Lease, change: RoomChange) -> None:
        row = lease.row
        tenant = self._tenant(lease.tenant)
        if tenant is None or not self._registered(lease):
            # Offboarded tenant or removed room: stop here, and keep catch-up from coming back.
            self._leases.checkpoint(lease, active=False, status="not_registered")
            return
        settings = tenant.settings
        if row.get("baseline_next_link"):
            try:
                self._baseline(lease, settings, resume=row)
            except DeltaTokenExpired:  # the paused baseline's nextLink is gone: start again, unpaused
                self._baseline(lease, settings, reason="resume_expired", page_limit=None)
        elif row.get("delta_link") and not self._window_due(row):
            try:
                self._incremental(lease, row["delta_link"])
            except DeltaTokenExpired:
                self._baseline(lease, settings, reason="delta_token_expired")
        else:
            self._baseline(lease, settings, reason="initial" if not row.get("delta_link") else "window_roll")
        self._ensure_subscription(lease)

    # -- rounds --------------------------------------------------------------------------
    def _incremental(self, lease: Lease, delta_link: str) -> None:
        generation = lease.row.get("sync_generation") or "g0"
        totals = _totals()
        for page in self._graph.calendar_view_delta(lease.tenant, lease.room, delta_link=delta_link):
            self._apply(lease, page.items, generation, totals)
            if page.delta_link:
                self._done(lease, totals, delta_link=page.delta_link)
            else:
                self._leases.checkpoint(lease, round_pages=totals["pages"], round_upserted=totals["upserted"])

    def _baseline(self, lease: Lease, settings: TenantSettings, *, reason: str = "", resume: Entity | None = None,
                  page_limit: int | None = -1) -> None:
        limit = self._max_pages if page_limit == -1 else page_limit
        if resume is not None:
            generation = resume["baseline_generation"]
            start, end = parse_stamp(resume["baseline_window_start"]), parse_stamp(resume["baseline_window_end"])
            pages = self._graph.calendar_view_delta(lease.tenant, lease.room, delta_link=resume["baseline_next_link"])
        else:
            now, generation = self._clock.now(), uuid.uuid4().hex[:16]
            start, end = now - timedelta(days=settings.backfill_days), now + timedelta(days=settings.lookahead_days)
            self._leases.checkpoint(lease, baseline_generation=generation, baseline_window_start=stamp(start),
                                    baseline_window_end=stamp(end), baseline_reason=reason, baseline_next_link="")
            pages = self._graph.calendar_view_delta(lease.tenant, lease.room, start=start, end=end)
        totals = _totals()
        for page in pages:
            self._apply(lease, page.items, generation, totals)
            self._ensure_subscription(lease)  # after the baseline started, so no change falls between
            if page.delta_link:
                self._sweep(lease, generation, start, end)
                self._done(lease, totals, delta_link=page.delta_link, baseline=(generation, start, end))
                return
            self._leases.checkpoint(lease, baseline_next_link=page.next_link, round_pages=totals["pages"],
                                    round_upserted=totals["upserted"], status="syncing")
            if limit is not None and totals["pages"] >= limit:
                self._hand_over(lease)
                return

    # -- steps -----------------------------------------------------------------------------
    def _apply(self, lease: Lease, items: Iterable[dict], generation: str, totals: dict) -> None:
        """Normalise a page, then write it (last occurrence of an id wins within the page)."""
        self._leases.checkpoint(lease)  # still ours? (also extends the lease before writing)
        partition = keys.room_partition(lease.tenant, lease.room)
        writes: dict[str, Entity | None] = {}
        now = stamp(self._clock.now())
        for item in items:
            event_id = item.get("id") if isinstance(item.get("id"), str) else ""
            if not event_id:
                totals["skipped"] += 1
                continue
            row_key = keys.event_row_key(self._hash_key, lease.room, event_id)
            if is_removed(item):
                writes[row_key] = None
                continue
            try:
                event = normalise_event(item, tenant_id=lease.tenant, room_email=lease.room, hash_key=self._hash_key)
            except (InvalidInput, ValueError):
                totals["skipped"] += 1
                continue
            writes[row_key] = {**event.to_entity(), "sync_generation": generation, "synced_at": now}
        upserts = [e for e in writes.values() if e is not None]
        self._tables.upsert_many(EVENTS, upserts)
        for row_key, entity in writes.items():
            if entity is None:
                self._tables.delete(EVENTS, partition, row_key)
        totals["pages"] += 1
        totals["upserted"] += len(upserts)
        totals["removed"] += len(writes) - len(upserts)

    def _sweep(self, lease: Lease, generation: str, start: datetime, end: datetime) -> None:
        """Delete rows of the window that the complete baseline did not see."""
        partition = keys.room_partition(lease.tenant, lease.room)
        for row in self._tables.query(EVENTS, partition, select=["RowKey", "sync_generation", "start_utc", "end_utc"]):
            if row.get("sync_generation") == generation:
                continue
            begins, ends = parse_stamp(row.get("start_utc")), parse_stamp(row.get("end_utc"))
            if begins is None or ends is None or (begins < end and ends > start):
                self._tables.delete(EVENTS, partition, row["RowKey"])

    def _done(self, lease: Lease, totals: dict, *, delta_link: str,
              baseline: tuple[str, datetime, datetime] | None = None) -> None:
        now = stamp(self._clock.now())
        fields: dict = {"delta_link": delta_link, "round_pages": totals["pages"], "round_upserted": totals["upserted"],
                        "round_removed": totals["removed"], "round_skipped": totals["skipped"],
                        "sync_count": int(lease.row.get("sync_count") or 0) + 1, "last_sync_at": now,
                        "status": "synced", "last_error": "", "active": True}
        if baseline is not None:
            generation, start, end = baseline
            fields.update(sync_generation=generation, baseline_next_link="", last_full_sync_at=now,
                          window_start=stamp(start), window_end=stamp(end), window_created_at=now)
            fields["event_count"] = sum(1 for _ in self._tables.query(
                EVENTS, keys.room_partition(lease.tenant, lease.room), select=["RowKey"]))
        self._leases.checkpoint(lease, **fields)
        mirror = {k: fields[k] for k in ("last_sync_at", "last_full_sync_at", "sync_count", "event_count")
                  if k in fields}
        sync_status.update(self._tables, lease.tenant, lease.room, sync_status="synced", sync_reason="",
                           sync_fix="", **mirror)
        log_event(log, "delta round done", tenant=lease.tenant, room=lease.room, pages=totals["pages"],
                  upserted=totals["upserted"], removed=totals["removed"], skipped=totals["skipped"],
                  full_resync=baseline is not None)

    def _ensure_subscription(self, lease: Lease) -> None:
        """Ask (once an hour at most) for a subscription when the room has none."""
        row = lease.row
        asked = parse_stamp(row.get("subscription_requested_at"))
        now = self._clock.now()
        if row.get("subscription_id") or (asked is not None and now - asked < timedelta(hours=1)):
            return
        self._leases.checkpoint(lease, subscription_requested_at=stamp(now))
        request = SubscriptionMaintenance(action="recreate", tenant=lease.tenant, room=lease.room,
                                          reason="initial", at=now)
        self._queues.send(SUBSCRIPTION_MAINTENANCE, request.to_payload())

    def _hand_over(self, lease: Lease) -> None:
        # Stamped after this round's start, so this round's completion cannot make it stale.
        at = max(self._clock.now(), lease.round_started + timedelta(microseconds=1))
        hint = RoomChange(tenant=lease.tenant, room=lease.room, reason="followup", at=at)
        self._queues.send(ROOM_CHANGES, hint.to_payload())

    def _window_due(self, row: Entity) -> bool:
        created = parse_stamp(row.get("window_created_at"))
        return created is None or self._clock.now() - created >= self._roll

    def _tenant(self, tenant_id: str) -> Tenant | None:
        """The tenant, if RoomCal syncs it (consented or active); None otherwise."""
        try:
            row = self._tables.get(TENANTS, "tenant", tenant_id)
        except NotFound:
            return None
        if row.get("status") not in SYNCING_TENANT_STATUSES:
            return None
        try:
            return Tenant.from_entity(row)
        except ValueError:  # unreadable settings: sync with the documented defaults
            return Tenant(id=tenant_id, status=row["status"], created_at=self._clock.now(),
                          updated_at=self._clock.now())

    def _registered(self, lease: Lease) -> bool:
        try:
            self._tables.get(ROOMS, lease.tenant, lease.room)
        except NotFound:
            return False
        return True


def _totals() -> dict:
    return {"pages": 0, "upserted": 0, "removed": 0, "skipped": 0}
