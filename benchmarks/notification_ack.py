"""Notification acknowledgement latency under a burst, through the dev host.

The repository's function_app.py runs under devtools/devhost on Azurite. A subscription row is
stored as RoomCal stores it; then a burst of changeNotificationCollection POSTs (one item each,
spread over 20 rooms, as Graph sends them) is fired at a fixed rate from a pool of clients, and
each POST's time to its 202 is recorded. Reference: p99 under 50 ms (Graph's hard limit: 3 s).
Writes benchmarks/results/notification_ack.md.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from devtools.azurite import Azurite, free_port
from devtools.devhost import DevHostProcess
from shared.adapters.tables import AzureTableStore
from shared.models import SubscriptionRecord
from shared.services.subscription_directory import SubscriptionDirectory, hash_client_state

RESULTS = Path(__file__).parent / "results"
TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"


def main(total: int = 2500, rate: float = 500.0, clients: int = 32) -> dict:
    with tempfile.TemporaryDirectory() as tmp, Azurite(log_file=Path(tmp) / "azurite.log") as azurite:
        subs = _subscriptions(azurite.connection_string, rooms=20)
        port = free_port()
        env = {"AzureWebJobsStorage": azurite.connection_string, "ROOMCAL_ENVIRONMENT": "development",
               "ROOMCAL_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "ROOMCAL_HASH_KEY": "bench" * 8,
               "DEVHOST_FUNCTION_KEY": "bench-function-key", "DEVHOST_MASTER_KEY": "bench-master-key",
               # Graph is wired but never called: the bench tenant is not registered, so each
               # delta round ends at the registry check (the cost of the queue side stays in).
               "ROOMCAL_CLIENT_ID": "bench-client", "ROOMCAL_CLIENT_SECRET": "bench-secret",
               "ROOMCAL_GRAPH_BASE_URL": "https://127.0.0.1:9/v1.0", "ROOMCAL_LOGIN_BASE_URL": "https://127.0.0.1:9"}
        with DevHostProcess(port=port, env=env, args=["--state-dir", str(Path(tmp) / "state")]) as host:
            url = f"{host.base_url}/api/notifications"
            _fire(url, subs[:2], 50, rate=100.0, clients=4)  # warm the worker and the subscription cache
            latencies, statuses, elapsed = _fire(url, subs, total, rate=rate, clients=clients)
    result = _summary(latencies, statuses, elapsed, total, rate)
    _write(result)
    return result


def _subscriptions(conn: str, rooms: int) -> list[tuple[str, str]]:
    directory = SubscriptionDirectory(AzureTableStore(conn))
    subs = []
    for i in range(rooms):
        sub_id, state = str(uuid.uuid4()), uuid.uuid4().hex
        directory.save(SubscriptionRecord(id=sub_id, tenant_id=TENANT, room_email=f"room{i}@contoso.com",
                                          client_state_hash=hash_client_state(state),
                                          expires_at=datetime.now(UTC) + timedelta(days=3)))
        subs.append((sub_id, state))
    return subs


def _fire(url: str, subs: list[tuple[str, str]], total: int, *, rate: float, clients: int):
    local = threading.local()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    start = time.perf_counter()

    def one(i: int) -> None:
        due = start + i / rate
        time.sleep(max(0.0, due - time.perf_counter()))
        session = getattr(local, "session", None) or setattr(local, "session", requests.Session()) or local.session
        sub_id, state = subs[i % len(subs)]
        body = {"value": [{"subscriptionId": sub_id, "clientState": state, "changeType": "updated",
                           "tenantId": TENANT, "resource": f"Users/x/Events/e{i}", "resourceData": {"id": f"e{i}"}}]}
        sent = time.perf_counter()
        answer = session.post(url, json=body, timeout=10)
        took = (time.perf_counter() - sent) * 1000
        with lock:
            latencies.append(took)
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, range(total)))
    return latencies, statuses, time.perf_counter() - start


def _summary(latencies, statuses, elapsed, total, rate) -> dict:
    ordered = sorted(latencies)
    return {"notifications": total, "target_rate": rate, "achieved_rate": round(total / elapsed, 1),
            "p50_ms": round(statistics.median(ordered), 1),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
            "max_ms": round(ordered[-1], 1), "statuses": statuses}


def _write(result: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    lines = [
        "# Notification acknowledgement latency (dev host, Azurite)", "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {result['notifications']} POSTs at "
        f"{result['achieved_rate']}/s (target {result['target_rate']}/s); statuses {result['statuses']}.",
        f"Load generator, dev host and Azurite share this machine's {os.cpu_count()} CPUs.", "",
        "| figure | measured | reference |", "|---|---|---|",
        f"| ack latency p50 | {result['p50_ms']} ms | - |",
        f"| ack latency p99 | {result['p99_ms']} ms | < 50 ms (Graph's limit: 3 s) |",
        f"| ack latency max | {result['max_ms']} ms | < 3,000 ms |",
    ]
    (RESULTS / "notification_ack.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
