"""One Graph subscription per room mailbox on its events, kept alive.

* **Create** (queue ``subscription-maintenance``, action ``recreate``): asked for by the delta
  sync once the room's first baseline has started, so no change falls between; and by the
  ``subscriptionRemoved`` lifecycle event. The resource is ``/users/{object id}/events`` (Microsoft
  recommends the object id: UPN-addressed subscriptions can fail with "mailbox info is stale";
  falls back to the address). A fresh random clientState per subscription; only its sha256 is
  stored (table Subscriptions). Then a catch-up hint, because nothing was notified in the gap.
* **Renew** (action ``renew``; also the answer to ``reauthorizationRequired``, as a PATCH of the
  expiry reauthorizes too): to the longest lifetime Graph allows for events (setting, default
  10,080 minutes). A subscription Graph no longer knows (404) is recreated.
* **Renewal timer**: enqueues ``renew`` for every subscription expiring within
  ``subscription_renew_within_minutes`` or registered with other URLs than today's (a rotated webhook
  key), and ``recreate`` for active rooms without one; the Graph calls run on the queue, one message
  per room, so one tenant's trouble stalls no other.
* **Key rotation** (webhook_urls.py): a renewal moves a subscription to the current URLs. A new
  notificationUrl is PATCHed (the subscription-update page allows it); lifecycleNotificationUrl can
  only be set at creation, so a changed one means a new subscription: the old one is deleted, a new
  one created, and a catch-up hint closes the moment between. The host accepts both keys meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from pydantic import ValidationError

from shared.errors import AccessDenied, Conflict, InvalidInput, NotFound, RoomCalError, Throttled
from shared.log import log_event
from shared.messages import (
    ROOM_CHANGES,
    SUBSCRIPTION_MAINTENANCE,
    RoomChange,
    SubscriptionMaintenance,
    parse_stamp,
    stamp,
)
from shared.models import SubscriptionRecord
from shared.ports import Clock, GraphPort, MessageQueue, TableStore
from shared.sync import sync_status
from shared.sync.catchup import syncing_tenants
from shared.sync.subscription_directory import PARTITION, TABLE, SubscriptionDirectory, hash_client_state
from shared.sync.sync_lease import TABLE as ROOM_SYNC
from shared.sync.webhook_urls import WebhookUrls

log = logging.getLogger("roomcal.subscriptions")
_MAX_THROTTLED_ATTEMPTS = 20


class SubscriptionManager:
    def __init__(self, graph: GraphPort, tables: TableStore, directory: SubscriptionDirectory, queues: MessageQueue,
                 clock: Clock, *, urls: Callable[[], WebhookUrls], lifetime_minutes: int = 10080,
                 renew_within_minutes: int = 4320) -> None:
        self._graph, self._tables, self._directory = graph, tables, directory
        self._queues, self._clock = queues, clock
        self._urls = urls
        self._lifetime = timedelta(minutes=lifetime_minutes)
        self._renew_within = timedelta(minutes=renew_within_minutes)

    def handle(self, payload: object) -> str:
        """One subscription-maintenance message; returns what was done."""
        try:
            task = SubscriptionMaintenance.model_validate(payload)
        except ValidationError:
            raise InvalidInput("subscription-maintenance message is invalid") from None
        try:
            if task.action == "renew":
                outcome = self.renew(task.tenant, task.room, task.subscription)
            else:
                outcome = self.recreate(task.tenant, task.room, replacing=task.subscription)
        except Throttled as exc:
            if task.attempt >= _MAX_THROTTLED_ATTEMPTS:
                raise
            # Honour Retry-After on the queue instead of burning the host's dequeue count.
            again = task.model_copy(update={"attempt": task.attempt + 1})
            self._queues.send(SUBSCRIPTION_MAINTENANCE, again.to_payload(), delay_seconds=int(exc.retry_after) + 1)
            outcome = "throttled"
        except (AccessDenied, NotFound) as exc:  # retrying cannot help: say so on the room
            sync_status.update(self._tables, task.tenant, task.room, subscription_error=exc.code,
                               subscription_error_message=exc.message)
            outcome = "failed"
        log_event(log, "subscription maintained", tenant=task.tenant, room=task.room, reason=task.reason,
                  status=outcome)
        return outcome

    def renew(self, tenant: str, room: str, subscription_id: str) -> str:
        record = self._directory.lookup(subscription_id) if subscription_id else None
        if record is None:
            return self.recreate(tenant, room, replacing=subscription_id)
        urls = self._urls()
        if record.lifecycle_url_hash != urls.lifecycle_hash:  # only settable on create: replace it
            self._forget(tenant, subscription_id)
            return self.recreate(tenant, room, replacing=subscription_id)
        expiry = self._clock.now() + self._lifetime - timedelta(minutes=1)
        moved = record.notification_url_hash != urls.notification_hash
        try:
            answer = self._graph.renew_subscription(tenant, subscription_id, expiry,
                                                    notification_url=urls.notification if moved else None)
        except NotFound:
            return self.recreate(tenant, room, replacing=subscription_id)
        expires_at = parse_stamp(answer.get("expirationDateTime")) or expiry
        self._directory.save(record.model_copy(update={"expires_at": expires_at,
                                                       "notification_url_hash": urls.notification_hash}))
        sync_status.update(self._tables, tenant, room, subscription_id=subscription_id,
                           subscription_expires_at=stamp(expires_at))
        return "renewed"

    def recreate(self, tenant: str, room: str, *, replacing: str = "") -> str:
        current = sync_status.load(self._tables, tenant, room).get("subscription_id") or ""
        if current and current != replacing and self._directory.lookup(current) is not None:
            self._catch_up(tenant, room)
            return "already_subscribed"  # another message already replaced it
        client_state, urls = secrets.token_urlsafe(32), self._urls()
        try:
            answer = self._create(tenant, room, client_state, urls)
        except Conflict:
            if not (replacing or current):
                raise
            self._forget(tenant, replacing or current)  # Graph still has the old one: drop it, try again
            answer = self._create(tenant, room, client_state, urls)
        expires_at = parse_stamp(answer.get("expirationDateTime")) or self._clock.now() + self._lifetime
        self._directory.save(SubscriptionRecord(id=answer["id"], tenant_id=tenant, room_email=room,
                                                client_state_hash=hash_client_state(client_state),
                                                expires_at=expires_at, notification_url_hash=urls.notification_hash,
                                                lifecycle_url_hash=urls.lifecycle_hash))
        sync_status.update(self._tables, tenant, room, subscription_id=answer["id"],
                           subscription_expires_at=stamp(expires_at))
        for old in {replacing, current} - {"", answer["id"]}:
            self._forget(tenant, old)
        self._catch_up(tenant, room)
        return "created"

    def enqueue_due(self) -> Counter:
        """The renewal timer: renew what expires soon, recreate what is missing."""
        counts, now, urls = Counter(), self._clock.now(), self._urls()
        tenants = syncing_tenants(self._tables)
        subscribed: set[tuple[str, str]] = set()
        for row in self._tables.query(TABLE, PARTITION):
            tenant, room = row.get("tenant_id", ""), row.get("room_email", "")
            subscribed.add((tenant, room))
            expires = parse_stamp(row.get("expires_at"))
            rekey = (row.get("notification_url_hash"), row.get("lifecycle_url_hash")) != (
                urls.notification_hash, urls.lifecycle_hash)
            if tenant in tenants and (rekey or expires is None or expires - now <= self._renew_within):
                sent = self._send("renew", tenant, room, row["RowKey"], "rekey" if rekey else "expiring")
                counts["invalid_row" if not sent else "rekey" if rekey else "renew"] += 1
        for row in self._tables.query(ROOM_SYNC, select=["PartitionKey", "room", "active", "delta_link"]):
            key = (row["PartitionKey"], row.get("room", ""))
            if key[0] in tenants and row.get("active") is not False and row.get("delta_link") and key not in subscribed:
                counts["recreate" if self._send("recreate", key[0], key[1], "", "missing") else "invalid_row"] += 1
        log_event(log, "subscription renewal enqueued", count=sum(counts.values()),
                  reason=f"renew={counts['renew']} rekey={counts['rekey']} recreate={counts['recreate']}")
        return counts

    def _create(self, tenant: str, room: str, client_state: str, urls: WebhookUrls) -> dict:
        return self._graph.create_subscription(
            tenant, room, notification_url=urls.notification, lifecycle_url=urls.lifecycle,
            expiration=self._clock.now() + self._lifetime - timedelta(minutes=1), client_state=client_state,
            resource=f"/users/{self._mailbox_id(tenant, room)}/events")

    def _mailbox_id(self, tenant: str, room: str) -> str:
        known = sync_status.load(self._tables, tenant, room).get("object_id")
        if known:
            return known
        try:
            object_id = self._graph.get_user(tenant, room).get("id")
        except (AccessDenied, NotFound, InvalidInput):  # no directory read permission: address it by e-mail
            return room
        if not object_id:
            return room
        sync_status.update(self._tables, tenant, room, object_id=object_id)
        return object_id

    def _forget(self, tenant: str, subscription_id: str) -> None:
        with contextlib.suppress(RoomCalError):
            self._graph.delete_subscription(tenant, subscription_id)
        self._directory.remove(subscription_id)

    def _catch_up(self, tenant: str, room: str) -> None:
        hint = RoomChange(tenant=tenant, room=room, reason="resubscribed", at=self._clock.now())
        self._queues.send(ROOM_CHANGES, hint.to_payload())

    def _send(self, action: str, tenant: str, room: str, subscription: str, reason: str) -> bool:
        """Enqueue one task; False (nothing sent) for a row that cannot make a valid task, so one bad
        row never stops the renewal of every other room and tenant."""
        try:
            task = SubscriptionMaintenance(action=action, tenant=tenant, room=room, subscription=subscription,
                                           reason=reason, at=self._clock.now())
        except ValidationError:
            return False
        self._queues.send(SUBSCRIPTION_MAINTENANCE, task.to_payload())
        return True
