"""Convergence under chaos, for real: Azurite, the Microsoft 365 emulator and the dev host as a
subprocess, with the emulator delivering real Graph change and lifecycle notifications to the dev
host's /api/notifications and /api/lifecycle.

A generated office (55 rooms; the generator misconfigures 5, so 50 are synced) is onboarded through
the HTTP API exactly as the demo does it and synchronised. Then bookings change continuously
(single meetings and recurring series created, moved, extended, cancelled and deleted; series
masters edited (online flag, sensitivity: fields only the master carries); single occurrences moved,
cancelled and deleted) while the emulator drops, duplicates, delays and reorders
notifications, answers 503 bursts with Retry-After, throttles with 429 (lowered concurrency and
request budget), removes subscriptions (with subscriptionRemoved), sends reauthorizationRequired and
missed, forges items (wrong clientState, unknown subscription) and forgets delta tokens; the dev
host is stopped with SIGTERM once mid-run and a new one started on the same port and storage.
calendarView delta sends occurrences as stubs, as real Graph does (docs-contrib issues 5602, 34), so
every occurrence row is completed from its series master (shared/sync/series_masters.py).
Two more faults (issue 16): storage goes away for some seconds (Azurite stopped and started again on
the same ports and data folder: ``_storage_outage``), and Graph's clock runs minutes ahead of
RoomCal's from mid-run to the end (``_skew_graph_clock``; the other direction, RoomCal's clock fast,
is covered by the subscription expiry margin's unit test: the emulator's clock cannot go backwards
without undoing its own RBAC-propagation delays).

Then the faults stop, the emulator is flushed and the queues drain. One room's notifications are
then lost silently while a meeting is booked in it (the test checks that the room is now behind: only
the catch-up can repair it). One catch-up runs (the timer, through the host's admin API) and the
queues drain again. Every room's Events rows must equal the
emulator's truth field by field on the whitelist; no canary string may appear in any table, queue or
line the dev host wrote; no message may be left in any queue, poison queues included; and the
Subscriptions table and the emulator must agree on exactly one live subscription per synced room,
every removed one replaced.
"""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueServiceClient

from devtools.azurite import free_port
from devtools.demo import live, onboarding
from devtools.demo.stack import WEBHOOK_KEYS, Stack
from devtools.m365sim.canary import CANARY_PREFIX
from shared.adapters.tables import AzureTableStore
from shared.sync.subscription_directory import PARTITION as SUBSCRIPTIONS_PARTITION
from shared.sync.subscription_directory import TABLE as SUBSCRIPTIONS
from shared.sync.sync_lease import TABLE as ROOM_SYNC
from tests.integration.convergence import mismatches
from tests.integration.devhost_helpers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEED = 7
ROOMS = 55  # the generator misconfigures 5 of them: 50 synced
DAYS_BACK, DAYS_AHEAD = 14, 30
HASH_KEY = "chaos-test-hash-key-0123456789abcdef"
NEVER = "0 0 0 1 1 *"  # timers only when the test says so (1 January): one catch-up, on demand
STEPS = 70
RESTART_AT = 35
WORK_QUEUES = ("room-changes", "subscription-maintenance", "room-verify", "catchup-tenants", "catchup-probes",
               "renewal-tenants", "analytics-changes")
