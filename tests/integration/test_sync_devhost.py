"""The whole path under the dev host: the repository's function_app.py as a subprocess, Azurite
queues and tables, the Microsoft 365 emulator. Rooms are onboarded, verified and synchronised
through the real queue triggers; a live change made through the emulator's control API reaches
the Events table through POST /api/notifications → room-changes → a delta round; and no canary
string appears in any table, queue or log line."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueServiceClient

from devtools.azurite import free_port
from devtools.devhost import DevHostProcess
from devtools.m365sim import ControlClient, Emulator
from devtools.m365sim.canary import CANARY_PREFIX
from devtools.m365sim.world import DEFAULT_CLIENT_ID, DEFAULT_SECRET
from shared import bootstrap, keys
from shared.adapters.queues import AzureMessageQueue
from shared.adapters.tables import AzureTableStore
from shared.config import load_settings
from shared.models import SubscriptionRecord
from shared.onboarding import use_cases as onboarding
from shared.onboarding import verification
from shared.sync.subscription_directory import SubscriptionDirectory, hash_client_state
from shared.sync.sync import EVENTS
from shared.sync.sync_lease import TABLE as ROOM_SYNC
from tests.integration.devhost_helpers import wait_for
from tests.integration.offices import small_office
from tests.integration.test_onboarding_m365sim import apply_rbac, consent

pytestmark = [pytest.mark.integration, pytest.mark.slow]
HASH_KEY = "h" * 32
FUNCTION_KEY = "sync-devhost-function-key"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with Emulator(port=0, seed=3, state_dir=tmp_path_factory.mktemp("m365sim-devhost")) as s:
        yield s


def _settings(sim, conn: str, base_url: str) -> dict[str, str]:
    return {"AzureWebJobsStorage": conn, "ROOMCAL_ENVIRONMENT": "development",
            "ROOMCAL_GRAPH_BASE_URL": f"{sim.base_url}/v1.0", "ROOMCAL_LOGIN_BASE_URL": sim.base_url,
            "ROOMCAL_CLIENT_ID": DEFAULT_CLIENT_ID, "ROOMCAL_CLIENT_SECRET": DEFAULT_SECRET,
            "ROOMCAL_CA_BUNDLE": sim.ca_path, "ROOMCAL_HASH_KEY": HASH_KEY, "ROOMCAL_PUBLIC_BASE_URL": base_url,
            "DEVHOST_FUNCTION_KEY": FUNCTION_KEY, "DEVHOST_MASTER_KEY": "sync-devhost-master-key",
            "ROOMCAL_NOTIFICATIONS_KEY": "sync-n-key", "ROOMCAL_LIFECYCLE_KEY": "sync-l-key",
            "DEVHOST_FUNCTION_KEY__graph_notifications": "sync-n-key",
            "DEVHOST_FUNCTION_KEY__graph_lifecycle": "sync-l-key"}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _in_sync(ctl, tables, tid: str, room: str) -> bool:
    try:
        state = tables.get(ROOM_SYNC, tid, room)
    except Exception:
        return False
    if not state.get("window_start"):
        return False
    truth = ctl.truth(tid, start=state["window_start"], end=state["window_end"])["rooms"][room]["events"]
    expected = {keys.event_row_key(HASH_KEY, room, e["id"]) for e in truth}
    stored = {r["RowKey"] for r in tables.query(EVENTS, keys.room_partition(tid, room), select=["RowKey"])}
    return bool(expected) and stored == expected


def _everything_stored(conn: str) -> str:
    tables = TableServiceClient.from_connection_string(conn)
    rows = [dict(e) for t in tables.list_tables() for e in tables.get_table_client(t.name).list_entities()]
    queues = QueueServiceClient.from_connection_string(conn)
    messages = [m.content for q in queues.list_queues()
                for m in queues.get_queue_client(q.name).peek_messages(max_messages=32)]
    return json.dumps(rows, default=str) + json.dumps(messages)


def test_a_live_change_reaches_the_events_table_through_a_notification(sim, azurite, tmp_path):
    conn, ctl = azurite.connection_string, ControlClient(sim.base_url, sim.ca_path)
    tid, domain = small_office(ctl, "dh")
    now = datetime.now(UTC).replace(microsecond=0)
    good1, good2 = f"good1@{domain}", f"good2@{domain}"
    for day in range(4):
        for room in (good1, good2):
            start = now + timedelta(days=day, hours=3)
            ctl.create_meeting(tid, f"ann@{domain}", [room], _iso(start), _iso(start + timedelta(hours=1)))

    port = free_port()
    env = _settings(sim, conn, f"http://127.0.0.1:{port}")
    settings = load_settings(**{k[len("ROOMCAL_"):].lower(): v for k, v in env.items() if k.startswith("ROOMCAL_")},
                             storage_connection=conn)
    services = bootstrap.build_services(settings, tables=AzureTableStore(conn), queues=AzureMessageQueue(conn))
    ctl.app(redirect_uris=[f"http://127.0.0.1:{port}/api/consent/callback"])
    with DevHostProcess(port=port, env=env, args=["--state-dir", str(tmp_path / "state")]) as host:
        assert consent(sim, services, tid).ok
        apply_rbac(ctl, tid, domain)
        onboarding.import_rooms(services, tid, actor="fm")
        onboarding.verify(services, tid, actor="fm")
        wait_for(lambda: verification.progress(services.tables, tid)["done"], timeout=60)
        onboarding.synchronise(services, tid, actor="fm")
        wait_for(lambda: _in_sync(ctl, services.tables, tid, good1) and _in_sync(ctl, services.tables, tid, good2),
                 timeout=60)

        # Graph would now notify: a subscription RoomCal knows, with its clientState.
        subscription_id, client_state = str(uuid.uuid4()), "s3cr3t-" + uuid.uuid4().hex
        SubscriptionDirectory(services.tables).save(SubscriptionRecord(
            id=subscription_id, tenant_id=tid, room_email=good1, client_state_hash=hash_client_state(client_state),
            expires_at=now + timedelta(days=3)))
        keyless = requests.post(f"{host.base_url}/api/notifications",
                                params={"validationToken": "Validation: <b>hi</b>"}, timeout=10)
        assert keyless.status_code == 401  # the host refuses it: anyone's handshake is no longer answered
        handshake = requests.post(f"{host.base_url}/api/notifications",
                                  params={"code": "sync-n-key", "validationToken": "Validation: <b>hi</b>"}, timeout=10)
        assert handshake.status_code == 200 and handshake.text == "Validation: <b>hi</b>"
        assert handshake.headers["Content-Type"].startswith("text/plain")

        meeting = ctl.create_meeting(tid, f"ann@{domain}", [good1], _iso(now + timedelta(minutes=5)),
                                     _iso(now + timedelta(minutes=35)), online=True)
        row_key = keys.event_row_key(HASH_KEY, good1, meeting["copies"][good1])
        changed_at = time.monotonic()
        body = {"value": [{"subscriptionId": subscription_id, "clientState": client_state, "changeType": "created",
                           "tenantId": tid, "resource": f"Users/x/Events/{meeting['copies'][good1]}",
                           "resourceData": {"id": meeting["copies"][good1]}}]}
        assert requests.post(f"{host.base_url}/api/notifications", json=body, timeout=10).status_code == 401
        answer = requests.post(f"{host.base_url}/api/notifications?code=sync-n-key", json=body, timeout=10)
        assert answer.status_code == 202
        forged = requests.post(f"{host.base_url}/api/notifications?code=sync-n-key",
                               json={"value": [{**body["value"][0], "clientState": "guess"}]}, timeout=10)
        assert forged.status_code == 202
        wait_for(lambda: any(r["RowKey"] == row_key for r in services.tables.query(
            EVENTS, keys.room_partition(tid, good1), select=["RowKey"])), timeout=30)
        landed_after = time.monotonic() - changed_at
        assert _in_sync(ctl, services.tables, tid, good1)
        assert landed_after < 15

        status = requests.get(f"{host.base_url}/api/tenants/{tid}/status",
                              headers={"x-functions-key": FUNCTION_KEY}, timeout=10)
        assert status.status_code == 200
        rooms = {r["room"]: r for r in status.json()["rooms"]}
        assert rooms[good1]["next"]["is_online"] is True
    assert CANARY_PREFIX not in _everything_stored(conn)
    assert CANARY_PREFIX not in host.output
    assert "[room_changes]" in host.output
