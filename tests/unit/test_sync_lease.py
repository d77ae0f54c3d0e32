import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import SystemClock
from shared.errors import InvalidInput
from shared.messages import ROOM_CHANGES, RoomChange
from shared.sync.sync_lease import TABLE, LeaseLost, RoomSyncLeases, baseline_asked, room_row_key
from tests.fakes import FakeQueue, FixedClock, InMemoryTables

TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
ROOM = "room-a@contoso.com"


def _hint(at, reason="notification"):
    return RoomChange(tenant=TENANT, room=ROOM, reason=reason, at=at)


@pytest.fixture
def world():
    tables, queue, clock = InMemoryTables(), FakeQueue(), FixedClock()
    return RoomSyncLeases(tables, queue, clock, lease_seconds=60, max_rounds=3), tables, queue, clock


def _row(tables):
    return tables.get(TABLE, TENANT, ROOM)


class TestOneWorker:
    def test_a_hint_runs_one_round_and_releases(self, world):
        """The first hint takes the lease, runs a round and records its start as synced_through."""
        leases, tables, _, clock = world
        hint_at = clock.now()
        clock.advance(seconds=1)
        rounds = []
        outcome = leases.run(_hint(hint_at), lambda lease: rounds.append(lease.round_started))
        assert (outcome.status, outcome.rounds) == ("synced", 1)
        row = _row(tables)
        assert row["lease_holder"] == "" and row["synced_through"] == rounds[0].isoformat(timespec="microseconds")

    def test_a_hint_older_than_the_last_round_is_dropped(self, world):
        """A message already covered by a round that read Graph later costs nothing."""
        leases, _, _, clock = world
        leases.run(_hint(clock.now() - timedelta(seconds=1)), lambda lease: None)
        rounds = []
        assert leases.run(_hint(clock.now() - timedelta(seconds=5)), rounds.append).status == "stale"
        assert rounds == []

    def test_a_newer_hint_runs_a_new_round(self, world):
        leases, _, _, clock = world
        leases.run(_hint(clock.now() - timedelta(seconds=1)), lambda lease: None)
        clock.advance(seconds=10)
        assert leases.run(_hint(clock.now() - timedelta(seconds=1)), lambda lease: None).status == "synced"

    def test_a_failed_round_releases_without_advancing(self, world):
        """An error gives the lease back, records the error's kind, and leaves the hint pending."""
        leases, tables, _, clock = world

        def boom(lease):
            raise RuntimeError("graph said no")

        with pytest.raises(RuntimeError):
            leases.run(_hint(clock.now() - timedelta(seconds=1)), boom)
        row = _row(tables)
        assert row["lease_holder"] == "" and "synced_through" not in row and row["last_error"] == "RuntimeError"
        assert leases.run(_hint(clock.now() - timedelta(seconds=1)), lambda lease: None).status == "synced"

    def test_a_hint_from_the_future_costs_one_round_not_a_loop(self, world):
        """A hint stamped by a clock running ahead is treated as 'now'."""
        leases, _, queue, clock = world
        outcome = leases.run(_hint(clock.now() + timedelta(hours=1)), lambda lease: clock.advance(seconds=1))
        assert (outcome.status, outcome.rounds) == ("synced", 1)
        assert queue.sent == []

    def test_room_keys_never_hold_forbidden_characters(self):
        with pytest.raises(InvalidInput):
            room_row_key("a#b/c?d@x.com")
        assert room_row_key(ROOM) == ROOM


