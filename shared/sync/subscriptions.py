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
* **Conflict** (409: Graph already has a subscription on this resource for RoomCal, e.g. after a lost
  answer or a restore): look it up (``GET /subscriptions``, match the resource); adopt it when the
  Subscriptions table knows it for this room (its clientState hash is there), else delete it; then create.
* **Wrapped errors** (Graph's ``ExtensionError``, mapped in adapters/graph_errors): "expiration can only
  be N minutes in the future" (docs-contrib issue 7726) → retried at once with N minutes, and N is kept;
  "[Status Code: Forbidden]" on create (issue 7625) → the room is outside the RBAC scope: said on the room,
  with the fix, and the renewal timer's ``recreate`` heals it once Exchange lets RoomCal in.
* **Renewal timer**: fans out per tenant and renews due subscriptions 20 per Graph ``$batch``
  (renewal_batch.py); ``enqueue_due`` (one ``renew`` message per expiring subscription, one
  ``recreate`` per active room without one) is the same work one message per room. A subscription
  registered with other URLs than today's (a rotated webhook key) is renewed on its own (``renew``,
  reason ``rekey``), whenever it expires.
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

from shared import metrics
from shared.errors import (
    AccessDenied,
    Conflict,
    InvalidInput,
    LifetimeTooLong,
    MailboxAccessDenied,
    NotFound,
    RoomCalError,
    Throttled,
)
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
# Graph judges the expiry by its own clock and refuses one past the maximum lifetime (400): ask for
# this much less (a tenth of a short lifetime), so a RoomCal clock minutes fast still gets its subscription.
CLOCK_SKEW_ALLOWANCE = timedelta(minutes=10)


class SubscriptionManager:
    def __init__(self, graph: GraphPort, tables: TableStore, directory: SubscriptionDirectory, queues: MessageQueue,
                 clock: Clock, *, urls: Callable[[], WebhookUrls], lifetime_minutes: int = 10080,
                 renew_within_minutes: int = 4320) -> None:
        self._graph, self._tables, self._directory = graph, tables, directory
        self._queues, self._clock = queues, clock
        self._urls = urls
        self._lifetime = timedelta(minutes=lifetime_minutes)
        self._skew_margin = min(CLOCK_SKEW_ALLOWANCE, self._lifetime / 10)
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
        except MailboxAccessDenied as exc:
            self._outside_scope(task.tenant, task.room, exc)
            outcome = "failed"
        except (AccessDenied, NotFound) as exc:  # retrying cannot help: say so on the room
            metrics.subscription_failure(task.tenant, exc.code)
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
        moved = record.notification_url_hash != urls.notification_hash
        try:
            answer = self._within_lifetime(lambda expiry: self._graph.renew_subscription(
                tenant, subscription_id, expiry, notification_url=urls.notification if moved else None))
        except NotFound:
            return self.recreate(tenant, room, replacing=subscription_id)
        expires_at = parse_stamp(answer.get("expirationDateTime")) or self._expiry()
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
            adopted = self._resolve_conflict(tenant, room, urls, replacing=replacing)
            if adopted:
                for old in {replacing, current} - {"", adopted}:
                    self._forget(tenant, old)
                self._catch_up(tenant, room)
                return "adopted"
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

    def next_expiry(self):
        return self._expiry()

    def enqueue_rotation(self) -> Counter:
        """Give every subscription a fresh clientState (docs/key-rotation.md). Graph cannot change a
        subscription's clientState, so each is recreated (``recreate`` replacing the current one): the
        old one's notifications stay valid until it is deleted, and the catch-up hint that follows
        every recreate repairs anything notified in between."""
        counts = Counter()
        for row in self._tables.query(TABLE, PARTITION, select=["RowKey", "tenant_id", "room_email"]):
            sent = self._send("recreate", row.get("tenant_id", ""), row.get("room_email", ""), row["RowKey"],
                              "rotation")
            counts["rotate" if sent else "invalid_row"] += 1
        log_event(log, "client state rotation enqueued", count=counts["rotate"])
        return counts

    def _create(self, tenant: str, room: str, client_state: str, urls: WebhookUrls) -> dict:
        resource = self._resource(tenant, room)
        return self._within_lifetime(lambda expiry: self._graph.create_subscription(
            tenant, room, notification_url=urls.notification, lifecycle_url=urls.lifecycle,
            expiration=expiry, client_state=client_state, resource=resource))

    def _resource(self, tenant: str, room: str) -> str:
        return f"/users/{self._mailbox_id(tenant, room)}/events"

    def _expiry(self):
        """The expiry a create or renewal asks Graph for now (the longest lifetime, less a skew margin)."""
        return self._clock.now() + self._lifetime - self._skew_margin

    def _within_lifetime(self, call):
        """``call(expiry)``; when Graph answers that the expiry may be at most N minutes ahead (issue 7726:
        Graph's maximum changed before, 4,230 → 10,080), keep N for this process and call again once."""
        try:
            return call(self._expiry())
        except LifetimeTooLong as exc:
            if exc.max_minutes < 45 or timedelta(minutes=exc.max_minutes) >= self._lifetime:
                raise
            log_event(log, "subscription lifetime lowered", reason=f"{exc.max_minutes} minutes")
            self._lifetime = timedelta(minutes=exc.max_minutes)
            return call(self._expiry())

    def _resolve_conflict(self, tenant: str, room: str, urls: WebhookUrls, *, replacing: str = "") -> str:
        """409 on create: Graph already holds RoomCal's subscription on this room. Adopt it when the directory
        knows it for this room (its clientState hash is stored) and it notifies today's URL, else delete it.
        The one being replaced (a clientState rotation) is never adopted: Graph allows one subscription per
        changeType and resource, so it goes first and the catch-up after the create covers the gap.
        The adopted id, or ''."""
        wanted = {_resource_key(self._resource(tenant, room)), _resource_key(f"/users/{room}/events")}
        for existing in self._graph.list_subscriptions(tenant):
            if _resource_key(existing.get("resource")) not in wanted or not existing.get("id"):
                continue
            record = self._directory.lookup(existing["id"])
            ours = record is not None and record.tenant_id == tenant and record.room_email == room
            if ours and existing["id"] != replacing and existing.get("notificationUrl") == urls.notification:
                expires_at = parse_stamp(existing.get("expirationDateTime")) or record.expires_at
                sync_status.update(self._tables, tenant, room, subscription_id=existing["id"],
                                   subscription_expires_at=stamp(expires_at))
                log_event(log, "subscription adopted after a conflict", tenant=tenant, room=room)
                return existing["id"]
            self._forget(tenant, existing["id"])
            log_event(log, "subscription replaced after a conflict", tenant=tenant, room=room)
        return ""

    def _outside_scope(self, tenant: str, room: str, exc: MailboxAccessDenied) -> None:
        """Graph refused the subscription because Exchange RBAC does not cover the mailbox (issue 7625)."""
        sync_status.update(self._tables, tenant, room, subscription_error=exc.code,
                           subscription_error_message=exc.message, sync_status="not_synced",
                           sync_reason=exc.message, sync_fix=exc.fix or "")

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


def _resource_key(resource: object) -> str:
    """``/users/{id}/events``, ``users/{id}/events`` and ``/users('{id}')/events`` compare equal."""
    text = str(resource or "").strip().strip("/").lower()
    if text.startswith("users('") and "')" in text:
        inner, _, rest = text[len("users('"):].partition("')")
        text = f"users/{inner}{rest}"
    return text
