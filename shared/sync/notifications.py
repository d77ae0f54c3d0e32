"""The doorbell: Graph change and lifecycle notifications become small queue hints.

Nothing here calls Graph, and a burst reads each subscription's row at most once per cache
TTL, so the endpoint answers well inside Graph's 3-second limit. Every item's clientState
is checked in constant time against the sha256 stored for its subscription; items with an
unknown subscription, a wrong clientState or a foreign tenant are ignored and counted,
never trusted. Notifications carry only ids; nothing of an event is enqueued or logged.

Bounded per request, whatever a caller holding the key sends: the body is refused over
MAX_BODY_BYTES (the trigger checks Content-Length before reading it), at most MAX_ITEMS items,
and at most MAX_SUSPECT_ITEMS items that fail verification are examined; after that, items
are checked against the cache only (no table read) and the rest are counted and dropped.

Lifecycle events (GRAPH_NOTES A7):
    reauthorizationRequired → subscription-maintenance "renew"
    subscriptionRemoved     → subscription-maintenance "recreate" (which then catches up)
    missed                  → room-changes "missed" (a catch-up delta round)
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field

from shared import metrics
from shared.errors import InvalidInput
from shared.log import log_event
from shared.messages import (
    ROOM_CHANGES,
    SUBSCRIPTION_MAINTENANCE,
    RoomChange,
    SubscriptionMaintenance,
    is_subscription_id,
)
from shared.models import SubscriptionRecord
from shared.ports import Clock, MessageQueue
from shared.sync.hint_gate import HintGate
from shared.sync.subscription_directory import NOT_CACHED, SubscriptionDirectory, client_state_matches

log = logging.getLogger("roomcal.notifications")

MAX_BODY_BYTES = 1_000_000
# Graph's tokens are short and opaque; Azure's front end refuses request lines over 8 KB
# anyway. 16 KiB never refuses a real token and bounds what a stranger can get reflected.
MAX_VALIDATION_TOKEN_CHARS = 16_384
MAX_ITEMS = 1_000
# Graph's own batches hold items of live subscriptions; a handful of stale ones (a subscription just
# replaced) is normal, hundreds are not. Past this many failed items, no further table reads.
MAX_SUSPECT_ITEMS = 8

_LIFECYCLE_ACTIONS = {"reauthorizationRequired": "renew", "subscriptionRemoved": "recreate", "missed": "catch_up"}


class PayloadTooLarge(InvalidInput):
    code = "payload_too_large"


@dataclass
class Outcome:
    """What a POST led to: messages enqueued and ignored items counted by reason."""

    enqueued: int = 0
    coalesced: int = 0  # valid, but already covered by a hint this process enqueued (hint_gate)
    ignored: Counter = field(default_factory=Counter)


def validation_echo(token: str) -> str:
    """The handshake answer: the URL-decoded token, unchanged (sent back as text/plain)."""
    if len(token) > MAX_VALIDATION_TOKEN_CHARS:
        raise InvalidInput(f"validationToken longer than {MAX_VALIDATION_TOKEN_CHARS} characters")
    return token


def parse_collection(body: bytes) -> list:
    """The ``value`` list of a changeNotificationCollection; InvalidInput for anything else."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"notification body over {MAX_BODY_BYTES} bytes")
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("body is not JSON", fix="send a changeNotificationCollection") from None
    items = document.get("value") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise InvalidInput("body has no 'value' list", fix="send a changeNotificationCollection")
    if len(items) > MAX_ITEMS:
        raise PayloadTooLarge(f"more than {MAX_ITEMS} notifications in one collection")
    return items


