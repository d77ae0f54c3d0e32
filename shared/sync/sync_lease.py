"""At most one delta round per room at a time, and a burst of hints costs about one round.

State lives on the room's row in table ``RoomSync`` (PartitionKey tenant id, RowKey room
e-mail) and every change to it is an etag-conditional merge, so workers on any machine agree:

    lease_holder, lease_until   who runs rounds for the room now, and until when (heartbeat)
    dirty_at                    the newest hint time seen for the room
    synced_through              start time of the newest completed round: a hint older than
                                this was already covered by a round that read Graph later
    followup_at                 a "followup" hint is scheduled for then (crash recovery)
    baseline_request            a token: the room's rows may be wrong (a write outlived its
                                lease), so its next round is a baseline; ``baseline_answers``
                                is the token a baseline saw when it began (``baseline_asked``)

A hint that finds the lease held only raises ``dirty_at`` and completes; the holder runs
another round before it releases whenever ``dirty_at`` moved past its round's start. So that
a crashed holder cannot strand that hint, the first deferral per lease also schedules one
``followup`` hint for when the lease runs out. Clocks are compared as written by each worker
(hint time from the webhook, round start from the sync worker); NTP skew of milliseconds
can at worst drop one hint, which the periodic catch-up repairs.

A lease only fences what is written while it lasts. A write that storage retried through an
outage can land after the lease ran out and another worker took the room over; a late upsert
then restores an event that worker deleted, a late sweep deletes rows it wrote. So every write
under a lease runs inside ``writing(lease)``, and a baseline (which rewrites the window and
sweeps it) repairs whatever such a write could have spoilt:

* a write that ends past the lease (less a margin for clock skew) asks for one itself;
* a write that failed may still land (a request the storage service took late), so its round
  keeps the lease instead of releasing it (``failed_rounds`` counts such rounds; at
  ``FAILED_ROUNDS_LIMIT`` in a row it releases, and the room is flagged failed); a write that
  failed past the lease asks for one at once, and
* whoever takes over a lease its holder never released while a write was open (``write_open``:
  set by the checkpoint before each write, cleared when the round is done: a crash, a frozen
  worker, a failed write) asks for one in the same conditional merge that takes the lease, so
  the request cannot be lost even when the old holder is gone.

Requests and answers are tokens, not times, so workers' clocks never decide whether a request
was answered: a baseline answers the token its start checkpoint (etag-conditional, so it reads
the row as it is) found; a request made after that start stays open.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared import keys
from shared.errors import Conflict, NotFound, Throttled, Unavailable
from shared.messages import ROOM_CHANGES, RoomChange, parse_stamp, stamp
from shared.ports import Clock, Entity, MessageQueue, TableStore

TABLE = "RoomSync"
_MAX_CONTENTION_RETRIES = 25
BACKOFF_PREFIX = "backoff-"
FAILED_ROUNDS_LIMIT = 5  # = the host's maxDequeueCount: a room failing this often is flagged, its lease released
FENCE_MARGIN = timedelta(seconds=5)  # a write ending this close to the lease's end counts as late


class LeaseLost(Conflict):
    """Another worker took the room's lease (ours expired): stop without advancing anything."""

    code = "lease_lost"


def _unreleased_while_writing(row: Entity) -> bool:
    """Held by a round that never gave it back with a write open (a back-off's lease ends by design)."""
    holder = str(row.get("lease_holder") or "")
    return bool(holder) and not holder.startswith(BACKOFF_PREFIX) and bool(row.get("write_open"))


def room_row_key(room_email: str) -> str:
    """The room's normalised e-mail, as the Rooms registry keys it (never a forbidden character)."""
    return keys.check_key(room_email)


@dataclass
class Lease:
    tenant: str
    room: str
    holder: str
    round_started: datetime | None = None
    rounds: int = 0
    row: Entity = field(default_factory=dict)
    valid_until: datetime | None = None  # the lease_until our last write of the row set
    writes_unsettled: bool = False  # a write failed or ended late, and no baseline was asked for yet


