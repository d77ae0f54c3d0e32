"""Notification acknowledgement latency under a burst, through the dev host, with keyed webhooks.

The repository's function_app.py runs under devtools/devhost on Azurite, its webhook keys in the host's file key
store. Subscription rows are stored as RoomCal stores them; then open-loop bursts of changeNotificationCollection
POSTs (``?code=`` the notifications key, as Graph sends them) are fired at a fixed rate over persistent HTTP/1.1
connections, and each POST's time from sending to its 202 is recorded:

* ``single``: 500 POSTs/s of one notification each (the worst case per notification), 3 s;
* ``single + keyless flood``: the same while 500 POSTs/s without a key hit the same host (each must be refused
  by the host before any Python runs), sent by another process so that the flood's own client work does not slow
  the loop that times the valid POSTs;
* ``single + keyless flood elsewhere``: the control for the one before: the same flood, sent the same way, at
  another process that answers 401 (a stand-in for a front end that is not the dev host). What it moves the valid
  p99 is the machine's share (the senders and servers sharing its cores), not the doorbell's;
* ``batched x5`` / ``x10``: 500 notifications/s as 100 POSTs/s of 5 or 50 POSTs/s of 10 items, each item for a
  different room (Graph batches items that are due together).

Each figure is measured ``RUNS`` times in the run (interleaved, so the machine's noise spreads over all of them);
the table gives the median and the range. Two set-ups: ``webhook only`` (the queue triggers disabled with the
host's AzureWebJobs.<function>.Disabled, as when the sync work runs on other instances; hints wait in the
queue) and ``co-located`` (the room-changes worker in the same host and process, busy on every hint). Before the
bursts, a flood-only phase checks that keyless POSTs cost nothing: no function invocation (hence no table read)
and no queue message. The load generator is one asyncio loop speaking raw HTTP/1.1; ``send lag`` is how late a
POST left against its schedule (it would hide queueing if it grew). Everything on 127.0.0.1, bounded in count.
Writes benchmarks/results/notification_ack.md.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import multiprocessing
import os
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from azure.storage.queue import QueueClient

from benchmarks.report import percentile, publish
from devtools.azurite import Azurite, free_port
from devtools.demo.stack import write_function_keys
from devtools.devhost import DevHostProcess
from shared.adapters.tables import AzureTableStore
from shared.messages import ROOM_CHANGES
from shared.models import SubscriptionRecord
from shared.sync.subscription_directory import SubscriptionDirectory, hash_client_state

TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
ROOMS = 50
RUNS = 3
NOTIFICATIONS_KEY = "bench-notifications-key"
FLOOD_PER_S = 500.0
KEPT_LOGS = Path(__file__).resolve().parents[1] / ".run" / "notification_ack"


@dataclass(frozen=True)
class Burst:
    name: str
    posts: int
    posts_per_s: float
    items_per_post: int
    flood: str = ""  # "": none; "host": keyless POSTs at the dev host; "elsewhere": at another 401 server


SETUPS = {"webhook only": {"AzureWebJobs.room_changes.Disabled": "true",
                           "AzureWebJobs.subscription_maintenance.Disabled": "true"},
          "co-located": {}}
BURSTS = (Burst("single", posts=1500, posts_per_s=500.0, items_per_post=1),
          Burst("single + keyless flood", posts=1500, posts_per_s=500.0, items_per_post=1, flood="host"),
          Burst("single + keyless flood elsewhere", posts=1500, posts_per_s=500.0, items_per_post=1,
                flood="elsewhere"),
          Burst("batched x5", posts=300, posts_per_s=100.0, items_per_post=5),
          Burst("batched x10", posts=150, posts_per_s=50.0, items_per_post=10))
TARGETS = {("webhook only", "single"): (490, 50), ("co-located", "single"): (490, 250)}


def main(bursts: tuple[Burst, ...] = BURSTS, runs: int = RUNS, connections: int = 16) -> dict:
    results, floods = [], {}
    for setup, extra in SETUPS.items():
        # A fresh Azurite per set-up: its queue GC sweeps every message body written so far once a minute, and
        # after the webhook-only phase's ~20,000 hints that sweep froze its queue service for ~15 s in the middle
        # of the co-located bursts (503s and 10 s timeouts; docs/performance.md). Azure Storage has no such pause.
        with tempfile.TemporaryDirectory() as tmp, Azurite(log_file=Path(tmp) / "azurite.log") as azurite:
            subs = subscriptions(azurite.connection_string, rooms=ROOMS)
            port = free_port()
            host_log = Path(tmp) / "devhost.log"
            with DevHostProcess(port=port, env={**host_env(azurite.connection_string, port, tmp), **extra},
                                args=["--state-dir", str(Path(tmp) / "state")], log_file=host_log) as host:
                asyncio.run(fire(port, subs, Burst("warm-up", 200, 100.0, 1), 4))
                time.sleep(2.0)
                floods[setup] = flood_costs(host, port, azurite.connection_string, counts_queue=bool(extra))
                for run in range(runs):
                    for burst in bursts:
                        time.sleep(2.0)  # let the previous burst's hints drain from the queue
                        results.append({"setup": setup, "run": run, **asyncio.run(fire(port, subs, burst,
                                                                                        connections))})
                        if set(results[-1]["statuses"]) - {202}:
                            _keep_log(host_log, setup, burst.name, run)
    _write(results, floods, connections, runs)
    return {"bursts": results, "floods": floods}


def host_env(conn: str, port: int, tmp: str) -> dict[str, str]:
    secrets = Path(tmp) / "secrets"
    write_function_keys(secrets, "graph_notifications", {"graph-1": NOTIFICATIONS_KEY})
    write_function_keys(secrets, "graph_lifecycle", {"graph-1": "bench-lifecycle-key"})
    return {"AzureWebJobsStorage": conn, "ROOMCAL_ENVIRONMENT": "development",
            "ROOMCAL_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "ROOMCAL_HASH_KEY": "bench" * 8,
            "DEVHOST_FUNCTION_KEY": "bench-function-key", "DEVHOST_MASTER_KEY": "bench-master-key",
            "AzureWebJobsSecretStorageType": "files", "FUNCTIONS_SECRETS_PATH": str(secrets),
            "ROOMCAL_NOTIFICATIONS_KEY": NOTIFICATIONS_KEY, "ROOMCAL_LIFECYCLE_KEY": "bench-lifecycle-key",
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


def flood_costs(host: DevHostProcess, port: int, conn: str, *, counts_queue: bool, seconds: float = 2.0) -> dict:
    """Keyless POSTs only: what reached the app and the queue (the queue's depth only tells where no trigger
    consumes it, i.e. webhook only)."""
    queue = QueueClient.from_connection_string(conn, ROOM_CHANGES)
    before_messages = _depth(queue)
    before_runs = host.output.count("Executing 'graph_")
    result = asyncio.run(_flood_only(port, int(FLOOD_PER_S * seconds)))
    time.sleep(0.5)
    return {**result, "invocations": host.output.count("Executing 'graph_") - before_runs,
            "queue_messages": _depth(queue) - before_messages if counts_queue else None}


def _keep_log(host_log: Path, setup: str, burst: str, run: int) -> None:
    """A burst with answers other than 202: keep the host's log so far (in .run/, not committed)."""
    KEPT_LOGS.mkdir(parents=True, exist_ok=True)
    kept = KEPT_LOGS / f"{setup}-{burst}-run{run}.log".replace(" ", "-")
    shutil.copyfile(host_log, kept)
    print(f"notification_ack: {setup}, {burst}, run {run} had failures; host log kept in {kept}")


