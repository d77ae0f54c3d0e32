from datetime import timedelta

import pytest

from shared.adapters.graph_errors import map_graph_error
from shared.errors import InvalidInput
from shared.messages import ROOM_CHANGES, SUBSCRIPTION_MAINTENANCE
from shared.sync.subscription_directory import TABLE, SubscriptionDirectory, client_state_matches
from shared.sync.subscriptions import SubscriptionManager
from shared.sync.sync_lease import TABLE as ROOM_SYNC
from shared.sync.webhook_urls import WebhookUrls
from tests.fakes import FakeGraph, FakeQueue, FixedClock, InMemoryTables

TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
ROOM = "room-a@contoso.com"


class World:
    def __init__(self):
        self.graph = FakeGraph()
        self.graph.add_room(TENANT, ROOM)
        self.urls = WebhookUrls("https://roomcal.example/api/notifications?code=n-key-1",
                                "https://roomcal.example/api/lifecycle?code=l-key-1")
        self.tables, self.queue, self.clock = InMemoryTables(), FakeQueue(), FixedClock()
        self.directory = SubscriptionDirectory(self.tables, ttl_seconds=0)
        self.manager = SubscriptionManager(self.graph, self.tables, self.directory, self.queue, self.clock,
                                           urls=lambda: self.urls, lifetime_minutes=10080,
                                           renew_within_minutes=4320)
        self.tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": TENANT, "status": "active"})

    def create(self):
        self.manager.handle({"action": "recreate", "tenant": TENANT, "room": ROOM, "reason": "initial",
                             "at": self.clock.now().isoformat()})
        return self.state()["subscription_id"]

    def state(self):
        return self.tables.get(ROOM_SYNC, TENANT, ROOM)


class TestCreate:
    def test_subscribes_to_the_mailbox_events_by_object_id_with_a_secret_only_hashed(self):
        w = World()
        sub_id = w.create()
        sub = w.graph.subscriptions[sub_id]
        assert sub["resource"] == f"/users/{w.graph.get_user(TENANT, ROOM)['id']}/events"
        assert sub["changeType"] == "created,updated,deleted"
        assert sub["notificationUrl"] == "https://roomcal.example/api/notifications?code=n-key-1"
        assert sub["lifecycleNotificationUrl"] == "https://roomcal.example/api/lifecycle?code=l-key-1"
        row = w.tables.get(TABLE, "sub", sub_id)
        assert sub["clientState"] not in str(row)
        assert client_state_matches(w.directory.lookup(sub_id), sub["clientState"])
        assert w.queue.messages(ROOM_CHANGES)[-1]["reason"] == "resubscribed"

    def test_the_longest_lifetime_graph_allows_for_events(self):
        w = World()
        sub_id = w.create()
        expires = w.directory.lookup(sub_id).expires_at
        assert timedelta(minutes=10060) <= expires - w.clock.now() <= timedelta(minutes=10080)  # less a skew margin

    def test_each_subscription_gets_its_own_client_state(self):
        w = World()
        first = w.create()
        w.graph.remove_subscription(first)
        w.manager.handle({"action": "recreate", "tenant": TENANT, "room": ROOM, "reason": "subscription_removed",
                          "subscription": first, "at": w.clock.now().isoformat()})
        second = w.state()["subscription_id"]
        assert second != first
        assert w.directory.lookup(first) is None
        assert w.graph.subscriptions[second]["clientState"] != "x"

    def test_a_duplicate_recreate_request_is_harmless(self):
        w = World()
        first = w.create()
        w.create()
        assert w.state()["subscription_id"] == first and len(w.graph.subscriptions) == 1