STORAGE_OUTAGE_AT, STORAGE_DOWN_S = 42, 6  # issue 16: storage unavailable for some seconds
CLOCK_SKEW_AT, GRAPH_AHEAD_S = 25, 240  # issue 16: Graph's clock 4 minutes ahead of RoomCal's


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class Bookings:
    """A bounded random walk of what organisers do, through the emulator's control API."""

    def __init__(self, ctl, tid: str, organizer: str, rooms: list[str], rng: random.Random) -> None:
        self.ctl, self.tid, self.organizer, self.rooms, self.rng = ctl, tid, organizer, rooms, rng
        self.singles: list[str] = []
        self.series: dict[str, list[str]] = {}  # meeting id → occurrence dates still on the calendar
        self.done: dict[str, int] = {}
        self.today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

    def _slot(self) -> datetime:
        return self.today + timedelta(days=self.rng.randint(-3, DAYS_AHEAD - 8), hours=self.rng.randint(7, 16),
                                      minutes=self.rng.choice((0, 15, 30, 45)))

    def _count(self, what: str) -> None:
        self.done[what] = self.done.get(what, 0) + 1

    def step(self) -> None:
        choices = ["create"] * 3 + ["create_series"]
        if self.singles:
            choices += ["move", "extend", "cancel", "delete"]
        if self.series:
            choices += ["move_occurrence", "cancel_occurrence", "delete_occurrence", "move_series", "edit_series",
                        "cancel_series"]
        untried = sorted(set(choices) - set(self.done))  # every kind of change at least once
        getattr(self, self.rng.choice(untried or choices))()

    def create(self) -> None:
        start = self._slot()
        rooms = self.rng.sample(self.rooms, self.rng.choice((1, 1, 2)))
        meeting = self.ctl.create_meeting(self.tid, self.organizer, rooms, _iso(start),
                                          _iso(start + timedelta(minutes=self.rng.choice((30, 45, 60)))),
                                          time_zone="UTC", online=self.rng.random() < 0.5)
        self.singles.append(meeting["id"])
        self._count("create")

    def create_series(self) -> None:
        start = self._slot()
        first = start.date()
        count = self.rng.randint(3, 6)
        recurrence = {"pattern": {"type": "daily", "interval": 1},
                      "range": {"type": "numbered", "startDate": first.isoformat(), "numberOfOccurrences": count,
                                "recurrenceTimeZone": "UTC"}}
        meeting = self.ctl.create_meeting(self.tid, self.organizer, [self.rng.choice(self.rooms)], _iso(start),
                                          _iso(start + timedelta(minutes=30)), time_zone="UTC",
                                          recurrence=recurrence)
        self.series[meeting["id"]] = [(first + timedelta(days=k)).isoformat() for k in range(count)]
        self._count("create_series")

    def move(self) -> None:
        start = self._slot()
        self.ctl.update_meeting(self.tid, self.rng.choice(self.singles), start=_iso(start),
                                end=_iso(start + timedelta(minutes=60)))
        self._count("move")

    def extend(self) -> None:
        mid = self.rng.choice(self.singles)
        end = datetime.fromisoformat(self.ctl.meeting(self.tid, mid)["end"])
        self.ctl.update_meeting(self.tid, mid, end=_iso(end + timedelta(minutes=30)))
        self._count("extend")

    def cancel(self) -> None:
        mid = self.rng.choice(self.singles)
        self.singles.remove(mid)
        self.ctl.cancel_meeting(self.tid, mid, remove=self.rng.random() < 0.5)
        self._count("cancel")

    def delete(self) -> None:
        mid = self.rng.choice(self.singles)
        self.singles.remove(mid)
        self.ctl.delete_meeting(self.tid, mid)
        self._count("delete")

    def _occurrence(self) -> tuple[str, str]:
        mid = self.rng.choice(list(self.series))
        day = self.rng.choice(self.series[mid])
        return mid, day

    def _forget_occurrence(self, mid: str, day: str) -> None:
        self.series[mid].remove(day)
        if not self.series[mid]:
            del self.series[mid]

    def move_occurrence(self) -> None:
        mid, day = self._occurrence()
        start = datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC) + timedelta(
            hours=self.rng.randint(7, 17))
        self.ctl.update_meeting(self.tid, mid, occurrence=day, start=_iso(start),
                                end=_iso(start + timedelta(minutes=45)))
        self._count("move_occurrence")

    def cancel_occurrence(self) -> None:
        mid, day = self._occurrence()
        self.ctl.cancel_meeting(self.tid, mid, occurrence=day, remove=self.rng.random() < 0.5)
        self._forget_occurrence(mid, day)
        self._count("cancel_occurrence")

    def delete_occurrence(self) -> None:
        mid, day = self._occurrence()
        self.ctl.delete_meeting(self.tid, mid, occurrence=day)
        self._forget_occurrence(mid, day)
        self._count("delete_occurrence")

    def move_series(self) -> None:
        mid = self.rng.choice(list(self.series))
        current = self.ctl.meeting(self.tid, mid)
        start = datetime.fromisoformat(current["start"]) + timedelta(hours=1)
        self.ctl.update_meeting(self.tid, mid, start=_iso(start), end=_iso(start + timedelta(minutes=30)))
        self._count("move_series")

    def edit_series(self) -> None:
        """A change only the master carries: every occurrence stub must pick it up from the master."""
        mid = self.rng.choice(list(self.series))
        current = self.ctl.meeting(self.tid, mid)
        self.ctl.update_meeting(self.tid, mid, online=not current["online"],
                                sensitivity=self.rng.choice(("normal", "private", "confidential")))
        self._count("edit_series")

    def cancel_series(self) -> None:
        mid = self.rng.choice(list(self.series))
        del self.series[mid]
        self.ctl.cancel_meeting(self.tid, mid)
        self._count("cancel_series")