def _depth(queue: QueueClient) -> int:
    try:
        return queue.get_queue_properties().approximate_message_count
    except Exception:  # not created yet: nothing in it
        return 0


def _body(subs: list[tuple[str, str]], i: int, items: int) -> bytes:
    value = []
    for j in range(items):
        sub_id, state = subs[(i * items + j) % len(subs)]
        value.append({"subscriptionId": sub_id, "clientState": state, "changeType": "updated", "tenantId": TENANT,
                      "resource": f"Users/x/Events/e{i}-{j}", "resourceData": {"id": f"e{i}-{j}"}})
    return json.dumps({"value": value}).encode()


async def _exchange(reader, writer, head: bytes, body: bytes) -> tuple[int, bool]:
    writer.write(head + b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    length = 0
    for line in answer.split(b"\r\n")[1:]:
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return int(answer.split(b" ", 2)[1]), b"connection: close" in answer.lower()


class _Pool:
    def __init__(self, port: int) -> None:
        self.port, self.queue = port, asyncio.Queue()

    async def open(self, n: int) -> _Pool:
        for _ in range(n):
            self.queue.put_nowait(await asyncio.open_connection("127.0.0.1", self.port))
        return self

    async def call(self, head: bytes, body: bytes) -> int | str:
        """The answer's status, or "timeout" after 10 s (Graph's allowance on a retry; the POST counts with
        its full wait, and its connection is replaced)."""
        reader, writer = await self.queue.get()
        try:
            status, closed = await _exchange(reader, writer, head, body)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            status, closed = "timeout", True
        if closed:
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.queue.put_nowait((reader, writer))
        return status

    def close(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()[1].close()


_VALID = (b"POST /api/notifications?code=" + NOTIFICATIONS_KEY.encode() +
          b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n")
_KEYLESS = b"POST /api/notifications HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"


async def _flood(port: int, posts: int, start: float, statuses: dict) -> None:
    pool = await _Pool(port).open(8)
    body = json.dumps({"value": [{"subscriptionId": str(uuid.uuid4()), "clientState": "x"}]}).encode()

    async def one(i: int) -> None:
        await asyncio.sleep(max(0.0, start + i / FLOOD_PER_S - time.perf_counter()))
        status = await pool.call(_KEYLESS, body)
        statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(one(i) for i in range(posts)))
    pool.close()


async def _flood_only(port: int, posts: int) -> dict:
    statuses: dict[int, int] = {}
    start = time.perf_counter()
    await _flood(port, posts, start, statuses)
    return {"flood_posts": posts, "flood_statuses": statuses,
            "flood_posts_per_s": round(posts / (time.perf_counter() - start), 1)}


def _flood_process(port: int, posts: int, control, answers) -> None:
    """A keyless flood from its own process, starting at the wall-clock time it is sent."""
    statuses: dict = {}

    async def run() -> None:
        control_start = await asyncio.to_thread(control.get)
        await _flood(port, posts, time.perf_counter() + (control_start - time.time()), statuses)

    answers.put("ready")
    asyncio.run(run())
    answers.put(statuses)


class _Flood:
    """The keyless flood sent by another process, as it would come from elsewhere: its client work does not
    delay the loop that times the valid POSTs (it still shares this machine's cores with everything else)."""

    def __init__(self, port: int, posts: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._control, self._answers = ctx.Queue(), ctx.Queue()
        self._process = ctx.Process(target=_flood_process, args=(port, posts, self._control, self._answers),
                                    daemon=True)
        self._process.start()
        if self._answers.get(timeout=60) != "ready":
            raise RuntimeError("the flood process did not start")

    def start_at(self, wall: float) -> None:
        self._control.put(wall)

    def statuses(self) -> dict:
        try:
            return self._answers.get(timeout=60)
        finally:
            self._process.join(10)


class _RefuseAll(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    body = json.dumps({"error": "unauthorized", "message": "a function key is required"}).encode()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))  # drained: the connection stays open
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *_) -> None:
        pass


def _refuser_process(answers, stop) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RefuseAll)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    answers.put(server.server_port)
    stop.wait(120)  # bounded: it never outlives a burst by much
    server.shutdown()