class TestRenew:
    def test_renewal_moves_the_expiry_in_graph_and_the_table(self):
        w = World()
        sub_id = w.create()
        w.clock.advance(days=5)
        w.manager.handle({"action": "renew", "tenant": TENANT, "room": ROOM, "subscription": sub_id,
                          "reason": "reauthorization_required", "at": w.clock.now().isoformat()})
        assert w.directory.lookup(sub_id).expires_at > w.clock.now() + timedelta(days=6)

    def test_a_subscription_graph_forgot_is_recreated(self):
        w = World()
        sub_id = w.create()
        w.graph.remove_subscription(sub_id)
        assert w.manager.renew(TENANT, ROOM, sub_id) == "created"
        assert w.state()["subscription_id"] != sub_id

    def test_the_timer_enqueues_renewals_only_for_subscriptions_expiring_soon(self):
        w = World()
        sub_id = w.create()
        w.queue.sent.clear()
        assert w.manager.enqueue_due()["renew"] == 0
        w.clock.advance(days=4, hours=1)
        w.manager.enqueue_due()
        [task] = w.queue.messages(SUBSCRIPTION_MAINTENANCE)
        assert task["action"] == "renew" and task["subscription"] == sub_id

    def test_the_timer_recreates_missing_subscriptions_of_synced_rooms(self):
        w = World()
        w.tables.upsert(ROOM_SYNC, {"PartitionKey": TENANT, "RowKey": ROOM, "room": ROOM, "delta_link": "x"})
        w.manager.enqueue_due()
        [task] = w.queue.messages(SUBSCRIPTION_MAINTENANCE)
        assert task["action"] == "recreate"


    def test_one_unusable_row_does_not_stop_the_renewal_of_the_others(self):
        """A RoomSync row whose room cannot make a valid task is counted, not fatal to the timer run."""
        w = World()
        for room in ("not an address", ROOM):
            w.tables.upsert(ROOM_SYNC, {"PartitionKey": TENANT, "RowKey": room, "room": room, "delta_link": "x"})
        counts = w.manager.enqueue_due()
        assert [t["room"] for t in w.queue.messages(SUBSCRIPTION_MAINTENANCE)] == [ROOM]
        assert counts["recreate"] == 1 and counts["invalid_row"] == 1


class TestFailures:
    def test_throttling_requeues_the_task_after_retry_after(self):
        w = World()
        w.graph.throttle(TENANT, ROOM, retry_after=40)
        assert w.manager.handle({"action": "recreate", "tenant": TENANT, "room": ROOM, "reason": "initial",
                                 "at": w.clock.now().isoformat()}) == "throttled"
        [(queue, task, delay)] = w.queue.sent
        assert queue == SUBSCRIPTION_MAINTENANCE and task["attempt"] == 1 and delay == 41

    def test_a_mailbox_outside_the_rbac_scope_is_noted_on_the_room(self):
        w = World()
        w.graph.deny(TENANT, ROOM)
        assert w.manager.handle({"action": "recreate", "tenant": TENANT, "room": ROOM, "reason": "initial",
                                 "at": w.clock.now().isoformat()}) == "failed"
        assert w.state()["subscription_error"] == "mailbox_access_denied"


def test_a_malformed_maintenance_message_is_invalid_input():
    with pytest.raises(InvalidInput):
        World().manager.handle({"action": "explode"})


