"""``python -m benchmarks [name ...]``: run the benchmarks and write benchmarks/results/*.md."""

from __future__ import annotations

import sys

from benchmarks import freshness, graph_requests, initial_sync, notification_ack

BENCHMARKS = {"notification_ack": notification_ack.main, "freshness": freshness.main,
              "graph_requests": graph_requests.main, "initial_sync": initial_sync.main}


def main(argv: list[str]) -> int:
    chosen = argv or list(BENCHMARKS)
    for name in chosen:
        if name not in BENCHMARKS:
            print(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
            return 2
        BENCHMARKS[name]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
