import json
import logging
import threading

import pytest

from shared.errors import InvalidInput
from shared.messages import ROOM_CHANGES, SUBSCRIPTION_MAINTENANCE
from shared.models import SubscriptionRecord
from shared.sync.notifications import (
    MAX_BODY_BYTES,
    NotificationService,
    PayloadTooLarge,
    parse_collection,
    validation_echo,
)
from shared.sync.subscription_directory import TABLE, SubscriptionDirectory, hash_client_state
from tests.fakes import FakeQueue, FixedClock, InMemoryTables


def _record(sub, tenant, room, client_state):
    return SubscriptionRecord(id=sub, tenant_id=tenant, room_email=room,
                              client_state_hash=hash_client_state(client_state),
                              expires_at="2026-12-01T00:00:00Z")

TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
SUB_A = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"
SUB_B = "9a0b1c2d-0000-4000-8000-000000000002"


class CountingTables(InMemoryTables):
    def __init__(self):
        super().__init__()
        self.gets = 0

    def get(self, table, partition_key, row_key):
        self.gets += 1
        return super().get(table, partition_key, row_key)


def _world():
    tables, queue, clock = CountingTables(), FakeQueue(), FixedClock()
    directory = SubscriptionDirectory(tables)
    directory.save(_record(SUB_A, TENANT, "room-a@contoso.com", "secret-a"))
    directory.save(_record(SUB_B, TENANT, "room-b@contoso.com", "secret-b"))
    tables.gets = 0
    return NotificationService(directory, queue, clock), tables, queue


def _item(sub=SUB_A, state="secret-a", **extra):
    item = {"subscriptionId": sub, "clientState": state, "changeType": "updated", "tenantId": TENANT,
            "resource": "Users/abc/Events/AAMkSECRETID", "resourceData": {"id": "AAMkSECRETID"}}
    item.update(extra)
    return item


def _body(*items):
    return json.dumps({"value": list(items)}).encode()


class TestChangeNotifications:
    def test_valid_items_become_one_message_per_room(self):
        """Three notifications for two rooms enqueue two hints: tenant, room, reason, time."""
        service, _, queue = _world()
        outcome = service.accept_changes(_body(_item(), _item(), _item(SUB_B, "secret-b")))
        assert outcome.enqueued == 2 and not outcome.ignored
        assert queue.messages(ROOM_CHANGES) == [
            {"tenant": TENANT, "room": "room-a@contoso.com", "reason": "notification",
             "at": "2026-11-24T09:00:00Z", "attempt": 0},
            {"tenant": TENANT, "room": "room-b@contoso.com", "reason": "notification",
             "at": "2026-11-24T09:00:00Z", "attempt": 0},
        ]

    def test_messages_carry_no_resource_or_event_id(self):
        """The Graph resource path and event id never reach the queue."""
        service, _, queue = _world()
        service.accept_changes(_body(_item()))
        assert "AAMkSECRETID" not in json.dumps(queue.sent)

    def test_wrong_client_state_is_ignored_and_counted(self):
        """A mismatching clientState is never trusted, even for a known subscription."""
        service, _, queue = _world()
        outcome = service.accept_changes(_body(_item(state="guess"), _item(state=None), _item(SUB_B, "secret-a")))
        assert outcome.enqueued == 0
        assert outcome.ignored == {"client_state_mismatch": 3}
        assert queue.sent == []

    def test_unknown_subscription_and_malformed_items_are_ignored_and_counted(self):
        """Unknown ids, ids that could not be table keys and non-objects are skipped; the rest proceeds."""
        service, _, queue = _world()
        outcome = service.accept_changes(_body(
            _item(sub="00000000-0000-0000-0000-000000000000"), _item(sub="../etc#x"), "junk", 7, _item()))
        assert outcome.ignored == {"unknown_subscription": 1, "malformed_item": 3}
        assert len(queue.messages(ROOM_CHANGES)) == 1

    def test_foreign_tenant_is_ignored(self):
        """An item claiming another tenant for our subscription is not trusted."""
        service, _, queue = _world()
        outcome = service.accept_changes(_body(_item(tenantId="11111111-1111-1111-1111-111111111111")))
        assert outcome.ignored == {"tenant_mismatch": 1} and queue.sent == []

    def test_a_burst_reads_each_subscription_row_once(self):
        """Hundreds of notifications for two subscriptions cost two table reads."""
        service, tables, _ = _world()
        for _ in range(300):
            service.accept_changes(_body(_item(), _item(SUB_B, "secret-b")))
        assert tables.gets == 2

    def test_concurrent_lookups_of_one_subscription_read_the_table_once(self):
        """Threads racing on a cold cache share one read."""
        service, tables, _ = _world()
        threads = [threading.Thread(target=service.accept_changes, args=(_body(_item()),)) for _ in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert tables.gets == 1

    def test_counters_are_logged_without_ids_or_client_states(self, caplog):
        """The log line counts ignored items by reason and names nothing the sender chose."""
        service, _, _ = _world()
        with caplog.at_level(logging.INFO, logger="roomcal.notifications"):
            service.accept_changes(_body(_item(state="CANARY-STATE"), _item(sub="deadbeef-CANARY")))
        text = " ".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)
        assert "client_state_mismatch" in text and "unknown_subscription" in text
        assert "CANARY" not in text and "AAMkSECRETID" not in text


