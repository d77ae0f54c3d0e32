"""``python -m devtools.sensorsim``: read the emulator's presence truth and post it to RoomCal as a platform would."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

from devtools.m365sim import ControlClient
from devtools.sensorsim import office_readings, post


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sim", default="https://127.0.0.1:8765", help="the emulator's base URL")
    p.add_argument("--ca", default=".run/m365sim/ca.pem", help="the emulator's CA file")
    p.add_argument("--app", default="http://127.0.0.1:7071", help="RoomCal's base URL")
    p.add_argument("--key", default=None, help="function key for RoomCal")
    p.add_argument("--tenant", required=True)
    p.add_argument("--days", type=int, default=7, help="how many past days to send (up to now)")
    p.add_argument("--shape", choices=("samples", "intervals"), default="samples")
    p.add_argument("--format", choices=("json", "csv"), default="json")
    args = p.parse_args(argv)
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    start = end - timedelta(days=args.days)
    truth = ControlClient(args.sim, args.ca).truth(args.tenant, start=start.isoformat(), end=end.isoformat())
    rows = office_readings(truth, start, end, args.shape)
    reports = post(args.app, args.tenant, rows, args.shape, key=args.key, fmt=args.format)
    totals = {k: sum(r[k] for r in reports) for k in ("received", "accepted", "duplicates", "rejected")}
    print(json.dumps(totals))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
