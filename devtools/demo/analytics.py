"""Demo step: the headline analytics of the generated office, and one CSV and one XLSX in the run folder."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devtools.demo.stack import Stack


def _summary(stack: Stack, tid: str, params: dict) -> dict:
    answer = stack.api("GET", f"tenants/{tid}/analytics/summary", params=params)
    answer.raise_for_status()
    return answer.json()


def wait_for_aggregates(stack: Stack, tid: str, params: dict, rooms: int, timeout: float = 180) -> dict:
    """The summary once every synced room has aggregates (the analytics-changes queue ran)."""
    deadline, body = time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        body = _summary(stack, tid, params)
        if body["totals"]["rooms_covered"] >= rooms:
            return body
        time.sleep(1)
    print(f"    (only {body.get('totals', {}).get('rooms_covered')} of {rooms} rooms aggregated after {timeout:.0f}s)")
    return body


def headline(stack: Stack, tid: str, synced_rooms: int, run_dir: Path) -> None:
    today = datetime.now(UTC).date()
    params = {"from": str(today - timedelta(days=56)), "to": str(today - timedelta(days=1))}
    body = wait_for_aggregates(stack, tid, params, synced_rooms)
    totals, rankings = body["totals"], body["rankings"]["by_booking_rate"]
    names = {r["room"]: r["name"] for side in rankings.values() for r in side}
    rooms = {r["room"]: r for r in stack.api("GET", f"tenants/{tid}/analytics/rooms", params=params).json()["rooms"]}
    busiest, quietest = rankings["most"][0], rankings["least"][0]
    finding = next(iter(body["findings"]), None)
    sizes = [r for r in rooms.values() if r["median_meeting_size"] is not None and r["capacity"]]
    typical = sorted(sizes, key=lambda r: r["median_meeting_size"] / r["capacity"])[len(sizes) // 2] if sizes else None
    print(f"    {params['from']} to {params['to']}, {totals['rooms_covered']} rooms with data, "
          f"{totals['meetings']} meetings")
    rows = [
        ("booking rate, all rooms", _pct(totals["booking_rate"])),
        (f"busiest: {names[busiest['room']]}", _pct(busiest["booking_rate"])),
        (f"quietest: {names[quietest['room']]}", _pct(quietest["booking_rate"])),
        ("ad-hoc share of meetings", _pct(totals["ad_hoc_share"])),
        ("typical meeting size vs capacity", f"{typical['median_meeting_size']:g} people in a "
                                             f"{typical['capacity']}-seat room" if typical else "-"),
        ("rooms without any booking", str(len(body["rankings"]["unbooked_rooms"]))),
    ]
    width, value_width = max(len(k) for k, _ in rows), max(len(v) for _, v in rows)
    print("    " + "-" * (width + value_width + 2))
    for key, value in rows:
        print(f"    {key:<{width}}  {value:>{value_width}}")
    print("    " + "-" * (width + value_width + 2))
    if finding:
        print(f"    finding ({finding['rule']}): {finding['message']}")
    csv = stack.api("GET", f"tenants/{tid}/analytics/rooms", params={**params, "format": "csv"})
    xlsx = stack.api("GET", f"tenants/{tid}/analytics/summary", params={**params, "format": "xlsx"})
    for answer, name in ((csv, "analytics-rooms.csv"), (xlsx, "analytics-summary.xlsx")):
        answer.raise_for_status()
        (run_dir / name).write_bytes(answer.content)
        print(f"    wrote {run_dir.name}/{name} ({len(answer.content):,} bytes)")


def _pct(value) -> str:
    return "-" if value is None else f"{value:.0%}"
