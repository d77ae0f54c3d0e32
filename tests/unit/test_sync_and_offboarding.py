"""'Synchronize room calendars' hands verified rooms to the sync engine; offboarding removes everything."""

import pytest

from shared.errors import Conflict, NotFound
from shared.onboarding import offboarding, rooms, synchronize, tenants, verification
from shared.ops import audit
from shared.sync.catchup import enqueue_catch_up
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
    def _run(self, world, *, budget=60.0):
        """Start offboarding, then run the tenant-offboarding queue to the end (the host would)."""
        offboarding.start(world.tables, world.queues, world.clock, TID, actor="ops")
        outcomes = []
        while steps := world.queues.messages(offboarding.QUEUE):
            world.queues.sent = [m for m in world.queues.sent if m[0] != offboarding.QUEUE]
            outcomes += [offboarding.run_step(world.tables, world.queues, world.clock, world.graph, m,
                                              budget_seconds=budget) for m in steps]
        return outcomes

    def test_deletes_subscriptions_and_every_row_of_the_tenant_only_and_keeps_the_audit(self, world):
        t = world.tables
        sub = world.graph.create_subscription(TID, "good@contoso.com", notification_url="https://x/n",
                                              expiration=world.clock.now(), client_state="s")
        t.upsert("Subscriptions", {"PartitionKey": "sub", "RowKey": sub["id"], "tenant_id": TID})
        t.upsert("Subscriptions", {"PartitionKey": "sub", "RowKey": "other-sub", "tenant_id": OTHER})
        for table in ("Events", "Occupancy", "RoomDaily"):
            t.upsert(table, {"PartitionKey": f"{TID}|good@contoso.com", "RowKey": "1"})
            t.upsert(table, {"PartitionKey": f"{OTHER}|good@fabrikam.com", "RowKey": "1"})
        t.upsert("RoomSync", {"PartitionKey": TID, "RowKey": "good@contoso.com"})
        audit.record(t, world.clock, tenant_id=TID, action="settings.changed", actor="fm")
        outcomes = self._run(world)
        assert outcomes == ["subscriptions_deleted", "rows_deleted", "offboarded"]
        assert sub["id"] not in world.graph.subscriptions
        for table, rows in t.rows.items():
            leftovers = [k for k in rows if k[0].startswith(TID) or (rows[k].get("tenant_id") == TID)]
            if table in ("Audit", "Tenants"):
                continue
            assert leftovers == [], table
        assert tenants.load(t, TID).status == "offboarded"
        trail = {e["action"]: e for e in audit.list_entries(t, tenant_id=TID)}
        assert {"tenant.offboarded", "tenant.offboarding_started", "settings.changed"} <= set(trail)
        assert trail["tenant.offboarded"]["detail"]["rows_deleted"] >= 6
        assert [r["email"] for r in rooms.listing(t, OTHER)["rooms"]] == ["denied@fabrikam.com", "good@fabrikam.com"]
        assert ("sub", "other-sub") in t.rows["Subscriptions"]
        assert t.rows["Events"] and all(k[0].startswith(OTHER) for k in t.rows["Events"])

    def test_the_tenant_is_marked_first_and_every_trigger_then_ignores_it(self, world):
        t = world.tables
        t.upsert("RoomSync", {"PartitionKey": TID, "RowKey": "good@contoso.com", "room": "good@contoso.com",
                              "delta_link": "x"})
        body = offboarding.start(t, world.queues, world.clock, TID, actor="ops")
        assert body["status"] == "offboarding" and tenants.load(t, TID).status == "offboarding"
        assert t.get("Rooms", TID, "good@contoso.com")  # nothing deleted inside the request
        world.queues.sent.clear()
        enqueue_catch_up(t, world.queues, world.clock)
        assert [m for m in world.queues.messages("room-changes") if m["tenant"] == TID] == []
        with pytest.raises(NotFound):
            rooms.register(t, world.clock, TID, actor="fm", rows=[{"email": "a@contoso.com"}])

    def test_a_small_budget_hands_over_and_resumes_until_done(self, world):
        t = world.tables
        t.upsert_many("Events", [{"PartitionKey": f"{TID}|good@contoso.com", "RowKey": f"{i:05d}"}
                                 for i in range(3500)])
        outcomes = self._run(world, budget=0.0)
        assert outcomes.count("handed_over") >= 3 and outcomes[-1] == "offboarded"
        assert not [k for k in t.rows["Events"] if k[0].startswith(TID)]
        assert offboarding.progress(t, TID)["rows_deleted"] >= 3500

    def test_retention_cleans_what_a_late_write_left(self, world):
        self._run(world)
        world.tables.upsert("Events", {"PartitionKey": f"{TID}|good@contoso.com", "RowKey": "late"})
        assert offboarding.clean_leftovers(world.tables, world.clock)["rows"] == 1
        assert not [k for k in world.tables.rows["Events"] if k[0].startswith(TID)]

    def test_offboarded_tenant_cannot_be_used_until_it_consents_again(self, world):
        self._run(world)
        with pytest.raises(NotFound):
            rooms.register(world.tables, world.clock, TID, actor="fm", rows=[{"email": "a@contoso.com"}])
        tenants.mark_consented(world.tables, world.clock, TID)
        assert tenants.load(world.tables, TID).status == "consented"