class TestGraphConflictsAndWrappedErrors:
    """409 on create heals itself; Graph's ExtensionError answers are read (issues 7625, 7726)."""

    def test_a_409_for_a_subscription_roomcal_does_not_know_deletes_it_and_subscribes_again(self):
        w = World()
        stray = w.graph.create_subscription(TENANT, ROOM, notification_url="https://old.example/n",
                                            expiration=w.clock.now() + timedelta(days=1), client_state="lost",
                                            resource=f"/users/{w.graph.get_user(TENANT, ROOM)['id']}/events")
        sub_id = w.create()
        assert sub_id != stray["id"] and list(w.graph.subscriptions) == [sub_id]
        assert w.directory.lookup(sub_id) is not None

    def test_a_409_for_a_subscription_the_directory_knows_adopts_it(self):
        w = World()
        first = w.create()
        w.tables.merge(ROOM_SYNC, {"PartitionKey": TENANT, "RowKey": ROOM, "subscription_id": ""})  # answer lost
        outcome = w.manager.handle({"action": "recreate", "tenant": TENANT, "room": ROOM, "reason": "missing",
                                    "at": w.clock.now().isoformat()})
        assert outcome == "adopted" and w.state()["subscription_id"] == first
        assert list(w.graph.subscriptions) == [first] and w.directory.lookup(first) is not None

    def test_a_known_subscription_to_an_old_url_is_replaced_not_adopted(self):
        w = World()
        first = w.create()
        w.graph.subscriptions[first]["notificationUrl"] = "https://old-host.example/api/notifications"
        w.tables.merge(ROOM_SYNC, {"PartitionKey": TENANT, "RowKey": ROOM, "subscription_id": ""})
        outcome = w.manager.handle({"action": "recreate", "tenant": TENANT, "room": ROOM, "reason": "missing",
                                    "at": w.clock.now().isoformat()})
        second = w.state()["subscription_id"]
        assert outcome == "created" and second != first and list(w.graph.subscriptions) == [second]

    def test_a_lifetime_refusal_is_retried_with_the_minutes_graph_names(self):
        w = World()
        calls = []
        create = w.graph.create_subscription

        def limited(tenant, mailbox, *, expiration, **kwargs):
            calls.append(expiration)
            if expiration - w.clock.now() > timedelta(minutes=4230):
                raise map_graph_error(400, {"error": {"code": "ExtensionError", "message":
                                      "Subscription expiration can only be 4230 minutes in the future."}})
            return create(tenant, mailbox, expiration=expiration, **kwargs)

        w.graph.create_subscription = limited
        sub_id = w.create()
        assert len(calls) == 2 and w.directory.lookup(sub_id).expires_at - w.clock.now() <= timedelta(minutes=4230)

    def test_a_renewal_refused_for_its_lifetime_is_retried_with_the_minutes_graph_names(self):
        w = World()
        sub_id = w.create()
        renew = w.graph.renew_subscription

        def limited(tenant, subscription_id, expiration, **kwargs):
            if expiration - w.clock.now() > timedelta(minutes=4230):
                raise map_graph_error(400, {"error": {"code": "ExtensionError", "message":
                                      "Subscription expiration can only be 4230 minutes in the future."}})
            return renew(tenant, subscription_id, expiration, **kwargs)

        w.graph.renew_subscription = limited
        w.clock.advance(days=5)
        outcome = w.manager.handle({"action": "renew", "tenant": TENANT, "room": ROOM, "subscription": sub_id,
                                    "reason": "expiring", "at": w.clock.now().isoformat()})
        assert outcome == "renewed"
        # 4,230 minutes less the clock-skew margin (10 minutes) every expiry keeps below Graph's maximum
        assert timedelta(minutes=4210) <= w.directory.lookup(sub_id).expires_at - w.clock.now() <= timedelta(
            minutes=4220)

    def test_forbidden_on_create_names_the_rbac_scope_on_the_room(self):
        w = World()

        def forbidden(tenant, mailbox, **kwargs):
            raise map_graph_error(403, {"error": {"code": "ExtensionError", "message":
                                  "Operation: Create; Exception: [Status Code: Forbidden; Reason: Forbidden]"}},
                                  mailbox=mailbox)

        w.graph.create_subscription = forbidden
        outcome = w.manager.handle({"action": "recreate", "tenant": TENANT, "room": ROOM, "reason": "initial",
                                    "at": w.clock.now().isoformat()})
        state = w.state()
        assert outcome == "failed" and state["subscription_error"] == "mailbox_access_denied"
        assert state["sync_status"] == "not_synced" and "RBAC scope" in state["sync_reason"]
        assert "Test-ServicePrincipalAuthorization" in state["sync_fix"]