class TestLifecycleNotifications:
    def _lifecycle(self, event, sub=SUB_A, state="secret-a"):
        return {"subscriptionId": sub, "clientState": state, "tenantId": TENANT, "lifecycleEvent": event,
                "subscriptionExpirationDateTime": "2026-11-30T00:00:00Z"}

    def test_reauthorization_required_asks_for_a_renewal(self):
        service, _, queue = _world()
        service.accept_lifecycle(_body(self._lifecycle("reauthorizationRequired")))
        [message] = queue.messages(SUBSCRIPTION_MAINTENANCE)
        assert message["action"] == "renew" and message["subscription"] == SUB_A
        assert message["room"] == "room-a@contoso.com" and message["reason"] == "reauthorization_required"

    def test_subscription_removed_asks_for_a_recreate(self):
        service, _, queue = _world()
        service.accept_lifecycle(_body(self._lifecycle("subscriptionRemoved")))
        [message] = queue.messages(SUBSCRIPTION_MAINTENANCE)
        assert message["action"] == "recreate" and message["reason"] == "subscription_removed"
        assert queue.messages(ROOM_CHANGES) == []

    def test_missed_asks_for_a_catch_up_round(self):
        service, _, queue = _world()
        service.accept_lifecycle(_body(self._lifecycle("missed"), self._lifecycle("missed")))
        assert [m["reason"] for m in queue.messages(ROOM_CHANGES)] == ["missed"]

    def test_lifecycle_events_also_need_the_right_client_state(self):
        service, _, queue = _world()
        outcome = service.accept_lifecycle(_body(self._lifecycle("subscriptionRemoved", state="nope"),
                                                 self._lifecycle("somethingNew")))
        assert outcome.ignored == {"client_state_mismatch": 1, "unknown_lifecycle_event": 1}
        assert queue.sent == []


class TestParsing:
    @pytest.mark.parametrize("body", [b"", b"{", b"[]", b'{"value": 3}', b'"x"', b"\xff\xfe", b'{"values": []}'])
    def test_malformed_bodies_are_invalid_input(self, body):
        with pytest.raises(InvalidInput):
            parse_collection(body)

    def test_oversized_body_is_refused(self):
        with pytest.raises(PayloadTooLarge):
            parse_collection(b" " * (MAX_BODY_BYTES + 1))

    def test_hostile_tokens_are_echoed_unchanged(self):
        assert validation_echo("<script>alert(1)</script>") == "<script>alert(1)</script>"
        assert validation_echo("x" * 10_000) == "x" * 10_000

    def test_absurdly_long_tokens_are_refused(self):
        with pytest.raises(InvalidInput):
            validation_echo("x" * 20_000)


def test_subscription_rows_hold_only_the_hash_of_the_client_state():
    tables = InMemoryTables()
    SubscriptionDirectory(tables).save(_record(SUB_A, TENANT, "r@x.com", "s3cret"))
    assert "s3cret" not in json.dumps(list(tables.rows[TABLE].values()), default=str)
