"""Subscription state (subscription.md): one record per subscription, owned by (app, tenant), watching one mailbox.

The store has its own lock so the delivery engine never waits on the world lock. Times are world-clock UTC.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime


def graph_time(dt: datetime) -> str:
    """Graph's DateTimeOffset with seven fractional digits: ``2025-06-01T11:00:00.0000000Z``."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


@dataclass
class Subscription:
    id: str
    app_id: str
    tenant_id: str
    creator_id: str
    mailbox: str  # lower-case SMTP address
    mailbox_id: str
    resource: str  # as the caller wrote it
    change_types: list[str]
    notification_url: str
    lifecycle_url: str | None
    expiration: datetime
    client_state: str | None
    tls_version: str
    token_expires: datetime  # the access token the subscription was created or last reauthorized with
    created: datetime
    reauth_sent: datetime | None = None  # last reauthorizationRequired
    missed_pending: bool = False  # notifications were dropped: a `missed` lifecycle event is owed
    delivered: int = 0
    extra: dict = field(default_factory=dict)

    def as_graph(self) -> dict:
        """The documented subscription object (subscription-post-subscriptions.md, the 201 example)."""
        return {
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.app_id,
            "changeType": ",".join(self.change_types),
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "notificationQueryOptions": None,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": graph_time(self.expiration),
            "creatorId": self.creator_id,
            "includeResourceData": None,
            "latestSupportedTlsVersion": self.tls_version,
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }

    def as_control(self) -> dict:
        return {
            **self.as_graph(),
            "tenantId": self.tenant_id,
            "mailbox": self.mailbox,
            "mailboxId": self.mailbox_id,
            "tokenExpires": graph_time(self.token_expires),
            "created": graph_time(self.created),
            "reauthorizationSent": graph_time(self.reauth_sent) if self.reauth_sent else None,
            "missedPending": self.missed_pending,
            "delivered": self.delivered,
        }


class SubscriptionStore:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._subs: dict[str, Subscription] = {}

    def add(self, sub: Subscription) -> None:
        with self.lock:
            self._subs[sub.id] = sub

    def get(self, sid: str) -> Subscription | None:
        with self.lock:
            return self._subs.get(sid.lower())

    def remove(self, sid: str) -> Subscription | None:
        with self.lock:
            return self._subs.pop(sid.lower(), None)

    def all(self) -> list[Subscription]:
        with self.lock:
            return list(self._subs.values())

    def owned(self, app_id: str, tenant_id: str) -> list[Subscription]:
        return [s for s in self.all() if s.app_id == app_id and s.tenant_id == tenant_id]

    def for_mailbox(self, tenant_id: str, mailbox_id: str) -> list[Subscription]:
        return [s for s in self.all() if s.tenant_id == tenant_id and s.mailbox_id == mailbox_id]

    def duplicate(self, app_id: str, tenant_id: str, mailbox_id: str, change_types: list[str]) -> Subscription | None:
        """subscription-post-subscriptions.md: same changeType and resource → 409 (per app, resource normalised
        to the mailbox, so a UPN and a GUID path for the same mailbox collide)."""
        want = sorted(change_types)
        for s in self.owned(app_id, tenant_id):
            if s.mailbox_id == mailbox_id and sorted(s.change_types) == want:
                return s
        return None

    def clear(self) -> None:
        with self.lock:
            self._subs.clear()
