"""The delta sync of one room: one round runs under the room's lease (sync_lease).

* No delta link yet, a rejected one (DeltaTokenExpired: 410, syncStateNotFound), or a window
  older than ``window_roll_days`` → a **baseline**: calendarView/delta over the tenant's window
  (backfill/lookahead days), paged to the end, rows tagged with the baseline's generation and
  the unseen ones of the window swept at its end (event_rows). Rows are keyed by a hash of the
  Graph event id, so a repeated baseline neither loses nor duplicates.
* Otherwise an **incremental** round from the stored delta link.
* Each page is written before the next is read, after a checkpoint that proves the lease is
  still ours; the delta link is stored only after all rows are (etag-conditional merge).
* ``@removed`` never deletes a row lying wholly outside the round's window (window_guard):
  Graph also sends it for events changed outside the window, and those rows are kept history.
* Occurrence stubs are completed from their series master before their page is written
  (series_masters: one read per master per round); a master that cannot be read fails the
  round before its page is written, so the delta link never passes that occurrence.
* A long baseline stops after ``max_pages_per_round`` pages, keeps its nextLink and hands over
  through a followup hint, so a huge room never pins a worker while others wait.
* Rooms no longer registered, and tenants no longer consented or active, are not synced.
* Each completed baseline records which hash key keyed its rows (``hash_key_id``, a fingerprint);
  a room whose rows were keyed under another key gets a baseline at its next round, which writes
  every row under the current key and sweeps the old ones (docs/key-rotation.md).
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from shared import keys
from shared.errors import DeltaTokenExpired, NotFound
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
from shared.sync import sync_status
from shared.sync.catchup import SYNCING_TENANT_STATUSES
from shared.sync.event_rows import EVENTS, EventRows, PageTotals
from shared.sync.series_masters import SeriesMasters
from shared.sync.sync_lease import Lease, RoomSyncLeases, baseline_asked
from shared.sync.window_guard import WindowGuard

log = logging.getLogger("roomcal.sync")

TENANTS = "Tenants"
ROOMS = "Rooms"
__all__ = ["EVENTS", "ROOMS", "TENANTS", "DeltaSync"]
INCREMENTAL_PAGE_FACTOR = 10  # an incremental round may run this many times a baseline's page budget


def key_id(hash_key: str) -> str:
    """A fingerprint naming a hash key without revealing it."""
    return keys.keyed_hash(hash_key, "key-id")[:12] if hash_key else ""


def rekey_due(row: Entity, current_key_id: str, *, rotating: bool) -> bool:
    """Rows keyed under another key (a rotation): re-key them. A row from before key ids were
    recorded is taken as current unless a rotation is under way."""
    recorded = row.get("hash_key_id")
    return recorded != current_key_id if recorded else rotating


def window_due(row: Entity, now, roll: timedelta) -> bool:
    created = parse_stamp(row.get("window_created_at"))
    return created is None or now - created >= roll


class _IncrementalTooLong(Exception):
    """Graph kept paging an incremental round (a server looping on fresh nextLinks, or a huge backlog)."""


class DeltaSync:
    """A RoundRunner: ``sync(lease, change)`` runs one delta round of the leased room."""

    def __init__(self, graph: GraphPort, tables: TableStore, queues: MessageQueue, leases: RoomSyncLeases,
                 clock: Clock, *, hash_key: str, window_roll_days: int = 7, max_pages_per_round: int = 50,
                 mailbox_concurrency: int = 4, previous_hash_key: str = "",
                 on_page_written=None) -> None:
        self._graph, self._tables, self._queues = graph, tables, queues
        self._leases, self._clock = leases, clock
        self._rows = EventRows(tables, clock, hash_key=hash_key, previous_hash_key=previous_hash_key,
                               on_written=on_page_written)
        self._guard = WindowGuard(tables, hash_key=hash_key)
        self._key_id = key_id(hash_key)
        self._rotating = bool(previous_hash_key) and previous_hash_key != hash_key
        self._roll = timedelta(days=window_roll_days)
        self._max_pages = max_pages_per_round
        self._concurrency = mailbox_concurrency

    def __call__(self, lease: Lease, change: RoomChange) -> None:
        row, tenant = lease.row, self._tenant(lease.tenant)
        if tenant is None or not self._registered(lease):
            # Offboarded tenant or removed room: stop here, and keep catch-up from coming back.
            self._leases.checkpoint(lease, active=False, status="not_registered")
            return
        if row.get("baseline_next_link") and not baseline_asked(row, "baseline_answers"):
            try:
                self._baseline(lease, tenant.settings, resume=row)
            except DeltaTokenExpired:  # the paused baseline's nextLink is gone: start again, unpaused
                self._baseline(lease, tenant.settings, reason="resume_expired", page_limit=None)
        elif row.get("delta_link") and not self.full_round_due(row):
            try:
                self._incremental(lease, row["delta_link"])
            except DeltaTokenExpired:
                self._baseline(lease, tenant.settings, reason="delta_token_expired")
            except _IncrementalTooLong:  # a paged, resumable baseline converges where this round would not
                self._baseline(lease, tenant.settings, reason="incremental_too_long")
        else:
            self._baseline(lease, tenant.settings, reason=self._baseline_reason(row))
        self._ensure_subscription(lease)

    # -- rounds --------------------------------------------------------------------------
    def _incremental(self, lease: Lease, delta_link: str) -> None:
        generation, totals = lease.row.get("sync_generation") or "g0", PageTotals()
        masters = self._masters(lease)
        start, end = parse_stamp(lease.row.get("window_start")), parse_stamp(lease.row.get("window_end"))
        for page in self._graph.calendar_view_delta(lease.tenant, lease.room, delta_link=delta_link):
            if totals.pages >= self._max_pages * INCREMENTAL_PAGE_FACTOR:
                raise _IncrementalTooLong
            items = self._guard.items(lease.tenant, lease.room, masters.complete(page.items), start, end)
            self._leases.before_write(lease, **totals.as_fields())  # still ours (after the master reads), renewed
            with self._leases.writing(lease):
                self._rows.write_page(lease.tenant, lease.room, items, generation, totals)
            if page.delta_link:
                self._done(lease, totals, delta_link=page.delta_link)

    def _baseline(self, lease: Lease, settings: TenantSettings, *, reason: str = "", resume: Entity | None = None,
                  page_limit: int | None = -1) -> None:
        limit = self._max_pages if page_limit == -1 else page_limit
        if resume is not None:
            generation, link = resume["baseline_generation"], resume["baseline_next_link"]
            start, end = parse_stamp(resume["baseline_window_start"]), parse_stamp(resume["baseline_window_end"])
            pages = self._graph.calendar_view_delta(lease.tenant, lease.room, delta_link=link)
        else:
            now, generation, link = self._clock.now(), uuid.uuid4().hex[:16], ""
            start, end = now - timedelta(days=settings.backfill_days), now + timedelta(days=settings.lookahead_days)
            self._leases.start_baseline(lease, baseline_generation=generation, baseline_window_start=stamp(start),
                                        baseline_window_end=stamp(end), baseline_reason=reason, baseline_next_link="")
            pages = self._graph.calendar_view_delta(lease.tenant, lease.room, start=start, end=end)
        totals, masters = PageTotals(), self._masters(lease)
        for page in pages:
            # Masters are read before the checkpoint, so it still proves the lease right before the write.
            items = self._guard.items(lease.tenant, lease.room, masters.complete(page.items), start, end)
            # The link that fetched this page: a crash while writing it resumes by fetching it again.
            self._leases.before_write(lease, baseline_next_link=link, status="syncing", **totals.as_fields())
            with self._leases.writing(lease):
                self._rows.write_page(lease.tenant, lease.room, items, generation, totals)
            self._ensure_subscription(lease)  # after the baseline started, so no change falls between
            if page.delta_link:
                self._leases.before_write(lease)  # the sweep deletes: prove the lease right before it
                with self._leases.writing(lease):
                    kept = self._rows.sweep(lease.tenant, lease.room, generation, start, end,
                                            heartbeat=lambda: self._leases.checkpoint(lease))
                self._done(lease, totals, delta_link=page.delta_link, baseline=(generation, start, end, kept))
                return
            link = page.next_link
            if limit is not None and totals.pages >= limit:
                self._leases.checkpoint(lease, baseline_next_link=link, **totals.as_fields())
                self._hand_over(lease)
                return

    # -- steps -----------------------------------------------------------------------------
    def _masters(self, lease: Lease) -> SeriesMasters:
        return SeriesMasters(self._graph, lease.tenant, lease.room, concurrency=self._concurrency)

    def _done(self, lease: Lease, totals: PageTotals, *, delta_link: str, baseline: tuple | None = None) -> None:
        now = stamp(self._clock.now())
        fields: dict = {"delta_link": delta_link, **totals.as_fields(), "last_sync_at": now, "status": "synced",
                        "sync_count": int(lease.row.get("sync_count") or 0) + 1, "last_error": "", "active": True,
                        "sync_status": "synced", "sync_reason": "", "sync_fix": "", "write_open": False,
                        "failed_rounds": 0}
        if baseline is not None:
            generation, start, end, kept = baseline
            fields.update(sync_generation=generation, baseline_next_link="", last_full_sync_at=now,
                          full_sync_answers=lease.row.get("baseline_answers") or "",
                          window_start=stamp(start), window_end=stamp(end), window_created_at=now, event_count=kept,
                          hash_key_id=self._key_id)
        self._leases.checkpoint(lease, **fields)
        sync_status.mirror_to_registry(self._tables, lease.tenant, lease.room, fields)
        log_event(log, "delta round done", tenant=lease.tenant, room=lease.room, pages=totals.pages,
                  upserted=totals.upserted, removed=totals.removed, skipped=totals.skipped,
                  full_resync=baseline is not None)

    def _ensure_subscription(self, lease: Lease) -> None:
        """Ask (once an hour at most) for a subscription when the room has none."""
        row, now = lease.row, self._clock.now()
        asked = parse_stamp(row.get("subscription_requested_at"))
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

    def _rekey_due(self, row: Entity) -> bool:
        return rekey_due(row, self._key_id, rotating=self._rotating)

    def _window_due(self, row: Entity) -> bool:
        return window_due(row, self._clock.now(), self._roll)

    def full_round_due(self, row: Entity) -> bool:
        """True when the room's next round cannot be a plain incremental one (no delta link, a paused
        baseline, a window to roll, rows to re-key, a baseline asked for): catch-up then sends it a
        hint of its own."""
        return bool(row.get("baseline_next_link")) or not row.get("delta_link") or self._window_due(row) \
            or self._rekey_due(row) or baseline_asked(row)

    def _baseline_reason(self, row: Entity) -> str:
        if not row.get("delta_link") and not row.get("baseline_next_link"):
            return "initial"
        if baseline_asked(row) or baseline_asked(row, "baseline_answers"):
            return str(row.get("baseline_requested_reason") or "requested")
        return "hash_key_rotated" if self._rekey_due(row) else "window_roll"

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
