"""'Synchronize room calendars' hands verified rooms to the sync engine; offboarding removes everything."""

import pytest

from shared.errors import Conflict, NotFound
from shared.onboarding import offboarding, rooms, synchronize, tenants, verification
from shared.ops import audit
from tests.unit.test_verification import OTHER, TID, World


@pytest.fixture
def world():
    w = World()
    for tid, good, bad in ((TID, "good@contoso.com", "denied@contoso.com"),
                           (OTHER, "good@fabrikam.com", "denied@fabrikam.com")):
        w.graph.add_room(tid, good)
        w.graph.add_room(tid, bad)
        w.graph.deny(tid, bad)
        w.register(tid, good, bad)
        w.start(tid)
    w.drain()
    return w


def sync(w, tid=TID):
    return synchronize.start_sync(w.tables, w.queues, w.clock, tid, actor="fm")


class TestSynchronize:
    def test_marks_active_and_queues_one_initial_hint_per_verified_room(self, world):
        result = sync(world)
        assert tenants.load(world.tables, TID).status == "active"
        assert world.queues.messages("room-changes") == [
            {"tenant": TID, "room": "good@contoso.com", "reason": "initial", "at": world.clock.now().isoformat()}]
        assert [r["email"] for r in result["not_ready"]] == ["denied@contoso.com"]
        assert "RBAC scope" in result["not_ready"][0]["reason"]

    def test_rerunning_does_not_queue_rooms_already_syncing(self, world):
        sync(world)
        world.tables.merge("Rooms", {"PartitionKey": TID, "RowKey": "good@contoso.com",
                                     "last_sync_at": world.clock.now()})
        result = sync(world)
        assert result["already_syncing"] == ["good@contoso.com"] and len(world.queues.messages("room-changes")) == 1

    def test_a_room_fixed_later_is_picked_up_automatically(self, world):
        sync(world)
        world.graph.denied.discard((TID, "denied@contoso.com"))
        world.clock.advance(minutes=15)
        verification.recheck_denied(world.tables, world.queues, world.clock)
        world.drain()
        assert {m["room"] for m in world.queues.messages("room-changes") if m["tenant"] == TID} == {
            "good@contoso.com", "denied@contoso.com"}

    def test_without_verification_it_says_what_to_do(self):
        w = World()
        with pytest.raises(Conflict, match="verified"):
            sync(w)


class TestOffboarding:
    def test_deletes_subscriptions_and_every_row_of_the_tenant_only(self, world):
        t = world.tables
        sub = world.graph.create_subscription(TID, "good@contoso.com", notification_url="https://x/n",
                                              expiration=world.clock.now(), client_state="s")
        t.upsert("Subscriptions", {"PartitionKey": "sub", "RowKey": sub["id"], "tenant_id": TID})
        t.upsert("Subscriptions", {"PartitionKey": "sub", "RowKey": "other-sub", "tenant_id": OTHER})
        for table in ("Events", "Occupancy", "RoomDaily"):
            t.upsert(table, {"PartitionKey": f"{TID}|good@contoso.com", "RowKey": "1"})
            t.upsert(table, {"PartitionKey": f"{OTHER}|good@fabrikam.com", "RowKey": "1"})
        t.upsert("RoomSync", {"PartitionKey": TID, "RowKey": "good@contoso.com"})
        result = offboarding.offboard(t, world.clock, world.graph, TID, actor="ops")
        assert result["subscriptions_deleted"] == 1 and sub["id"] not in world.graph.subscriptions
        for table, rows in t.rows.items():
            leftovers = [k for k in rows if k[0].startswith(TID) or (rows[k].get("tenant_id") == TID)]
            if table == "Audit":
                assert len(leftovers) == 1
            elif table == "Tenants":
                continue
            else:
                assert leftovers == [], table
        assert tenants.load(t, TID).status == "offboarded"
        assert audit.list_entries(t, tenant_id=TID)[0]["action"] == "tenant.offboarded"
        assert [r["email"] for r in rooms.listing(t, OTHER)["rooms"]] == ["denied@fabrikam.com", "good@fabrikam.com"]
        assert ("sub", "other-sub") in t.rows["Subscriptions"]
        assert t.rows["Events"] and all(k[0].startswith(OTHER) for k in t.rows["Events"])

    def test_offboarded_tenant_cannot_be_used_until_it_consents_again(self, world):
        offboarding.offboard(world.tables, world.clock, world.graph, TID, actor="ops")
        with pytest.raises(NotFound):
            rooms.register(world.tables, world.clock, TID, actor="fm", rows=[{"email": "a@contoso.com"}])
        tenants.mark_consented(world.tables, world.clock, TID)
        assert tenants.load(world.tables, TID).status == "consented"
