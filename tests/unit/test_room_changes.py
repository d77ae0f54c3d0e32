from datetime import timedelta

import pytest

from shared.errors import AccessDenied, InvalidInput, Unavailable
from shared.messages import ROOM_CHANGES
from shared.sync.catchup import enqueue_catch_up
from shared.sync.room_changes import RoomChangeHandler
from shared.sync.sync_lease import TABLE as ROOM_SYNC
from shared.sync.sync_lease import RoomSyncLeases
from tests.fakes import FakeQueue, FixedClock, InMemoryTables

TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
ROOM = "room-a@contoso.com"


def _world(run_round):
    tables, queue, clock = InMemoryTables(), FakeQueue(), FixedClock()
    leases = RoomSyncLeases(tables, queue, clock)
    return RoomChangeHandler(leases, run_round, tables, clock, max_dequeue_count=5), tables, queue, clock


def _payload(clock, **extra):
    return {"tenant": TENANT, "room": "Room-A@Contoso.com", "reason": "initial",
            "at": (clock.now() - timedelta(seconds=1)).isoformat(), **extra}


class TestRoomChangeHandler:
    def test_a_hint_runs_a_round_for_the_normalised_room(self):
        seen = []
        handler, _, _, clock = _world(lambda lease, change: seen.append((lease.room, change.reason)))
        assert handler.handle(_payload(clock)).status == "synced"
        assert seen == [(ROOM, "initial")]

    @pytest.mark.parametrize("payload", [{}, {"tenant": "x/y", "room": ROOM, "reason": "initial", "at": "now"},
                                         {"tenant": TENANT, "room": "not-an-address", "reason": "x",
                                          "at": "2026-01-01T00:00:00Z"}, "text"])
    def test_a_malformed_message_is_invalid_input_so_it_ends_in_the_poison_queue(self, payload):
        handler, *_ = _world(lambda lease, change: None)
        with pytest.raises(InvalidInput):
            handler.handle(payload)

    def test_a_permanent_access_problem_flags_the_room_and_completes(self):
        """Retrying cannot fix an RBAC scope: say so on the room and the registry row, don't poison."""
        def denied(lease, change):
            raise AccessDenied("room mailbox is outside the application's Exchange RBAC scope",
                               fix="add it to the scope's group")

        handler, tables, _, clock = _world(denied)
        tables.upsert("Rooms", {"PartitionKey": TENANT, "RowKey": ROOM, "display_name": "Room A"})
        assert handler.handle(_payload(clock)).status == "failed"
        row = tables.get(ROOM_SYNC, TENANT, ROOM)
        assert row["status"] == "failed" and row["last_error"] == "access_denied" and row["lease_holder"] == ""
        registry = tables.get("Rooms", TENANT, ROOM)
        assert registry["sync_status"] == "not_synced" and registry["sync_fix"] == "add it to the scope's group"
        assert registry["display_name"] == "Room A"

    def test_a_transient_error_is_recorded_and_raised_for_the_host_to_retry(self):
        def down(lease, change):
            raise Unavailable("Microsoft Graph unreachable")

        handler, tables, _, clock = _world(down)
        with pytest.raises(Unavailable):
            handler.handle(_payload(clock), dequeue_count=1)
        row = tables.get(ROOM_SYNC, TENANT, ROOM)
        assert row["last_error"] == "unavailable" and row.get("status") != "failed" and row["error_count"] == 1

    def test_the_last_attempt_flags_the_room_before_the_message_is_poisoned(self):
        def broken(lease, change):
            raise RuntimeError("bug")

        handler, tables, _, clock = _world(broken)
        with pytest.raises(RuntimeError):
            handler.handle(_payload(clock), dequeue_count=5)
        row = tables.get(ROOM_SYNC, TENANT, ROOM)
        assert row["status"] == "failed" and row["last_error"] == "RuntimeError"
        assert "bug" not in str(row)


class TestCatchUp:
    def test_enqueues_one_catch_up_hint_per_active_room_of_active_tenants(self):
        tables, queue, clock = InMemoryTables(), FakeQueue(), FixedClock()
        other = "11111111-1111-1111-1111-111111111111"
        tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": TENANT, "status": "active"})
        tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": other, "status": "offboarded"})
        for tenant, room, active in [(TENANT, "a@contoso.com", True), (TENANT, "b@contoso.com", False),
                                     (other, "c@fabrikam.com", True)]:
            tables.upsert(ROOM_SYNC, {"PartitionKey": tenant, "RowKey": room, "room": room, "active": active})
        counts = enqueue_catch_up(tables, queue, clock)
        assert [(m["room"], m["reason"]) for m in queue.messages(ROOM_CHANGES)] == [("a@contoso.com", "catchup")]
        assert counts == {"enqueued": 1, "skipped_room_inactive": 1, "skipped_tenant_not_active": 1}


def test_catch_up_can_skip_rooms_synced_recently():
    tables, queue, clock = InMemoryTables(), FakeQueue(), FixedClock()
    tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": TENANT, "status": "active"})
    for room, minutes_ago in (("fresh@contoso.com", 5), ("stale@contoso.com", 90)):
        tables.upsert(ROOM_SYNC, {"PartitionKey": TENANT, "RowKey": room, "room": room,
                                  "synced_through": (clock.now() - timedelta(minutes=minutes_ago)).isoformat()})
    enqueue_catch_up(tables, queue, clock, min_age_minutes=60)
    assert [m["room"] for m in queue.messages(ROOM_CHANGES)] == ["stale@contoso.com"]


def test_one_unusable_row_does_not_stop_catch_up_for_every_other_room():
    """A RoomSync row whose room cannot make a valid hint is counted and skipped, not fatal to the run."""
    tables, queue, clock = InMemoryTables(), FakeQueue(), FixedClock()
    tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": TENANT, "status": "active"})
    for room in ("a@contoso.com", "not an address", "b@contoso.com"):
        tables.upsert(ROOM_SYNC, {"PartitionKey": TENANT, "RowKey": room, "room": room})
    counts = enqueue_catch_up(tables, queue, clock)
    assert sorted(m["room"] for m in queue.messages(ROOM_CHANGES)) == ["a@contoso.com", "b@contoso.com"]
    assert counts["skipped_invalid_row"] == 1
