"""Convergence against the emulator (real HTTPS Graph client): bookings change while hints are
dropped, duplicated and reordered and Graph answers 500 and 503 bursts and forgets delta tokens;
after the faults stop and one catch-up runs, every room's Events rows equal the emulator's
ground truth field by field on the whitelist, and nothing is left unprocessed or poisoned.

The emulator does not deliver change notifications yet, so hints are produced here as the
webhook would (one per changed room), then mangled. Messages are delivered by a real-time
host simulation (delays honoured, failures retried after a visibility timeout, poison after 5).
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from devtools.m365sim import ControlClient, Emulator
from devtools.m365sim.world import DEFAULT_CLIENT_ID, DEFAULT_SECRET
from shared import bootstrap
from shared.config import load_settings
from shared.messages import ROOM_CHANGES
from shared.onboarding import use_cases as onboarding
from shared.sync.catchup import enqueue_catch_up
from tests.fakes import FakeQueue, InMemoryTables
from tests.integration.convergence import mismatches
from tests.integration.test_onboarding_m365sim import consent, verify_all

pytestmark = [pytest.mark.integration, pytest.mark.slow]
HASH_KEY = "c" * 32


class RealTimeHost:
    def __init__(self, services, rng):
        self.services, self.rng = services, rng
        self.pending: list[tuple[float, dict, int]] = []
        self.poison: list[dict] = []

    def collect(self, *, drop=0.0, duplicate=0.0):
        queue = self.services.queues
        for name, payload, delay in queue.sent:
            if name != ROOM_CHANGES:
                continue
            hint = payload["reason"] == "notification"
            if hint and self.rng.random() < drop:
                continue
            for _ in range(2 if hint and self.rng.random() < duplicate else 1):
                self.pending.append((time.monotonic() + delay, payload, 1))
        queue.sent = [s for s in queue.sent if s[0] != ROOM_CHANGES]

    def step(self) -> bool:
        visible = [m for m in self.pending if m[0] <= time.monotonic()]
        if not visible:
            if not self.pending:
                return False
            time.sleep(min(0.2, max(0.0, min(m[0] for m in self.pending) - time.monotonic())))
            return True
        message = self.rng.choice(visible)
        self.pending.remove(message)
        _, payload, dequeue_count = message
        try:
            self.services.room_changes.handle(payload, dequeue_count=dequeue_count)
        except Exception:
            if dequeue_count >= 5:
                self.poison.append(payload)
            else:
                self.pending.append((time.monotonic() + 0.5, payload, dequeue_count + 1))
        self.collect()
        return True

    def drain(self, timeout=120.0):
        deadline = time.monotonic() + timeout
        while self.step():
            assert time.monotonic() < deadline, "queue never drained"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


@pytest.mark.parametrize("seed", [1, 2])
def test_rooms_converge_to_the_emulators_truth_after_faults_and_one_catch_up(tmp_path, seed):
    rng = random.Random(seed)
    with Emulator(port=0, seed=seed, state_dir=tmp_path / "sim") as sim:
        ctl = ControlClient(sim.base_url, sim.ca_path)
        domain = f"conv{uuid.uuid4().hex[:6]}.example.com"
        tid = ctl.create_tenant(domain=domain, name=domain)["id"]
        ctl.add_user(tid, f"admin@{domain}", is_admin=True)
        ctl.add_user(tid, f"ann@{domain}", mailbox=True)
        names = [f"good{i}" for i in range(1, 9)] + ["outside"]
        for name in names:
            ctl.add_room(tid, f"{name}@{domain}", name=name, capacity=6)
        rooms = [f"{n}@{domain}" for n in names if n.startswith("good")]
        now = datetime.now(UTC).replace(microsecond=0)
        meetings: list[tuple[str, str]] = []
        for room in rooms:
            for day in range(5):
                start = now + timedelta(days=day - 1, hours=rng.randint(1, 8))
                meetings.append((room, ctl.create_meeting(tid, f"ann@{domain}", [room], _iso(start),
                                                          _iso(start + timedelta(minutes=30)))["id"]))
        settings = load_settings(environment="development", notifications_key="n-key", lifecycle_key="l-key",
                                 graph_base_url=f"{sim.base_url}/v1.0",
                                 login_base_url=sim.base_url, client_id=DEFAULT_CLIENT_ID,
                                 client_secret=DEFAULT_SECRET, ca_bundle=sim.ca_path, hash_key=HASH_KEY,
                                 graph_max_wait_seconds=0.5, graph_max_retries=1, graph_page_size=3,
                                 sync_max_pages_per_round=2, sync_lease_seconds=10)
        services = bootstrap.build_services(settings, tables=InMemoryTables(), queues=FakeQueue())
        assert consent(sim, services, tid).ok
        ctl.add_group(tid, f"roomcal-rooms@{domain}", rooms)
        ctl.add_scope(tid, "RoomCal Room Calendars Scope", member_of_group=f"roomcal-rooms@{domain}",
                      recipient_type="RoomMailbox")
        ctl.assign_role(tid, "Application Calendars.ReadWrite", "RoomCal Room Calendars Scope")
        onboarding.import_rooms(services, tid, actor="fm")
        verify_all(services, tid)
        onboarding.synchronise(services, tid, actor="fm")
        host = RealTimeHost(services, rng)
        host.collect()

        for _ in range(40):
            room, mid = rng.choice(meetings)
            action = rng.random()
            if action < 0.3:
                start = now + timedelta(days=rng.randint(0, 20), hours=rng.randint(1, 10))
                meetings.append((room, ctl.create_meeting(tid, f"ann@{domain}", [room], _iso(start),
                                                          _iso(start + timedelta(minutes=45)))["id"]))
            elif action < 0.5:
                start = now + timedelta(days=rng.randint(0, 10), hours=rng.randint(1, 10))
                ctl.update_meeting(tid, mid, start=_iso(start), end=_iso(start + timedelta(hours=1)))
            elif action < 0.6:
                ctl.cancel_meeting(tid, mid)
            elif action < 0.7:
                ctl.delete_meeting(tid, mid)
                meetings.remove((room, mid))
            elif action < 0.8:
                ctl.inject_5xx(count=rng.randint(1, 3), status=rng.choice([500, 503]), retry_after=1, mailbox=room)
            elif action < 0.85:
                ctl.expire_delta_tokens()
            services.queues.send(ROOM_CHANGES, {"tenant": tid, "room": room, "reason": "notification",
                                                "at": _iso(datetime.now(UTC))})
            host.collect(drop=0.3, duplicate=0.2)
            for _ in range(rng.randint(0, 3)):
                host.step()

        ctl.clear_faults()
        host.drain()
        enqueue_catch_up(services.tables, services.queues, services.clock)
        host.collect()
        host.drain()

        assert host.poison == [] and host.pending == []
        assert mismatches(ctl, services.tables, tid, rooms, HASH_KEY) == []