class _Refuser:
    """Another process on this machine that answers every POST 401 over keep-alive: the flood's control target."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        answers, self._stop = ctx.Queue(), ctx.Event()
        self._process = ctx.Process(target=_refuser_process, args=(answers, self._stop), daemon=True)
        self._process.start()
        self.port = answers.get(timeout=60)

    def stop(self) -> None:
        self._stop.set()
        self._process.join(10)


async def fire(port: int, subs: list[tuple[str, str]], burst: Burst, connections: int) -> dict:
    pool = await _Pool(port).open(connections)
    latencies: list[float] = []
    lags: list[float] = []
    statuses: dict[int, int] = {}
    bodies = [_body(subs, i, burst.items_per_post) for i in range(burst.posts)]
    duration = burst.posts / burst.posts_per_s
    refuser = await asyncio.to_thread(_Refuser) if burst.flood == "elsewhere" else None
    target = refuser.port if refuser else port
    flood = await asyncio.to_thread(_Flood, target, int(FLOOD_PER_S * duration)) if burst.flood else None
    start = time.perf_counter() + 0.2
    if flood:
        flood.start_at(time.time() + 0.2)

    async def one(i: int) -> None:
        due = start + i / burst.posts_per_s
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        sent = time.perf_counter()
        lags.append((sent - due) * 1000)
        status = await pool.call(_VALID, bodies[i])
        latencies.append((time.perf_counter() - sent) * 1000)
        statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(one(i) for i in range(burst.posts)))
    elapsed = time.perf_counter() - start
    flood_statuses = await asyncio.to_thread(flood.statuses) if flood else {}
    if refuser:
        refuser.stop()
    pool.close()
    ordered, lag = sorted(latencies), sorted(lags)
    return {"burst": burst.name, "posts": burst.posts, "items_per_post": burst.items_per_post,
            "target_posts_per_s": burst.posts_per_s, "posts_per_s": round(burst.posts / elapsed, 1),
            "notifications_per_s": round(burst.posts * burst.items_per_post / elapsed, 1),
            "p50_ms": round(statistics.median(ordered), 1), "p99_ms": round(percentile(ordered, 0.99), 1),
            "max_ms": round(ordered[-1], 1), "lag_p99_ms": round(percentile(lag, 0.99), 1), "statuses": statuses,
            "flood_statuses": flood_statuses}


def _spread(values: list[float], unit: str = "") -> str:
    return f"{statistics.median(values):g}{unit} ({min(values):g} to {max(values):g})"


def _verdict(setup: str, name: str, rows: list[dict], quiet: list[dict], control: list[dict]) -> str:
    rate, p99 = statistics.median(r["notifications_per_s"] for r in rows), statistics.median(r["p99_ms"] for r in rows)
    if name == "single + keyless flood":
        quiet_p99 = statistics.median(r["p99_ms"] for r in quiet) if quiet else p99
        ok = p99 <= quiet_p99 * 1.2
        verdict = f"p99 within 20 % of quiet ({quiet_p99:g} ms → ≤ {quiet_p99 * 1.2:.1f}): {'met' if ok else 'NOT met'}"
        if control:
            elsewhere = statistics.median(r["p99_ms"] for r in control)
            verdict += (f"; the same flood at another process: p99 {elsewhere:g} ms, so the dev host's own share "
                        f"is {p99 - elsewhere:+.1f} ms")
        return verdict
    if name == "single + keyless flood elsewhere":
        return "control for the row above (the machine's share)"
    target = TARGETS.get((setup, name))
    if target is None:
        return "p99 < 50 ms (reference)"
    ok = rate >= target[0] and p99 < target[1]
    return f"≥ {target[0]}/s and p99 < {target[1]} ms: {'met' if ok else 'NOT met'}"


def _write(results: list[dict], floods: dict, connections: int, runs: int) -> None:
    lines = [
        "# Notification acknowledgement latency (dev host, Azurite, keyed webhooks)", "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC over {connections} persistent connections to 127.0.0.1; "
        f"{ROOMS} rooms with a subscription each; every figure measured {runs} times in this run (median, range in "
        f"brackets). Load generator, dev host and Azurite share this machine's {os.cpu_count()} CPUs (load average "
        f"{os.getloadavg()[0]:.1f} at the end of the run): the figures are noisy.", "",
        "| set-up | burst | achieved notifications/s | POSTs/s (offered) | p50 ms | p99 ms | max ms | send lag p99 ms "
        "| statuses | keyless flood answers | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for setup in SETUPS:
        quiet = [r for r in results if r["setup"] == setup and r["burst"] == "single"]
        control = [r for r in results if r["setup"] == setup and r["burst"] == "single + keyless flood elsewhere"]
        for burst in BURSTS:
            rows = [r for r in results if r["setup"] == setup and r["burst"] == burst.name]
            if not rows:
                continue
            statuses, flood = _merge(r["statuses"] for r in rows), _merge(r["flood_statuses"] for r in rows)
            lines.append(
                f"| {setup} | {burst.name} | {_spread([r['notifications_per_s'] for r in rows])} "
                f"| {_spread([r['posts_per_s'] for r in rows])} ({burst.posts_per_s:g}) "
                f"| {_spread([r['p50_ms'] for r in rows])} | {_spread([r['p99_ms'] for r in rows])} "
                f"| {_spread([r['max_ms'] for r in rows])} | {_spread([r['lag_p99_ms'] for r in rows])} "
                f"| {statuses} | {flood or '—'} | {_verdict(setup, burst.name, rows, quiet, control)} |")
    lines += ["", "Keyless flood alone (before the bursts, per set-up): what it cost the app.", "",
              "| set-up | keyless POSTs | achieved/s | answers | function invocations | queue messages | target |",
              "|---|---|---|---|---|---|---|"]
    for setup, f in floods.items():
        ok = f["invocations"] == 0 and f["queue_messages"] in (0, None)
        queued = "not countable (consumed)" if f["queue_messages"] is None else f["queue_messages"]
        lines.append(f"| {setup} | {f['flood_posts']} | {f['flood_posts_per_s']} | {f['flood_statuses']} "
                     f"| {f['invocations']} | {queued} | zero invocations (so zero table reads) and "
                     f"zero queue messages: {'met' if ok else 'NOT met'} |")
    publish("notification_ack", lines)


def _merge(dicts) -> dict:
    total: dict = {}
    for d in dicts:
        for k, v in d.items():
            total[k] = total.get(k, 0) + v
    return total
