"""The sync engine against the Microsoft 365 emulator: real HTTPS, MSAL and Graph client; tables on
Azurite. Rooms are onboarded as an admin would, synchronised through the room-changes queue
(drained by calling the handler, as the host would), a live change made through the emulator's
control API lands in Events, and no canary string reaches a table or a queue."""

from __future__ import annotations

import json
import time
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
from tests.integration.test_onboarding_m365sim import apply_rbac, consent, onboard_and_sync, verify_all

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
                               _iso(start + timedelta(hours=1)), online=day % 2 == 0,
                               pasted_join=("zoom", "webex", "meet", "teams")[day // 2] if day % 2 else None)
    onboard_and_sync(sim, services, ctl, tid, domain)

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


def test_the_batched_catch_up_finds_a_change_nobody_notified_through_graphs_batch(sim, services):
    """Issue 16 item 7: quiet rooms probed 20 per $batch with their stored delta links (emulator's
    $batch, real HTTPS); only the room with a missed change gets a round, and it converges."""
    from shared.sync.catchup_batch import CATCHUP_PROBES, CATCHUP_TENANTS

    ctl = ControlClient(sim.base_url, sim.ca_path)
    tid, domain = small_office(ctl, "batched")
    onboard_and_sync(sim, services, ctl, tid, domain)
    assert set(_drain(services)) == {"synced"}
    good1 = f"good1@{domain}"
    now = datetime.now(UTC).replace(microsecond=0)
    ctl.create_meeting(tid, f"ann@{domain}", [good1], _iso(now + timedelta(hours=2)), _iso(now + timedelta(hours=3)))
    services.queues.sent.clear()  # the hint a notification would have given is lost

    services.catch_up.enqueue_tenants()
    # the session's Azurite holds other tests' tenants too: this one only
    (plan,) = [services.catch_up.plan_tenant(m) for m in services.queues.messages(CATCHUP_TENANTS)
               if m["tenant"] == tid]
    probes = [services.catch_up.probe(m) for m in services.queues.messages(CATCHUP_PROBES) if m["tenant"] == tid]
    assert plan["slices"] == 1 and sum(p["changed"] for p in probes) == 1 and sum(p["quiet"] for p in probes) >= 1
    services.queues.sent = [s for s in services.queues.sent if s[0] == ROOM_CHANGES]
    assert [m["room"] for m in services.queues.messages(ROOM_CHANGES)] == [good1]
    assert _drain(services) == ["synced"]
    assert _rows(services, tid, good1) == _truth(ctl, services, tid, good1)


def test_the_batched_renewal_renews_every_due_subscription_through_graphs_batch(sim, services):
    """Issue 16 item 7: due subscriptions PATCHed 20 per $batch against the emulator (its own expiry
    rules), the new expiries stored, nothing left for the one-message-per-room path."""
    from benchmarks.graph_requests import _Webhook
    from shared.messages import SUBSCRIPTION_MAINTENANCE
    from shared.sync.renewal_batch import RENEWAL_TENANTS

    ctl = ControlClient(sim.base_url, sim.ca_path)
    tid, domain = small_office(ctl, "renewal")
    onboard_and_sync(sim, services, ctl, tid, domain)  # the consent callback is registered on 127.0.0.1:7071
    _drain(services)
    with _Webhook() as hook:  # Graph validates the notification URL: a live one for the subscriptions
        settings = services.settings.model_copy(update={"public_base_url": hook.base_url,
                                                        "subscription_renew_within_minutes": 10080})
        services = bootstrap.build_services(settings, tables=services.tables, queues=services.queues)
        hook.services = services
        manager = services.require_subscription_manager()
        for task in services.queues.messages(SUBSCRIPTION_MAINTENANCE):
            manager.handle(task)
        before = {s["id"]: s["expirationDateTime"] for s in ctl.subscriptions() if s["tenantId"] == tid}
        assert len(before) >= 2
        services.queues.sent.clear()
        time.sleep(1.1)  # a later expiry than the create's, to the second

        services.renewal.enqueue_tenants()
        (job,) = [m for m in services.queues.messages(RENEWAL_TENANTS) if m["tenant"] == tid]
        counts = services.renewal.renew_tenant(job)
        assert counts["renewed"] == len(before) and services.queues.messages(SUBSCRIPTION_MAINTENANCE) == []
        after = {s["id"]: s["expirationDateTime"] for s in ctl.subscriptions() if s["tenantId"] == tid}
        assert set(after) == set(before) and all(after[i] > before[i] for i in before)
