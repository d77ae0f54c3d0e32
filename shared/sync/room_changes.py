"""Queue ``room-changes``: each hint becomes (coalesced) delta rounds under the room's lease.

Failure policy, by what the caller should do:
    Throttled               the lease backs off until Retry-After and one followup hint is
                            scheduled (sync_lease.back_off); the message completes
    AccessDenied / NotFound retrying cannot help (consent revoked, mailbox outside the RBAC
                            scope, mailbox gone): the room is flagged not_synced with the reason
                            and what to do; the message completes
    anything else           recorded on the room and raised, so the host retries; on the last
                            dequeue (queue_max_dequeue_count, host.json maxDequeueCount) the
                            room is flagged failed before the message goes to the poison queue
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from pydantic import ValidationError

from shared import metrics
from shared.errors import AccessDenied, InvalidInput, NotFound, RoomCalError
from shared.log import log_event
from shared.messages import ROOM_CHANGES, RoomChange
from shared.ports import Clock, TableStore
from shared.sync.sync_lease import Lease, RoomSyncLeases, SyncOutcome
from shared.sync.sync_status import record_failure

log = logging.getLogger("roomcal.sync")

RoundRunner = Callable[[Lease, RoomChange], None]


def parse_room_change(payload: object) -> RoomChange:
    try:
        return RoomChange.model_validate(payload)
    except ValidationError as exc:
        fields = sorted({".".join(map(str, e["loc"])) or "message" for e in exc.errors()})
        raise InvalidInput("room-changes message is invalid", detail={"fields": fields}) from None


class RoomChangeHandler:
    def __init__(self, leases: RoomSyncLeases, run_round: RoundRunner, tables: TableStore, clock: Clock, *,
                 max_dequeue_count: int = 5) -> None:
        self._leases = leases
        self._run_round = run_round
        self._tables = tables
        self._clock = clock
        self._max_dequeue_count = max_dequeue_count

    def handle(self, payload: object, *, dequeue_count: int = 1) -> SyncOutcome:
        change = parse_room_change(payload)
        try:
            outcome = self._leases.run(change, lambda lease: self._run_round(lease, change))
        except (AccessDenied, NotFound) as exc:
            record_failure(self._tables, self._clock, change.tenant, change.room, exc, final=True)
            _log(change, "failed", error=exc.code)
            return SyncOutcome("failed")
        except Exception as exc:
            final = dequeue_count >= self._max_dequeue_count
            with contextlib.suppress(Exception):  # never mask the error the host should see
                record_failure(self._tables, self._clock, change.tenant, change.room, exc, final=final)
            if final:
                metrics.poison_message(ROOM_CHANGES, change.tenant)
            _log(change, "poisoned" if final else "retrying",
                 error=exc.code if isinstance(exc, RoomCalError) else type(exc).__name__)
            raise
        _log(change, outcome.status, count=outcome.rounds)
        return outcome


def _log(change: RoomChange, status: str, **fields: object) -> None:
    log_event(log, "room change handled", tenant=change.tenant, room=change.room, reason=change.reason,
              status=status, **fields)