class Storage:
    """Everything the app wrote to Azurite, read with the plain Azure SDKs."""

    def __init__(self, conn: str) -> None:
        self.tables = TableServiceClient.from_connection_string(conn)
        self.queues = QueueServiceClient.from_connection_string(conn)
        self.seen: list[str] = []  # message contents peeked while the run was going on

    def queue_names(self) -> list[str]:
        return [q.name for q in self.queues.list_queues()]

    def depth(self, name: str) -> int:
        """Visible, invisible and delayed messages alike."""
        try:
            return self.queues.get_queue_client(name).get_queue_properties().approximate_message_count
        except ResourceNotFoundError:
            return 0

    def peek(self, name: str) -> list[str]:
        try:
            return [m.content for m in self.queues.get_queue_client(name).peek_messages(max_messages=32)]
        except ResourceNotFoundError:
            return []

    def remember_messages(self) -> None:
        for name in self.queue_names():
            self.seen.extend(self.peek(name))

    def drained(self) -> bool:
        return all(self.depth(name) == 0 for name in WORK_QUEUES)

    def everything(self) -> str:
        rows = [dict(e) for t in self.tables.list_tables()
                for e in self.tables.get_table_client(t.name).list_entities()]
        messages = [m for name in self.queue_names() for m in self.peek(name)]
        return json.dumps(rows, default=str) + json.dumps(messages) + json.dumps(self.seen)

    def subscriptions(self, tid: str) -> list[dict]:
        client = self.tables.get_table_client(SUBSCRIPTIONS)
        return [dict(e) for e in client.query_entities("PartitionKey eq @p", parameters={"p": SUBSCRIPTIONS_PARTITION})
                if e.get("tenant_id") == tid]


def _wait_drained(storage: Storage, timeout: float) -> None:
    """Empty work queues on two looks a second apart (a running function holds its message invisible,
    so an empty queue means nothing is running or scheduled)."""
    def twice() -> bool:
        if not storage.drained():
            return False
        time.sleep(1.0)
        return storage.drained()
    try:
        wait_for(twice, timeout=timeout, interval=0.5)
    except AssertionError:
        raise AssertionError(f"queues not drained within {timeout}s: "
                             f"{ {n: storage.depth(n) for n in storage.queue_names()} }") from None


def _live_subscriptions(stack: Stack, tid: str) -> list[dict]:
    return [s for s in stack.control.subscriptions()
            if s["tenantId"] == tid and s["notificationUrl"].split("?")[0] == f"{stack.base}/api/notifications"]


