"""Notification acknowledgement latency under a burst, through the dev host.

The repository's function_app.py runs under devtools/devhost on Azurite. Subscription rows are
stored as RoomCal stores them; then two open-loop bursts of changeNotificationCollection POSTs are
fired at a fixed rate over persistent HTTP/1.1 connections (as Graph's senders keep them), and each
POST's time from sending to its 202 is recorded:

* ``single``: one notification per POST (the worst case per notification);
* ``batched``: several notifications per POST, each for a different room (Graph batches items
  that are due together into one collection), which is how a real burst arrives.

The load generator is one asyncio loop speaking raw HTTP/1.1, so its own cost stays small on
this machine (it shares the CPUs with the dev host and Azurite); ``send lag`` is how late a POST
left against its schedule (it would hide queueing if it grew, so it is reported too).
Each burst runs in two set-ups: ``co-located`` (the webhook and the room-changes queue worker
in one host, competing for this machine's CPUs and one Python process, the worst case) and
``webhook only`` (the queue trigger disabled with the host's own AzureWebJobs.room_changes.Disabled
setting, as when the sync work runs on other instances after a scale-out); hints then wait in the
queue. Both are reported; neither hides the other.
Reference: p99 under 50 ms at ≥ 500 notifications/s (Graph's hard limit: 3 s).
Writes benchmarks/results/notification_ack.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.report import percentile, publish
from devtools.azurite import Azurite, free_port
from devtools.devhost import DevHostProcess
from shared.adapters.tables import AzureTableStore
from shared.models import SubscriptionRecord
from shared.sync.subscription_directory import SubscriptionDirectory, hash_client_state

TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
ROOMS = 50


@dataclass(frozen=True)
class Burst:
    name: str
    posts: int
    posts_per_s: float
    items_per_post: int


SETUPS = {"co-located": {},
          "webhook only": {"AzureWebJobs.room_changes.Disabled": "true",
                           "AzureWebJobs.subscription_maintenance.Disabled": "true"}}
BURSTS = (Burst("single", posts=1500, posts_per_s=500.0, items_per_post=1),
          Burst("batched x5", posts=600, posts_per_s=100.0, items_per_post=5),
          Burst("batched x10", posts=360, posts_per_s=60.0, items_per_post=10))


def main(bursts: tuple[Burst, ...] = BURSTS, connections: int = 16) -> dict:
    with tempfile.TemporaryDirectory() as tmp, Azurite(log_file=Path(tmp) / "azurite.log") as azurite:
        subs = subscriptions(azurite.connection_string, rooms=ROOMS)
        port = free_port()
        env = host_env(azurite.connection_string, port, tmp)
        results = []
        for setup, extra in SETUPS.items():
            with DevHostProcess(port=port, env={**env, **extra}, args=["--state-dir", str(Path(tmp) / "state")]):
                # warm the worker and the subscription cache
                asyncio.run(fire(port, subs, Burst("warm-up", 200, 100.0, 1), 4))
                for burst in bursts:
                    time.sleep(2.0)  # let the previous burst's hints drain from the queue
                    results.append({"setup": setup, **asyncio.run(fire(port, subs, burst, connections))})
    _write(results, connections)
    return {"bursts": results}


def host_env(conn: str, port: int, tmp: str) -> dict[str, str]:
    return {"AzureWebJobsStorage": conn, "ROOMCAL_ENVIRONMENT": "development",
            "ROOMCAL_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "ROOMCAL_HASH_KEY": "bench" * 8,
            "DEVHOST_FUNCTION_KEY": "bench-function-key", "DEVHOST_MASTER_KEY": "bench-master-key",
            # Graph is wired but never called: the bench tenant is not registered, so each
            # delta round ends at the registry check (the cost of the queue side stays in).
            "ROOMCAL_CLIENT_ID": "bench-client", "ROOMCAL_CLIENT_SECRET": "bench-secret",
            "ROOMCAL_GRAPH_BASE_URL": "https://127.0.0.1:9/v1.0", "ROOMCAL_LOGIN_BASE_URL": "https://127.0.0.1:9"}


def subscriptions(conn: str, rooms: int) -> list[tuple[str, str]]:
    directory = SubscriptionDirectory(AzureTableStore(conn))
    subs = []
    for i in range(rooms):
        sub_id, state = str(uuid.uuid4()), uuid.uuid4().hex
        directory.save(SubscriptionRecord(id=sub_id, tenant_id=TENANT, room_email=f"room{i}@contoso.com",
                                          client_state_hash=hash_client_state(state),
                                          expires_at=datetime.now(UTC) + timedelta(days=3)))
        subs.append((sub_id, state))
    return subs


def _body(subs: list[tuple[str, str]], i: int, items: int) -> bytes:
    value = []
    for j in range(items):
        sub_id, state = subs[(i * items + j) % len(subs)]
        value.append({"subscriptionId": sub_id, "clientState": state, "changeType": "updated", "tenantId": TENANT,
                      "resource": f"Users/x/Events/e{i}-{j}", "resourceData": {"id": f"e{i}-{j}"}})
    return json.dumps({"value": value}).encode()


async def fire(port: int, subs: list[tuple[str, str]], burst: Burst, connections: int) -> dict:
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    latencies: list[float] = []
    lags: list[float] = []
    statuses: dict[int, int] = {}
    bodies = [_body(subs, i, burst.items_per_post) for i in range(burst.posts)]
    start = time.perf_counter()

    async def one(i: int) -> None:
        await asyncio.sleep(max(0.0, start + i / burst.posts_per_s - time.perf_counter()))
        reader, writer = await pool.get()
        body = bodies[i]
        sent = time.perf_counter()
        lags.append((sent - (start + i / burst.posts_per_s)) * 1000)
        writer.write(b"POST /api/notifications HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if length:
            await reader.readexactly(length)
        latencies.append((time.perf_counter() - sent) * 1000)
        status = int(head.split(b" ", 2)[1])
        statuses[status] = statuses.get(status, 0) + 1
        if b"connection: close" in head.lower():
            writer.close()
            pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
        else:
            pool.put_nowait((reader, writer))

    await asyncio.gather(*(one(i) for i in range(burst.posts)))
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait()[1].close()
    ordered, lag = sorted(latencies), sorted(lags)
    return {"burst": burst.name, "posts": burst.posts, "items_per_post": burst.items_per_post,
            "target_posts_per_s": burst.posts_per_s, "posts_per_s": round(burst.posts / elapsed, 1),
            "notifications_per_s": round(burst.posts * burst.items_per_post / elapsed, 1),
            "p50_ms": round(statistics.median(ordered), 1), "p99_ms": round(percentile(ordered, 0.99), 1),
            "max_ms": round(ordered[-1], 1), "lag_p99_ms": round(percentile(lag, 0.99), 1), "statuses": statuses}



def _write(results: list[dict], connections: int) -> None:
    lines = [
        "# Notification acknowledgement latency (dev host, Azurite)", "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC over {connections} persistent connections to 127.0.0.1; "
        f"{ROOMS} rooms with a subscription each. Load generator, dev host and Azurite share this machine's "
        f"{os.cpu_count()} CPUs.", "",
        "| set-up | burst | POSTs | items/POST | POSTs/s | notifications/s | p50 | p99 | max | send lag p99 "
        "| statuses | reference |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r['setup']} | {r['burst']} | {r['posts']} | {r['items_per_post']} | {r['posts_per_s']} "
                     f"(target {r['target_posts_per_s']}) | {r['notifications_per_s']} | {r['p50_ms']} ms "
                     f"| {r['p99_ms']} ms | {r['max_ms']} ms | {r['lag_p99_ms']} ms | {r['statuses']} "
                     f"| p99 < 50 ms at ≥ 500 notifications/s; max < 3,000 ms |")
    publish("notification_ack", lines)