class TestCoalescing:
    def test_hints_during_a_round_cost_one_more_round_not_n(self, world):
        """Fifty hints arriving while a round runs are deferred; the holder runs exactly one more round."""
        leases, tables, _queue, clock = world
        outcomes = []

        def round_fn(lease):
            if lease.rounds == 1:
                for _ in range(50):
                    clock.advance(milliseconds=10)
                    outcomes.append(leases.run(_hint(clock.now()), lambda _: pytest.fail("second holder")))
            clock.advance(milliseconds=5)

        outcome = leases.run(_hint(clock.now()), round_fn)
        assert (outcome.status, outcome.rounds) == ("synced", 2)
        assert {o.status for o in outcomes} == {"deferred"}
        assert _row(tables)["lease_holder"] == ""

    def test_a_deferral_schedules_one_followup_for_when_the_lease_runs_out(self, world):
        """If the holder died, the followup hint (delayed to the lease's end) takes over."""
        leases, _, queue, clock = world
        lease = leases.acquire(_hint(clock.now()))
        for _ in range(5):
            clock.advance(seconds=1)
            assert leases.acquire(_hint(clock.now())) == "deferred"
        followups = [(p, d) for q, p, d in queue.sent if q == ROOM_CHANGES]
        assert len(followups) == 1
        payload, delay = followups[0]
        assert payload["reason"] == "followup" and 55 <= delay <= 61
        assert lease.holder

    def test_a_followup_takes_over_after_the_holder_vanished(self, world):
        leases, _, _, clock = world
        hint = _hint(clock.now())
        leases.acquire(hint)  # this holder crashes and never finishes
        clock.advance(seconds=1)
        assert leases.acquire(_hint(clock.now())) == "deferred"
        clock.advance(seconds=61)
        assert leases.run(_hint(hint.at, reason="followup"), lambda lease: None).status == "synced"

    def test_the_old_holder_cannot_write_after_losing_its_lease(self, world):
        """A holder whose lease expired and was taken stops: its checkpoints raise LeaseLost."""
        leases, _, _, clock = world
        old = leases.acquire(_hint(clock.now()))
        clock.advance(seconds=61)
        new = leases.acquire(_hint(clock.now()))
        assert new.holder != old.holder
        with pytest.raises(LeaseLost):
            leases.checkpoint(old, delta_link="stale")

    def test_a_constantly_busy_room_hands_over_after_max_rounds(self, world):
        """After max_rounds the holder releases and enqueues a followup so one room cannot pin a worker."""
        leases, tables, queue, clock = world

        def always_dirty(lease):
            clock.advance(seconds=1)
            assert leases.acquire(_hint(clock.now())) == "deferred"
            clock.advance(seconds=1)

        outcome = leases.run(_hint(clock.now()), always_dirty)
        assert outcome.rounds == 3
        assert _row(tables)["lease_holder"] == ""
        assert [p["reason"] for p in queue.messages(ROOM_CHANGES)][-1] == "followup"


class TestConcurrentWorkers:
    def test_never_two_rounds_at_once_and_every_hint_is_covered(self):
        """Eight threads, 200 hints: rounds never overlap, far fewer rounds than hints, and the
        last round started after the last hint (nothing is lost)."""
        tables, queue = InMemoryTables(), FakeQueue()
        leases = RoomSyncLeases(tables, queue, SystemClock(), lease_seconds=30, max_rounds=1000)
        running, peak, rounds, lock = [0], [0], [0], threading.Lock()
        hints = []

        def round_fn(lease):
            with lock:
                running[0] += 1
                rounds[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.002)
            with lock:
                running[0] -= 1

        def worker():
            for _ in range(25):
                at = datetime.now(UTC)
                with lock:
                    hints.append(at)
                leases.run(RoomChange(tenant=TENANT, room=ROOM, reason="notification", at=at), round_fn)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        row = tables.get(TABLE, TENANT, ROOM)
        assert peak[0] == 1
        assert rounds[0] < 200
        assert row["lease_holder"] == ""
        assert datetime.fromisoformat(row["synced_through"]) >= max(hints)


class TestThrottling:
    def test_a_throttled_round_backs_off_and_coalesces_hints_until_retry_after(self, world):
        """Throttled(retry_after=30): the room stays leased to nobody for 30 s, later hints only mark it
        dirty, and exactly one followup hint is scheduled for when the back-off ends."""
        from shared.errors import Throttled

        leases, tables, queue, clock = world

        def throttled(lease):
            raise Throttled("slow down", retry_after=30)

        assert leases.run(_hint(clock.now()), throttled).status == "backing_off"
        for _ in range(10):
            clock.advance(seconds=1)
            assert leases.run(_hint(clock.now()), lambda lease: pytest.fail("ran during back-off")).status == "deferred"
        followups = [(p, d) for q, p, d in queue.sent if q == ROOM_CHANGES]
        assert len(followups) == 1 and followups[0][1] == 31
        assert _row(tables)["throttled_count"] == 1
        clock.advance(seconds=25)
        assert leases.run(RoomChange(**followups[0][0]), lambda lease: None).status == "synced"