class NotificationService:
    def __init__(self, directory: SubscriptionDirectory, queues: MessageQueue, clock: Clock,
                 gate: HintGate | None = None) -> None:
        self._directory = directory
        self._queues = queues
        self._clock = clock
        self._gate = gate or HintGate()

    def accept_changes(self, body: bytes, queues: MessageQueue | None = None) -> Outcome:
        """``queues`` (default: the service's own) lets the trigger hand undelayed hints to the host's
        queue output binding."""
        queues = queues or self._queues
        outcome = Outcome()
        rooms: dict[tuple[str, str], None] = {}
        for item in parse_collection(body):
            record = self._verified(item, outcome.ignored)
            if record is not None:
                rooms[(record.tenant_id, record.room_email)] = None
        now = self._clock.now()
        for tenant, room in rooms:
            plan = self._gate.plan((tenant, room), now)
            if plan is None:
                outcome.coalesced += 1
                continue
            delay, at = plan
            hint = RoomChange(tenant=tenant, room=room, reason="notification", at=at)
            try:
                queues.send(ROOM_CHANGES, hint.to_payload(), delay_seconds=delay)
            except Exception:
                # The gate must not count on a hint that was never stored: Graph's retry of this POST
                # would otherwise be dropped as "covered" by it.
                self._gate.forget((tenant, room))
                raise
            outcome.enqueued += 1
        _log_outcome("changes", outcome)
        return outcome

    def accept_lifecycle(self, body: bytes, queues: MessageQueue | None = None) -> Outcome:
        queues = queues or self._queues
        outcome = Outcome()
        actions: dict[tuple[str, SubscriptionRecord], None] = {}
        for item in parse_collection(body):
            record = self._verified(item, outcome.ignored)
            if record is None:
                continue
            action = _LIFECYCLE_ACTIONS.get(item.get("lifecycleEvent"))
            if action is None:
                outcome.ignored["unknown_lifecycle_event"] += 1
                continue
            actions[(action, record)] = None
        for action, record in actions:
            self._enqueue_lifecycle(action, record, queues)
        outcome.enqueued = len(actions)
        _log_outcome("lifecycle", outcome)
        return outcome

    def _enqueue_lifecycle(self, action: str, record: SubscriptionRecord, queues: MessageQueue) -> None:
        at = self._clock.now()
        if action == "catch_up":
            message = RoomChange(tenant=record.tenant_id, room=record.room_email, reason="missed", at=at)
            queues.send(ROOM_CHANGES, message.to_payload())
            return
        reason = "reauthorization_required" if action == "renew" else "subscription_removed"
        maintenance = SubscriptionMaintenance(action=action, tenant=record.tenant_id, room=record.room_email,
                                              subscription=record.id, reason=reason, at=at)
        queues.send(SUBSCRIPTION_MAINTENANCE, maintenance.to_payload())

    def _verified(self, item: object, ignored: Counter) -> SubscriptionRecord | None:
        reason, record = self._check(item, may_read=sum(ignored.values()) < MAX_SUSPECT_ITEMS)
        if reason:
            ignored[reason] += 1
        return record

    def _check(self, item: object, *, may_read: bool) -> tuple[str, SubscriptionRecord | None]:
        if not isinstance(item, dict) or not is_subscription_id(item.get("subscriptionId")):
            return "malformed_item", None
        record = self._directory.lookup(item["subscriptionId"], read=may_read)
        if record is NOT_CACHED:
            return "over_suspect_bound", None
        if record is None:
            return "unknown_subscription", None
        if not client_state_matches(record, item.get("clientState")):
            return "client_state_mismatch", None
        tenant = item.get("tenantId")
        if tenant is not None and (not isinstance(tenant, str) or tenant.lower() != record.tenant_id):
            return "tenant_mismatch", None
        return "", record


def _log_outcome(kind: str, outcome: Outcome) -> None:
    # Counts only: never an id, a clientState or anything else a sender controls.
    ignored = ",".join(f"{reason}={count}" for reason, count in sorted(outcome.ignored.items()))
    metrics.notifications(kind, received=outcome.enqueued + outcome.coalesced, refused=dict(outcome.ignored))
    log_event(log, "notifications handled", level=logging.WARNING if ignored else logging.INFO, operation=kind,
              count=outcome.enqueued, removed=outcome.coalesced, skipped=sum(outcome.ignored.values()),
              reason=ignored or None)
