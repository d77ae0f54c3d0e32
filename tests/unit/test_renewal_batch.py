"""Renewal at scale: per-tenant fan-out, due subscriptions renewed 20 per Graph $batch."""

from datetime import UTC, datetime, timedelta

from shared import bootstrap
from shared.config import load_settings
from shared.messages import SUBSCRIPTION_MAINTENANCE, RoomChange
from shared.sync.renewal_batch import RENEWAL_TENANTS
from tests.fakes import FakeGraph, FakeQueue, FixedClock, InMemoryTables

TID = "6f1c3c1e-0000-4000-8000-0000000000d8"
START = datetime(2026, 3, 2, 9, tzinfo=UTC)
ROOMS = [f"room{i:02d}@contoso.com" for i in range(45)]


def _world():
    tables, queues, clock, graph = InMemoryTables(), FakeQueue(), FixedClock(START), FakeGraph()
    settings = load_settings(environment="development", hash_key="k" * 32, client_id="app", client_secret="x",
                             notifications_key="n-key", lifecycle_key="l-key")
    services = bootstrap.build_services(settings, tables=tables, queues=queues, clock=clock, graph=graph)
    tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": TID, "status": "active",
                              "created_at": clock.now(), "updated_at": clock.now()})
    manager = services.require_subscription_manager()
    for room in ROOMS:
        graph.add_room(TID, room)
        tables.upsert("Rooms", {"PartitionKey": TID, "RowKey": room})
        services.room_changes.handle(RoomChange(tenant=TID, room=room, reason="initial", at=clock.now()).to_payload())
        manager.recreate(TID, room)
    queues.sent.clear()
    graph.calls.clear()
    return services, graph


def _run(services):
    services.renewal.enqueue_tenants()
    (job,) = services.queues.messages(RENEWAL_TENANTS)
    services.queues.sent.clear()
    return services.renewal.renew_tenant(job)


def test_nothing_is_due_a_day_after_creation():
    services, graph = _world()
    services.clock.advance(days=1)
    assert _run(services)["renewed"] == 0 and "batch" not in [c[0] for c in graph.calls]


def test_due_subscriptions_are_renewed_20_per_batch_and_their_expiry_stored():
    services, graph = _world()
    services.clock.advance(days=4, hours=1)  # 7-day lifetime, renewed within 3 days of expiry
    counts = _run(services)
    assert counts["renewed"] == 45 and [c[0] for c in graph.calls].count("batch") == 3
    assert services.queues.messages(SUBSCRIPTION_MAINTENANCE) == []
    for room in ROOMS:
        row = services.tables.get("RoomSync", TID, room)
        expires = datetime.fromisoformat(row["subscription_expires_at"])
        assert expires - services.clock.now() > timedelta(days=6, hours=23)
        assert services.subscriptions.lookup(row["subscription_id"]).expires_at == expires


def test_a_subscription_graph_removed_is_recreated_and_a_missing_one_created():
    services, graph = _world()
    services.clock.advance(days=4, hours=1)
    gone = services.tables.get("RoomSync", TID, ROOMS[5])["subscription_id"]
    graph.remove_subscription(gone)
    services.tables.merge("RoomSync", {"PartitionKey": TID, "RowKey": ROOMS[9], "subscription_id": ""})
    counts = _run(services)
    assert (counts["renewed"], counts["recreate"]) == (43, 2)
    tasks = {(m["room"], m["action"]) for m in services.queues.messages(SUBSCRIPTION_MAINTENANCE)}
    assert tasks == {(ROOMS[5], "recreate"), (ROOMS[9], "recreate")}
