"""Convergence with fakes: rooms whose bookings change while hints are dropped, duplicated and
reordered, Graph throttles, fails and forgets delta tokens, and several workers interleave;
after the faults stop and one catch-up runs, every room's Events rows equal Graph's truth field
by field (the whitelist), and nothing is left in the queue or the poison list.

The host is simulated: messages become visible at their delay, are delivered in random order,
failed ones come back after the visibility timeout with dequeue_count + 1, and go to poison
after five attempts, as host.json says. (The integration convergence test does the same with
Azurite, the emulator and the dev host.)"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from shared import keys
from shared.messages import ROOM_CHANGES
from shared.sync.catchup import enqueue_catch_up
from shared.sync.event_rows import EVENTS
from shared.sync.privacy import normalise_event
from shared.sync.room_changes import RoomChangeHandler
from shared.sync.sync import DeltaSync
from shared.sync.sync_lease import RoomSyncLeases
from tests.fakes import FakeGraph, FakeQueue, FixedClock, InMemoryTables, make_series

TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
HASH_KEY = "convergence-key"
ROOMS = [f"room-{i}@contoso.com" for i in range(5)]
_BOOKKEEPING = {"PartitionKey", "RowKey", "_etag", "sync_generation", "synced_at"}


class SimulatedHost:
    def __init__(self, queue: FakeQueue, clock: FixedClock, handler: RoomChangeHandler, rng: random.Random):
        self.queue, self.clock, self.handler, self.rng = queue, clock, handler, rng
        self.pending: list[tuple] = []  # (visible_at, payload, dequeue_count)
        self.poison: list[dict] = []

    def collect(self, *, drop=0.0, duplicate=0.0):
        for name, payload, delay in self.queue.sent:
            if name != ROOM_CHANGES:
                continue
            if payload["reason"] == "notification" and self.rng.random() < drop:
                continue
            copies = 2 if payload["reason"] == "notification" and self.rng.random() < duplicate else 1
            for _ in range(copies):
                self.pending.append((self.clock.now() + timedelta(seconds=delay), payload, 1))
        self.queue.sent = [s for s in self.queue.sent if s[0] != ROOM_CHANGES]

    def step(self) -> bool:
        visible = [m for m in self.pending if m[0] <= self.clock.now()]
        if not visible:
            if not self.pending:
                return False
            self.clock.at = min(m[0] for m in self.pending)
            return True
        message = self.rng.choice(visible)
        self.pending.remove(message)
        _, payload, dequeue_count = message
        self.clock.advance(milliseconds=self.rng.randint(1, 50))
        try:
            self.handler.handle(payload, dequeue_count=dequeue_count)
        except Exception:
            if dequeue_count >= 5:
                self.poison.append(payload)
            else:
                self.pending.append((self.clock.now() + timedelta(seconds=5), payload, dequeue_count + 1))
        self.collect()
        return True

    def drain(self, limit=20_000):
        for _ in range(limit):
            if not self.step():
                return
        raise AssertionError("queue never drained")


class InterferingGraph(FakeGraph):
    """Between pages of a round, people change the room and Graph's hint arrives at another worker."""

    interfere = None

    def calendar_view_delta(self, tenant, mailbox, **kwargs):
        for page in super().calendar_view_delta(tenant, mailbox, **kwargs):
            yield page
            if self.interfere is not None:
                self.interfere(mailbox)


def _truth_rows(graph, room):
    rows = {}
    for event in graph.mailboxes[(TENANT, room)].values():
        if event["type"] == "seriesMaster":  # never a row: its occurrences are (completed from it)
            continue
        entity = normalise_event(event, tenant_id=TENANT, room_email=room, hash_key=HASH_KEY).to_entity()
        rows[entity["RowKey"]] = {k: v for k, v in entity.items() if k not in _BOOKKEEPING}
    return rows


def _converged(tables, graph) -> bool:
    for room in ROOMS:
        stored = {r["RowKey"]: {k: v for k, v in r.items() if k not in _BOOKKEEPING}
                  for r in tables.query(EVENTS, keys.room_partition(TENANT, room))}
        if stored != _truth_rows(graph, room):
            return False
    return True


@pytest.mark.parametrize("seed", range(6))
def test_faulty_world_converges_after_one_catch_up(seed):
    graph, tables, host = _faulty_run(seed, drop=0.3)
    host.clock.advance(minutes=5)
    enqueue_catch_up(tables, host.queue, host.clock)
    host.collect()
    host.drain()
    assert host.poison == [] and host.pending == []
    assert _converged(tables, graph)


