import json
import logging
from datetime import timedelta

import pytest

from shared import keys
from shared.errors import Unavailable
from shared.messages import ROOM_CHANGES, SUBSCRIPTION_MAINTENANCE
from shared.sync.room_changes import RoomChangeHandler
from shared.sync.sync import EVENTS, DeltaSync
from shared.sync.sync_lease import FAILED_ROUNDS_LIMIT, RoomSyncLeases
from shared.sync.sync_lease import TABLE as ROOM_SYNC
from tests.fakes import FakeGraph, FakeQueue, FixedClock, InMemoryTables, make_graph_event

TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
ROOM = "room-a@contoso.com"
HASH_KEY = "test-hash-key"
CANARY = "CANARY-7f3a"


class World:
    def __init__(self, *, page_size=3, max_pages=50, tenant=TENANT, room=ROOM, tables=None):
        self.tenant, self.room = tenant, room
        self.graph = FakeGraph(page_size=page_size)
        self.graph.add_room(tenant, room)
        self.tables, self.queue, self.clock = tables or InMemoryTables(), FakeQueue(), FixedClock()
        if hasattr(self.tables, "clock"):
            self.tables.clock = self.clock
        self.leases = RoomSyncLeases(self.tables, self.queue, self.clock)
        self.sync = DeltaSync(self.graph, self.tables, self.queue, self.leases, self.clock, hash_key=HASH_KEY,
                              max_pages_per_round=max_pages)
        self.handler = RoomChangeHandler(self.leases, self.sync, self.tables, self.clock)
        self.tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": tenant, "status": "active",
                                       "created_at": self.clock.now(), "updated_at": self.clock.now()})
        self.register(room)

    def register(self, room):
        self.tables.upsert("Rooms", {"PartitionKey": self.tenant, "RowKey": room, "display_name": room})

    def add(self, hours=1, **fields):
        start = self.clock.now() + timedelta(hours=hours)
        return self.graph.add_event(self.tenant, self.room, start=start, end=start + timedelta(minutes=30), **fields)

    def hint(self, reason="notification", tenant=None, room=None):
        self.clock.advance(seconds=1)
        payload = {"tenant": tenant or self.tenant, "room": room or self.room, "reason": reason,
                   "at": (self.clock.now() - timedelta(milliseconds=500)).isoformat()}
        self.clock.advance(seconds=1)
        return self.handler.handle(payload)

    def deliver_queued(self, reason="followup"):
        pending = [p for q, p, _ in self.queue.sent if q == ROOM_CHANGES and p["reason"] == reason]
        self.queue.sent.clear()
        return [self.handler.handle(p) for p in pending]

    def rows(self):
        return {r["RowKey"]: r for r in self.tables.query(EVENTS, keys.room_partition(self.tenant, self.room))}

    def truth(self):
        return {keys.event_row_key(HASH_KEY, self.room, i) for i in self.graph.mailboxes[(self.tenant, self.room)]}

    def state(self):
        return self.tables.get(ROOM_SYNC, self.tenant, self.room)


class TestInitialSync:
    def test_pages_to_the_end_stores_every_event_and_the_delta_link(self):
        w = World(page_size=3)
        for i in range(10):
            w.add(hours=i + 1)
        assert w.hint("initial").status == "synced"
        assert set(w.rows()) == w.truth() and len(w.truth()) == 10
        state = w.state()
        assert state["delta_link"] and state["round_pages"] == 4 and state["event_count"] == 10
        assert state["status"] == "synced" and state["last_full_sync_at"]

    def test_window_comes_from_the_tenant_settings(self):
        w = World()
        w.tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": TENANT, "status": "active",
                                    "created_at": w.clock.now(), "updated_at": w.clock.now(),
                                    "settings": json.dumps({"backfill_days": 7, "lookahead_days": 30,
                                                            "retention_days": 30})})
        inside, outside = w.add(hours=24 * 20), w.add(hours=24 * 40)
        w.hint("initial")
        assert set(w.rows()) == {keys.event_row_key(HASH_KEY, ROOM, inside)}
        assert outside

    def test_asks_once_for_a_subscription_after_the_sync_started(self):
        w = World(page_size=2)
        for i in range(5):
            w.add(hours=i + 1)
        w.hint("initial")
        [request] = w.queue.messages(SUBSCRIPTION_MAINTENANCE)
        assert request["action"] == "recreate" and request["room"] == ROOM
        w.add(hours=30)
        w.hint()
        assert len(w.queue.messages(SUBSCRIPTION_MAINTENANCE)) == 1

    def test_a_huge_room_hands_over_between_chunks_and_still_converges(self):
        """After max_pages the round stops, keeps its place and enqueues a followup for the rest."""
        w = World(page_size=2, max_pages=2)
        for i in range(9):
            w.add(hours=i + 1)
        w.hint("initial")
        assert w.state()["baseline_next_link"]
        assert len(w.rows()) == 4
        while any(q == ROOM_CHANGES for q, _, _ in w.queue.sent):
            w.clock.advance(seconds=1)
            w.deliver_queued()
        assert set(w.rows()) == w.truth() and not w.state()["baseline_next_link"]


