"""Initial sync of a generated office: RoomCal against a bare client that only pages the deltas.

The emulator runs as its own process with ``--generate-rooms N`` (a year of bookings); tables are on
Azurite. Both contenders run ``workers`` threads (the host's queue batchSize) over the same rooms
and one delta window: the bare client pages calendarView/delta and discards the items; RoomCal
runs each room's ``initial`` hint through the room-changes handler (lease, normalisation, table
writes, delta link). Figures: events/s and Graph requests/s of each and their ratio (reference
≥ 50 %), 429 answers (Graph's 4-concurrent-requests-per-mailbox rule, reference 0), rooms
failed (reference 0, deliberately misconfigured rooms excluded), and the worker's peak RSS
(reference < 300 MB). Writes benchmarks/results/initial_sync.md.
"""

from __future__ import annotations

import json
import os
import queue
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.report import publish
from devtools.azurite import Azurite
from shared import bootstrap
from shared.adapters.entra import TokenProvider
from shared.adapters.graph import GraphClient
from shared.adapters.http_session import build_session
from shared.adapters.tables import AzureTableStore
from shared.config import load_settings
from shared.errors import RoomCalError
from shared.messages import ROOM_CHANGES
from tests.fakes import FakeQueue


def main(rooms: int = 200, workers: int = 16) -> dict:
    with tempfile.TemporaryDirectory() as tmp, Azurite(log_file=Path(tmp) / "azurite.log") as azurite, \
            _emulator(rooms, Path(tmp)) as sim:
        tid = sim["tenants"][0]["id"]
        counts: Counter = Counter()
        settings = load_settings(environment="development", graph_base_url=f"{sim['base_url']}/v1.0",
                                 login_base_url=sim["base_url"], client_id=sim["client_id"],
                                 client_secret="dev-only-not-secret", ca_bundle=sim["ca_path"], hash_key="b" * 32,  # noqa: S106
                                 http_pool_size=64, sync_max_pages_per_round=100_000)
        graph = _counted_graph(settings, counts)
        mailboxes = [p["emailAddress"].lower() for p in graph.list_rooms(tid)]
        window = (datetime.now(UTC) - timedelta(days=180), datetime.now(UTC) + timedelta(days=365))
        counts.clear()
        roomcal = _roomcal(settings, graph, azurite.connection_string, tid, mailboxes, workers, counts)
        roomcal_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        counts.clear()
        bare = _bare(graph, tid, mailboxes, window, workers, counts)
    result = {"rooms": len(mailboxes), "workers": workers, "roomcal": roomcal, "bare": bare,
              "peak_rss_mb": round(roomcal_rss_mb, 1)}
    _write(result)
    return result


class _emulator:
    def __init__(self, rooms: int, tmp: Path):
        self.command = [sys.executable, "-m", "devtools.m365sim", "--port", "0", "--seed", "1",
                        "--state-dir", str(tmp / "sim"), "--generate-rooms", str(rooms)]

    def __enter__(self) -> dict:
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, text=True)
        return json.loads(self.process.stdout.readline())

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _counted_graph(settings, counts: Counter) -> GraphClient:
    session = build_session(settings)

    def count(response, *args, **kwargs):
        if "/v1.0/" in response.url:
            counts["requests"] += 1
            counts[f"status_{response.status_code}"] += 1

    session.hooks["response"].append(count)
    return GraphClient.from_settings(settings, session, TokenProvider.from_settings(settings, session))


def _bare(graph, tid, mailboxes, window, workers, counts) -> dict:
    def one(mailbox: str) -> int:
        try:
            return sum(len(page.items) for page in graph.calendar_view_delta(tid, mailbox, start=window[0],
                                                                              end=window[1]))
        except RoomCalError:
            counts["failed_rooms"] += 1
            return 0

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        events = sum(pool.map(one, mailboxes))
    return _figures(events, counts, time.perf_counter() - started)


def _roomcal(settings, graph, conn, tid, mailboxes, workers, counts) -> dict:
    tables = AzureTableStore(conn)
    services = bootstrap.build_services(settings, tables=tables, queues=FakeQueue(), graph=graph)
    now = datetime.now(UTC)
    tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": tid, "status": "active", "created_at": now,
                              "updated_at": now})
    for mailbox in mailboxes:
        tables.upsert("Rooms", {"PartitionKey": tid, "RowKey": mailbox})
    work: queue.Queue = queue.Queue()
    for mailbox in mailboxes:
        work.put({"tenant": tid, "room": mailbox, "reason": "initial", "at": now.isoformat()})
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def worker() -> None:
        while True:
            try:
                payload = work.get_nowait()
            except queue.Empty:
                return
            status = services.room_changes.handle(payload).status
            with lock:
                outcomes[status] += 1
                for name, message, _ in services.queues.sent:
                    if name == ROOM_CHANGES:
                        work.put(message)
                services.queues.sent.clear()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    states = list(tables.query("RoomSync", tid))
    events = sum(int(s.get("event_count") or 0) for s in states)
    counts["failed_rooms"] = sum(1 for s in states if s.get("status") == "failed")
    return {**_figures(events, counts, elapsed), "outcomes": dict(outcomes)}


def _figures(events: int, counts: Counter, elapsed: float) -> dict:
    return {"events": events, "seconds": round(elapsed, 1), "events_per_s": round(events / elapsed, 1),
            "requests": counts["requests"], "requests_per_s": round(counts["requests"] / elapsed, 1),
            "throttled_429": counts["status_429"], "failed_rooms": counts["failed_rooms"]}


def _write(result: dict) -> None:
    r, b = result["roomcal"], result["bare"]
    ratio = round(100 * r["events_per_s"] / b["events_per_s"], 1) if b["events_per_s"] else 0.0
    lines = [
        "# Initial sync of a generated office (emulator + Azurite)", "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {result['rooms']} rooms, {result['workers']} workers, "
        f"{os.cpu_count()} CPUs shared by the emulator, Azurite and the worker.", "",
        "| figure | RoomCal | bare client | reference |", "|---|---|---|---|",
        f"| events | {r['events']} | {b['events']} | equal |",
        f"| events/s | {r['events_per_s']} | {b['events_per_s']} | RoomCal ≥ 50 % of bare ({ratio} %) |",
        f"| Graph requests/s | {r['requests_per_s']} | {b['requests_per_s']} | - |",
        f"| 429 answers | {r['throttled_429']} | {b['throttled_429']} | 0 (≤ 4 concurrent per mailbox) |",
        f"| rooms failed (misconfigured ones included) | {r['failed_rooms']} | {b['failed_rooms']} | same as bare |",
        f"| worker peak RSS | {result['peak_rss_mb']} MB | - | < 300 MB |",
    ]
    publish("initial_sync", lines)
