"""Rotating the event-id hash key and every subscription's clientState loses and duplicates no row."""

import json
from datetime import UTC, datetime, timedelta

from shared import keys
from shared.messages import RoomChange
from shared.sync.room_changes import RoomChangeHandler
from shared.sync.subscription_directory import SubscriptionDirectory, client_state_matches
from shared.sync.subscriptions import SubscriptionManager
from shared.sync.sync import EVENTS, DeltaSync
from shared.sync.sync_lease import RoomSyncLeases
from shared.sync.webhook_urls import WebhookUrls
from tests.fakes import FakeGraph, FakeQueue, FixedClock, InMemoryTables

TEST_URLS = lambda: WebhookUrls("https://roomcal.example/api/notifications?code=n-key",  # noqa: E731
                                  "https://roomcal.example/api/lifecycle?code=l-key")

TID = "6f1c3c1e-0000-4000-8000-0000000000a5"
ROOM = "room@contoso.com"
OLD, NEW = "o" * 32, "n" * 32
START = datetime(2026, 3, 2, 9, tzinfo=UTC)


class World:
    def __init__(self):
        self.tables, self.queues, self.clock = InMemoryTables(), FakeQueue(), FixedClock(START - timedelta(days=1))
        self.graph = FakeGraph(page_size=2)
        self.graph.add_room(TID, ROOM)
        self.tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": TID, "status": "active",
                                       "created_at": self.clock.now(), "updated_at": self.clock.now()})
        self.tables.upsert("Rooms", {"PartitionKey": TID, "RowKey": ROOM})
        self.ids = [self.graph.add_event(TID, ROOM, start=START + timedelta(hours=h),
                                         end=START + timedelta(hours=h, minutes=30)) for h in range(5)]

    def handler(self, key, previous=""):
        leases = RoomSyncLeases(self.tables, self.queues, self.clock)
        sync = DeltaSync(self.graph, self.tables, self.queues, leases, self.clock, hash_key=key,
                         previous_hash_key=previous)
        return RoomChangeHandler(leases, sync, self.tables, self.clock)

    def hint(self, handler):
        self.clock.advance(seconds=5)
        return handler.handle(RoomChange(tenant=TID, room=ROOM, reason="catchup", at=self.clock.now()).to_payload())

    def row_keys(self):
        return {r["RowKey"] for r in self.tables.query(EVENTS, keys.room_partition(TID, ROOM))}

    def truth(self, key):
        return {keys.event_row_key(key, ROOM, i) for i in self.graph.mailboxes[(TID, ROOM)]}


def test_after_the_key_changes_the_next_round_rekeys_every_row_without_loss_or_duplicates():
    w = World()
    w.hint(w.handler(OLD))
    assert w.row_keys() == w.truth(OLD)
    w.graph.delete_event(TID, ROOM, w.ids[0])  # changes during the switch are not lost
    w.graph.update_event(TID, ROOM, w.ids[1], isCancelled=True)
    rotated = w.handler(NEW, previous=OLD)
    assert w.hint(rotated).status == "synced"
    assert w.row_keys() == w.truth(NEW) and len(w.row_keys()) == 4
    cancelled = w.tables.get(EVENTS, keys.room_partition(TID, ROOM), keys.event_row_key(NEW, ROOM, w.ids[1]))
    assert cancelled["is_cancelled"] is True
    # later rounds stay on the new key; the old one can then be retired
    w.graph.add_event(TID, ROOM, start=START + timedelta(hours=9), end=START + timedelta(hours=10))
    w.hint(w.handler(NEW))
    assert w.row_keys() == w.truth(NEW) and len(w.row_keys()) == 5


def test_a_page_written_during_the_rotation_replaces_the_old_keyed_row_of_the_same_event():
    """Even before the re-keying baseline completes, an event never has two rows."""
    from shared.sync.event_rows import EventRows, PageTotals

    w = World()
    w.hint(w.handler(OLD))
    rows = EventRows(w.tables, w.clock, hash_key=NEW, previous_hash_key=OLD)
    event = w.graph.mailboxes[(TID, ROOM)][w.ids[2]]
    rows.write_page(TID, ROOM, [event, {"id": w.ids[3], "@removed": {"reason": "deleted"}}], "g9", PageTotals())
    assert keys.event_row_key(OLD, ROOM, w.ids[2]) not in w.row_keys()
    assert keys.event_row_key(OLD, ROOM, w.ids[3]) not in w.row_keys()
    assert keys.event_row_key(NEW, ROOM, w.ids[2]) in w.row_keys() and len(w.row_keys()) == 4


def test_client_state_rotation_gives_every_subscription_a_fresh_one_and_misses_no_change():
    w = World()
    directory = SubscriptionDirectory(w.tables, ttl_seconds=0)
    manager = SubscriptionManager(w.graph, w.tables, directory, w.queues, w.clock,
                                  urls=TEST_URLS)
    w.hint(w.handler(OLD))
    manager.recreate(TID, ROOM)
    (old_id, old_sub), = w.graph.subscriptions.items()
    w.queues.sent.clear()
    counts = manager.enqueue_rotation()
    assert counts["rotate"] == 1
    for _, payload, _ in list(w.queues.sent):
        if payload.get("action"):
            assert manager.handle(payload) == "created"
    (new_id, new_sub), = w.graph.subscriptions.items()
    assert new_id != old_id and new_sub["clientState"] != old_sub["clientState"]
    assert directory.lookup(old_id) is None
    assert client_state_matches(directory.lookup(new_id), new_sub["clientState"])
    assert not client_state_matches(directory.lookup(new_id), old_sub["clientState"])
    assert any(m["reason"] == "resubscribed" for m in w.queues.messages("room-changes"))  # the gap is caught up
    stored = json.dumps(list(w.tables.query("Subscriptions")), default=str)
    assert new_sub["clientState"] not in stored and old_sub["clientState"] not in stored


def test_rotation_status_says_when_the_previous_key_can_go():
    from shared.config import load_settings
    from shared.sync.key_rotation import rotation_status

    w = World()
    w.hint(w.handler(OLD))
    settings = load_settings(environment="development", hash_key=NEW, hash_key_previous=OLD)
    assert rotation_status(w.tables, settings)["rooms_to_rekey"] == 1
    w.hint(w.handler(NEW, previous=OLD))
    status = rotation_status(w.tables, settings)
    assert status["rooms_to_rekey"] == 0 and status["previous_key_can_be_removed"] is True
    assert OLD not in json.dumps(status) and NEW not in json.dumps(status)


def test_a_subscription_expiry_leaves_room_for_a_clock_running_minutes_ahead_of_graphs():
    """Graph refuses an expiry past its maximum lifetime by its own clock (GRAPH_NOTES Corrections:
    400 'can only be N minutes in the future'): a RoomCal clock 5 minutes fast must still fit."""
    w = World()
    directory = SubscriptionDirectory(w.tables, ttl_seconds=0)
    manager = SubscriptionManager(w.graph, w.tables, directory, w.queues, w.clock,
                                  urls=TEST_URLS, lifetime_minutes=10080)
    w.hint(w.handler(OLD))
    manager.recreate(TID, ROOM)
    (sub,) = w.graph.subscriptions.values()
    graph_now = w.clock.now() - timedelta(minutes=5)
    requested = datetime.fromisoformat(sub["expirationDateTime"])
    assert requested <= graph_now + timedelta(minutes=10080)
    manager.renew(TID, ROOM, next(iter(w.graph.subscriptions)))
    (sub,) = w.graph.subscriptions.values()
    assert datetime.fromisoformat(sub["expirationDateTime"]) <= graph_now + timedelta(minutes=10080)
