"""Subscription renewal at scale: the renewal timer fans out per tenant, and each tenant's due
subscriptions are renewed 20 at a time in one Graph JSON ``$batch`` of PATCHes.

* Timer → one ``renewal-tenants`` message per consented/active tenant.
* ``renew_tenant`` reads the tenant's RoomSync partition (each row carries the room's
  ``subscription_id`` and ``subscription_expires_at``, written on every create and renewal): a
  room with a delta link but no subscription gets a ``recreate`` task, as before; subscriptions
  expiring within ``subscription_renew_within_minutes`` are PATCHed with a new expiry in batches
  of 20. Per answer: 200 → the expiry is stored (Subscriptions row and room status); 404 (Graph
  removed it) or a subscription RoomCal no longer knows → ``recreate``; a 429 (after
  GraphClient.batch honoured Retry-After within its budget) → a ``renew`` task delayed by its
  Retry-After; anything else → a ``renew`` task, whose own path records the error on the room.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from shared.adapters.graph_errors import retry_after_seconds
from shared.errors import ConfigurationError, InvalidInput, NotFound
from shared.log import log_event
from shared.messages import SUBSCRIPTION_MAINTENANCE, SubscriptionMaintenance, parse_stamp, stamp
from shared.ports import Clock, GraphPort, MessageQueue, TableStore
from shared.sync import sync_status
from shared.sync.catchup import SYNCING_TENANT_STATUSES, TENANTS, syncing_tenants
from shared.sync.catchup_batch import SLICE, TenantCatchUp
from shared.sync.subscription_directory import SubscriptionDirectory
from shared.sync.sync_lease import TABLE as ROOM_SYNC
from shared.sync.webhook_urls import WebhookUrls

log = logging.getLogger("roomcal.subscriptions")

RENEWAL_TENANTS = "renewal-tenants"
_COLUMNS = ["RowKey", "room", "active", "delta_link", "subscription_id", "subscription_expires_at"]


class BatchedRenewal:
    def __init__(self, tables: TableStore, queues: MessageQueue, clock: Clock, graph: GraphPort,
                 directory: SubscriptionDirectory, *, next_expiry, renew_within_minutes: int = 4320,
                 urls: Callable[[], WebhookUrls] | None = None) -> None:
        self._tables, self._queues, self._clock, self._graph = tables, queues, clock, graph
        self._directory, self._next_expiry, self._urls = directory, next_expiry, urls
        self._within = timedelta(minutes=renew_within_minutes)

    def enqueue_tenants(self) -> int:
        now, tenants = self._clock.now(), sorted(syncing_tenants(self._tables))
        for tenant in tenants:
            self._queues.send(RENEWAL_TENANTS, TenantCatchUp(tenant=tenant, at=now).model_dump(mode="json"))
        log_event(log, "subscription renewal fanned out", count=len(tenants))
        return len(tenants)

    def renew_tenant(self, payload: object) -> Counter:
        try:
            job = TenantCatchUp.model_validate(payload)
        except ValidationError:
            raise InvalidInput("renewal-tenants message is invalid") from None
        counts: Counter = Counter()
        if not self._syncing(job.tenant):
            return counts
        now, due, stale = self._clock.now(), [], self._stale_urls()
        for row in self._tables.query(ROOM_SYNC, job.tenant, select=_COLUMNS):
            room, subscription = row.get("room") or row["RowKey"], row.get("subscription_id") or ""
            if row.get("active") is False:
                continue
            if not subscription:
                if row.get("delta_link"):
                    counts["recreate" if self._task("recreate", job.tenant, room, "", "missing") else "invalid"] += 1
                continue
            if stale(subscription):  # a rotated webhook key: the single path PATCHes or recreates it
                counts["rekey" if self._task("renew", job.tenant, room, subscription, "rekey") else "invalid"] += 1
                continue
            expires = parse_stamp(row.get("subscription_expires_at"))
            if expires is None or expires - now <= self._within:
                due.append((room, subscription))
        for start in range(0, len(due), SLICE):
            counts.update(self._renew(job.tenant, due[start:start + SLICE]))
        log_event(log, "subscriptions renewed", tenant=job.tenant, count=counts["renewed"],
                  status=" ".join(f"{k}={n}" for k, n in sorted(counts.items())))
        return counts

    def _renew(self, tenant: str, chunk: list[tuple[str, str]]) -> Counter:
        counts: Counter = Counter()
        expiry = self._next_expiry()
        body = {"expirationDateTime": expiry.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")}
        requests_ = [{"id": str(i), "method": "PATCH", "url": f"/subscriptions/{sub}", "body": body}
                     for i, (_, sub) in enumerate(chunk)]
        for (room, sub), answer in zip(chunk, self._graph.batch(tenant, requests_), strict=True):
            counts[self._judge(tenant, room, sub, answer, expiry)] += 1
        return counts

    def _judge(self, tenant: str, room: str, subscription: str, answer: dict, expiry: datetime) -> str:
        status = answer.get("status")
        record = self._directory.lookup(subscription)
        if status == 200 and record is not None:
            body = answer.get("body") if isinstance(answer.get("body"), dict) else {}
            expires_at = parse_stamp(body.get("expirationDateTime")) or expiry
            self._directory.save(record.model_copy(update={"expires_at": expires_at}))
            sync_status.update(self._tables, tenant, room, subscription_id=subscription,
                               subscription_expires_at=stamp(expires_at))
            return "renewed"
        if status in (200, 404):  # unknown to RoomCal, or gone at Graph: a new one
            return "recreate" if self._task("recreate", tenant, room, subscription, "expiring") else "invalid"
        delay = int(retry_after_seconds(answer.get("headers")) or 0) + 1 if status == 429 else 0
        sent = self._task("renew", tenant, room, subscription, "expiring", delay=delay)
        return ("throttled" if status == 429 else "retry") if sent else "invalid"

    def _stale_urls(self) -> Callable[[str], bool]:
        """Whether a subscription was registered with other webhook URLs than today's (webhook_urls.py)."""
        try:
            urls = self._urls() if self._urls is not None else None
        except ConfigurationError:  # no webhook keys set: nothing can be re-keyed (creating says so loudly)
            urls = None
        if urls is None:
            return lambda subscription: False

        def stale(subscription: str) -> bool:
            record = self._directory.lookup(subscription)
            return record is not None and (record.notification_url_hash, record.lifecycle_url_hash) != (
                urls.notification_hash, urls.lifecycle_hash)

        return stale

    def _task(self, action: str, tenant: str, room: str, subscription: str, reason: str, *, delay: int = 0) -> bool:
        try:
            task = SubscriptionMaintenance(action=action, tenant=tenant, room=room, subscription=subscription,
                                           reason=reason, at=self._clock.now())
        except ValidationError:
            return False
        self._queues.send(SUBSCRIPTION_MAINTENANCE, task.to_payload(), delay_seconds=delay)
        return True

    def _syncing(self, tenant: str) -> bool:
        try:
            return self._tables.get(TENANTS, "tenant", tenant).get("status") in SYNCING_TENANT_STATUSES
        except NotFound:
            return False
