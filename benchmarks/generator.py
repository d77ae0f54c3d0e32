"""The emulator's office generator: 200 rooms x one year of bookings, time and traced memory.

The target (a few seconds, well under the 20 s a test suite can afford per generated office) used to be a
timed assertion in tests/m365sim; speed is measured here instead.
"""

from __future__ import annotations

import time
import tracemalloc
from datetime import UTC, datetime

from benchmarks.report import publish
from devtools.m365sim import generator
from devtools.m365sim.world import World

ROOMS, RUNS = 200, 3


def main() -> None:
    timings, peaks, meetings = [], [], 0
    for run in range(RUNS):
        tracemalloc.start()
        started = time.perf_counter()
        tenant = generator.generate(World(1), seed=1 + run, rooms=ROOMS, anchor="2026-01-15")
        timings.append(time.perf_counter() - started)
        peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
        meetings = len(tenant.meetings)
    timings.sort()
    publish("generator", [
        "# Emulator office generator", "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {ROOMS} rooms x one year, {RUNS} seeds "
        f"(last: {meetings:,} meetings). Time includes tracemalloc's overhead.", "",
        "| figure | measured | target |", "|---|---|---|",
        f"| generation time, median (min-max) | {timings[1]:.2f} s ({timings[0]:.2f}-{timings[-1]:.2f} s) | < 20 s |",
        f"| peak traced memory, max | {max(peaks):.0f} MB | < 300 MB |",
    ])


if __name__ == "__main__":
    main()
