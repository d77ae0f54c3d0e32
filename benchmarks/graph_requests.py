"""Graph requests per room per day in steady state: RoomCal against a 5-minute poller, in one run.

The emulator generates an office (a year of bookings) and delivers change notifications to a
loopback webhook that hands them to RoomCal's own NotificationService; RoomCal's handlers run
in this process on Azurite (queue messages are drained synchronously, so every Graph request is
attributed to the phase that caused it). Measured, each in its own phase:

* **change-driven**: meetings booked and cancelled through the emulator's control API; Graph
  notifies; the hint's delta round reads the change. Requests per change; also the time from the
  change to its row (Graph's notification batching included).
* **catch-up**: the catch-up timer's round over every synced room with nothing changed.
* **renewal**: renewing every room's subscription once.
* **polling baseline**: reading every room's calendarView over the same window RoomCal mirrors
  (what a poller must read to hold the same data), and over the next 7 days only (the cheapest
  useful poll), with the same client and page size.

A day is then arithmetic, not a day of waiting (explained in the results): changes per room per
day are taken from the generated bookings (events in the window ÷ window days, counting every
occurrence as its own change, which overstates RoomCal's share); catch-up runs every 15 minutes
(ROOMCAL_CATCHUP_SCHEDULE) = 96 rounds; a subscription lives 7 days and is renewed when 3 days
are left = once per 4 days; the poller polls every 5 minutes = 288 times. Token requests to the
login endpoint are excluded on both sides. Writes benchmarks/results/graph_requests.md.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from benchmarks.initial_sync import _emulator
from benchmarks.report import percentile, publish
from devtools.azurite import Azurite
from devtools.m365sim import ControlClient
from shared import bootstrap
from shared.adapters.entra import TokenProvider
from shared.adapters.graph import GraphClient
from shared.adapters.http_session import build_session
from shared.adapters.tables import AzureTableStore
from shared.config import load_settings
from shared.errors import RoomCalError
from shared.messages import ROOM_CHANGES, SUBSCRIPTION_MAINTENANCE
from shared.sync.catchup import enqueue_catch_up
from tests.fakes import FakeQueue

CATCHUPS_PER_DAY = 24 * 60 // 15
POLLS_PER_DAY = 24 * 60 // 5
RENEWALS_PER_DAY = 1 / (7 - 3)  # lifetime 10080 min, renewed within 4320 min of expiry


def main(rooms: int = 20, changes: int = 40) -> dict:
    with tempfile.TemporaryDirectory() as tmp, Azurite(log_file=Path(tmp) / "azurite.log") as azurite, \
            _emulator(rooms, Path(tmp)) as sim, _Webhook() as hook:
        tenant = sim["tenants"][0]
        tid, domain = tenant["id"], tenant["domain"]
        counts = Counter()
        phase = ["setup"]
        settings = load_settings(environment="development", notifications_key="n-key", lifecycle_key="l-key",
                                 graph_base_url=f"{sim['base_url']}/v1.0",
                                 login_base_url=sim["base_url"], client_id=sim["client_id"],
                                 client_secret="dev-only-not-secret", ca_bundle=sim["ca_path"], hash_key="r" * 32,  # noqa: S106
                                 public_base_url=hook.base_url, http_pool_size=16)
        graph = _counted_graph(settings, counts, phase)
        queues = FakeQueue()
        services = bootstrap.build_services(settings, tables=AzureTableStore(azurite.connection_string),
                                            queues=queues, graph=graph)
        hook.services = services
        ctl = ControlClient(sim["base_url"], sim["ca_path"])
        mailboxes = _register(services, graph, tid)
        _drain(services, queues)  # initial sync and subscriptions: not steady state, not counted
        synced = [m for m in mailboxes if services.tables.get("RoomSync", tid, m).get("delta_link")]
        window = _window(services, tid, synced[0])
        events = sum(int(services.tables.get("RoomSync", tid, m).get("event_count") or 0) for m in synced)
        window_days = (window[1] - window[0]).total_seconds() / 86400
        ctl.add_user(tid, f"bench@{domain}", mailbox=True)

        phase[0] = "change"
        freshness = _changes(ctl, services, queues, hook, tid, f"bench@{domain}", synced, changes)
        phase[0] = "catchup"
        enqueue_catch_up(services.tables, queues, services.clock)
        catchup_rounds = len(queues.messages(ROOM_CHANGES))
        _drain(services, queues)
        phase[0] = "renewal"
        manager = services.require_subscription_manager()
        renewals = Counter()
        for mailbox in synced:
            sub_id = services.tables.get("RoomSync", tid, mailbox).get("subscription_id")
            if sub_id:
                renewals[manager.renew(tid, mailbox, sub_id)] += 1
        _drain(services, queues)
        phase[0] = "poll_window"
        for mailbox in synced:
            sum(1 for _ in graph.list_calendar_view(tid, mailbox, window[0], window[1]))
        phase[0] = "poll_week"
        now = datetime.now(UTC)
        for mailbox in synced:
            sum(1 for _ in graph.list_calendar_view(tid, mailbox, now, now + timedelta(days=7)))
        phase[0] = "done"
    n = len(synced)
    result = {
        "rooms": n, "events": events, "window_days": round(window_days),
        "changes": changes, "notified_posts": hook.posts, "changes_per_room_day": events / n / window_days,
        "per_change": counts["change"] / changes, "per_catchup": counts["catchup"] / max(1, catchup_rounds),
        "per_renewal": counts["renewal"] / max(1, sum(renewals.values())), "renewals": dict(renewals),
        "per_poll_window": counts["poll_window"] / n, "per_poll_week": counts["poll_week"] / n,
        "fresh_p50_s": statistics.median(freshness), "fresh_p95_s": percentile(freshness, 0.95),
        "fresh_max_s": max(freshness), "raw": dict(counts),
    }
    _write(result)
    return result


class _Webhook:
    """Graph's notification target on 127.0.0.1: the handshake, then RoomCal's NotificationService."""

    def __init__(self) -> None:
        self.services = None
        self.posts = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                token = parse_qs(urlsplit(self.path).query).get("validationToken")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if token:
                    self._answer(200, token[0].encode())
                    return
                service = outer.services.notifications
                accept = service.accept_lifecycle if "lifecycle" in self.path else service.accept_changes
                accept(body)
                outer.posts += 1
                self._answer(202, b"")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> _Webhook:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _counted_graph(settings, counts: Counter, phase: list[str]) -> GraphClient:
    session = build_session(settings)

    def count(response, *args, **kwargs):
        if "/v1.0/" in response.url:
            counts[phase[0]] += 1

    session.hooks["response"].append(count)
    return GraphClient.from_settings(settings, session, TokenProvider.from_settings(settings, session))


def _register(services, graph, tid: str) -> list[str]:
    now = datetime.now(UTC)
    services.tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": tid, "status": "active",
                                       "created_at": now, "updated_at": now})
    mailboxes = [p["emailAddress"].lower() for p in graph.list_rooms(tid)]
    for mailbox in mailboxes:
        services.tables.upsert("Rooms", {"PartitionKey": tid, "RowKey": mailbox})
        services.queues.send(ROOM_CHANGES, {"tenant": tid, "room": mailbox, "reason": "initial",
                                            "at": now.isoformat()})
    return mailboxes


def _drain(services, queues: FakeQueue) -> None:
    """Run every queued message (and what it queues) to the end, in this thread."""
    while queues.sent:
        batch = queues.sent[:]
        del queues.sent[:len(batch)]
        for name, payload, _ in batch:
            try:
                if name == ROOM_CHANGES:
                    services.room_changes.handle(payload)
                elif name == SUBSCRIPTION_MAINTENANCE:
                    services.require_subscription_manager().handle(payload)
            except RoomCalError:
                pass  # a misconfigured room of the generated office: the same for every phase


def _window(services, tid: str, mailbox: str) -> tuple[datetime, datetime]:
    row = services.tables.get("RoomSync", tid, mailbox)
    return (datetime.fromisoformat(row["window_start"]), datetime.fromisoformat(row["window_end"]))


def _changes(ctl, services, queues, hook, tid, organizer, rooms, changes: int) -> list[float]:
    """Book (and every fourth time cancel) meetings; each notification's hint is run at once."""
    latencies, booked = [], []
    for i in range(changes):
        room = rooms[i % len(rooms)]
        posts = hook.posts
        changed = time.monotonic()
        if i % 4 == 3 and booked:
            ctl.cancel_meeting(tid, booked.pop())
        else:
            hour = datetime.now(UTC).replace(microsecond=0, second=0, minute=0)
            start = hour + timedelta(days=2 + i % 30, hours=i % 9)
            booked.append(ctl.create_meeting(tid, organizer, [room], start.isoformat(),
                                             (start + timedelta(minutes=25)).isoformat())["id"])
        deadline = time.monotonic() + 15
        while hook.posts == posts and time.monotonic() < deadline:
            time.sleep(0.005)
        _drain(services, queues)
        latencies.append(time.monotonic() - changed)
    return latencies



