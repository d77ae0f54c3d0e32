"""Demo steps 3: occupancy sensors — a week of presence through the sensor-platform simulator, the sensor
analytics, the policy simulator's verdict, and one no-show released (dry run first, then for real)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from devtools import sensorsim
from devtools.demo import live, onboarding
from devtools.demo.stack import FUNCTION_KEY, Stack


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def ingest_week(stack: Stack, tid: str) -> dict:
    """Map each sensor to its room (as a facility manager would), then post last week's presence."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)  # the office's anchor
    start = today - timedelta(days=7)
    truth = stack.control.truth(tid, start=_iso(start - timedelta(days=1)), end=_iso(today))
    registered = {r["email"] for r in stack.api("GET", f"tenants/{tid}/rooms").json()["rooms"]}
    sensors = {email: room["sensor"]["id"] for email, room in truth["rooms"].items()
               if room.get("sensor") and email in registered}
    for email, sensor in sensors.items():
        stack.api("PATCH", f"tenants/{tid}/rooms/{email}", json={"sensor_id": sensor}).raise_for_status()
    silent = sum(1 for e in sensors if truth["rooms"][e]["sensor"]["outages"])
    print(f"    {len(sensors)} of {len(registered)} rooms have a sensor ({silent} were silent for a while)")
    rows = sensorsim.office_readings(truth, start, today, "samples")
    began = time.monotonic()
    reports = sensorsim.post(stack.base, tid, rows, "samples", key=FUNCTION_KEY, batch=5000)
    took = time.monotonic() - began
    accepted = sum(r["accepted"] for r in reports)
    print(f"    the sensor platform posted {len(rows)} samples in {len(reports)} batches: {accepted} accepted, "
          f"{sum(r['rejected'] for r in reports)} rejected ({len(rows) / took:,.0f} samples/s)")
    again = sensorsim.post(stack.base, tid, rows[:5000], "samples", key=FUNCTION_KEY, fmt="csv")
    print(f"    the first batch sent again as CSV: {again[0]['room_days_changed']} room-days changed (idempotent)")
    return {"first": start.date(), "last": (today - timedelta(days=1)).date(), "sensors": sensors}


def print_analytics(stack: Stack, tid: str, week: dict) -> None:
    params = {"from": week["first"].isoformat(), "to": week["last"].isoformat()}
    body = stack.api("GET", f"tenants/{tid}/analytics/occupancy", params=params)
    body.raise_for_status()
    report = body.json()
    s = report["summary"]
    print(f"    {params['from']} .. {params['to']}, {s['rooms_with_sensor']} rooms with a sensor; "
          f"the others say 'no_sensor', not zero")
    print(f"    occupancy rate {_pct(s['occupancy_rate'])} of observed office hours (sensor coverage "
          f"{_pct(s['coverage'])})")
    print(f"    meetings {s['meetings']}: attended {s['attended']}, no-shows {s['no_shows']} "
          f"({_pct(s['no_show_rate'])}), no data {s['no_data_meetings']}")
    print(f"    unused booked time {_pct(s['unused_booked_share'])} of booked minutes = "
          f"{s['hours_lost_per_week']} hours lost per week")
    print(f"    ad-hoc meet-ups (>= {report['meetup_minutes']} min, no booking): {s['meetups']} "
          f"({s['meetup_minutes']} minutes)")
    rows = sorted((r for r in report["rooms"] if r["data"] != "no_sensor"), key=lambda r: -(r["no_shows"] or 0))
    print(f"    {'room':44} {'occupied':>9} {'no-shows':>9} {'lost h/wk':>9} {'meet-ups':>9}")
    for r in rows[:5]:
        print(f"    {r['room'][:44]:44} {_pct(r['occupancy_rate']):>9} {r['no_shows']:>9} "
              f"{r['hours_lost_per_week']:>9} {r['meetups']:>9}")
    csv = stack.api("GET", f"tenants/{tid}/analytics/occupancy", params={**params, "format": "csv"})
    path = stack.run_dir / "occupancy.csv"
    path.write_bytes(csv.content)
    print(f"    CSV written to {path.name}")


