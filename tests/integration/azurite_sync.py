"""One room's sync engine on a real Azurite with a fake Graph: the world the Azurite sync tests share."""

import uuid
from datetime import timedelta

from shared.adapters.tables import AzureTableStore
from shared.clock import SystemClock
from shared.messages import RoomChange
from shared.sync.room_changes import RoomChangeHandler
from shared.sync.sync import DeltaSync
from shared.sync.sync_lease import RoomSyncLeases
from tests.fakes import FakeGraph, FakeQueue

ROOM = "room-a@contoso.com"


def sync_world(storage_connection: str, *, page_size: int):
    """(tenant, tables, graph, handler) for a new active tenant with ROOM registered."""
    tenant = str(uuid.uuid4())
    tables, queue, clock = AzureTableStore(storage_connection), FakeQueue(), SystemClock()
    graph = FakeGraph(page_size=page_size)
    graph.add_room(tenant, ROOM)
    tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": tenant, "status": "active",
                              "created_at": clock.now(), "updated_at": clock.now()})
    tables.upsert("Rooms", {"PartitionKey": tenant, "RowKey": ROOM, "display_name": "Room A"})
    leases = RoomSyncLeases(tables, queue, clock)
    sync = DeltaSync(graph, tables, queue, leases, clock, hash_key="k")
    return tenant, tables, graph, RoomChangeHandler(leases, sync, tables, clock)


def hint(tenant: str) -> dict:
    """A notification hint for ROOM, stamped just before now."""
    return RoomChange(tenant=tenant, room=ROOM, reason="notification",
                      at=SystemClock().now() - timedelta(milliseconds=1)).to_payload()