@pytest.mark.parametrize("seed", range(6))
def test_without_dropped_hints_the_world_converges_without_any_catch_up(seed):
    """Coalescing never loses a hint: deferred hints are always followed by a later round."""
    graph, tables, host = _faulty_run(seed, drop=0.0)
    assert host.poison == [] and host.pending == []
    assert _converged(tables, graph)


def _faulty_run(seed: int, *, drop: float):
    rng = random.Random(seed)
    graph, tables, queue, clock = InterferingGraph(page_size=3), InMemoryTables(), FakeQueue(), FixedClock()
    tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": TENANT, "status": "active",
                              "created_at": clock.now(), "updated_at": clock.now()})
    leases = RoomSyncLeases(tables, queue, clock, lease_seconds=60)
    sync = DeltaSync(graph, tables, queue, leases, clock, hash_key=HASH_KEY, max_pages_per_round=2)
    host = SimulatedHost(queue, clock, RoomChangeHandler(leases, sync, tables, clock), rng)
    ids: dict[str, list[str]] = {}
    series: dict[str, list[tuple[str, list[str]]]] = {room: [] for room in ROOMS}  # (master, occurrences)
    for room in ROOMS:
        graph.add_room(TENANT, room)
        tables.upsert("Rooms", {"PartitionKey": TENANT, "RowKey": room})
        ids[room] = [graph.add_event(TENANT, room, start=clock.now() + timedelta(hours=h),
                                     end=clock.now() + timedelta(hours=h, minutes=30)) for h in range(1, 8)]
        queue.send(ROOM_CHANGES, {"tenant": TENANT, "room": room, "reason": "initial", "at": clock.now().isoformat()})
    host.collect()

    def interfere(room):
        if rng.random() < 0.25:
            start = clock.now() + timedelta(hours=rng.randint(1, 100))
            ids[room].append(graph.add_event(TENANT, room, start=start, end=start + timedelta(minutes=15)))
            if len(ids[room]) > 3 and rng.random() < 0.5:
                graph.delete_event(TENANT, room, ids[room].pop(0))
            clock.advance(milliseconds=3)
            outcome = host.handler.handle({"tenant": TENANT, "room": room, "reason": "notification",
                                           "at": clock.now().isoformat()})
            assert outcome.status == "deferred"  # the room is leased to the worker that is paging

    graph.interfere = interfere
    for _ in range(120):
        room = rng.choice(ROOMS)
        action = rng.random()
        if action < 0.3:
            start = clock.now() + timedelta(hours=rng.randint(-48, 400))
            ids[room].append(graph.add_event(TENANT, room, start=start, end=start + timedelta(minutes=45)))
        elif action < 0.5 and ids[room]:
            graph.update_event(TENANT, room, rng.choice(ids[room]), isCancelled=True)
        elif action < 0.65 and ids[room]:
            victim = ids[room].pop(rng.randrange(len(ids[room])))
            graph.delete_event(TENANT, room, victim)
        elif action < 0.75 and ids[room]:
            graph.update_event(TENANT, room, rng.choice(ids[room]), showAs=rng.choice(["busy", "tentative", "free"]))
        elif action < 0.78:  # a series: Graph sends its occurrences as stubs, RoomCal reads the master
            start = clock.now() + timedelta(hours=rng.randint(-24, 300))
            master, occurrences = make_series(start=start, count=rng.randint(2, 4), room=room,
                                              showAs=rng.choice(["busy", "tentative"]))
            for event in (master, *occurrences):
                graph.add_event(TENANT, room, event)
            series[room].append((master["id"], [o["id"] for o in occurrences]))
        elif action < 0.8 and series[room]:  # the master edited: every occurrence changes with it
            master_id, occurrence_ids = rng.choice(series[room])
            fields = {"sensitivity": rng.choice(["normal", "private"]), "isOnlineMeeting": rng.random() < 0.5}
            for event_id in (master_id, *occurrence_ids):
                graph.update_event(TENANT, room, event_id, **fields)
            if rng.random() < 0.3:
                graph.throttle_event_reads(retry_after=rng.choice([1, 10]))
        elif action < 0.82:
            graph.throttle(TENANT, room, retry_after=rng.choice([1, 10, 30]))
        elif action < 0.85:
            graph.fail(TENANT, room, times=rng.randint(1, 2))
        elif action < 0.9:
            graph.expire_delta(TENANT, room)
        queue.send(ROOM_CHANGES, {"tenant": TENANT, "room": room, "reason": "notification",
                                  "at": clock.now().isoformat()})
        host.collect(drop=drop, duplicate=0.2)
        for _ in range(rng.randint(0, 4)):
            host.step()
        clock.advance(seconds=rng.randint(0, 20))

    graph.throttled.clear()
    graph.failing.clear()
    graph.throttled_reads.clear()
    host.drain()
    return graph, tables, host
