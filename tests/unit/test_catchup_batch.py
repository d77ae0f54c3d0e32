"""Catch-up at scale: per-tenant fan-out, and quiet rooms checked 20 per Graph $batch."""

from datetime import UTC, datetime, timedelta

from shared import bootstrap, keys
from shared.config import load_settings
from shared.messages import ROOM_CHANGES, RoomChange
from shared.sync.catchup_batch import CATCHUP_PROBES, CATCHUP_TENANTS
from shared.sync.sync import EVENTS
from shared.sync.sync_lease import RoomSyncLeases
from tests.fakes import FakeGraph, FakeQueue, FixedClock, InMemoryTables

TID = "6f1c3c1e-0000-4000-8000-0000000000c7"
START = datetime(2026, 3, 2, 9, tzinfo=UTC)
ROOMS = [f"room{i:02d}@contoso.com" for i in range(45)]


def _world():
    tables, queues, clock, graph = InMemoryTables(), FakeQueue(), FixedClock(START - timedelta(days=1)), FakeGraph()
    settings = load_settings(environment="development", hash_key="k" * 32, client_id="app", client_secret="x")
    services = bootstrap.build_services(settings, tables=tables, queues=queues, clock=clock, graph=graph)
    tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": TID, "status": "active",
                              "created_at": clock.now(), "updated_at": clock.now()})
    for room in ROOMS:
        graph.add_room(TID, room)
        tables.upsert("Rooms", {"PartitionKey": TID, "RowKey": room})
        graph.add_event(TID, room, start=START, end=START + timedelta(hours=1))
        services.room_changes.handle(RoomChange(tenant=TID, room=room, reason="initial", at=clock.now()).to_payload())
    queues.sent.clear()
    graph.calls.clear()
    clock.advance(minutes=15)
    return services, graph


def _run(services, queue, fn):
    outcomes = []
    while messages := services.queues.messages(queue):
        services.queues.sent = [m for m in services.queues.sent if m[0] != queue]
        outcomes += [fn(m) for m in messages]
    return outcomes


def _catch_up(services):
    services.catch_up.enqueue_tenants()
    plans = _run(services, CATCHUP_TENANTS, services.catch_up.plan_tenant)
    probes = _run(services, CATCHUP_PROBES, services.catch_up.probe)
    return plans, probes


def test_quiet_rooms_cost_one_graph_request_per_20_rooms_and_no_room_round():
    services, graph = _world()
    before = {r: services.tables.get("RoomSync", TID, r)["delta_link"] for r in ROOMS}
    plans, probes = _catch_up(services)
    assert plans[0]["slices"] == 3 and sum(p["quiet"] for p in probes) == 45
    kinds = [c[0] for c in graph.calls]
    assert kinds.count("batch") == 3 and set(kinds) == {"batch", "calendar_view_delta"}  # 45 items inside 3 batches
    assert services.queues.messages(ROOM_CHANGES) == []
    after = {r: services.tables.get("RoomSync", TID, r)["delta_link"] for r in ROOMS}
    assert all(after[r] != before[r] for r in ROOMS)  # fresh delta links kept


def test_a_missed_change_is_found_and_repaired_by_the_rooms_own_round():
    services, graph = _world()
    missed = graph.add_event(TID, ROOMS[7], start=START + timedelta(hours=3), end=START + timedelta(hours=4))
    _, probes = _catch_up(services)
    assert sum(p["changed"] for p in probes) == 1
    (hint,) = services.queues.messages(ROOM_CHANGES)
    assert hint["room"] == ROOMS[7] and hint["reason"] == "catchup"
    services.clock.advance(seconds=1)
    services.room_changes.handle(hint)
    row_key = keys.event_row_key("k" * 32, ROOMS[7], missed)
    assert services.tables.get(EVENTS, keys.room_partition(TID, ROOMS[7]), row_key)


def test_a_throttled_item_becomes_a_hint_delayed_by_its_retry_after():
    services, graph = _world()
    graph.throttle(TID, ROOMS[3], times=50, retry_after=0.0)
    graph.throttled[(TID, ROOMS[3])] = [42.0] * 50
    _, probes = _catch_up(services)
    assert sum(p["throttled"] for p in probes) == 1
    ((queue, hint, delay),) = services.queues.sent
    assert queue == ROOM_CHANGES and hint["room"] == ROOMS[3] and delay == 43


def test_rooms_whose_next_round_must_be_a_baseline_get_their_own_hint():
    services, _ = _world()
    services.tables.merge("RoomSync", {"PartitionKey": TID, "RowKey": ROOMS[0], "window_created_at": ""})
    plans, probes = _catch_up(services)
    assert plans[0]["round"] == 1 and sum(p["quiet"] for p in probes) == 44
    assert [m["room"] for m in services.queues.messages(ROOM_CHANGES)] == [ROOMS[0]]


def test_a_room_whose_rows_a_late_write_may_have_spoilt_gets_a_baseline_not_a_probe():
    """A probe only checks the delta link; rows a write landed on after its lease ran out need a baseline."""
    services, _ = _world()
    RoomSyncLeases(services.tables, services.queues, services.clock).request_baseline(TID, ROOMS[3],
                                                                                      reason="lease_overrun")
    services.queues.sent.clear()
    plans, probes = _catch_up(services)
    assert plans[0]["round"] == 1 and sum(p["quiet"] for p in probes) == 44
    [hint] = services.queues.messages(ROOM_CHANGES)
    assert hint["room"] == ROOMS[3]
    services.room_changes.handle(hint)
    state = services.tables.get("RoomSync", TID, ROOMS[3])
    assert state["baseline_reason"] == "lease_overrun"
    services.queues.sent.clear()
    plans, _ = _catch_up(services)  # asked once, answered once
    assert plans[0].get("round", 0) == 0