class TestIncrementalSync:
    def test_create_update_cancel_and_delete_are_applied(self):
        w = World()
        keep, move, cancel, gone = (w.add(hours=h) for h in (1, 2, 3, 4))
        w.hint("initial")
        new = w.add(hours=5)
        later = w.clock.now() + timedelta(hours=8)
        w.graph.update_event(TENANT, ROOM, move, start={"dateTime": later.strftime("%Y-%m-%dT%H:%M:%S.0000000"),
                                                        "timeZone": "UTC"},
                             end={"dateTime": (later + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.0000000"),
                                  "timeZone": "UTC"})
        w.graph.update_event(TENANT, ROOM, cancel, isCancelled=True)
        w.graph.delete_event(TENANT, ROOM, gone)
        assert w.hint().status == "synced"
        rows = w.rows()
        key = lambda i: keys.event_row_key(HASH_KEY, ROOM, i)  # noqa: E731
        assert set(rows) == {key(keep), key(move), key(cancel), key(new)}
        assert rows[key(move)]["start_utc"] == later.replace(microsecond=0)
        assert rows[key(cancel)]["is_cancelled"] is True
        assert w.state()["round_removed"] == 1

    def test_the_same_message_twice_leaves_the_same_table(self):
        """A replayed hint is dropped as stale; a replayed round rewrites identical rows."""
        w = World()
        w.add(hours=1)
        payload = {"tenant": TENANT, "room": ROOM, "reason": "notification",
                   "at": (w.clock.now() - timedelta(seconds=1)).isoformat()}
        assert w.handler.handle(payload).status == "synced"
        before = {k: {f: v for f, v in r.items() if f != "_etag"} for k, r in w.rows().items()}
        assert w.handler.handle(payload).status == "stale"
        w.hint()
        after = {k: {f: v for f, v in r.items() if f != "_etag"} for k, r in w.rows().items()}
        assert after == before


class TestResync:
    def test_an_expired_delta_token_rebaselines_without_loss_or_duplicates(self):
        w = World(page_size=2)
        ids = [w.add(hours=h) for h in range(1, 7)]
        w.hint("initial")
        w.graph.expire_delta(TENANT, ROOM)
        w.graph.delete_event(TENANT, ROOM, ids[0])
        w.add(hours=9)
        assert w.hint().status == "synced"
        assert set(w.rows()) == w.truth() and len(w.rows()) == 6
        assert w.state()["baseline_reason"] == "delta_token_expired"

    def test_an_incremental_round_that_never_ends_falls_back_to_a_paged_baseline(self):
        """Graph paging an incremental round without end (or a huge backlog) cannot keep a worker forever."""
        w = World(page_size=1, max_pages=1)
        w.add(hours=1)
        w.hint("initial")
        for h in range(2, 15):  # 13 changes: 13 incremental pages, over 10 times the 1-page budget
            w.add(hours=h)
        w.hint()
        assert w.state()["baseline_reason"] == "incremental_too_long"  # stopped after 10 pages, rebaselining
        for _ in range(40):  # the baseline hands over page by page, as in the huge-room test
            if not any(q == ROOM_CHANGES for q, _, _ in w.queue.sent):
                break
            w.clock.advance(seconds=1)
            w.deliver_queued()
        assert w.state()["status"] == "synced"
        assert set(w.rows()) == w.truth() and len(w.rows()) == 14

    def test_the_sweep_keeps_rows_older_than_the_window_for_retention(self):
        w = World()
        w.add(hours=1)
        w.hint("initial")
        old = {"PartitionKey": keys.room_partition(TENANT, ROOM), "RowKey": "0" * 64,
               "start_utc": w.clock.now() - timedelta(days=300), "end_utc": w.clock.now() - timedelta(days=300)}
        w.tables.upsert(EVENTS, old)
        w.graph.expire_delta(TENANT, ROOM)
        w.hint()
        assert "0" * 64 in w.rows()

    def test_the_window_rolls_forward_with_a_fresh_baseline(self):
        w = World()
        w.add(hours=1)
        w.hint("initial")
        w.clock.advance(days=8)
        w.hint("catchup")
        assert w.state()["baseline_reason"] == "window_roll"


class StallingTables(InMemoryTables):
    """Storage that holds one Events call back (the SDK retrying it through an outage) while
    ``meanwhile`` runs, then lets it land."""

    def __init__(self):
        super().__init__()
        self.stall_upsert = self.stall_sweep = None

    def upsert_many(self, table, entities):
        if table == EVENTS and self.stall_upsert:
            meanwhile, self.stall_upsert = self.stall_upsert, None
            meanwhile()
        super().upsert_many(table, entities)

    def query(self, table, partition_key=None, *, filter=None, select=None):
        if table == EVENTS and select and "sync_generation" in select and self.stall_sweep:
            meanwhile, self.stall_sweep = self.stall_sweep, None
            meanwhile()
        return super().query(table, partition_key, filter=filter, select=select)


class GhostTables(InMemoryTables):
    """Storage that takes one Events upsert, answers the client with a timeout, and applies it later."""

    def __init__(self):
        super().__init__()
        self.ghost_next_upsert, self._ghost = False, None

    def upsert_many(self, table, entities):
        if table == EVENTS and self.ghost_next_upsert:
            self.ghost_next_upsert, self._ghost = False, list(entities)
            raise Unavailable("the storage request timed out")
        super().upsert_many(table, entities)

    def land_ghost(self):
        super().upsert_many(EVENTS, self._ghost)


class SlowDeletes(InMemoryTables):
    """Each Events delete takes ``seconds`` of the world's clock once ``slow`` is set."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds, self.slow, self.clock = seconds, False, None

    def delete(self, table, partition_key, row_key):
        if table == EVENTS and self.slow:
            self.clock.advance(seconds=self.seconds)
        super().delete(table, partition_key, row_key)


class SkewedClock:
    def __init__(self, clock, offset):
        self._clock, self._offset = clock, offset

    def now(self):
        return self._clock.now() + self._offset


class TestWritesThatLandAfterTheLease:
    """A lease fences only what lands while it lasts: a write held back past it may land after
    another worker took the room over. Such a write asks for a baseline, which repairs it."""

    def _another_worker_takes_over(self, w, change=None):
        def meanwhile():
            w.clock.advance(seconds=130)  # past the 120 s lease: the room is free for the next hint
            if change:
                change()
            assert w.hint().status == "synced"
            w.clock.advance(seconds=1)  # then the held call lands
        return meanwhile

    def test_a_late_upsert_that_restores_a_deleted_event_is_swept_by_a_baseline(self):
        w = World(tables=StallingTables())
        w.add(hours=1)
        w.hint("initial")
        late = w.add(hours=2)
        w.tables.stall_upsert = self._another_worker_takes_over(
            w, lambda: w.graph.delete_event(TENANT, ROOM, late))
        assert w.hint().status == "lost"  # its next checkpoint finds the lease gone, after the write landed
        assert keys.event_row_key(HASH_KEY, ROOM, late) in w.rows()  # the deleted event, written back late
        assert w.state()["baseline_requested_reason"] == "lease_overrun"
        w.deliver_queued()
        assert w.state()["baseline_reason"] == "lease_overrun"
        assert set(w.rows()) == w.truth() and len(w.truth()) == 1
        full_sync = w.state()["last_full_sync_at"]
        w.hint()
        assert w.state()["last_full_sync_at"] == full_sync  # asked once, answered once: incremental again

    def test_a_late_sweep_that_deletes_the_next_workers_rows_is_repaired_by_a_baseline(self):
        w = World(tables=StallingTables())
        for h in (1, 2, 3):
            w.add(hours=h)
        w.hint("initial")
        w.graph.expire_delta(TENANT, ROOM)
        w.tables.stall_sweep = self._another_worker_takes_over(w)  # its own baseline: rows of another generation
        assert w.hint().status == "lost"
        assert w.rows() == {}  # the late sweep deleted every row the other worker's baseline wrote
        w.deliver_queued()
        assert set(w.rows()) == w.truth() and len(w.truth()) == 3

    def test_a_failed_write_that_lands_later_is_swept_by_the_next_holders_baseline(self):
        """The client gave up on an upsert (a timeout) that the storage service applies later."""
        tables = GhostTables()
        w = World(tables=tables)
        w.add(hours=1)
        w.hint("initial")
        late = w.add(hours=2)
        tables.ghost_next_upsert = True
        with pytest.raises(Unavailable):
            w.hint()
        w.graph.delete_event(TENANT, ROOM, late)
        assert w.hint().status == "deferred"  # the lease is kept until it runs out
        tables.land_ghost()
        assert keys.event_row_key(HASH_KEY, ROOM, late) in w.rows()
        w.clock.advance(seconds=121)
        w.deliver_queued()  # the deferral's followup, due when the lease ends
        assert w.state()["baseline_reason"] == "lease_taken_over"
        assert set(w.rows()) == w.truth() and len(w.truth()) == 1

    def test_a_write_failing_every_time_flags_the_room_and_releases_its_lease_at_the_limit(self):
        """Kept leases turn each retry into a deferral, so the failures are counted on the room, not per message."""
        tables = GhostTables()
        w = World(tables=tables)
        w.add(hours=1)
        w.hint("initial")
        w.add(hours=2)
        for _ in range(FAILED_ROUNDS_LIMIT):
            tables.ghost_next_upsert = True
            with pytest.raises(Unavailable):
                w.hint()  # the round's write fails: its lease is kept, until the last time
            w.clock.advance(seconds=121)  # the kept lease runs out; the next hint takes over
        state = w.state()
        assert state["failed_rounds"] == FAILED_ROUNDS_LIMIT and state["lease_holder"] == ""
        assert state["status"] == "failed" and state["sync_status"] == "not_synced"
        w.hint()  # storage works again: one good round resets the count and the status
        assert w.state()["failed_rounds"] == 0 and w.state()["sync_status"] == "synced"
        assert set(w.rows()) == w.truth()

    def test_a_request_from_a_worker_whose_clock_is_slow_still_gets_its_baseline(self):
        """Requests are tokens: a request stamped before the other worker's baseline began is not taken as answered."""
        w = World(tables=StallingTables())
        for h in (1, 2, 3):
            w.add(hours=h)
        w.hint("initial")
        slow = SkewedClock(w.clock, timedelta(seconds=-2))
        leases = RoomSyncLeases(w.tables, w.queue, slow)
        worker_a = RoomChangeHandler(leases, DeltaSync(w.graph, w.tables, w.queue, leases, slow, hash_key=HASH_KEY),
                                     w.tables, slow)
        w.graph.expire_delta(TENANT, ROOM)
        w.tables.stall_sweep = self._another_worker_takes_over(w)  # its baseline, then A's held sweep lands
        w.clock.advance(seconds=5)
        hint = {"tenant": TENANT, "room": ROOM, "reason": "notification", "at": (slow.now() - timedelta(seconds=1))
                .isoformat()}
        assert worker_a.handle(hint).status == "lost"
        assert w.rows() == {}
        w.deliver_queued()
        assert set(w.rows()) == w.truth() and len(w.truth()) == 3

    def test_a_sweep_longer_than_the_lease_renews_it_and_asks_for_nothing(self):
        w = World(tables=SlowDeletes(seconds=0.05))
        w.add(hours=1)
        w.hint("initial")
        partition = keys.room_partition(TENANT, ROOM)
        for i in range(3000):  # rows the next baseline will not see: 3,000 deletes, 150 s, past the 120 s lease
            w.tables.upsert(EVENTS, {"PartitionKey": partition, "RowKey": f"{i:064d}", "sync_generation": "old",
                                     "start_utc": w.clock.now(), "end_utc": w.clock.now() + timedelta(hours=1)})
        w.graph.expire_delta(TENANT, ROOM)
        w.tables.slow = True
        assert w.hint().status == "synced"
        assert set(w.rows()) == w.truth() and "baseline_request" not in w.state()

    def test_writes_inside_the_lease_ask_for_nothing(self):
        w = World()
        w.add(hours=1)
        w.hint("initial")
        w.add(hours=2)
        w.hint()
        assert "baseline_requested_at" not in w.state()
        assert [p for q, p, _ in w.queue.sent if q == ROOM_CHANGES] == []


class TestRegistry:
    def test_a_removed_room_is_not_synced_and_leaves_catch_up(self):
        w = World()
        w.add(hours=1)
        w.tables.delete("Rooms", TENANT, ROOM)
        w.hint("catchup")
        assert w.rows() == {} and w.state()["active"] is False

    def test_an_offboarded_tenant_is_not_synced(self):
        w = World()
        w.add(hours=1)
        w.tables.merge("Tenants", {"PartitionKey": "tenant", "RowKey": TENANT, "status": "offboarded"})
        w.hint("notification")
        assert w.rows() == {} and w.graph.calls == []

    def test_a_room_registered_again_syncs_again(self):
        w = World()
        w.add(hours=1)
        w.tables.delete("Rooms", TENANT, ROOM)
        w.hint("catchup")
        w.register(ROOM)
        w.hint("initial")
        assert set(w.rows()) == w.truth() and w.state()["active"] is True


class TestFailures:
    def test_throttling_backs_off_then_the_followup_syncs(self):
        w = World()
        w.add(hours=1)
        w.graph.throttle(TENANT, ROOM, retry_after=30)
        assert w.hint("initial").status == "backing_off"
        [delay] = [d for q, _, d in w.queue.sent if q == ROOM_CHANGES]
        assert delay == 31 and w.rows() == {}
        w.clock.advance(seconds=31)
        assert w.deliver_queued()[0].status == "synced"
        assert set(w.rows()) == w.truth()

    def test_a_room_outside_the_rbac_scope_is_flagged_and_others_carry_on(self):
        w = World()
        other = "room-b@contoso.com"
        w.graph.add_room(TENANT, other)
        w.register(other)
        w.graph.add_event(TENANT, other, start=w.clock.now(), end=w.clock.now() + timedelta(hours=1))
        w.graph.deny(TENANT, ROOM)
        assert w.hint("initial").status == "failed"
        assert w.state()["last_error"] == "mailbox_access_denied" and w.state()["status"] == "failed"
        assert w.hint("initial", room=other).status == "synced"


def test_canary_strings_never_reach_tables_queues_or_logs(caplog):
    """Subject, body, preview, join URL and the Graph id of every event stay out of storage."""
    w = World(page_size=2)
    secret_ids = []
    for i in range(4):
        start = w.clock.now() + timedelta(hours=i + 1)
        event = make_graph_event(start=start, end=start + timedelta(hours=1), room=ROOM, subject=f"{CANARY} s{i}",
                                 event_id=f"AAMk{CANARY}id{i}=", isOnlineMeeting=True,
                                 onlineMeeting={"joinUrl": f"https://teams.example/{CANARY}"},
                                 onlineMeetingUrl=f"https://teams.example/{CANARY}",
                                 body={"contentType": "html", "content": f"<p>{CANARY} body</p>"},
                                 bodyPreview=f"{CANARY} preview")
        secret_ids.append(w.graph.add_event(TENANT, ROOM, event))
    with caplog.at_level(logging.DEBUG):
        w.hint("initial")
        w.graph.update_event(TENANT, ROOM, secret_ids[0], subject=f"{CANARY} renamed")
        w.graph.delete_event(TENANT, ROOM, secret_ids[1])
        w.hint()
    stored = json.dumps([list(t.values()) for t in w.tables.rows.values()], default=str)
    queued = json.dumps(w.queue.sent, default=str)
    logged = " ".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert len(w.rows()) == 3
    for text in (stored, queued, logged):
        assert CANARY not in text


@pytest.mark.parametrize("times", [1, 2])
def test_transient_graph_failures_are_raised_for_the_host_to_retry(times):
    from shared.errors import Unavailable

    w = World()
    w.add(hours=1)
    w.graph.fail(TENANT, ROOM, times=times)
    with pytest.raises(Unavailable):
        w.hint("initial")
    assert w.state()["lease_holder"] == ""