class TestBaselineRequests:
    def test_a_request_is_answered_by_the_baseline_that_began_after_it_whatever_the_clocks(self, world):
        leases, tables, queue, clock = world
        leases.run(_hint(clock.now()), lambda lease: None)  # the row exists
        clock.advance(seconds=1)
        leases.request_baseline(TENANT, ROOM, reason="lease_overrun")
        row = _row(tables)
        assert baseline_asked(row) and row["baseline_requested_reason"] == "lease_overrun"
        assert [p["reason"] for q, p, _ in queue.sent if q == ROOM_CHANGES] == ["followup"]
        clock.advance(seconds=-30)  # the baseline's worker has a slow clock: no matter, tokens are compared

        def baseline(lease):
            leases.start_baseline(lease, baseline_reason="requested")
            leases.checkpoint(lease, full_sync_answers=lease.row["baseline_answers"])
        leases.run(_hint(clock.now(), reason="followup"), baseline)
        assert not baseline_asked(_row(tables))

    def test_a_request_made_after_a_baseline_began_stays_open(self, world):
        leases, tables, _, clock = world
        leases.run(_hint(clock.now()), lambda lease: None)

        def baseline(lease):
            leases.start_baseline(lease, baseline_reason="window_roll")
            leases.request_baseline(TENANT, ROOM, reason="lease_overrun")  # another worker, meanwhile
            leases.checkpoint(lease, full_sync_answers=lease.row["baseline_answers"])
        clock.advance(seconds=1)
        leases.run(_hint(clock.now()), baseline)
        assert baseline_asked(_row(tables))

    def test_a_request_hint_is_not_dropped_as_stale(self, world):
        """Its time may be older than the last round's start (another worker's clock): it must still get its round."""
        leases, _, _, clock = world
        leases.run(_hint(clock.now()), lambda lease: None)
        leases.request_baseline(TENANT, ROOM, reason="lease_overrun")
        rounds = []
        assert leases.run(_hint(clock.now() - timedelta(seconds=5)), rounds.append).status == "synced"
        assert len(rounds) == 1

    def test_a_request_for_a_room_offboarded_meanwhile_does_nothing(self, world):
        leases, tables, queue, _ = world
        leases.request_baseline(TENANT, "gone@contoso.com", reason="lease_overrun")
        assert queue.sent == [] and list(tables.query(TABLE)) == []

    def test_taking_over_a_lease_nobody_released_asks_for_a_baseline_in_the_same_write(self, world):
        leases, tables, _, clock = world
        crashed = leases.acquire(_hint(clock.now()))
        leases.before_write(crashed)
        assert not baseline_asked(crashed.row)
        clock.advance(seconds=61)  # its holder never came back, a write open; the 60 s lease ran out
        taken = leases.acquire(_hint(clock.now()))
        assert taken.holder != crashed.holder and baseline_asked(taken.row) and baseline_asked(_row(tables))
        assert _row(tables)["baseline_requested_reason"] == "lease_taken_over"

    def test_taking_over_a_holder_that_was_only_slow_between_writes_asks_for_nothing(self, world):
        """Its last page was written and the round is done writing until its next checkpoint... or it never wrote."""
        leases, _, _, clock = world
        leases.acquire(_hint(clock.now()))  # stuck in Graph (throttled) before its first write
        clock.advance(seconds=61)
        assert not baseline_asked(leases.acquire(_hint(clock.now())).row)

    def test_a_write_that_fails_past_the_lease_asks_at_once(self, world):
        """An earlier attempt may have landed after a takeover's baseline; the lease it keeps is no longer its own."""
        leases, tables, _, clock = world
        lease = leases.acquire(_hint(clock.now()))
        leases.before_write(lease)
        with pytest.raises(TimeoutError), leases.writing(lease):
            clock.advance(seconds=58)
            raise TimeoutError("retried through an outage, gave up")
        assert baseline_asked(_row(tables)) and _row(tables)["baseline_requested_reason"] == "lease_overrun"

    def test_a_back_off_that_runs_out_is_taken_over_without_a_baseline(self, world):
        leases, _, _, clock = world
        lease = leases.acquire(_hint(clock.now()))
        leases.back_off(lease, 30)
        clock.advance(seconds=31)
        assert not baseline_asked(leases.acquire(_hint(clock.now())).row)

    def test_a_round_whose_write_failed_keeps_the_lease_for_the_next_holder_to_rebaseline(self, world):
        """The failed write may still land: releasing now would let a round run before it does."""
        leases, tables, _, clock = world

        def failing_write(lease):
            leases.before_write(lease)
            with leases.writing(lease):
                raise TimeoutError("storage took the request and never answered")
        with pytest.raises(TimeoutError):
            leases.run(_hint(clock.now()), failing_write)
        row = _row(tables)
        assert row["lease_holder"] and row["last_error"] == "TimeoutError"
        assert leases.run(_hint(clock.now()), lambda lease: None).status == "deferred"
        clock.advance(seconds=61)
        assert baseline_asked(leases.acquire(_hint(clock.now())).row)