def print_simulation(stack: Stack, tid: str, week: dict) -> None:
    params = {"from": week["first"].isoformat(), "to": week["last"].isoformat()}
    for grace in (10, 20):
        sim = stack.api("GET", f"tenants/{tid}/noshow/simulate", params={**params, "grace_minutes": grace})
        sim.raise_for_status()
        s = sim.json()["summary"]
        print(f"    grace {grace} min: would release {s['would_release']} of {s['meetings']} meetings, "
              f"{s['hours_freed']} room-hours freed; {s['wrongly_released']} wrongly (people came later), "
              f"{s['rebooked_by_others']} rebooked by others")
    month = {"from": (week["last"] - timedelta(days=55)).isoformat(), "to": params["to"]}
    ghosts = stack.api("GET", f"tenants/{tid}/analytics/occupancy/ghost-series", params=month).json()
    print(f"    ghost series (>= {ghosts['strikes']} no-shows in a row, last 8 weeks): {len(ghosts['series'])}"
          + (f"; e.g. {ghosts['series'][0]['room']}, {ghosts['series'][0]['current_no_show_streak']} in a row, "
             f"organiser {'hidden' if ghosts['series'][0]['organiser_hidden'] else 'shown'}"
             if ghosts["series"] else ""))


def release_one(stack: Stack, tid: str, organizer: str, sensors: dict[str, str]) -> None:
    """A meeting that began 12 minutes ago in a sensor room where nobody came: dry run, then the release."""
    status = live.room_status(stack, tid)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(minutes=12)
    room = next(r for r in sorted(sensors) if r in status and status[r]["free_busy"] == "free"
                and _free_until(status[r], now + timedelta(hours=1)))
    meeting = stack.control.create_meeting(tid, organizer, [room], _iso(start), _iso(start + timedelta(hours=1)),
                                           created=_iso(now - timedelta(days=2)),
                                           subject="Quarterly planning (never stored)")
    print(f"    {organizer} booked {room} two days ago for {start:%H:%M}-{start + timedelta(hours=1):%H:%M} UTC; "
          "nobody came")
    live._wait(stack, tid, room, lambda s: (s.get("current") or {}).get("start") == start.isoformat(), 60)
    truth = stack.control.truth(tid, start=_iso(now - timedelta(minutes=30)), end=_iso(now), room=room)["rooms"][room]
    rows = sensorsim.readings(truth, now - timedelta(minutes=30), now, "samples")
    sensorsim.post(stack.base, tid, rows, "samples", key=FUNCTION_KEY)
    print(f"    its sensor reported the room empty since {now - timedelta(minutes=30):%H:%M} ({len(rows)} samples)")
    stack.api("PATCH", f"tenants/{tid}/settings",
              json={"noshow_release": True, "noshow_release_rooms": [room]}).raise_for_status()
    print("    the admin turns the release on for this room (grace 10 min) and runs 'Continue setup' to prove "
          "write access")
    onboarding.verify(stack, tid)
    dry = stack.api("POST", f"tenants/{tid}/noshow/release", params={"dry_run": "true"}).json()
    print(f"    dry run: {dry['counts']} -> {[(m['room'], m['decision']) for m in dry['meetings']]}")
    done = stack.api("POST", f"tenants/{tid}/noshow/release").json()
    print(f"    release: {done['counts']} with {done['graph_calls']} Graph calls")
    entry = stack.control.truth(tid, start=_iso(start), end=_iso(start + timedelta(hours=1)), room=room)
    event = next(e for e in entry["rooms"][room]["events"] if e["id"] == meeting["copies"][room])
    response = next(a["status"]["response"] for a in event["attendees"]
                    if a["emailAddress"]["address"].lower() == room)
    comment = next(d["comment"] for d in reversed(stack.control.stats()["declines"]) if d["mailbox"] == room)
    print(f"    the emulator's calendar: {room} answered '{response}'; the organiser reads:\n      \"{comment}\"")
    again = stack.api("POST", f"tenants/{tid}/noshow/release").json()
    print(f"    the next sweep: {[(m['decision'], m['reason']) for m in again['meetings']]} (never twice)")


def _free_until(state: dict, until: datetime) -> bool:
    upcoming = (state.get("next") or {}).get("start")
    return upcoming is None or datetime.fromisoformat(upcoming) > until


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"
