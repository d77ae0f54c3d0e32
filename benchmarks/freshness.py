"""Change-to-row freshness through the dev host: a meeting booked through the emulator's control
API, its change notification POSTed to /api/notifications (as Graph would; the emulator does not
deliver notifications yet, so Graph's own delivery delay is not included), and the time until
the row is in the Events table. Reference: p95 under 2 s (a 5-minute poller: ~150 s on average).
Writes benchmarks/results/freshness.md.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from benchmarks.report import percentile, publish
from devtools.azurite import Azurite, free_port
from devtools.devhost import DevHostProcess
from devtools.m365sim import ControlClient, Emulator
from devtools.m365sim.world import DEFAULT_CLIENT_ID, DEFAULT_SECRET
from shared import bootstrap, keys
from shared.adapters.queues import AzureMessageQueue
from shared.adapters.tables import AzureTableStore
from shared.config import load_settings
from shared.models import SubscriptionRecord
from shared.onboarding import use_cases as onboarding
from shared.onboarding import verification
from shared.sync.event_rows import EVENTS
from shared.sync.subscription_directory import SubscriptionDirectory, hash_client_state
from tests.integration.test_onboarding_m365sim import consent

HASH_KEY = "f" * 32


def main(rooms: int = 8, changes: int = 40, gap_seconds: float = 0.25) -> dict:
    with tempfile.TemporaryDirectory() as tmp, Azurite(log_file=Path(tmp) / "azurite.log") as azurite, \
            Emulator(port=0, seed=5, state_dir=Path(tmp) / "sim") as sim:
        ctl, conn, port = ControlClient(sim.base_url, sim.ca_path), azurite.connection_string, free_port()
        env = {"AzureWebJobsStorage": conn, "ROOMCAL_ENVIRONMENT": "development",
               "ROOMCAL_GRAPH_BASE_URL": f"{sim.base_url}/v1.0", "ROOMCAL_LOGIN_BASE_URL": sim.base_url,
               "ROOMCAL_CLIENT_ID": DEFAULT_CLIENT_ID, "ROOMCAL_CLIENT_SECRET": DEFAULT_SECRET,
               "ROOMCAL_CA_BUNDLE": sim.ca_path, "ROOMCAL_HASH_KEY": HASH_KEY,
               "ROOMCAL_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
               "DEVHOST_FUNCTION_KEY": "fresh-function-key", "DEVHOST_MASTER_KEY": "fresh-master-key",
               "ROOMCAL_NOTIFICATIONS_KEY": "fresh-n-key", "ROOMCAL_LIFECYCLE_KEY": "fresh-l-key",
               "DEVHOST_FUNCTION_KEY__graph_notifications": "fresh-n-key",
               "DEVHOST_FUNCTION_KEY__graph_lifecycle": "fresh-l-key"}
        settings = load_settings(**{k[len("ROOMCAL_"):].lower(): v for k, v in env.items()
                                    if k.startswith("ROOMCAL_")}, storage_connection=conn)
        services = bootstrap.build_services(settings, tables=AzureTableStore(conn), queues=AzureMessageQueue(conn))
        ctl.app(redirect_uris=[f"http://127.0.0.1:{port}/api/consent/callback"])
        tid, domain, mailboxes = _office(ctl, rooms)
        with DevHostProcess(port=port, env=env, args=["--state-dir", str(Path(tmp) / "state")]) as host:
            subs = _onboard(sim, ctl, services, tid, domain, mailboxes)
            latencies = []
            for i in range(changes):
                latencies.append(_one_change(ctl, services, host.base_url, tid, domain,
                                             mailboxes[i % len(mailboxes)], subs, i))
                time.sleep(gap_seconds)
    result = {"changes": changes, "rooms": rooms, "p50_s": round(statistics.median(latencies), 3),
              "p95_s": round(percentile(latencies, 0.95), 3),
              "max_s": round(max(latencies), 3)}
    _write(result)
    return result


def _office(ctl, rooms: int):
    domain = f"fresh{uuid.uuid4().hex[:6]}.example.com"
    tid = ctl.create_tenant(domain=domain, name=domain)["id"]
    ctl.add_user(tid, f"admin@{domain}", is_admin=True)
    ctl.add_user(tid, f"ann@{domain}", mailbox=True)
    mailboxes = [f"room{i}@{domain}" for i in range(rooms)]
    for mailbox in mailboxes:
        ctl.add_room(tid, mailbox, capacity=6)
    return tid, domain, mailboxes


def _onboard(sim, ctl, services, tid, domain, mailboxes) -> dict[str, tuple[str, str]]:
    assert consent(sim, services, tid).ok
    ctl.add_group(tid, f"roomcal-rooms@{domain}", mailboxes)
    ctl.add_scope(tid, "RoomCal Scope", member_of_group=f"roomcal-rooms@{domain}", recipient_type="RoomMailbox")
    ctl.assign_role(tid, "Application Calendars.ReadWrite", "RoomCal Scope")
    onboarding.import_rooms(services, tid, actor="bench")
    onboarding.verify(services, tid, actor="bench")
    _wait(lambda: verification.progress(services.tables, tid)["done"], 60)
    onboarding.synchronise(services, tid, actor="bench")
    _wait(lambda: all(services.tables.get("RoomSync", tid, m).get("delta_link")
                      for m in mailboxes if _exists(services, tid, m)) and
          all(_exists(services, tid, m) for m in mailboxes), 120)
    subs, directory = {}, SubscriptionDirectory(services.tables)
    for mailbox in mailboxes:  # as Graph would have them once subscriptions exist
        sub_id, state = str(uuid.uuid4()), uuid.uuid4().hex
        directory.save(SubscriptionRecord(id=sub_id, tenant_id=tid, room_email=mailbox,
                                          client_state_hash=hash_client_state(state),
                                          expires_at=datetime.now(UTC) + timedelta(days=3)))
        subs[mailbox] = (sub_id, state)
    return subs


def _one_change(ctl, services, base_url, tid, domain, mailbox, subs, i) -> float:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1 + i % 20, hours=i % 8)
    changed = time.monotonic()
    meeting = ctl.create_meeting(tid, f"ann@{domain}", [mailbox], start.isoformat(),
                                 (start + timedelta(minutes=30)).isoformat())
    event_id = meeting["copies"][mailbox]
    sub_id, state = subs[mailbox]
    body = {"value": [{"subscriptionId": sub_id, "clientState": state, "changeType": "created", "tenantId": tid,
                       "resource": f"Users/x/Events/{event_id}", "resourceData": {"id": event_id}}]}
    assert requests.post(f"{base_url}/api/notifications", json=body, timeout=10).status_code == 202
    row_key, partition = keys.event_row_key(HASH_KEY, mailbox, event_id), keys.room_partition(tid, mailbox)
    _wait(lambda: _landed(services, partition, row_key), 30, interval=0.02)
    return time.monotonic() - changed


def _landed(services, partition, row_key) -> bool:
    try:
        services.tables.get(EVENTS, partition, row_key)
    except Exception:
        return False
    return True


def _exists(services, tid, mailbox) -> bool:
    try:
        services.tables.get("RoomSync", tid, mailbox)
    except Exception:
        return False
    return True


def _wait(predicate, timeout: float, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(interval)


def _write(result: dict) -> None:
    lines = [
        "# Change-to-row freshness (dev host, Azurite, emulator)", "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {result['changes']} bookings over {result['rooms']} rooms, "
        f"each notified by a POST to /api/notifications (Graph's own delivery delay not included); "
        f"{os.cpu_count()} CPUs.", "",
        "| figure | measured | reference |", "|---|---|---|",
        f"| freshness p50 | {result['p50_s']} s | - |",
        f"| freshness p95 | {result['p95_s']} s | < 2 s (5-minute poller: ~150 s on average) |",
        f"| freshness max | {result['max_s']} s | - |",
    ]
    publish("freshness", lines)
