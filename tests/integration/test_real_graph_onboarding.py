"""Onboarding and sync under the dev host against the emulator behaving as real Graph does (issue 10):
/places without nextLink (a 150-room tenant), a room that reaches /places late, and a 409 on subscription
create. Azurite tables and queues, the repository's function_app.py as a subprocess, real queue triggers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devtools.azurite import free_port
from devtools.devhost import DevHostProcess
from devtools.m365sim import ControlClient, Emulator
from shared import bootstrap
from shared.adapters.queues import AzureMessageQueue
from shared.adapters.tables import AzureTableStore
from shared.config import load_settings
from shared.errors import NotFound
from shared.onboarding import rooms, verification
from shared.onboarding import use_cases as onboarding
from shared.onboarding.rbac_script import DEFAULT_SCOPE_NAME
from shared.sync.subscription_directory import SubscriptionDirectory
from shared.sync.sync_lease import TABLE as ROOM_SYNC
from tests.integration.devhost_helpers import wait_for
from tests.integration.offices import small_office
from tests.integration.test_onboarding_m365sim import apply_rbac, consent
from tests.integration.test_sync_devhost import _settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with Emulator(port=0, seed=5, state_dir=tmp_path_factory.mktemp("m365sim-real-graph")) as s:
        yield s


@pytest.fixture(scope="module")
def stack(sim, azurite, tmp_path_factory):
    """(services in this process, the running dev host) on one Azurite and the emulator."""
    conn, port = azurite.connection_string, free_port()
    env = _settings(sim, conn, f"http://127.0.0.1:{port}")
    settings = load_settings(**{k[len("ROOMCAL_"):].lower(): v for k, v in env.items() if k.startswith("ROOMCAL_")},
                             storage_connection=conn)
    services = bootstrap.build_services(settings, tables=AzureTableStore(conn), queues=AzureMessageQueue(conn))
    ControlClient(sim.base_url, sim.ca_path).app(redirect_uris=[f"http://127.0.0.1:{port}/api/consent/callback"])
    state = tmp_path_factory.mktemp("devhost-real-graph")
    with DevHostProcess(port=port, env=env, args=["--state-dir", str(state)]) as host:
        yield services, host


@pytest.fixture
def ctl(sim):
    return ControlClient(sim.base_url, sim.ca_path)


def _synced(services, tid: str, room: str) -> bool:
    """The sync engine finished a round for the room (its own RoomSync row, not verification's word)."""
    try:
        return services.tables.get(ROOM_SYNC, tid, room).get("status") == "synced"
    except NotFound:
        return False


def _subscription(services, tid: str, room: str) -> str | None:
    try:
        return services.tables.get(ROOM_SYNC, tid, room).get("subscription_id") or None
    except NotFound:
        return None


def _codes(services, tid: str) -> dict[str, str]:
    return {r["email"]: r["reason_code"] for r in rooms.listing(services.tables, tid)["rooms"]}


def test_a_tenant_of_150_rooms_imports_verifies_and_syncs_every_room_set_up_correctly(sim, stack, ctl):
    """/places answers 100 rooms and no nextLink (docs-contrib issues 341, 6252): RoomCal pages with $skip."""
    services, _ = stack
    office = ctl.generate(seed=11, rooms=150, days_back=1, days_ahead=2)
    tid = office["tenant"]
    for assignment in ctl.tenant(tid)["role_assignments"]:  # apply the RBAC script's scope instead
        ctl.remove_role(tid, assignment["id"])
    ctl.add_scope(tid, DEFAULT_SCOPE_NAME, member_of_group=f"roomcal-rooms@{office['domain']}",
                  recipient_type="RoomMailbox")
    ctl.assign_role(tid, "Application Calendars.ReadWrite", DEFAULT_SCOPE_NAME)
    assert consent(sim, services, tid).ok

    imported = onboarding.import_rooms(services, tid, actor="fm")
    assert len(imported["added"]) == 150

    onboarding.verify(services, tid, actor="fm")
    wait_for(lambda: verification.progress(services.tables, tid)["done"], timeout=120, interval=0.5)
    truth = ctl.truth(tid, start=datetime.now(UTC).isoformat(), end=(datetime.now(UTC) + timedelta(hours=1))
                      .isoformat())
    set_up_right = {email for email in truth["rooms"] if email not in truth["misconfigured"]}
    codes = _codes(services, tid)
    assert len(set_up_right) == 146 and {e for e, c in codes.items() if c == "ready"} == set_up_right

    handed = onboarding.synchronise(services, tid, actor="fm")["queued"]
    assert set(handed) == set_up_right
    wait_for(lambda: all(_synced(services, tid, room) for room in set_up_right), timeout=240, interval=1)


def test_a_room_missing_from_places_is_pending_until_listed_then_syncs(sim, stack, ctl):
    """New rooms reach /places up to about 48 hours late (microsoft-graph-docs issues 20558, 7192)."""
    services, _ = stack
    tid, domain = small_office(ctl, "late")
    assert consent(sim, services, tid).ok
    apply_rbac(ctl, tid, domain)
    late = f"late@{domain}"
    ctl.add_room(tid, late, name="Late", list_after_s=48 * 3600)
    ctl.group_members(tid, f"roomcal-rooms@{domain}", add=[late])
    onboarding.import_rooms(services, tid, actor="fm")
    onboarding.register_rooms(services, tid, {"rooms": [{"email": late}]}, actor="fm")
    onboarding.verify(services, tid, actor="fm")
    wait_for(lambda: verification.progress(services.tables, tid)["done"], timeout=60, interval=0.3)
    room = next(r for r in rooms.listing(services.tables, tid)["rooms"] if r["email"] == late)
    assert room["sync_status"] == "pending" and "not yet in Microsoft's room directory" in room["reason"]
    onboarding.synchronise(services, tid, actor="fm")
    wait_for(lambda: _synced(services, tid, f"good1@{domain}"), timeout=60, interval=0.3)
    assert not _synced(services, tid, late)

    ctl.update_place(tid, late, list_after_s=0)  # Microsoft's directory caught up
    assert verification.recheck_denied(services.tables, services.queues, services.clock) >= 1  # the 15-min timer
    wait_for(lambda: _synced(services, tid, late), timeout=60, interval=0.3)
    assert _codes(services, tid)[late] == "ready"


def test_a_409_on_subscription_create_heals_itself(sim, stack, ctl):
    """RoomCal lost its record of a subscription Graph still has: the recreate meets 409, finds the
    subscription by resource (GET /subscriptions), deletes it and subscribes again."""
    services, _ = stack
    tid, domain = small_office(ctl, "dup")
    good1 = f"good1@{domain}"
    assert consent(sim, services, tid).ok
    apply_rbac(ctl, tid, domain)
    onboarding.import_rooms(services, tid, actor="fm")
    onboarding.verify(services, tid, actor="fm")
    wait_for(lambda: verification.progress(services.tables, tid)["done"], timeout=60, interval=0.3)
    onboarding.synchronise(services, tid, actor="fm")

    def graph_subscriptions() -> list[str]:
        return [s["id"] for s in ctl.subscriptions() if s.get("mailbox") == good1]

    first = wait_for(lambda: _subscription(services, tid, good1), timeout=60)
    assert graph_subscriptions() == [first]
    services.tables.delete("Subscriptions", "sub", first)  # the answer to the create was lost
    services.tables.merge(ROOM_SYNC, {"PartitionKey": tid, "RowKey": good1, "subscription_id": ""})

    deleted_before = ctl.notification_stats()["counters"].get("subscriptions_deleted", 0)
    services.require_subscription_manager().enqueue_due()  # the renewal timer: a synced room without one
    healed = wait_for(lambda: _subscription(services, tid, good1), timeout=60)
    assert healed != first and graph_subscriptions() == [healed]
    assert ctl.notification_stats()["counters"].get("subscriptions_deleted", 0) == deleted_before + 1  # the stray one
    assert SubscriptionDirectory(services.tables).lookup(healed) is not None
    assert services.tables.get(ROOM_SYNC, tid, good1).get("subscription_error") in (None, "")
