"""The sync engine against the Microsoft 365 emulator: real HTTPS, MSAL and Graph client; tables on
Azurite. Rooms are onboarded as an admin would, synchronised through the room-changes queue
(drained by calling the handler, as the host would), a live change made through the emulator's
control API lands in Events, and no canary string reaches a table or a queue."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from devtools.m365sim import ControlClient, Emulator
from devtools.m365sim.canary import CANARY_PREFIX
from devtools.m365sim.world import DEFAULT_CLIENT_ID, DEFAULT_SECRET
from shared import bootstrap, keys
from shared.adapters.tables import AzureTableStore
from shared.config import load_settings
from shared.messages import ROOM_CHANGES
from shared.onboarding import use_cases as onboarding
from shared.ops.room_status import tenant_room_status
from shared.sync.sync import EVENTS
from shared.sync.sync_lease import TABLE as ROOM_SYNC
from tests.fakes import FakeQueue
from tests.integration.offices import small_office
from tests.integration.test_onboarding_m365sim import apply_rbac, consent, verify_all

pytestmark = pytest.mark.integration
HASH_KEY = "k" * 32


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with Emulator(port=0, seed=2, state_dir=tmp_path_factory.mktemp("m365sim-sync")) as s:
        yield s


@pytest.fixture
def services(sim, storage_connection):
    settings = load_settings(environment="development", notifications_key="n-key", lifecycle_key="l-key",
                             graph_base_url=f"{sim.base_url}/v1.0",
                             login_base_url=sim.base_url, client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_SECRET,
                             ca_bundle=sim.ca_path, public_base_url="http://127.0.0.1:7071", hash_key=HASH_KEY)
    return bootstrap.build_services(settings, tables=AzureTableStore(storage_connection), queues=FakeQueue())


def _drain(services) -> list[str]:
    outcomes = []
    while messages := services.queues.messages(ROOM_CHANGES):
        services.queues.sent = [s for s in services.queues.sent if s[0] != ROOM_CHANGES]
        outcomes += [services.room_changes.handle(m).status for m in messages]
    return outcomes


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _rows(services, tid, room) -> set[str]:
    return {r["RowKey"] for r in services.tables.query(EVENTS, keys.room_partition(tid, room), select=["RowKey"])}


def _truth(ctl, services, tid, room) -> set[str]:
    state = services.tables.get(ROOM_SYNC, tid, room)
    world = ctl.truth(tid, start=state["window_start"], end=state["window_end"])
    return {keys.event_row_key(HASH_KEY, room, e["id"]) for e in world["rooms"][room]["events"]}


def test_rooms_sync_a_live_change_lands_and_no_canary_leaks(sim, services):
    ctl = ControlClient(sim.base_url, sim.ca_path)
    tid, domain = small_office(ctl, "sync")
    now = datetime.now(UTC).replace(microsecond=0)
    for day in range(6):
        for room in ("good1", "good2"):
            start = now + timedelta(days=day - 2, hours=1)
            ctl.create_meeting(tid, f"ann@{domain}", [f"{room}@{domain}"], _iso(start),
                               _iso(start + timedelta(hours=1)), online=day % 2 == 0)
    assert consent(sim, services, tid).ok
    apply_rbac(ctl, tid, domain)
    onboarding.import_rooms(services, tid, actor="fm")
    verify_all(services, tid)
    onboarding.synchronise(services, tid, actor="fm")

    assert set(_drain(services)) == {"synced"}
    good1, good2 = f"good1@{domain}", f"good2@{domain}"
    for room in (good1, good2):
        assert _rows(services, tid, room) == _truth(ctl, services, tid, room) and len(_rows(services, tid, room)) >= 6

    meeting = ctl.create_meeting(tid, f"ann@{domain}", [good1], _iso(now - timedelta(minutes=10)),
                                 _iso(now + timedelta(minutes=50)), online=True)
    services.queues.send(ROOM_CHANGES, {"tenant": tid, "room": good1, "reason": "notification",
                                        "at": _iso(datetime.now(UTC))})
    assert _drain(services) == ["synced"]
    assert _rows(services, tid, good1) == _truth(ctl, services, tid, good1)
    current = tenant_room_status(services.tables, services.clock, tid)
    status = {r["room"]: r for r in current["rooms"]}[good1]
    assert status["free_busy"] == "busy" and status["current"]["is_online"] is True

    ctl.cancel_meeting(tid, meeting["id"], remove=True)
    services.queues.send(ROOM_CHANGES, {"tenant": tid, "room": good1, "reason": "notification",
                                        "at": _iso(datetime.now(UTC))})
    _drain(services)
    assert _rows(services, tid, good1) == _truth(ctl, services, tid, good1)

    stored = [row for table in ("Events", "RoomSync", "Rooms", "Subscriptions")
              for row in services.tables.query(table)]
    assert stored and CANARY_PREFIX not in json.dumps(stored, default=str)
    assert CANARY_PREFIX not in json.dumps(services.queues.sent, default=str)


def test_a_baseline_paused_every_page_resumes_from_graphs_next_link(sim, storage_connection):
    ctl = ControlClient(sim.base_url, sim.ca_path)
    tid, domain = small_office(ctl, "big")
    now = datetime.now(UTC).replace(microsecond=0)
    room = f"good1@{domain}"
    for day in range(9):
        start = now + timedelta(days=day, hours=2)
        ctl.create_meeting(tid, f"ann@{domain}", [room], _iso(start), _iso(start + timedelta(hours=1)))
    settings = load_settings(environment="development", notifications_key="n-key", lifecycle_key="l-key",
                             graph_base_url=f"{sim.base_url}/v1.0",
                             login_base_url=sim.base_url, client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_SECRET,
                             ca_bundle=sim.ca_path, hash_key=HASH_KEY, graph_page_size=2, sync_max_pages_per_round=1)
    services = bootstrap.build_services(settings, tables=AzureTableStore(storage_connection), queues=FakeQueue())
    assert consent(sim, services, tid).ok
    apply_rbac(ctl, tid, domain)
    onboarding.register_rooms(services, tid, {"email": room}, actor="fm")
    verify_all(services, tid)
    onboarding.synchronise(services, tid, actor="fm")
    outcomes = _drain(services)
    assert len(outcomes) >= 5  # one page per round, handed over between rounds
    state = services.tables.get(ROOM_SYNC, tid, room)
    assert state["baseline_reason"] == "initial" and not state["baseline_next_link"]
    assert _rows(services, tid, room) == _truth(ctl, services, tid, room) and len(_rows(services, tid, room)) == 9
