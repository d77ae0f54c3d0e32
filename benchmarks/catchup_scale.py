"""Catch-up enqueue time for 100,000 rooms over 200 tenants, on Azurite (issue 16 item 7).

RoomSync rows for 200 tenants x 500 synced rooms are written first. Then the catch-up runs as in
production up to the point where Graph would be called: the timer fans out one message per
tenant (``catchup-tenants``); the tenant workers (16 at once, one Functions instance's queue
batchSize) each read their tenant's partition and enqueue probe slices of 20 rooms
(``catchup-probes``). Every message goes to Azurite's queue service through the real adapter.
For reference, the old timer (one table scan, then one ``room-changes`` message per room, in one
invocation) is timed on its scan plus 5,000 sends, extrapolated to 100,000. Writes
benchmarks/results/catchup_scale.md.
"""

from __future__ import annotations

import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.report import publish
from devtools.azurite import Azurite
from shared.adapters.queues import AzureMessageQueue
from shared.adapters.tables import AzureTableStore
from shared.clock import SystemClock
from shared.messages import ROOM_CHANGES, RoomChange, stamp
from shared.sync.catchup_batch import CATCHUP_PROBES, CATCHUP_TENANTS, BatchedCatchUp
from shared.sync.sync import key_id

KEY = "bench-" + "k" * 32
WORKERS = 16


def main(tenants: int = 200, rooms_per_tenant: int = 500, reference_sends: int = 5_000) -> dict:
    with tempfile.TemporaryDirectory() as tmp, Azurite(log_file=Path(tmp) / "azurite.log") as azurite:
        tables, queues = AzureTableStore(azurite.connection_string), AzureMessageQueue(azurite.connection_string)
        clock = SystemClock()
        began = time.monotonic()
        ids = _seed(tables, clock, tenants, rooms_per_tenant)
        seed_s = time.monotonic() - began
        catch_up = BatchedCatchUp(tables, queues, clock, None, full_round_due=lambda row: False)
        began = time.monotonic()
        fanned = catch_up.enqueue_tenants()
        timer_s = time.monotonic() - began
        jobs = _receive_all(queues, CATCHUP_TENANTS, fanned)
        began = time.monotonic()
        with ThreadPoolExecutor(WORKERS) as pool:
            plans = list(pool.map(catch_up.plan_tenant, jobs))
        plan_s = time.monotonic() - began
        slices = sum(p["slices"] for p in plans)
        probed = sum(p["probe"] for p in plans)
        in_queue = _count(queues, CATCHUP_PROBES)
        scan_s, send_rate = _old_way(tables, queues, clock, ids[0], reference_sends)
    result = {"tenants": tenants, "rooms": tenants * rooms_per_tenant, "seed_s": seed_s, "timer_s": timer_s,
              "plan_s": plan_s, "slices": slices, "probed": probed, "in_queue": in_queue, "scan_s": scan_s,
              "old_send_rate": send_rate}
    _write(result)
    return result


def _seed(tables, clock, tenants: int, per_tenant: int) -> list[str]:
    now, ids = clock.now(), []
    for t in range(tenants):
        tid = f"00000000-0000-4000-8000-{t:012d}"
        ids.append(tid)
        tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": tid, "status": "active",
                                  "created_at": now, "updated_at": now})
        tables.upsert_many("RoomSync", [{
            "PartitionKey": tid, "RowKey": f"room{r:04d}@t{t}.example.com", "room": f"room{r:04d}@t{t}.example.com",
            "delta_link": f"https://graph.microsoft.com/v1.0/users/room{r:04d}@t{t}.example.com/calendarView/delta?"
                          f"$deltatoken={'x' * 300}", "window_created_at": stamp(now), "hash_key_id": key_id(KEY),
            "synced_through": stamp(now), "lease_holder": "", "active": True} for r in range(per_tenant)])
    return ids


def _receive_all(queues, name: str, expected: int) -> list[dict]:
    import json

    client, out = queues.client(name), []
    while len(out) < expected:
        batch = list(client.receive_messages(messages_per_page=32, max_messages=32))
        if not batch:
            break
        for message in batch:
            out.append(json.loads(message.content))
            client.delete_message(message)
    return out


def _count(queues, name: str) -> int:
    return queues.client(name).get_queue_properties().approximate_message_count


def _old_way(tables, queues, clock, tenant: str, sends: int) -> tuple[float, float]:
    """The old timer: scan every RoomSync row, then one send per room (sequential, one invocation)."""
    began = time.monotonic()
    rows = sum(1 for _ in tables.query("RoomSync", select=["PartitionKey", "RowKey", "room", "active",
                                                           "synced_through"]))
    scan_s = time.monotonic() - began
    assert rows
    began = time.monotonic()
    now = clock.now()
    for i in range(sends):
        queues.send(ROOM_CHANGES, RoomChange(tenant=tenant, room=f"room{i % 500:04d}@t0.example.com",
                                             reason="catchup", at=now).to_payload())
    return scan_s, sends / (time.monotonic() - began)


def _write(r: dict) -> None:
    total = r["timer_s"] + r["plan_s"]
    old_total = r["scan_s"] + r["rooms"] / r["old_send_rate"]
    lines = [
        "# Catch-up enqueue time for 100,000 rooms (Azurite)", "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} shared CPUs, Azurite in memory: "
        f"{r['rooms']:,} synced rooms in {r['tenants']} tenants (RoomSync rows written in {r['seed_s']:.0f} s). "
        f"Timer fan-out, then {WORKERS} tenant workers at once (one Functions instance's queue batchSize), every "
        "message through the real queue adapter; Graph is not called here (the probes' Graph cost is in "
        "graph_requests.md).", "",
        "| figure | value | reference |", "|---|---|---|",
        f"| timer: one message per tenant | {r['timer_s']:.2f} s ({r['tenants']} messages) | - |",
        f"| tenant workers: read partitions, enqueue probe slices of 20 | {r['plan_s']:.1f} s "
        f"({r['slices']:,} slices for {r['probed']:,} rooms; {r['in_queue']:,} in the queue) | - |",
        f"| **all 100,000 rooms enqueued** | **{total:.1f} s** | 15-minute catch-up period (900 s) |",
        f"| old timer: table scan + one message per room, one invocation | scan {r['scan_s']:.1f} s + "
        f"{r['rooms']:,} sends at {r['old_send_rate']:,.0f}/s = **{old_total:.0f} s** (extrapolated from "
        f"5,000 sends) | the same 900 s, in one timer invocation |",
    ]
    publish("catchup_scale", lines)


if __name__ == "__main__":
    main()
