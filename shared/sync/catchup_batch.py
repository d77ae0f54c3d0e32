"""Catch-up at scale: the timer fans out per tenant, and quiet rooms are checked 20 at a time in
one Graph JSON ``$batch`` request instead of one delta round (and one queue message) each.

* Timer → one ``catchup-tenants`` message per consented/active tenant (200 tenants: 200 sends).
* ``plan_tenant`` (queue ``catchup-tenants``) reads the tenant's RoomSync partition. A room whose
  next round cannot be a plain incremental one (no delta link, a paused baseline, a window to
  roll, rows to re-key, a baseline asked for: ``full_round_due``) gets a ``room-changes`` hint of
  its own, as before. The others are *probed*: in slices of up to 20 (Graph's $batch limit) on
  ``catchup-probes``. A room whose round is running (lease held) is skipped: that round reads
  Graph anyway.
* ``probe`` (queue ``catchup-probes``) sends the slice's stored delta links as one ``$batch``. Each
  answer is judged on its own: an empty last page (nothing changed, the usual case) stores the new
  delta link with an etag-conditional merge (skipped if a round changed the row meanwhile); a page
  with changes, a 410, any error, or a 429 (after GraphClient.batch honoured Retry-After within its
  budget) becomes a ``room-changes`` hint for that room (a 429 delayed by its Retry-After), and
  the normal round does the rest under the room's lease. Per-mailbox limits are unchanged: each
  item of a batch addresses another mailbox, and Graph applies its mailbox limits to every item.
* The repair bound is the same: every timer period each room is read once, and a room with a
  missed change gets its round within that period.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared import keys
from shared.adapters.graph_errors import retry_after_seconds
from shared.errors import Conflict, InvalidInput, NotFound, Throttled
from shared.log import log_event
from shared.messages import ROOM_CHANGES, RoomChange, parse_stamp, stamp
from shared.ports import Clock, Entity, GraphPort, MessageQueue, TableStore
from shared.sync.catchup import SYNCING_TENANT_STATUSES, TENANTS, syncing_tenants
from shared.sync.sync_lease import TABLE as ROOM_SYNC

log = logging.getLogger("roomcal.sync")

CATCHUP_TENANTS = "catchup-tenants"
CATCHUP_PROBES = "catchup-probes"
SLICE = 20  # Graph's $batch limit (https://learn.microsoft.com/graph/json-batching)
_PLAN_COLUMNS = ["RowKey", "room", "active", "synced_through", "delta_link", "baseline_next_link",
                 "window_created_at", "hash_key_id", "lease_holder", "lease_until", "baseline_request",
                 "full_sync_answers"]


class TenantCatchUp(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    tenant: str
    at: datetime

    @field_validator("tenant")
    @classmethod
    def _tenant(cls, value: str) -> str:
        return keys.normalise_tenant_id(value)


class ProbeSlice(TenantCatchUp):
    rooms: list[str] = Field(min_length=1, max_length=SLICE)

    @field_validator("rooms")
    @classmethod
    def _rooms(cls, value: list[str]) -> list[str]:
        return sorted({keys.normalise_email(r) for r in value})


class BatchedCatchUp:
    def __init__(self, tables: TableStore, queues: MessageQueue, clock: Clock, graph: GraphPort | None, *,
                 full_round_due: Callable[[Entity], bool], min_age_minutes: int = 0, probe_page_size: int = 10) -> None:
        self._tables, self._queues, self._clock, self._graph = tables, queues, clock, graph
        self._full_round_due = full_round_due
        self._min_age = timedelta(minutes=min_age_minutes)
        self._page_size = probe_page_size

    def enqueue_tenants(self) -> int:
        """The timer: one message per syncing tenant."""
        now, tenants = self._clock.now(), sorted(syncing_tenants(self._tables))
        for tenant in tenants:
            self._queues.send(CATCHUP_TENANTS, TenantCatchUp(tenant=tenant, at=now).model_dump(mode="json"))
        log_event(log, "catch-up fanned out", count=len(tenants))
        return len(tenants)

    def plan_tenant(self, payload: object) -> Counter:
        job = _parse(TenantCatchUp, payload)
        counts: Counter = Counter()
        if not self._syncing(job.tenant):
            return counts
        now, probe = self._clock.now(), []
        for row in self._tables.query(ROOM_SYNC, job.tenant, select=_PLAN_COLUMNS):
            outcome = self._plan_room(job.tenant, row, now)
            if outcome == "probe":
                probe.append(row.get("room") or row["RowKey"])
            counts[outcome] += 1
        for start in range(0, len(probe), SLICE):
            chunk = ProbeSlice(tenant=job.tenant, rooms=probe[start:start + SLICE], at=now)
            self._queues.send(CATCHUP_PROBES, chunk.model_dump(mode="json"))
            counts["slices"] += 1
        log_event(log, "catch-up planned", tenant=job.tenant, count=counts["probe"] + counts["round"],
                  skipped=sum(n for k, n in counts.items() if k.startswith("skipped")))
        return counts

    def probe(self, payload: object) -> Counter:
        job = _parse(ProbeSlice, payload)
        counts: Counter = Counter()
        if self._graph is None:
            raise InvalidInput("catch-up probes need Microsoft Graph settings")
        rows = self._rows(job)
        now = self._clock.now()
        live = [r for r in rows if r.get("delta_link") and not _leased(r, now) and r.get("active") is not False]
        counts["skipped_busy"] += len(rows) - len(live)
        if not live:
            return counts
        requests_ = [{"id": str(i), "method": "GET", "url": r["delta_link"],
                      "headers": {"Prefer": f"odata.maxpagesize={self._page_size}"}} for i, r in enumerate(live)]
        try:
            answers = self._graph.batch(job.tenant, requests_)
        except Throttled as exc:  # the $batch call itself: the whole slice later
            self._queues.send(CATCHUP_PROBES, job.model_dump(mode="json"), delay_seconds=int(exc.retry_after) + 1)
            counts["slice_throttled"] += 1
            return counts
        for row, answer in zip(live, answers, strict=True):
            counts[self._judge(job.tenant, row, answer, now)] += 1
        log_event(log, "catch-up probed", tenant=job.tenant, count=len(live),
                  status=" ".join(f"{k}={n}" for k, n in sorted(counts.items())))
        return counts

    # -- steps -----------------------------------------------------------------------------
    def _syncing(self, tenant: str) -> bool:
        try:
            return self._tables.get(TENANTS, "tenant", tenant).get("status") in SYNCING_TENANT_STATUSES
        except NotFound:
            return False

    def _plan_room(self, tenant: str, row: Entity, now: datetime) -> str:
        if row.get("active") is False:
            return "skipped_room_inactive"
        if self._full_round_due(row):  # before the age check: a baseline asked for is a repair, not routine
            return "round" if self._hint(tenant, row.get("room") or row["RowKey"], now) else "skipped_invalid_row"
        synced = parse_stamp(row.get("synced_through"))
        if self._min_age and synced is not None and synced > now - self._min_age:
            return "skipped_recently_synced"
        if _leased(row, now):
            return "skipped_busy"
        try:
            keys.normalise_email(row.get("room") or row["RowKey"])
        except InvalidInput:
            return "skipped_invalid_row"
        return "probe"

    def _rows(self, job: ProbeSlice) -> list[Entity]:
        first, last = (_literal(job.rooms[0]), _literal(job.rooms[-1]))
        wanted = set(job.rooms)
        rows = self._tables.query(ROOM_SYNC, job.tenant, filter=f"RowKey ge '{first}' and RowKey le '{last}'",
                                  select=["RowKey", "room", "active", "delta_link", "lease_holder", "lease_until"])
        return [r for r in rows if (r.get("room") or r["RowKey"]) in wanted]

    def _judge(self, tenant: str, row: Entity, answer: dict, now: datetime) -> str:
        room = row.get("room") or row["RowKey"]
        body = answer.get("body") if isinstance(answer.get("body"), dict) else {}
        status = answer.get("status")
        if status == 200 and not body.get("value") and body.get("@odata.deltaLink") and not body.get(
                "@odata.nextLink"):
            self._store_link(tenant, row, body["@odata.deltaLink"], now)
            return "quiet"
        if status == 429:
            wait = retry_after_seconds(answer.get("headers")) or 1.0
            self._hint(tenant, room, now, delay=int(wait) + 1)
            return "throttled"
        self._hint(tenant, room, now)
        return "changed" if status == 200 else f"error_{status}"

    def _store_link(self, tenant: str, row: Entity, delta_link: str, now: datetime) -> None:
        """Keep the fresh delta link, unless a round wrote the row since we read it (its link is newer).
        Without an etag the old link stays: it is still valid, and a blind write could undo a round's."""
        if not row.get("_etag"):
            return
        with contextlib.suppress(Conflict, NotFound):
            self._tables.merge(ROOM_SYNC, {"PartitionKey": tenant, "RowKey": row["RowKey"],
                                           "delta_link": delta_link, "last_probe_at": stamp(now)},
                               etag=row["_etag"])

    def _hint(self, tenant: str, room: str, now: datetime, *, delay: int = 0) -> bool:
        try:
            hint = RoomChange(tenant=tenant, room=room, reason="catchup", at=now)
        except ValidationError:
            return False
        self._queues.send(ROOM_CHANGES, hint.to_payload(), delay_seconds=delay)
        return True


def _leased(row: Entity, now: datetime) -> bool:
    until = parse_stamp(row.get("lease_until"))
    return bool(row.get("lease_holder")) and until is not None and until > now


def _literal(value: str) -> str:
    return value.replace("'", "''")


def _parse(model, payload):
    try:
        return model.model_validate(payload)
    except ValidationError:
        raise InvalidInput(f"{model.__name__} message is invalid") from None
