"""What one request can cost, whatever its sender: a bounded number of table reads, a negative cache for unknown
ids, and caches that forget their coldest entries instead of everything at once."""

import uuid
from datetime import timedelta

import pytest

from shared.sync.hint_gate import HintGate
from shared.sync.notifications import MAX_SUSPECT_ITEMS
from shared.sync.subscription_directory import NOT_CACHED, SubscriptionDirectory
from tests.fakes import FixedClock
from tests.unit.test_notifications import SUB_A, SUB_B, TENANT, CountingTables, _body, _item, _record, _world


def _forged(n):
    return [_item(str(uuid.uuid4()), "guess") for _ in range(n)]


class TestSuspectBound:
    def test_a_thousand_unknown_ids_cost_at_most_the_bound_in_table_reads(self):
        service, tables, queue = _world()
        outcome = service.accept_changes(_body(*_forged(1000)))
        assert tables.gets == MAX_SUSPECT_ITEMS
        assert outcome.ignored["unknown_subscription"] == MAX_SUSPECT_ITEMS
        assert outcome.ignored["over_suspect_bound"] == 1000 - MAX_SUSPECT_ITEMS
        assert queue.sent == []

    def test_wrong_client_states_count_towards_the_bound_too(self):
        service, tables, _ = _world()
        service.accept_changes(_body(_item()))  # SUB_A now cached
        tables.gets = 0
        outcome = service.accept_changes(_body(*[_item(state="guess")] * MAX_SUSPECT_ITEMS, *_forged(50)))
        assert tables.gets == 0  # the mismatches used up the bound on a cached row; no read for the rest
        assert outcome.ignored["client_state_mismatch"] == MAX_SUSPECT_ITEMS

    def test_past_the_bound_a_cached_live_subscription_still_gets_its_hint(self):
        service, _tables, queue = _world()
        service.accept_changes(_body(_item()))
        queue.sent.clear()
        outcome = service.accept_changes(_body(*_forged(100), _item(), _item(SUB_B, "secret-b")))
        assert [m["room"] for m in queue.messages("room-changes")] == ["room-a@contoso.com"]
        assert outcome.ignored["over_suspect_bound"] == 100 - MAX_SUSPECT_ITEMS + 1  # SUB_B was not cached


class TestCaches:
    def test_unknown_ids_are_cached_negatively(self):
        service, tables, _ = _world()
        forged = _forged(3)
        service.accept_changes(_body(*forged))
        service.accept_changes(_body(*forged))
        assert tables.gets == 3

    def test_the_subscription_cache_is_a_bounded_lru_not_cleared_at_once(self):
        tables = CountingTables()
        directory = SubscriptionDirectory(tables, max_cached=3)
        directory.save(_record(SUB_A, TENANT, "room-a@contoso.com", "secret-a"))
        directory.lookup(SUB_A)
        for _ in range(5):  # a flood of unknown ids, the live one used in between
            directory.lookup(str(uuid.uuid4()))
            directory.lookup(SUB_A)
        tables.gets = 0
        assert directory.lookup(SUB_A, read=False) is not NOT_CACHED
        assert directory.lookup(SUB_A).room_email == "room-a@contoso.com" and tables.gets == 0

    def test_the_hint_gate_forgets_its_coldest_room_only(self, monkeypatch):
        monkeypatch.setattr("shared.sync.hint_gate._MAX_ROOMS", 2)
        gate, now = HintGate(), FixedClock().now()
        assert gate.plan(("t", "a"), now) == (0, now)
        assert gate.plan(("t", "a"), now + timedelta(seconds=0.1))[0] == 1  # a follow-up, delayed
        gate.plan(("t", "b"), now)
        gate.plan(("t", "c"), now)  # evicts the coldest entries, not all of them
        assert gate.plan(("t", "c"), now + timedelta(seconds=0.2))[0] == 1


class TestStorageOutage:
    def test_a_hint_that_could_not_be_stored_covers_nothing(self):
        """Graph retries a POST answered 503; the retry must not be dropped as covered by the lost hint."""
        service, _tables, queue = _world()
        service.accept_changes(_body(_item()))  # immediate hint
        real_send = queue.send

        def down(*_a, **_k):
            raise RuntimeError("storage down")

        queue.send = down
        with pytest.raises(RuntimeError):
            service.accept_changes(_body(_item()))  # the delayed follow-up fails
        queue.send = real_send
        queue.sent.clear()
        outcome = service.accept_changes(_body(_item()))  # Graph's retry, within the would-be covered window
        assert outcome.enqueued == 1 and [m["room"] for m in queue.messages("room-changes")] == ["room-a@contoso.com"]
