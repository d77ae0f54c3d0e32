"""A sensor platform stand-in: turns the emulator's presence truth into what a real platform posts to RoomCal.

``readings(room_truth, start, end, shape)`` gives the rows one room's sensor reports over [start, end): nothing
for a room without a sensor or while its sensor is silent (an outage); otherwise either

- ``samples``: a sample on every change of state and a heartbeat every ``heartbeat`` minutes while it lasts
  (``{"sensor", "time", "occupied", "people"?}``), as PIR/people-counting platforms push them; or
- ``intervals``: the covered time cut into occupied and vacant intervals (``{"sensor", "start", "end",
  "occupied", "people"?}``), as platforms with their own sessionisation export them.

``post(...)`` sends rows to ``POST /api/tenants/{tenant}/occupancy`` in batches (JSON or CSV) and returns the
ingest's reports. Times are whole minutes plus a few seconds, as devices stamp them.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import requests

MINUTE = timedelta(minutes=1)
STAMP_SECONDS = 7  # devices stamp a little after the minute; RoomCal counts whole minutes


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def minute_truth(room_truth: dict, start: datetime, end: datetime) -> list[int | None]:
    """Per minute of [start, end): None while the sensor is silent, else the people present (0 = vacant)."""
    n = (end - start) // MINUTE
    people: list[int | None] = [0] * n
    for p in room_truth.get("occupancy", []):
        a, b = _span(start, n, _at(p["start"]), _at(p["end"]))
        for m in range(a, b):
            people[m] = max(people[m], p.get("people", 1))
    for o in (room_truth.get("sensor") or {}).get("outages", []):
        a, b = _span(start, n, _at(o["start"]), _at(o["end"]))
        for m in range(a, b):
            people[m] = None
    return people


def _span(start: datetime, n: int, a: datetime, b: datetime) -> tuple[int, int]:
    first = (a - start) // MINUTE
    last = -((start - b) // MINUTE)  # ceiling: a minute partly covered counts
    return max(0, first), min(n, last)


def readings(room_truth: dict, start: datetime, end: datetime, shape: str = "samples", *,
             heartbeat: int = 10) -> list[dict]:
    sensor = (room_truth.get("sensor") or {}).get("id")
    if not sensor:
        return []
    truth = minute_truth(room_truth, start, end)
    return (_samples if shape == "samples" else _intervals)(sensor, truth, start, heartbeat)


def _samples(sensor: str, truth: list, start: datetime, heartbeat: int) -> list[dict]:
    rows, previous, last = [], None, None
    for m, people in enumerate(truth):
        if people is None:
            previous = None
            continue
        if people != previous or last is None or m - last >= heartbeat:
            row = {"sensor": sensor, "time": _z(start + m * MINUTE + timedelta(seconds=STAMP_SECONDS)),
                   "occupied": people > 0}
            if people:
                row["people"] = people
            rows.append(row)
            last = m
        previous = people
    return rows


def _intervals(sensor: str, truth: list, start: datetime, heartbeat: int) -> list[dict]:
    rows, m = [], 0
    while m < len(truth):
        people = truth[m]
        k = m
        while k < len(truth) and truth[k] == people and k - m < 24 * 60:
            k += 1
        if people is not None:
            row = {"sensor": sensor, "start": _z(start + m * MINUTE), "end": _z(start + k * MINUTE),
                   "occupied": people > 0}
            if people:
                row["people"] = people
            rows.append(row)
        m = k
    return rows


def office_readings(truth: dict, start: datetime, end: datetime, shape: str = "samples", **kw) -> list[dict]:
    """Every sensor of a ``/_control/tenants/{tid}/truth`` answer."""
    return [r for room in truth["rooms"].values() for r in readings(room, start, end, shape, **kw)]


def as_csv(rows: list[dict], shape: str) -> str:
    columns = ["sensor", "time", "occupied", "people"] if shape == "samples" else \
        ["sensor", "start", "end", "occupied", "people"]
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: str(v).lower() if isinstance(v, bool) else v for k, v in row.items()})
    return out.getvalue()


def post(base_url: str, tenant: str, rows: list[dict], shape: str = "samples", *, key: str | None = None,
         fmt: str = "json", batch: int = 5000, session: requests.Session | None = None) -> list[dict]:
    """POST rows to RoomCal's ingest in batches; returns each batch's report (raises on a non-2xx answer)."""
    http = session or requests.Session()
    url = f"{base_url.rstrip('/')}/api/tenants/{tenant}/occupancy"
    headers = {"x-functions-key": key} if key else {}
    reports = []
    for i in range(0, len(rows), batch):
        chunk = rows[i:i + batch]
        if fmt == "csv":
            r = http.post(url, data=as_csv(chunk, shape).encode(), headers={**headers, "content-type": "text/csv"},
                          timeout=120)
        else:
            r = http.post(url, json={shape: chunk}, headers=headers, timeout=120)
        r.raise_for_status()
        reports.append(r.json())
    return reports
