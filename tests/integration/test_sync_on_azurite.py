"""The sync engine's table work against a real Azurite: etags, batches, datetimes, queries."""

import threading
import time
from datetime import timedelta

import pytest

from shared import keys
from shared.clock import SystemClock
from shared.messages import RoomChange
from shared.ops.room_status import tenant_room_status
from shared.sync.sync import EVENTS
from shared.sync.sync_lease import TABLE as ROOM_SYNC
from shared.sync.sync_lease import RoomSyncLeases
from tests.fakes import FakeQueue
from tests.integration.azurite_sync import ROOM, hint, sync_world

pytestmark = pytest.mark.integration


@pytest.fixture
def world(storage_connection):
    return sync_world(storage_connection, page_size=3)


def test_initial_incremental_and_rebaseline_rounds_mirror_the_calendar(world):
    tenant, tables, graph, handler = world
    now = SystemClock().now()
    ids = [graph.add_event(tenant, ROOM, start=now + timedelta(hours=h), end=now + timedelta(hours=h, minutes=30))
           for h in range(1, 8)]
    assert handler.handle(hint(tenant)).status == "synced"
    graph.delete_event(tenant, ROOM, ids[0])
    graph.update_event(tenant, ROOM, ids[1], isCancelled=True)
    assert handler.handle(hint(tenant)).status == "synced"
    graph.expire_delta(tenant, ROOM)
    graph.add_event(tenant, ROOM, start=now - timedelta(minutes=5), end=now + timedelta(minutes=25))
    assert handler.handle(hint(tenant)).status == "synced"
    partition = keys.room_partition(tenant, ROOM)
    rows = {r["RowKey"]: r for r in tables.query(EVENTS, partition)}
    truth = {keys.event_row_key("k", ROOM, i) for i in graph.mailboxes[(tenant, ROOM)]}
    assert set(rows) == truth
    assert rows[keys.event_row_key("k", ROOM, ids[1])]["is_cancelled"] is True
    status = tenant_room_status(tables, SystemClock(), tenant)["rooms"][0]
    assert status["free_busy"] == "busy" and status["sync"]["status"] == "synced"


def test_concurrent_workers_never_sync_one_room_twice_at_once(world):
    tenant, tables, _, _ = world
    clock, running, peak, lock = SystemClock(), [0], [0], threading.Lock()
    leases = RoomSyncLeases(tables, FakeQueue(), clock)

    def round_fn(lease):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1

    def worker():
        for _ in range(5):
            leases.run(RoomChange.model_validate(hint(tenant)), round_fn)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 1
    assert tables.get(ROOM_SYNC, tenant, ROOM)["lease_holder"] == ""


def test_retention_purge_deletes_only_rows_that_ended_before_the_cutoff(world):
    from shared.sync.retention import purge_expired_events

    tenant, tables, _, _ = world
    clock = SystemClock()
    tables.upsert(ROOM_SYNC, {"PartitionKey": tenant, "RowKey": ROOM, "room": ROOM})
    partition = keys.room_partition(tenant, ROOM)
    for name, age_days in (("old", 400), ("recent", 10)):
        tables.upsert(EVENTS, {"PartitionKey": partition, "RowKey": name,
                               "start_utc": clock.now() - timedelta(days=age_days, hours=1),
                               "end_utc": clock.now() - timedelta(days=age_days)})
    assert purge_expired_events(tables, clock)["removed"] >= 1
    assert [r["RowKey"] for r in tables.query(EVENTS, partition)] == ["recent"]
