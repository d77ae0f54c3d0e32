"""``python -m benchmarks [name ...]``: run the benchmarks and write benchmarks/results/*.md."""

from __future__ import annotations

import logging
import sys

from benchmarks import (
    admin_access,
    analytics,
    catchup_scale,
    execution_cost,
    freshness,
    generator,
    graph_requests,
    initial_sync,
    notification_ack,
    occupancy,
    offboarding,
    soak,
)
from benchmarks.report import RESULTS

BENCHMARKS = {"notification_ack": notification_ack.main, "freshness": freshness.main,
              "graph_requests": graph_requests.main, "initial_sync": initial_sync.main,
              "generator": generator.main, "execution_cost": execution_cost.main,
              "offboarding": offboarding.main, "catchup_scale": catchup_scale.main,
              "soak": soak.main, "analytics": analytics.main, "occupancy": occupancy.main}
BENCHMARKS["admin_access"] = admin_access.main


def main(argv: list[str]) -> int:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the in-process emulator's access log stays quiet
    chosen = argv or list(BENCHMARKS)
    for name in chosen:
        if name not in BENCHMARKS:
            print(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
            return 2
        BENCHMARKS[name]()
    _summary()
    return 0


def _summary() -> None:
    """benchmarks/results/SUMMARY.md: every result file (each from its own, dated run) in one place."""
    parts = ["# RoomCal benchmarks: summary", "",
             "Each section is one benchmark's latest run (`python -m benchmarks [name ...]`, `make bench`), every "
             "figure measured in that run beside its reference; all loads on 127.0.0.1, bounded in count and time.",
             ""]
    for name in BENCHMARKS:
        path = RESULTS / f"{name}.md"
        if path.exists():
            parts += ["#" + path.read_text().lstrip(), ""]
    (RESULTS / "SUMMARY.md").write_text("\n".join(parts).rstrip() + "\n")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
