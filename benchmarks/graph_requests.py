"""Graph requests per room per day in steady state: RoomCal against a 5-minute poller, in one run.

The emulator generates an office (a year of bookings) and delivers change notifications to a
loopback webhook that hands them to RoomCal's own NotificationService; RoomCal's handlers run
in this process on Azurite (queue messages are drained synchronously, so every Graph request is
attributed to the phase that caused it). Measured, each in its own phase:

* **change-driven**: meetings booked and cancelled, weekly series booked, their masters edited and
  single occurrences moved, through the emulator's control API; Graph notifies; the hint's delta
  round reads the change, and, as calendarView delta sends occurrences as stubs (docs-contrib
  issues 5602, 34), one GET per series master whose occurrences the round carries. Requests per
  change (master GETs counted separately too); also the time from the change to its row (Graph's
  notification batching included).
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
        storage_ops = Counter()
        tables = _CountedTables(AzureTableStore(azurite.connection_string), storage_ops, phase)
        services = bootstrap.build_services(settings, tables=tables,
                                            queues=queues, graph=graph)
        hook.services = services
        ctl = ControlClient(sim["base_url"], sim["ca_path"])
        mailboxes = _register(services, graph, tid)
        _drain(services, queues)  # initial sync and subscriptions: not steady state, counted apart
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
        batched = _batched_catch_up(services, queues, phase)
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
        "per_probed_room": counts["catchup_probe"] / max(1, batched["probed"]), "batched": batched,
        "catchup_rounds": catchup_rounds,
        "per_renewal": counts["renewal"] / max(1, sum(renewals.values())), "renewals": dict(renewals),
        "per_poll_window": counts["poll_window"] / n, "per_poll_week": counts["poll_week"] / n,
        "fresh_p50_s": statistics.median(freshness), "fresh_p95_s": percentile(freshness, 0.95),
        "fresh_max_s": max(freshness), "raw": dict(counts), "storage_ops": dict(storage_ops),
        "master_per_change": counts["change:master"] / changes,
        "initial_delta_per_room": counts["setup:delta"] / n, "initial_master_per_room": counts["setup:master"] / n,
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
            path = urlsplit(response.url).path
            if "/calendarView/delta" in path:
                counts[f"{phase[0]}:delta"] += 1
            elif response.request.method == "GET" and "/events/" in path:  # a series master read
                counts[f"{phase[0]}:master"] += 1

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


def _batched_catch_up(services, queues: FakeQueue, phase: list[str]) -> dict:
    """The fanned-out catch-up (shared/sync/catchup_batch.py): timer and tenant plan (phase
    catchup_plan), $batch probes (catchup_probe), then the rounds of rooms a probe found changed or
    that need one of their own, e.g. rooms that never synced (catchup_rounds)."""
    from shared.sync.catchup_batch import CATCHUP_PROBES, CATCHUP_TENANTS

    seen, rounds = Counter(), []
    phase[0] = "catchup_plan"
    services.catch_up.enqueue_tenants()
    while queues.sent:
        batch = queues.sent[:]
        del queues.sent[:len(batch)]
        for name, payload, delay in batch:
            if name == CATCHUP_TENANTS:
                phase[0] = "catchup_plan"
                seen.update(services.catch_up.plan_tenant(payload))
            elif name == CATCHUP_PROBES:
                phase[0] = "catchup_probe"
                seen.update(services.catch_up.probe(payload))
            else:
                rounds.append((name, payload, delay))
    phase[0] = "catchup_rounds"
    queues.sent.extend(rounds)
    _drain(services, queues)
    return {"probed": seen["probe"], "own_rounds": seen["round"], "slices": seen["slices"], "quiet": seen["quiet"],
            "changed": seen["changed"]}


class _CountedTables:
    """The table store, counting storage transactions per phase (an upsert_many or delete_many counts
    one per 100 rows, as Table Storage bills an entity group transaction; a query one per call)."""

    def __init__(self, inner, counts: Counter, phase: list[str]) -> None:
        self._inner, self._counts, self._phase = inner, counts, phase

    def __getattr__(self, name):
        attr = getattr(self._inner, name)
        if name not in ("get", "upsert", "insert", "merge", "delete", "query", "upsert_many", "delete_many"):
            return attr

        def counted(*args, **kwargs):
            if name in ("upsert_many", "delete_many"):
                rows = list(args[1])
                self._counts[self._phase[0]] += -(-len(rows) // 100)
                return attr(args[0], rows, *args[2:], **kwargs)
            self._counts[self._phase[0]] += 1
            return attr(*args, **kwargs)

        return counted


def _window(services, tid: str, mailbox: str) -> tuple[datetime, datetime]:
    row = services.tables.get("RoomSync", tid, mailbox)
    return (datetime.fromisoformat(row["window_start"]), datetime.fromisoformat(row["window_end"]))


def _changes(ctl, services, queues, hook, tid, organizer, rooms, changes: int) -> list[float]:
    """Of every 8 changes: 3 single bookings, 1 weekly series booked, 1 series master edited (online
    flag), 1 occurrence moved, 2 cancellations; each notification's hint is run at once."""
    latencies, booked, series = [], [], []
    for i in range(changes):
        room = rooms[i % len(rooms)]
        posts = hook.posts
        changed = time.monotonic()
        hour = datetime.now(UTC).replace(microsecond=0, second=0, minute=0)
        start = hour + timedelta(days=2 + i % 30, hours=i % 9)
        kind = i % 8
        if kind in (3, 7) and booked:
            ctl.cancel_meeting(tid, booked.pop())
        elif kind == 5 and series:
            meeting = ctl.meeting(tid, series[-1])
            ctl.update_meeting(tid, series[-1], online=not meeting["online"])
        elif kind == 6 and series:
            first = datetime.fromisoformat(ctl.meeting(tid, series[-1])["start"])
            moved = first + timedelta(days=7, hours=1)
            ctl.update_meeting(tid, series[-1], occurrence=(first + timedelta(days=7)).date().isoformat(),
                               start=moved.isoformat(), end=(moved + timedelta(minutes=25)).isoformat())
        elif kind == 1:
            weekly = {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [start.strftime("%A").lower()]},
                      "range": {"type": "numbered", "startDate": start.date().isoformat(),
                                "numberOfOccurrences": 4, "recurrenceTimeZone": "UTC"}}
            series.append(ctl.create_meeting(tid, organizer, [room], start.isoformat(),
                                             (start + timedelta(minutes=25)).isoformat(), time_zone="UTC",
                                             recurrence=weekly)["id"])
            booked.append(series[-1])
        else:
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
    master_day = rate * r["master_per_change"]
    catchup_day = CATCHUPS_PER_DAY * r["per_catchup"]
    renewal_day = RENEWALS_PER_DAY * r["per_renewal"]
    roomcal_day = change_day + catchup_day + renewal_day
    batched_day = CATCHUPS_PER_DAY * r["per_probed_room"]
    roomcal_batched_day = change_day + batched_day + renewal_day
    r.update(roomcal_batched_per_room_day=round(roomcal_batched_day, 1))
    ops = r["storage_ops"]
    ops_round = ops.get("catchup", 0) / max(1, r["catchup_rounds"])
    ops_probe = (ops.get("catchup_plan", 0) + ops.get("catchup_probe", 0)) / max(1, r["batched"]["probed"])
    poll_day, week_day = POLLS_PER_DAY * r["per_poll_window"], POLLS_PER_DAY * r["per_poll_week"]
    r.update(roomcal_per_room_day=round(roomcal_day, 1), poll_per_room_day=round(poll_day, 1),
             ratio_window=round(poll_day / roomcal_day, 1), ratio_week=round(week_day / roomcal_day, 1))
    lines = [
        "# Graph requests per room per day, steady state (emulator + Azurite)", "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in one run: {r['rooms']} synced rooms of a generated office "
        f"({r['events']} events in a {r['window_days']}-day window), {r['changes']} changes (of every 8: 3 single "
        f"bookings, 1 weekly series booked, 1 series master edited, 1 occurrence moved, 2 cancellations) notified "
        f"by the emulator in {r['notified_posts']} POSTs; {os.cpu_count()} CPUs. Occurrences arrive as stubs "
        "(docs-contrib issues 5602, 34): RoomCal reads each series master once per round that carries them.",
        "Per-room-per-day = measured requests per operation x operations per day: "
        f"changes {rate:.2f}/room/day (generated events ÷ window days, each occurrence counted as a change), "
        f"catch-up {CATCHUPS_PER_DAY}/day (every 15 min), renewal {RENEWALS_PER_DAY}/day (7-day lifetime, renewed "
        f"3 days before expiry), poll {POLLS_PER_DAY}/day (every 5 min). Token requests excluded on both sides.", "",
        "| figure | requests per operation | operations per room per day | requests per room per day | reference |",
        "|---|---|---|---|---|",
        f"| RoomCal change-driven | {r['per_change']:.2f} per change | {rate:.2f} | {change_day:.1f} | - |",
        f"| of which series-master GETs | {r['master_per_change']:.2f} per change | {rate:.2f} | {master_day:.2f} "
        "| included above |",
        f"| RoomCal catch-up | {r['per_catchup']:.2f} per round | {CATCHUPS_PER_DAY} | {catchup_day:.1f} | - |",
        f"| RoomCal renewal | {r['per_renewal']:.2f} per renewal | {RENEWALS_PER_DAY} | {renewal_day:.2f} | - |",
        f"| **RoomCal total** (one delta round per room per catch-up) | | | **{roomcal_day:.1f}** "
        "| ≥ 10x fewer than polling |",
        f"| RoomCal catch-up, batched: synced rooms probed 20 per `$batch` ({r['batched']['slices']} "
        f"`$batch` for {r['batched']['probed']} rooms, {r['batched']['changed']} found changed; "
        f"{r['batched']['own_rounds']} never-synced rooms got their own round, as before) | "
        f"{r['per_probed_room']:.3f} per room per round | {CATCHUPS_PER_DAY} | {batched_day:.1f} "
        "| same 15-min repair bound; 96 / 20 = 4.8 with full slices |",
        f"| **RoomCal total, batched catch-up** (the timer's default) | | | **{roomcal_batched_day:.1f}** "
        f"| {roomcal_day:.1f} unbatched |",
        f"| table transactions per room per catch-up: own round / batched probe | {ops_round:.1f} / "
        f"{ops_probe:.2f} | {CATCHUPS_PER_DAY} | {ops_round * CATCHUPS_PER_DAY:.0f} / "
        f"{ops_probe * CATCHUPS_PER_DAY:.0f} | table calls counted at the port (queue messages not included) |",
        f"| poller, calendarView of the same window | {r['per_poll_window']:.2f} per poll | {POLLS_PER_DAY} "
        f"| {poll_day:.1f} | **{r['ratio_window']}x** RoomCal |",
        f"| poller, next 7 days only (less data) | {r['per_poll_week']:.2f} per poll | {POLLS_PER_DAY} "
        f"| {week_day:.1f} | {r['ratio_week']}x RoomCal |",
        f"| change → row (this run, Graph's delivery included) | p50 {r['fresh_p50_s']:.2f} s, "
        f"p95 {r['fresh_p95_s']:.2f} s, max {r['fresh_max_s']:.2f} s | | | poller: ~150 s on average, 300 s worst |",
        f"| initial sync (once per room, not per day) | {r['initial_delta_per_room']:.1f} delta pages + "
        f"{r['initial_master_per_room']:.1f} series-master GETs per room | | | - |",
    ]
    publish("graph_requests", lines)