def _storage_outage(stack: Stack, seconds: float) -> None:
    """Storage unavailable: Azurite stopped, ``seconds`` of nothing, then started again on the same
    ports and data folder, as a storage account's outage or failover looks to the app."""
    stack.azurite.stop()
    time.sleep(seconds)
    stack.azurite.start()


def _skew_graph_clock(ctl, ahead_seconds: float) -> None:
    """Graph's clock (token times, subscription expiry limits, throttling windows) ahead of RoomCal's."""
    ctl.advance_clock(ahead_seconds)


def _why_poisoned(stack: Stack, storage: Storage) -> str:
    poisoned = {name: storage.peek(name) for name in storage.queue_names() if name.endswith("-poison")}
    output = "".join(stack.previous_output) + stack.devhost.output
    failures = [line for line in output.splitlines() if "Failed" in line or "ERROR" in line or "rror" in line]
    return json.dumps(poisoned, indent=1) + "\n" + "\n".join(failures[-60:])


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path, free_port(), 0)
    try:
        yield s
    finally:
        s.stop()


def test_every_room_converges_under_real_notifications_faults_and_a_host_restart(stack, tmp_path):
    rng = random.Random(SEED)
    began = time.monotonic()
    stack.start_storage(location=tmp_path / "azurite-data")  # on disk: it must survive _storage_outage
    stack.start_emulator(SEED)
    ctl = stack.control
    office = onboarding.prepare_office(stack, seed=SEED, rooms=ROOMS, days_back=DAYS_BACK, days_ahead=DAYS_AHEAD)
    tid, domain = office["tenant"], office["domain"]
    stack.start_devhost({"ROOMCAL_HASH_KEY": HASH_KEY, "ROOMCAL_CATCHUP_SCHEDULE": NEVER,
                         "ROOMCAL_RENEW_SCHEDULE": NEVER, "ROOMCAL_RETENTION_SCHEDULE": NEVER,
                         # a lease's crash-recovery followup is due when the lease ends: short, so the
                         # queues drain in seconds rather than two minutes
                         "ROOMCAL_SYNC_LEASE_SECONDS": "15"})
    storage = Storage(stack.azurite.connection_string)

    # Onboarding through the HTTP API, as the demo does it; a small window keeps the run short.
    onboarding.consent(stack, tid, admin=f"admin@{domain}")
    onboarding.rbac(stack, tid, group=f"roomcal-rooms@{domain}")
    onboarding.register_rooms(stack, tid, domain)
    onboarding.verify(stack, tid)
    stack.api("PATCH", f"tenants/{tid}/settings",
              json={"backfill_days": DAYS_BACK, "lookahead_days": DAYS_AHEAD}).raise_for_status()
    rooms = onboarding.synchronise(stack, tid)["queued"]
    assert len(rooms) >= 50
    live.wait_for_initial_sync(stack, tid, rooms, timeout=180)
    wait_for(lambda: len(_live_subscriptions(stack, tid)) == len(rooms), timeout=60)
    synced_at = time.monotonic()

    # Chaos: continuous bookings under notification faults, Graph 503/429 bursts, removed
    # subscriptions, forgotten delta tokens and one dev host restart.
    bookings = Bookings(ctl, tid, f"admin@{domain}", rooms, rng)
    removed: list[str] = []
    for step in range(STEPS):
        if step == 0:  # share plans last until the faults are cleared
            ctl.inject_notification_fault("drop", share=0.15)
            ctl.inject_notification_fault("duplicate", share=0.2)
            ctl.inject_notification_fault("delay", share=0.15, delay_s=4)
        if step % 10 == 0:  # count plans are used up
            ctl.inject_notification_fault("drop", count=3, missed=True)
            ctl.inject_notification_fault("reorder", count=5)
        if step == 15:  # forged and stray items: RoomCal must ignore them (never trust, never fail)
            ctl.inject_notification_fault("wrong_client_state", count=3)
            # sent with the key (the worst case: a caller that has it), so the app's own checks are what stop them
            keyed_url = _live_subscriptions(stack, tid)[0]["notificationUrl"]
            ctl.unknown_subscription_notifications(url=keyed_url, count=3)
        if step in (45, 62):  # lifecycle events on demand: renew now / catch up
            subscription = rng.choice(_live_subscriptions(stack, tid))["id"]
            ctl.lifecycle_event(subscription, "reauthorizationRequired" if step == 45 else "missed")
        if step % 7 == 3:
            ctl.inject_5xx(count=rng.randint(2, 4), status=503, retry_after=1)
        if step % 9 == 5:
            ctl.inject_5xx(count=2, status=503, retry_after=1, mailbox=rng.choice(rooms))
        if step == 8:  # a throttling spell: 429 with Retry-After (concurrency 1 s, budget the window's rest)
            ctl.settings(max_concurrency=1, request_budget=1, budget_window_s=3)
        if step == 30:
            ctl.settings(max_concurrency=4, request_budget=10000, budget_window_s=600)
        if step in (15, 50):
            ctl.expire_delta_tokens()
        if step in (20, 55):
            victim = rng.choice(_live_subscriptions(stack, tid))
            ctl.remove_subscription(victim["id"])
            removed.append(victim["id"])
        if step == RESTART_AT:
            stack.restart_devhost()
        if step == CLOCK_SKEW_AT:
            _skew_graph_clock(ctl, GRAPH_AHEAD_S)
        if step == STORAGE_OUTAGE_AT:
            _storage_outage(stack, STORAGE_DOWN_S)
        bookings.step()
        if step % 10 == 5:
            storage.remember_messages()
        time.sleep(0.1)  # pacing the organisers, not waiting for a result
    chaos_done = time.monotonic()

    # The faults stop; everything owed is delivered; the queues drain; one catch-up; drained again.
    counters = ctl.faults()["counters"]  # clearing the faults resets the counters
    ctl.clear_faults()
    ctl.settings(max_concurrency=4, request_budget=10000, budget_window_s=600)
    assert stack.sim.wait_idle(60, now=True), "the emulator still had notifications to deliver"
    _wait_drained(storage, timeout=120)
    assert stack.sim.wait_idle(30, now=True)

    # A gap only the catch-up can close: one room's notifications silently lost, nothing else moving.
    tables = AzureTableStore(stack.azurite.connection_string)
    victim = rng.choice(rooms)
    victim_subscription = next(s["id"] for s in _live_subscriptions(stack, tid)
                               if s["mailbox"].lower() == victim.lower())
    ctl.inject_notification_fault("drop", count=1000, subscription_id=victim_subscription)
    bookings.rooms = [victim]
    bookings.create()
    bookings.rooms = rooms
    assert stack.sim.wait_idle(30, now=True)
    _wait_drained(storage, timeout=60)
    assert mismatches(ctl, tables, tid, [victim], HASH_KEY), "the silently dropped change reached RoomCal anyway"
    counters["notify_drop"] = counters.get("notify_drop", 0) + ctl.faults()["counters"].get("notify_drop", 0)
    ctl.clear_notification_faults()

    catch_ups = stack.devhost.output.count("Executed 'catch_up_rooms' (Succeeded")
    assert stack.admin("catch_up_rooms").status_code == 202
    wait_for(lambda: stack.devhost.output.count("Executed 'catch_up_rooms' (Succeeded") > catch_ups, timeout=30)
    _wait_drained(storage, timeout=120)
    settled = time.monotonic()

    delivery = ctl.notification_stats()["counters"]
    stats = ctl.stats()["stats"]
    report = {"rooms": len(rooms), "bookings": bookings.done, "removed_subscriptions": removed,
              "occurrence_stubs": stats.get("delta_occurrence_stubs", 0), "event_reads": stats.get("event_reads", 0),
              "fault_counters": counters, "notifications": delivery,
              "storage_outage_s": STORAGE_DOWN_S, "graph_clock_ahead_s": GRAPH_AHEAD_S,
              "seconds": {"onboard_and_sync": round(synced_at - began, 1), "chaos": round(chaos_done - synced_at, 1),
                          "settle": round(settled - chaos_done, 1)}}
    (tmp_path / "chaos-report.json").write_text(json.dumps(report, indent=1))
    print("chaos report:", json.dumps(report))

    # The faults happened.
    assert counters.get("notify_drop", 0) > 0 and counters.get("notify_duplicate", 0) > 0, counters
    assert counters.get("notify_delay", 0) > 0 and counters.get("notify_reorder", 0) > 0, counters
    assert counters.get("graph_503", 0) > 0 and counters.get("throttled", 0) > 0, counters
    assert counters.get("delta_tokens_expired", 0) > 0, counters
    assert counters.get("notify_wrong_client_state", 0) > 0 and counters.get("notify_unknown_subscription"), counters
    assert delivery.get("delivered", 0) > 0 and delivery.get("lifecycle_subscriptionRemoved", 0) == 2, delivery
    assert delivery.get("subscriptions_renewed", 0) >= 1, delivery  # reauthorizationRequired → renewed
    kinds = {"create", "create_series", "move", "extend", "cancel", "delete", "move_occurrence", "cancel_occurrence",
             "delete_occurrence", "move_series", "edit_series", "cancel_series"}
    assert set(bookings.done) == kinds, bookings.done
    assert counters.get("notify_remove_subscription", 0) == 2 and len(removed) == 2, counters

    # Nothing left over, nothing poisoned.
    poisoned = [n for n in storage.queue_names() if n.endswith("-poison") and storage.depth(n)]
    assert poisoned == [], _why_poisoned(stack, storage)
    assert {n: storage.depth(n) for n in storage.queue_names() if storage.depth(n)} == {}

    # Every room equals the emulator's truth, field by field on the whitelist.
    assert mismatches(ctl, tables, tid, rooms, HASH_KEY) == []
    # ... with occurrences sent as stubs, completed from the masters RoomCal read.
    assert stats.get("delta_occurrence_stubs", 0) > 0 and stats.get("event_reads", 0) > 0, stats

    # One live subscription per synced room, the same in the Subscriptions table and in Graph.
    live_subs = _live_subscriptions(stack, tid)
    stored_subs = storage.subscriptions(tid)
    assert sorted(s["mailbox"].lower() for s in live_subs) == sorted(r.lower() for r in rooms)
    assert {s["id"] for s in live_subs} == {s["RowKey"] for s in stored_subs}
    assert sorted(s["room_email"].lower() for s in stored_subs) == sorted(r.lower() for r in rooms)
    assert not set(removed) & {s["id"] for s in live_subs}
    # every subscription, first ones, renewed ones and recreated ones, carries its endpoint's function key
    assert {(s["notificationUrl"], s["lifecycleNotificationUrl"]) for s in live_subs} == {
        (f"{stack.base}/api/notifications?code={WEBHOOK_KEYS['graph_notifications'][1]}",
         f"{stack.base}/api/lifecycle?code={WEBHOOK_KEYS['graph_lifecycle'][1]}")}
    by_room = {s["room_email"].lower(): s["RowKey"] for s in stored_subs}
    for room in rooms:
        assert tables.get(ROOM_SYNC, tid, room).get("subscription_id") == by_room[room.lower()], room

    # No canary anywhere: tables, queues (poison included, and what was peeked mid-run), host output.
    assert CANARY_PREFIX not in storage.everything()
    output = "".join(stack.previous_output) + stack.devhost.output
    assert CANARY_PREFIX not in output
    assert CANARY_PREFIX not in (tmp_path / "devhost.log").read_text(encoding="utf-8")
    assert output.count("devhost ready on ") == 2 and "[room_changes]" in output
