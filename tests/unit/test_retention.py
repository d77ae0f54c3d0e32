import json
from datetime import timedelta

from shared import keys
from shared.sync.retention import purge_expired_events
from shared.sync.sync import EVENTS
from shared.sync.sync_lease import TABLE as ROOM_SYNC
from tests.fakes import FixedClock, InMemoryTables

TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
ROOM = "room-a@contoso.com"


def test_events_that_ended_before_the_retention_period_are_deleted_and_newer_ones_kept():
    tables, clock = InMemoryTables(), FixedClock()
    tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": TENANT, "status": "active",
                              "created_at": clock.now(), "updated_at": clock.now(),
                              "settings": json.dumps({"retention_days": 200, "backfill_days": 180})})
    tables.upsert(ROOM_SYNC, {"PartitionKey": TENANT, "RowKey": ROOM, "room": ROOM})
    tables.upsert("RoomDaily", {"PartitionKey": f"{TENANT}|2026-01", "RowKey": "x", "booked_minutes": 60})
    partition = keys.room_partition(TENANT, ROOM)
    for name, age in (("old", 201), ("recent", 199), ("future", -3)):
        tables.upsert(EVENTS, {"PartitionKey": partition, "RowKey": name,
                               "start_utc": clock.now() - timedelta(days=age, hours=1),
                               "end_utc": clock.now() - timedelta(days=age)})
    counts = purge_expired_events(tables, clock)
    assert counts["removed"] == 1
    assert sorted(r["RowKey"] for r in tables.query(EVENTS, partition)) == ["future", "recent"]
    assert list(tables.query("RoomDaily"))  # aggregates stay