def baseline_asked(row: Entity, answered: str = "full_sync_answers") -> bool:
    """True when a baseline was asked for that the baseline named by ``answered`` did not answer
    (``full_sync_answers``: the last completed one; ``baseline_answers``: the paused one)."""
    token = row.get("baseline_request")
    return bool(token) and token != row.get(answered)


def _request_fields(reason: str, now: datetime) -> dict:
    return {"baseline_request": uuid.uuid4().hex, "baseline_requested_at": stamp(now),
            "baseline_requested_reason": reason}


@dataclass(frozen=True)
class SyncOutcome:
    status: str  # "stale" | "deferred" | "synced" | "lost" | "backing_off"
    rounds: int = 0


class RoomSyncLeases:
    def __init__(self, tables: TableStore, queues: MessageQueue, clock: Clock, *,
                 lease_seconds: float = 120.0, max_rounds: int = 5) -> None:
        self._tables, self._queues, self._clock = tables, queues, clock
        self._ttl = timedelta(seconds=lease_seconds)
        self._max_rounds = max_rounds

    # -- the whole dance for one hint -------------------------------------------------
    def run(self, change: RoomChange, round_fn: Callable[[Lease], None]) -> SyncOutcome:
        """Take the lease (or defer to its holder), run rounds until no newer hint, release."""
        lease = self.acquire(change)
        if not isinstance(lease, Lease):
            return SyncOutcome(lease)
        try:
            while True:
                self.start_round(lease)
                round_fn(lease)
                if not self.finish_round(lease):
                    return SyncOutcome("synced", lease.rounds)
        except LeaseLost:
            return SyncOutcome("lost", lease.rounds)
        except Throttled as exc:
            try:
                self.back_off(lease, exc.retry_after)
            except LeaseLost:
                return SyncOutcome("lost", lease.rounds)
            return SyncOutcome("backing_off", lease.rounds)
        except BaseException as exc:
            failed = int(lease.row.get("failed_rounds") or 0) + 1
            if lease.writes_unsettled and failed < FAILED_ROUNDS_LIMIT:
                self._note_error(lease, type(exc).__name__, failed)  # a write may still land: let the lease run out
            else:
                self.release(lease, error=type(exc).__name__, failed_rounds=failed)
            raise

    # -- the steps, public so that tests and the sync service can drive them --------
    def acquire(self, change: RoomChange) -> Lease | str:
        for _ in range(_MAX_CONTENTION_RETRIES):
            row, now = self._load(change.tenant, change.room), self._clock.now()
            hint_at = min(change.at, now)  # a hint from a fast clock must not keep a room dirty
            synced_through = parse_stamp(row.get("synced_through"))
            if synced_through is not None and hint_at <= synced_through and not baseline_asked(row):
                return "stale"
            dirty = max(filter(None, (parse_stamp(row.get("dirty_at")), hint_at)))
            until = parse_stamp(row.get("lease_until"))
            try:
                if row.get("lease_holder") and until is not None and until > now:
                    self._defer(row, change, dirty, until, now)
                    return "deferred"
                holder, until = uuid.uuid4().hex, now + self._ttl
                fields = {"lease_holder": holder, "lease_until": stamp(until), "dirty_at": stamp(dirty)}
                if _unreleased_while_writing(row):
                    fields.update(_request_fields("lease_taken_over", now))
                row = self._merge(row, **fields)
                return Lease(change.tenant, change.room, holder, row=row, valid_until=until)
            except Conflict:
                continue
        raise Unavailable("room sync row is too contended; the message will be retried")

    def start_round(self, lease: Lease) -> None:
        lease.round_started = self._clock.now()
        lease.rounds += 1
        self.checkpoint(lease, round_started_at=stamp(lease.round_started))

    def checkpoint(self, lease: Lease, **fields: object) -> Entity:
        """Merge ``fields`` into the room row as the lease holder, extending the lease."""
        def change(row: Entity) -> dict:
            return {**fields, "lease_until": stamp(self._clock.now() + self._ttl)}

        return self._as_holder(lease, change)

    def finish_round(self, lease: Lease) -> bool:
        """Record the round as done; True when a newer hint asks for another round now."""
        started = lease.round_started
        again = {"value": False}

        def change(row: Entity) -> dict:
            previous = parse_stamp(row.get("synced_through"))
            fields: dict = {"synced_through": stamp(max(previous, started) if previous else started)}
            dirty = parse_stamp(row.get("dirty_at"))
            again["value"] = dirty is not None and dirty > started
            if again["value"] and lease.rounds < self._max_rounds:
                return {**fields, "lease_until": stamp(self._clock.now() + self._ttl)}
            return {**fields, "lease_holder": "", "lease_until": "", "write_open": False}

        self._as_holder(lease, change)
        if again["value"] and lease.rounds >= self._max_rounds:
            # Busy room: hand over instead of holding a worker forever.
            self._queues.send(ROOM_CHANGES, RoomChange(tenant=lease.tenant, room=lease.room, reason="followup",
                                                       at=self._clock.now()).to_payload())
            return False
        return again["value"]

    @contextlib.contextmanager
    def writing(self, lease: Lease) -> Iterator[None]:
        """Around writes of the room's rows made under ``lease`` (see the module's docstring)."""
        try:
            yield
        except BaseException:
            lease.writes_unsettled = True
            if self._late(lease):  # an attempt may have landed after the lease: a takeover's baseline may be done
                with contextlib.suppress(Exception):
                    self.request_baseline(lease.tenant, lease.room, reason="lease_overrun")
            raise
        if self._late(lease):
            lease.writes_unsettled = True  # until the request is stored: if that fails, the lease is kept
            self.request_baseline(lease.tenant, lease.room, reason="lease_overrun")
            lease.writes_unsettled = False

    def _late(self, lease: Lease) -> bool:
        return lease.valid_until is None or self._clock.now() >= lease.valid_until - FENCE_MARGIN

    def before_write(self, lease: Lease, **fields: object) -> Entity:
        """``checkpoint`` right before a write of the room's rows: the write is open until the round is done."""
        return self.checkpoint(lease, write_open=True, **fields)

    def start_baseline(self, lease: Lease, **fields: object) -> Entity:
        """``checkpoint`` for a baseline's start: it also records which request it answers."""
        def change(row: Entity) -> dict:
            return {**fields, "baseline_answers": row.get("baseline_request") or "",
                    "lease_until": stamp(self._clock.now() + self._ttl)}

        return self._as_holder(lease, change)

    def request_baseline(self, tenant: str, room: str, *, reason: str) -> None:
        """Make the room's next round a baseline, whoever holds its lease, and hint it now (a holder
        only marks the hint dirty and runs that round before it releases)."""
        now = self._clock.now()
        try:
            self._tables.merge(TABLE, {"PartitionKey": tenant, "RowKey": room_row_key(room),
                                       **_request_fields(reason, now)})
        except NotFound:  # the room was offboarded meanwhile: nothing left to repair
            return
        self._queues.send(ROOM_CHANGES, RoomChange(tenant=tenant, room=room, reason="followup", at=now).to_payload())

    def release(self, lease: Lease, *, error: str | None = None, failed_rounds: int | None = None) -> None:
        """Give the lease up without advancing ``synced_through`` (the hint stays dirty)."""
        fields: dict = {"lease_holder": "", "lease_until": "", "write_open": False}
        if error:
            fields["last_error"] = error
        if failed_rounds is not None:
            fields["failed_rounds"] = failed_rounds
        with contextlib.suppress(LeaseLost):
            self._as_holder(lease, lambda row: fields)

    def _note_error(self, lease: Lease, error: str, failed_rounds: int) -> None:
        with contextlib.suppress(Exception):  # storage may be what failed: the error is raised either way
            self._as_holder(lease, lambda row: {"last_error": error, "failed_rounds": failed_rounds})

    def back_off(self, lease: Lease, seconds: float) -> None:
        """Graph throttled the room: keep it leased to nobody until Retry-After has passed, so
        hints meanwhile only mark it dirty, and schedule one followup hint for that moment."""
        until = self._clock.now() + timedelta(seconds=max(1.0, seconds))
        self._as_holder(lease, lambda row: {
            "lease_holder": f"{BACKOFF_PREFIX}{lease.holder}", "lease_until": stamp(until), "followup_at": stamp(until),
            "last_error": "throttled", "throttled_count": int(row.get("throttled_count") or 0) + 1})
        hint = RoomChange(tenant=lease.tenant, room=lease.room, reason="followup", at=self._clock.now())
        self._queues.send(ROOM_CHANGES, hint.to_payload(), delay_seconds=int(max(1.0, seconds)) + 1)

    # -- plumbing ----------------------------------------------------------------------
    def _defer(self, row: Entity, change: RoomChange, dirty: datetime, until: datetime, now: datetime) -> None:
        followup = parse_stamp(row.get("followup_at"))
        needs_followup = followup is None or followup < until
        fields = {}
        if parse_stamp(row.get("dirty_at")) != dirty:
            fields["dirty_at"] = stamp(dirty)
        if needs_followup:
            fields["followup_at"] = stamp(until)
        if not fields:
            return
        self._merge(row, **fields)
        if needs_followup:
            delay = int((until - now).total_seconds()) + 1
            hint = RoomChange(tenant=change.tenant, room=change.room, reason="followup", at=change.at)
            self._queues.send(ROOM_CHANGES, hint.to_payload(), delay_seconds=delay)

    def _as_holder(self, lease: Lease, change: Callable[[Entity], dict]) -> Entity:
        # First try the row as our last write left it (no read); its etag proves nothing changed since.
        row = lease.row if lease.row.get("_etag") and lease.row.get("lease_holder") == lease.holder else None
        for _ in range(_MAX_CONTENTION_RETRIES):
            row = row or self._load(lease.tenant, lease.room)
            if row.get("lease_holder") != lease.holder:
                raise LeaseLost("another worker holds this room's sync lease now")
            fields = change(row)
            try:
                lease.row = self._merge(row, **fields)
            except Conflict:
                row = None
                continue
            if fields.get("lease_holder", lease.holder) != lease.holder:
                lease.valid_until = None  # released or handed to a back-off: nothing more is ours to write
            elif "lease_until" in fields:
                lease.valid_until = parse_stamp(fields["lease_until"])
            return lease.row
        raise Unavailable("room sync row is too contended; the message will be retried")

    def _merge(self, row: Entity, **fields: object) -> Entity:
        """Conditional merge; the returned row is the stored state, with its new etag when known."""
        entity = {"PartitionKey": row["PartitionKey"], "RowKey": row["RowKey"], **fields}
        etag = self._tables.merge(TABLE, entity, etag=row["_etag"])
        merged = {**row, **fields}
        if etag:
            merged["_etag"] = etag
        else:
            merged.pop("_etag", None)  # unknown: the next write reads the row first
        return merged

    def _load(self, tenant: str, room: str) -> Entity:
        key = room_row_key(room)
        try:
            return self._tables.get(TABLE, tenant, key)
        except NotFound:
            pass
        with contextlib.suppress(Conflict):  # another worker may have created it first
            self._tables.insert(TABLE, {"PartitionKey": tenant, "RowKey": key, "room": room, "lease_holder": "",
                                        "created_at": stamp(self._clock.now())})
        return self._tables.get(TABLE, tenant, key)
