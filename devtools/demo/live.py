"""Demo steps 2: rooms synced into Table Storage, then live changes made as people would."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from devtools.demo.stack import Stack


def room_status(stack: Stack, tid: str) -> dict[str, dict]:
    answer = stack.api("GET", f"tenants/{tid}/status")
    answer.raise_for_status()
    return {room["room"]: room for room in answer.json()["rooms"]}


def wait_for_initial_sync(stack: Stack, tid: str, rooms: list[str], timeout: float = 300) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    shown = None
    while time.monotonic() < deadline:
        status = room_status(stack, tid)
        done = [r for r in rooms if status.get(r, {}).get("sync", {}).get("status") == "synced"]
        events = sum(status[r]["sync"].get("event_count", 0) for r in done)
        if (len(done), events) != shown:
            shown = (len(done), events)
            print(f"    synced {len(done)}/{len(rooms)} rooms, {events} events in table Events")
        if len(done) == len(rooms):
            return status
        time.sleep(0.5)
    raise RuntimeError(f"initial sync did not finish within {timeout:.0f}s; see the dev host log")


def book_and_cancel(stack: Stack, tid: str, organizer: str, rooms: list[str], timeout: float = 60) -> None:
    """Book a meeting in a free room, then cancel it; show each change reaching RoomCal."""
    room, start = _free_slot(room_status(stack, tid), rooms)
    end = start + timedelta(minutes=30)
    booked_at = time.monotonic()
    meeting = stack.control.create_meeting(tid, organizer, [room], start.isoformat(), end.isoformat(),
                                           subject="Budget review (a subject RoomCal never stores)")
    print(f"    {organizer} books {room} for {start:%H:%M}-{end:%H:%M} UTC")
    _wait(stack, tid, room, lambda s: (s.get("next") or {}).get("start") == start.isoformat(), timeout)
    print(f"    RoomCal shows it as the room's next meeting after {time.monotonic() - booked_at:.1f} s")
    cancelled_at = time.monotonic()
    stack.control.cancel_meeting(tid, meeting["id"])
    print("    the organiser cancels it")
    _wait(stack, tid, room, lambda s: (s.get("next") or {}).get("start") != start.isoformat(), timeout)
    print(f"    RoomCal no longer shows it after {time.monotonic() - cancelled_at:.1f} s")


def _free_slot(status: dict[str, dict], rooms: list[str]) -> tuple[str, datetime]:
    start = (datetime.now(UTC) + timedelta(minutes=15)).replace(second=0, microsecond=0)
    for room in rooms:
        state = status[room]
        upcoming = (state.get("next") or {}).get("start")
        if state["free_busy"] == "free" and (
                upcoming is None or datetime.fromisoformat(upcoming) > start + timedelta(minutes=45)):
            return room, start
    raise RuntimeError("no room is free for the next hour; rerun the demo with another --seed")


def _wait(stack: Stack, tid: str, room: str, condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition(room_status(stack, tid)[room]):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the change did not reach RoomCal within {timeout:.0f}s; see the dev host log")


def print_delivery(stack: Stack) -> None:
    """What Graph (the emulator) saw of RoomCal's webhook: subscriptions, POSTs, answers, latency."""
    subscriptions = [s for s in stack.control.subscriptions() if "/api/notifications" in s.get("notificationUrl", "")]
    posts = [p for p in stack.control.notification_log() if urlsplit(p["url"]).path.endswith("/api/notifications")]
    latencies = sorted(p["latencyMs"] for p in posts if p["status"] is not None)
    statuses: dict = {}
    for post in posts:
        statuses[post["status"]] = statuses.get(post["status"], 0) + 1
    print(f"    Graph subscriptions: {len(subscriptions)}; notification POSTs to RoomCal: {len(posts)} "
          f"(answers {statuses})")
    if latencies:
        print(f"    RoomCal's acknowledgement: median {latencies[len(latencies) // 2]:.0f} ms, "
              f"slowest {latencies[-1]:.0f} ms (Graph allows 3,000 ms)")
