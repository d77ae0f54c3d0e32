"""The two URLs RoomCal registers with Graph: /api/notifications and /api/lifecycle, each with its function key.

Both endpoints are ``authLevel function``: the Functions host refuses a request without a valid key before any
Python runs. Graph cannot send headers, so the key rides in the ``code`` query parameter, the one the host reads
when there is no ``x-functions-key`` header. Graph keeps the URL's query string on every POST and adds
``validationToken`` to it for the handshake (``?code=…&validationToken=…``; the subscription resource page and
change-notifications-delivery-webhooks.md; GRAPH_NOTES A1, A4).

The key values come from ROOMCAL_NOTIFICATIONS_KEY and ROOMCAL_LIFECYCLE_KEY; the same values are named
function keys of graph_notifications and graph_lifecycle in the host's key store (docs/webhook-keys.md).
Each subscription row keeps a hash of the URLs Graph holds for it, so a rotated key is noticed and the
subscription moved to the new URL (subscriptions.py: PATCH for notificationUrl, a new subscription for
lifecycleNotificationUrl, which Graph lets set only at creation).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlencode

from shared.config import Settings
from shared.errors import ConfigurationError

NOTIFICATIONS_FUNCTION = "graph_notifications"
LIFECYCLE_FUNCTION = "graph_lifecycle"


@dataclass(frozen=True)
class WebhookUrls:
    notification: str
    lifecycle: str

    @property
    def notification_hash(self) -> str:
        return url_hash(self.notification)

    @property
    def lifecycle_hash(self) -> str:
        return url_hash(self.lifecycle)


def url_hash(url: str) -> str:
    """Which URL (and so which key) a subscription was registered with, without storing the key."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]


def webhook_urls(settings: Settings) -> WebhookUrls:
    """The keyed notificationUrl and lifecycleNotificationUrl; ConfigurationError when a key is missing
    (a keyless URL could never pass the host, so Graph's handshake would fail)."""
    missing = [name for name, value in (("ROOMCAL_NOTIFICATIONS_KEY", settings.notifications_key),
                                        ("ROOMCAL_LIFECYCLE_KEY", settings.lifecycle_key))
               if not value.get_secret_value()]
    if missing:
        raise ConfigurationError(f"{' and '.join(missing)} not set: Graph's notifications would be refused by the "
                                 "Functions host (the webhooks are authLevel function)",
                                 fix="create a named function key for graph_notifications and graph_lifecycle and "
                                     "set the same values in these settings (docs/webhook-keys.md)")
    base = settings.public_base_url
    return WebhookUrls(
        notification=f"{base}/api/notifications?{urlencode({'code': settings.notifications_key.get_secret_value()})}",
        lifecycle=f"{base}/api/lifecycle?{urlencode({'code': settings.lifecycle_key.get_secret_value()})}")
