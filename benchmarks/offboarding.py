"""Offboarding time for a tenant with 200,000 Events rows, on Azurite (issue 16).

The tenant's rows are written first (100 rooms x 2,000 rows, each an ordinary bounded Events row
of a few hundred bytes), then offboarding runs as it does in production: ``start`` marks the
tenant, then the ``tenant-offboarding`` messages are run one after another in this process
(each with the production time budget) until the tenant is ``offboarded``. The late sweep's
queue delay is not waited for (it is a visibility delay, not work). For reference, the old way (one
DELETE per row) is timed on 2,000 rows of another tenant and extrapolated. Writes
benchmarks/results/offboarding.md.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.report import publish
from devtools.azurite import Azurite
from shared import keys
from shared.adapters.tables import AzureTableStore
from shared.clock import SystemClock
from shared.onboarding import offboarding
from tests.fakes import FakeQueue

MAX_STEPS = 1000


def main(rows: int = 200_000, rooms: int = 100, reference_rows: int = 2_000) -> dict:
    with tempfile.TemporaryDirectory() as tmp, Azurite(log_file=Path(tmp) / "azurite.log") as azurite:
        tables, clock = AzureTableStore(azurite.connection_string), SystemClock()
        tenant = _tenant(tables, clock, rooms, rows // rooms)
        written = time.monotonic()
        _fill(tables, tenant, rooms, rows // rooms)
        write_s = time.monotonic() - written
        queue = FakeQueue()
        began = time.monotonic()
        offboarding.start(tables, queue, clock, tenant, actor="bench")
        outcomes = []
        for _ in range(MAX_STEPS):
            steps = queue.messages(offboarding.QUEUE)
            if not steps:
                break
            queue.sent.clear()
            outcomes += [offboarding.run_step(tables, queue, clock, None, s) for s in steps]
        offboard_s = time.monotonic() - began
        left = sum(1 for _ in tables.query("Events", filter=f"PartitionKey ge '{tenant}|' and "
                                                           f"PartitionKey lt '{tenant}}}'", select=["RowKey"]))
        old = _one_by_one(tables, clock, reference_rows)
    result = {"rows": rows, "rooms": rooms, "write_s": write_s, "offboard_s": offboard_s, "steps": len(outcomes),
              "handed_over": outcomes.count("handed_over"), "final": outcomes[-1] if outcomes else None,
              "left": left, "old_rows_per_s": old}
    _write(result)
    return result


def _tenant(tables, clock, rooms: int, per_room: int) -> str:
    tenant, now = str(uuid.uuid4()), clock.now()
    tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": tenant, "status": "active",
                              "created_at": now, "updated_at": now})
    for r in range(rooms):
        room = f"room{r:03d}@contoso.com"
        tables.upsert("Rooms", {"PartitionKey": tenant, "RowKey": room})
        tables.upsert("RoomSync", {"PartitionKey": tenant, "RowKey": room, "room": room})
    return tenant


def _fill(tables, tenant: str, rooms: int, per_room: int) -> None:
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    for r in range(rooms):
        partition = keys.room_partition(tenant, f"room{r:03d}@contoso.com")
        tables.upsert_many("Events", [{
            "PartitionKey": partition, "RowKey": keys.keyed_hash("bench", str(r), str(i)),
            "start_utc": start + timedelta(hours=i), "end_utc": start + timedelta(hours=i, minutes=30),
            "organizer": f"person{i % 300}@contoso.com", "is_cancelled": False, "show_as": "busy",
            "attendees": '[{"address":"a@contoso.com","response":"accepted","type":"required"}]',
            "locations": "[]", "sync_generation": "g1"} for i in range(per_room)])


def _one_by_one(tables, clock, count: int) -> float:
    """The old offboarding's rate: one DELETE per row (rows/s)."""
    tenant = _tenant(tables, clock, 1, count)
    _fill(tables, tenant, 1, count)
    partition = keys.room_partition(tenant, "room000@contoso.com")
    began = time.monotonic()
    for row in list(tables.query("Events", partition, select=["PartitionKey", "RowKey"])):
        tables.delete("Events", row["PartitionKey"], row["RowKey"])
    return count / (time.monotonic() - began)


def _write(r: dict) -> None:
    rate = r["rows"] / r["offboard_s"]
    old_s = r["rows"] / r["old_rows_per_s"]
    lines = [
        "# Offboarding a tenant with 200,000 Events rows (Azurite)", "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} shared CPUs, Azurite in memory: "
        f"{r['rows']:,} Events rows in {r['rooms']} rooms (written in {r['write_s']:.0f} s), then offboarding as in "
        f"production: `start` (marks the tenant, answers at once), then {r['steps']} `tenant-offboarding` messages "
        f"({r['handed_over']} hand-overs at the {offboarding.STEP_SECONDS:.0f}-s budget), run back to back; the late "
        "sweep's queue delay is not waited for.", "",
        "| figure | value | reference |", "|---|---|---|",
        f"| offboarding, start to `{r['final']}` | **{r['offboard_s']:.0f} s** ({rate:,.0f} rows/s) | "
        f"old: one DELETE per row at {r['old_rows_per_s']:,.0f} rows/s = {old_s / 60:.0f} min, inside one HTTP "
        "request (Functions' HTTP limit: 230 s) |",
        f"| Events rows of the tenant left | {r['left']} | 0 |",
        "| longest single queue message | ≤ budget + one 1,000-row batch | Functions timeout (Flex default 30 min) |",
    ]
    publish("offboarding", lines)


if __name__ == "__main__":
    main()