def _write(r: dict) -> None:
    rate = r["changes_per_room_day"]
    change_day = rate * r["per_change"]
    catchup_day = CATCHUPS_PER_DAY * r["per_catchup"]
    renewal_day = RENEWALS_PER_DAY * r["per_renewal"]
    roomcal_day = change_day + catchup_day + renewal_day
    poll_day, week_day = POLLS_PER_DAY * r["per_poll_window"], POLLS_PER_DAY * r["per_poll_week"]
    r.update(roomcal_per_room_day=round(roomcal_day, 1), poll_per_room_day=round(poll_day, 1),
             ratio_window=round(poll_day / roomcal_day, 1), ratio_week=round(week_day / roomcal_day, 1))
    lines = [
        "# Graph requests per room per day, steady state (emulator + Azurite)", "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in one run: {r['rooms']} synced rooms of a generated office "
        f"({r['events']} events in a {r['window_days']}-day window), {r['changes']} changes (3 of 4 bookings, "
        f"1 of 4 cancellations) notified by the emulator in {r['notified_posts']} POSTs; {os.cpu_count()} CPUs.",
        "Per-room-per-day = measured requests per operation x operations per day: "
        f"changes {rate:.2f}/room/day (generated events ÷ window days, each occurrence counted as a change), "
        f"catch-up {CATCHUPS_PER_DAY}/day (every 15 min), renewal {RENEWALS_PER_DAY}/day (7-day lifetime, renewed "
        f"3 days before expiry), poll {POLLS_PER_DAY}/day (every 5 min). Token requests excluded on both sides.", "",
        "| figure | requests per operation | operations per room per day | requests per room per day | reference |",
        "|---|---|---|---|---|",
        f"| RoomCal change-driven | {r['per_change']:.2f} per change | {rate:.2f} | {change_day:.1f} | - |",
        f"| RoomCal catch-up | {r['per_catchup']:.2f} per round | {CATCHUPS_PER_DAY} | {catchup_day:.1f} | - |",
        f"| RoomCal renewal | {r['per_renewal']:.2f} per renewal | {RENEWALS_PER_DAY} | {renewal_day:.2f} | - |",
        f"| **RoomCal total** | | | **{roomcal_day:.1f}** | ≥ 10x fewer than polling |",
        f"| poller, calendarView of the same window | {r['per_poll_window']:.2f} per poll | {POLLS_PER_DAY} "
        f"| {poll_day:.1f} | **{r['ratio_window']}x** RoomCal |",
        f"| poller, next 7 days only (less data) | {r['per_poll_week']:.2f} per poll | {POLLS_PER_DAY} "
        f"| {week_day:.1f} | {r['ratio_week']}x RoomCal |",
        f"| change → row (this run, Graph's delivery included) | p50 {r['fresh_p50_s']:.2f} s, "
        f"p95 {r['fresh_p95_s']:.2f} s, max {r['fresh_max_s']:.2f} s | | | poller: ~150 s on average, 300 s worst |",
    ]
    publish("graph_requests", lines)
