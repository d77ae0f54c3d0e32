"""The doorbells are keyed: every subscription RoomCal creates or renews carries the function keys, and a
rotated key moves every subscription to the new URLs (PATCH for notificationUrl, a new subscription for
lifecycleNotificationUrl, which Graph lets set only at creation)."""

from urllib.parse import parse_qs, urlsplit

import pytest

from shared.config import Settings
from shared.errors import ConfigurationError
from shared.messages import SUBSCRIPTION_MAINTENANCE
from shared.sync.subscription_directory import TABLE
from shared.sync.webhook_urls import WebhookUrls, url_hash, webhook_urls
from tests.unit.test_subscriptions import ROOM, TENANT, World


def _code(url: str) -> str:
    return parse_qs(urlsplit(url).query)["code"][0]


def _renew_all(w: World) -> None:
    w.queue.sent.clear()
    w.manager.enqueue_due()
    for task in w.queue.messages(SUBSCRIPTION_MAINTENANCE):
        w.manager.handle(task)


class TestUrls:
    def test_each_url_carries_its_own_key_in_the_code_parameter(self):
        urls = webhook_urls(Settings(environment="development", public_base_url="https://roomcal.example/",
                                     notifications_key="n+/=&?key", lifecycle_key="l-key"))
        assert urls.notification.startswith("https://roomcal.example/api/notifications?code=")
        assert urls.lifecycle.startswith("https://roomcal.example/api/lifecycle?code=")
        assert _code(urls.notification) == "n+/=&?key"  # URL-encoded, so it comes back whole
        assert _code(urls.lifecycle) == "l-key"

    @pytest.mark.parametrize("missing", ["notifications_key", "lifecycle_key"])
    def test_a_missing_key_is_a_configuration_error_naming_the_setting(self, missing):
        keys = {"notifications_key": "n", "lifecycle_key": "l", missing: ""}
        with pytest.raises(ConfigurationError, match=f"ROOMCAL_{missing.upper()}"):
            webhook_urls(Settings(environment="development", **keys))


class TestKeysTravel:
    def test_the_keys_are_in_the_created_subscription_and_only_their_hash_in_the_table(self):
        w = World()
        sub = w.graph.subscriptions[w.create()]
        assert _code(sub["notificationUrl"]) == "n-key-1"
        assert _code(sub["lifecycleNotificationUrl"]) == "l-key-1"
        row = w.tables.get(TABLE, "sub", sub["id"])
        assert "n-key-1" not in str(row) and "l-key-1" not in str(row)
        assert row["notification_url_hash"] == url_hash(sub["notificationUrl"])

    def test_a_plain_renewal_keeps_the_url_and_sends_no_new_one(self):
        w = World()
        sub_id = w.create()
        calls = []
        renew = w.graph.renew_subscription
        w.graph.renew_subscription = lambda *a, **k: calls.append(k) or renew(*a, **k)
        assert w.manager.renew(TENANT, ROOM, sub_id) == "renewed"
        assert calls == [{"notification_url": None}]
        assert _code(w.graph.subscriptions[sub_id]["notificationUrl"]) == "n-key-1"


class TestRotation:
    def test_a_new_notifications_key_is_patched_into_the_same_subscription(self):
        w = World()
        sub_id = w.create()
        w.urls = WebhookUrls(w.urls.notification.replace("n-key-1", "n-key-2"), w.urls.lifecycle)
        _renew_all(w)
        assert list(w.graph.subscriptions) == [sub_id]
        assert _code(w.graph.subscriptions[sub_id]["notificationUrl"]) == "n-key-2"
        w.queue.sent.clear()
        assert w.manager.enqueue_due()["rekey"] == 0  # done: nothing left to move

    def test_a_new_lifecycle_key_replaces_the_subscription_and_catches_up(self):
        w = World()
        old = w.create()
        w.urls = WebhookUrls(w.urls.notification, w.urls.lifecycle.replace("l-key-1", "l-key-2"))
        _renew_all(w)
        [new] = w.graph.subscriptions
        assert new != old and w.state()["subscription_id"] == new
        assert _code(w.graph.subscriptions[new]["lifecycleNotificationUrl"]) == "l-key-2"
        assert w.directory.lookup(old) is None
        assert [m["reason"] for m in w.queue.messages("room-changes")] == ["resubscribed"]

    def test_subscriptions_from_before_keys_are_moved_too(self):
        w = World()
        sub_id = w.create()
        row = w.tables.get(TABLE, "sub", sub_id)
        w.tables.upsert(TABLE, {**row, "notification_url_hash": "", "lifecycle_url_hash": ""})
        w.directory.forget(sub_id)
        w.queue.sent.clear()
        assert w.manager.enqueue_due()["rekey"] == 1
