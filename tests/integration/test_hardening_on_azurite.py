"""Hardening (issue 16) against a real Azurite: ordinary but huge data never poisons a room."""

import uuid
from datetime import timedelta

import pytest

from shared import keys
from shared.adapters.tables import AzureTableStore
from shared.clock import SystemClock
from shared.sync.sync import EVENTS
from shared.sync.sync_lease import TABLE as ROOM_SYNC
from tests.fakes import FakeGraph, FakeQueue
from tests.integration.azurite_sync import ROOM, hint, sync_world

pytestmark = pytest.mark.integration


@pytest.fixture
def world(storage_connection):
    return sync_world(storage_connection, page_size=10)


def test_a_town_hall_and_a_100_kb_location_are_stored_bounded_and_the_room_keeps_syncing(world):
    """A 1,000-attendee meeting and a 100 KB location name on one page: both rows are written
    (bounded), the page's other rows too, and the delta link advances (no poison loop)."""
    tenant, tables, graph, handler = world
    now = SystemClock().now()
    people = tuple(f"person{i:04d}@contoso.com" for i in range(1000))
    town_hall = graph.add_event(tenant, ROOM, start=now + timedelta(hours=1), end=now + timedelta(hours=2),
                                attendees=people)
    huge_place = graph.add_event(tenant, ROOM, start=now + timedelta(hours=3), end=now + timedelta(hours=4))
    graph.update_event(tenant, ROOM, huge_place, locations=[{"displayName": "Hall " + "x" * 100_000,
                                                            "locationType": "default"}])
    ordinary = graph.add_event(tenant, ROOM, start=now + timedelta(hours=5), end=now + timedelta(hours=6),
                               attendees=("a@contoso.com",))
    assert handler.handle(hint(tenant)).status == "synced"
    partition = keys.room_partition(tenant, ROOM)
    rows = {r["RowKey"]: r for r in tables.query(EVENTS, partition)}
    assert set(rows) == {keys.event_row_key("k", ROOM, i) for i in (town_hall, huge_place, ordinary)}
    big = rows[keys.event_row_key("k", ROOM, town_hall)]
    assert big["attendee_count"] == 1001  # 1,000 people and the room
    assert len(big["attendees"]) < 32_000
    assert len(rows[keys.event_row_key("k", ROOM, huge_place)]["locations"]) < 32_000
    assert tables.get(ROOM_SYNC, tenant, ROOM)["delta_link"]
    # and the next round goes on from there
    later = graph.add_event(tenant, ROOM, start=now + timedelta(hours=7), end=now + timedelta(hours=8))
    assert handler.handle(hint(tenant)).status == "synced"
    assert tables.get(EVENTS, partition, keys.event_row_key("k", ROOM, later))


def test_delete_many_batches_and_tolerates_rows_already_gone(storage_connection):
    tables = AzureTableStore(storage_connection)
    partition = f"{uuid.uuid4()}|room@contoso.com"
    tables.upsert_many(EVENTS, [{"PartitionKey": partition, "RowKey": f"{i:04d}", "n": i} for i in range(250)])
    tables.delete(EVENTS, partition, "0042")  # one row of the first transaction is already gone
    keys_ = [(partition, f"{i:04d}") for i in range(250)] + [(partition, "never-there")]
    assert tables.delete_many(EVENTS, keys_) == 251
    assert list(tables.query(EVENTS, partition)) == []


def test_offboarding_on_azurite_deletes_in_batches_and_keeps_the_audit(storage_connection):
    from shared.onboarding import offboarding
    from shared.ops import audit

    tenant = str(uuid.uuid4())
    tables, queue, clock = AzureTableStore(storage_connection), FakeQueue(), SystemClock()
    tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": tenant, "status": "active",
                              "created_at": clock.now(), "updated_at": clock.now()})
    for room in ("a@contoso.com", "b@contoso.com"):
        tables.upsert("Rooms", {"PartitionKey": tenant, "RowKey": room})
        tables.upsert("RoomSync", {"PartitionKey": tenant, "RowKey": room, "room": room})
        tables.upsert_many(EVENTS, [{"PartitionKey": keys.room_partition(tenant, room), "RowKey": f"{i:05d}"}
                                    for i in range(1200)])
    audit.record(tables, clock, tenant_id=tenant, action="settings.changed", actor="fm")
    offboarding.start(tables, queue, clock, tenant, actor="ops")
    outcomes = []
    while steps := queue.messages(offboarding.QUEUE):
        queue.sent.clear()
        outcomes += [offboarding.run_step(tables, queue, clock, None, s) for s in steps]
    assert outcomes[-1] == "offboarded"
    prefix = f"PartitionKey ge '{tenant}|' and PartitionKey lt '{tenant}}}'"
    assert list(tables.query(EVENTS, filter=prefix)) == [] and list(tables.query("Rooms", tenant)) == []
    assert offboarding.progress(tables, tenant)["rows_deleted"] == 2404
    assert {e["action"] for e in audit.list_entries(tables, tenant_id=tenant)} >= {"settings.changed",
                                                                                 "tenant.offboarded"}


def test_erasure_on_azurite_rewrites_rows_by_etag_and_later_rounds_keep_the_pseudonym(storage_connection):
    import json

    from shared import bootstrap
    from shared.config import load_settings
    from shared.ops import erasure
    from shared.sync import erasure as erased_people

    tenant = str(uuid.uuid4())
    tables, queue, graph = AzureTableStore(storage_connection), FakeQueue(), FakeGraph()
    settings = load_settings(environment="development", hash_key="e" * 32, client_id="app", client_secret="x")
    services = bootstrap.build_services(settings, tables=tables, queues=queue, graph=graph)
    now = services.clock.now()
    graph.add_room(tenant, ROOM)
    tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": tenant, "status": "active",
                              "created_at": now, "updated_at": now})
    tables.upsert("Rooms", {"PartitionKey": tenant, "RowKey": ROOM})
    for h in range(3):
        graph.add_event(tenant, ROOM, start=now + timedelta(hours=h + 1), end=now + timedelta(hours=h + 2),
                        organizer="ann@contoso.com" if h else "bob@contoso.com", attendees=("ann@contoso.com",))
    services.room_changes.handle(hint(tenant))
    body = erasure.erase_person(services, tenant, "Ann@Contoso.com", actor="dpo")
    for _, message, _ in [m for m in queue.sent if m[0] == erased_people.QUEUE]:
        erased_people.rewrite_room(tables, message, hash_key="e" * 32)
    graph.add_event(tenant, ROOM, start=now + timedelta(hours=6), end=now + timedelta(hours=7),
                    organizer="ann@contoso.com")
    services.room_changes.handle(hint(tenant))
    stored = json.dumps(list(tables.query(EVENTS, keys.room_partition(tenant, ROOM))), default=str)
    assert "ann@contoso.com" not in stored and stored.count(body["pseudonym"]) == 3 + 2 + 1
