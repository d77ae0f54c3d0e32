"""Function executions, execution time and storage operations per room per day: the inputs of docs/deploy.md's cost
per 1,000 rooms.

RoomCal's handlers run in this process against the emulator (real HTTPS) and Azurite, exactly as in
graph_requests.py, and every execution the Functions host would make is timed:

* **catch-up**: the room-changes execution of one room's 15-minute catch-up hint with nothing changed (96 a day);
* **change**: the notification doorbell's execution for one change, then the room-changes execution it queues;
* **renewal**: the subscription-maintenance execution that renews one room's subscription (once per 4 days).

That is the per-room catch-up (one room-changes execution per room per period), kept for comparison. The catch-up
timer now runs the batched catch-up (shared/sync/catchup_batch.py, functions/timers.py, functions/sync_queue.py;
no setting switches it back), measured here too, one execution per queue message as the host runs them:

* **batched catch-up** per period: the timer (one catchup-tenants message per tenant), the tenant's plan
  (catchup-tenants → ``plan_tenant``: one catchup-probes message per slice of ≤ 20 rooms), one probe per slice
  (catchup-probes → ``probe``: one Graph ``$batch``, new delta links stored), and the room-changes round of any room
  a probe found changed or that needs a full round of its own;
* **window roll**: the own round the plan gives each room once per ``sync_window_roll_days`` (7) to roll its window;
* **batched renewal** (shared/sync/renewal_batch.py): the hourly tenant execution with nothing due, and with every
  subscription due (one ``$batch`` of PATCHes per 20).

Also counted per execution: Table Storage operations (each call of the TableStore port is at least one billable
transaction; a query page or a 100-entity batch is one), queue messages sent, RoomCal's own log records and their
bytes (what Application Insights ingests from the app, before the host's own request record), and the stored size of
an Events row. The emulator answers in about a millisecond; real Graph takes longer, so the cost table in
docs/deploy.md adds an assumed Graph round trip per request to the measured time (stated there). Bounded: a
generated office of ``rooms`` rooms (enough synced ones for three probe slices), ``rounds`` catch-up rounds of
each kind, ``changes`` changes. Writes
benchmarks/results/execution_cost.md.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import math
import os
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benchmarks.graph_requests import (
    CATCHUPS_PER_DAY,
    RENEWALS_PER_DAY,
    _counted_graph,
    _drain,
    _register,
    _Webhook,
)
from benchmarks.initial_sync import _emulator
from benchmarks.report import percentile, publish
from devtools.azurite import Azurite
from devtools.m365sim import ControlClient
from shared import bootstrap
from shared.adapters.tables import AzureTableStore
from shared.config import load_settings
from shared.errors import NotFound, RoomCalError
from shared.messages import ROOM_CHANGES, SUBSCRIPTION_MAINTENANCE
from shared.sync.catchup import enqueue_catch_up
from shared.sync.catchup_batch import CATCHUP_PROBES, CATCHUP_TENANTS, SLICE
from shared.sync.renewal_batch import RENEWAL_TENANTS
from tests.fakes import FakeQueue

INSTANCE_GB = 2.048  # Flex Consumption instance memory (infra: instanceMemoryMB 2048), what on-demand GB-s bill
RENEWAL_RUNS_PER_DAY = 24  # ROOMCAL_RENEW_SCHEDULE "0 7 * * * *": the renewal timer, hourly
ROLLS_PER_DAY = 1 / 7  # ROOMCAL_SYNC_WINDOW_ROLL_DAYS: each room's window is re-read once a week
SCALED_ROOMS = 1000  # docs/deploy.md's cost table: 1,000 rooms in one tenant, full slices of 20


class CountingTables:
    """The TableStore port with a count of calls (≥ 1 billable transaction each; a batch write one per 100 rows,
    as Table Storage bills an entity group transaction)."""

    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, Counter()

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def counted(*args, **kwargs):
            if name in ("upsert_many", "delete_many"):
                rows = list(args[1])
                self.calls[name] += -(-len(rows) // 100)
                return attr(args[0], rows, *args[2:], **kwargs)
            self.calls[name] += 1
            result = attr(*args, **kwargs)
            if name == "query":  # pages are transactions: count them as they are read
                return self._pages(result)
            return result
        return counted

    def _pages(self, rows):
        for i, row in enumerate(rows):
            if i and i % 1000 == 0:
                self.calls["query_page"] += 1
            yield row


class LogMeter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records = self.bytes = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("roomcal", "shared", "functions")):
            self.records += 1
            self.bytes += len(record.getMessage().encode()) + len(json.dumps(getattr(record, "roomcal", {})))


def main(rooms: int = 52, rounds: int = 3, changes: int = 24) -> dict:
    meter = LogMeter()
    logging.getLogger().addHandler(meter)
    logging.getLogger().setLevel(logging.INFO)
    try:
        return _run(rooms, rounds, changes, meter)
    finally:
        logging.getLogger().removeHandler(meter)


def _run(rooms: int, rounds: int, changes: int, meter: LogMeter) -> dict:
    with tempfile.TemporaryDirectory() as tmp, Azurite(log_file=Path(tmp) / "azurite.log") as azurite, \
            _emulator(rooms, Path(tmp)) as sim, _Webhook() as hook:
        tid, domain = sim["tenants"][0]["id"], sim["tenants"][0]["domain"]
        settings = load_settings(environment="development", notifications_key="n-key", lifecycle_key="l-key",
                                 graph_base_url=f"{sim['base_url']}/v1.0",
                                 login_base_url=sim["base_url"], client_id=sim["client_id"],
                                 client_secret="dev-only-not-secret", ca_bundle=sim["ca_path"], hash_key="r" * 32,  # noqa: S106
                                 public_base_url=hook.base_url, http_pool_size=16)
        graph_counts, phase = Counter(), ["setup"]
        graph = _counted_graph(settings, graph_counts, phase)
        queues, tables = FakeQueue(), CountingTables(AzureTableStore(azurite.connection_string))
        services = bootstrap.build_services(settings, tables=tables, queues=queues, graph=graph)
        hook.services = services
        mailboxes = _register(services, graph, tid)
        _drain(services, queues)
        synced = [m for m in mailboxes if services.tables.get("RoomSync", tid, m).get("delta_link")]
        _retire_unsynced(tables.inner, tid, mailboxes, synced)
        row_bytes = _event_row_bytes(tables.inner)
        events = sum(int(tables.inner.get("RoomSync", tid, m).get("event_count") or 0) for m in synced)

        phase[0] = "catchup"
        old_timer: list[dict] = []
        catchup = _timed_executions(services, queues, tables, meter, rounds, tid, synced, old_timer)
        phase[0] = "batched"
        batched = _batched_periods(services, queues, tables, meter, rounds)
        phase[0] = "roll"
        roll = _window_roll(services, queues, tables, meter, tid, synced)
        phase[0] = "change"
        change = _changes(ControlClient(sim["base_url"], sim["ca_path"]), services, queues, tables, meter, hook,
                          tid, f"bench@{domain}", synced, changes)
        phase[0] = "renewal"
        renewal = _renewals(services, queues, tables, meter, tid, synced)
        phase[0] = "batched_renewal"
        batched_renewal = _batched_renewals(services, queues, tables, meter, tid)
        phase[0] = "telemetry"
        telemetry = _telemetry(services, queues, tables, meter, tid, synced)
    result = {"rooms": len(synced), "events": events, "row_bytes": row_bytes, "catchup": catchup, "change": change,
              "renewal": renewal, "graph": dict(graph_counts), "telemetry": telemetry, "rounds": rounds,
              "batched": batched, "roll": roll, "old_timer": old_timer, "batched_renewal": batched_renewal}
    _write(result)
    return result


def _measure(run, tables: CountingTables, queues: FakeQueue, meter: LogMeter) -> dict:
    calls, sent, records, size = sum(tables.calls.values()), len(queues.sent), meter.records, meter.bytes
    started = time.perf_counter()
    result = run()
    return {"s": time.perf_counter() - started, "table_ops": sum(tables.calls.values()) - calls,
            "sent": len(queues.sent) - sent, "logs": meter.records - records, "log_bytes": meter.bytes - size,
            "result": result}


def _timed_executions(services, queues, tables, meter, rounds, tid, synced, timers=None) -> list[dict]:
    """The per-room catch-up: the old timer (enqueue_catch_up, one room-changes message per room; timed into
    ``timers``), then each room's execution."""
    samples = []
    for _ in range(rounds):
        timer = _measure(lambda: enqueue_catch_up(services.tables, queues, services.clock), tables, queues, meter)
        if timers is not None:
            timers.append(timer)
        batch = [p for name, p, _ in queues.sent if name == ROOM_CHANGES]
        del queues.sent[:]
        for payload in batch:
            samples.append(_measure(lambda p=payload: _handle(services, p), tables, queues, meter))
        _drain(services, queues)
    return samples


def _handle(services, payload) -> None:
    with contextlib.suppress(RoomCalError):  # a misconfigured room of the generated office
        services.room_changes.handle(payload)


def _changes(ctl, services, queues, tables, meter, hook, tid, organizer, rooms, changes) -> list[dict]:
    """One booking per change; the doorbell execution (hook) then the room-changes execution it queued."""
    ctl.add_user(tid, organizer, mailbox=True)
    samples = []
    for i in range(changes):
        posts = hook.posts
        start = datetime.now(UTC).replace(microsecond=0, second=0, minute=0) + timedelta(days=2 + i % 30, hours=i % 9)
        ctl.create_meeting(tid, organizer, [rooms[i % len(rooms)]], start.isoformat(),
                           (start + timedelta(minutes=25)).isoformat())
        deadline = time.monotonic() + 15
        while hook.posts == posts and time.monotonic() < deadline:
            time.sleep(0.005)
        hints = [p for name, p, _ in queues.sent if name == ROOM_CHANGES]
        del queues.sent[:]
        for payload in hints:
            sample = _measure(lambda p=payload: _handle(services, p), tables, queues, meter)
            sample["doorbell_posts"] = hook.posts - posts
            samples.append(sample)
        _drain(services, queues)
    return samples


def _renewals(services, queues, tables, meter, tid, synced) -> list[dict]:
    manager, samples = services.require_subscription_manager(), []
    for mailbox in synced:
        sub_id = tables.inner.get("RoomSync", tid, mailbox).get("subscription_id")
        if not sub_id:
            continue
        payload = {"action": "renew", "tenant": tid, "room": mailbox, "reason": "renewal", "subscription": sub_id,
                   "at": datetime.now(UTC).isoformat()}
        samples.append(_measure(lambda p=payload: manager.handle(p), tables, queues, meter))
        for name, p, _ in list(queues.sent):
            if name == SUBSCRIPTION_MAINTENANCE:
                queues.sent.remove((name, p, _))
        _drain(services, queues)
    return samples


def _retire_unsynced(tables, tid: str, mailboxes: list[str], synced: list[str]) -> None:
    """The generated office's deliberately misconfigured rooms (403/404) are marked inactive, as sync marks an
    unregistered room, so the batched plan probes synced rooms only instead of re-queuing failing ones each period."""
    for mailbox in set(mailboxes) - set(synced):
        with contextlib.suppress(NotFound):
            tables.merge("RoomSync", {"PartitionKey": tid, "RowKey": mailbox, "active": False})


def _batched_periods(services, queues, tables, meter, rounds: int, after=None) -> dict[str, list[dict]]:
    """``rounds`` batched catch-up periods: the timer's execution, then every message it leads to as an execution of
    its own queue function (functions/sync_queue.py), in queue order, until the period's queues are empty.
    ``after(kind)`` runs after each execution (the telemetry phase attributes what was exported)."""
    handlers = {CATCHUP_TENANTS: services.catch_up.plan_tenant, CATCHUP_PROBES: services.catch_up.probe,
                ROOM_CHANGES: lambda p: _handle(services, p)}
    samples: dict[str, list[dict]] = {"timer": [], **{name: [] for name in handlers}}
    after = after or (lambda kind: None)
    for _ in range(rounds):
        samples["timer"].append(_measure(services.catch_up.enqueue_tenants, tables, queues, meter))
        after("timer")
        other = []
        while queues.sent:
            name, payload, delay = queues.sent.pop(0)
            if name not in handlers:
                other.append((name, payload, delay))
                continue
            sample = _measure(lambda h=handlers[name], p=payload: h(p), tables, queues, meter)
            if name == CATCHUP_PROBES:
                sample["rooms"] = len(payload["rooms"])
            samples[name].append(sample)
            after(name)
        queues.sent.extend(other)  # e.g. a subscription task a round queued: not part of the catch-up
        _drain(services, queues)
    return samples


def _window_roll(services, queues, tables, meter, tid: str, synced: list[str]) -> list[dict]:
    """Every room's window made 8 days old, then one batched period: the plan gives each room its own round (a
    baseline over the window); those room-changes executions are the weekly roll's cost."""
    old = (datetime.now(UTC) - timedelta(days=8)).isoformat()
    for mailbox in synced:
        tables.inner.merge("RoomSync", {"PartitionKey": tid, "RowKey": mailbox, "window_created_at": old})
    samples = _batched_periods(services, queues, tables, meter, 1)
    return samples[ROOM_CHANGES]


def _batched_renewals(services, queues, tables, meter, tid: str) -> dict[str, list[dict]]:
    """The hourly renewal-tenants execution (renew_tenant) of the default settings, where nothing is due (the
    usual hour: each subscription is due once per 4 days), and with every subscription due (renew window = the
    lifetime), 20 PATCHes per $batch. Each on freshly built services: an hour later the subscription directory's
    60-s cache is cold, so the stale-URL check reads every room's Subscriptions row. Plus the renewal timer."""
    def fresh(**update):
        return bootstrap.build_services(services.settings.model_copy(update=update), tables=services.tables,
                                        queues=queues, graph=services.graph).renewal

    out: dict[str, list[dict]] = {"timer": [], "idle": [], "all_due": []}
    for _ in range(3):
        out["timer"].append(_measure(services.renewal.enqueue_tenants, tables, queues, meter))
        (job,) = [p for name, p, _ in queues.sent if name == RENEWAL_TENANTS and p["tenant"] == tid]
        del queues.sent[:]
        idle = fresh()
        out["idle"].append(_measure(lambda j=job, b=idle: b.renew_tenant(j), tables, queues, meter))
        time.sleep(1.1)  # a later expiry than the last renewal's, to the second
        due = fresh(subscription_renew_within_minutes=10080)
        out["all_due"].append(_measure(lambda j=job, b=due: b.renew_tenant(j), tables, queues, meter))
        _drain(services, queues)
    return out


class _Ingestion:
    """A stand-in for Application Insights' ingestion endpoint on 127.0.0.1: keeps the size of every item posted."""

    def __init__(self) -> None:
        self.bytes: Counter = Counter()
        self.items: Counter = Counter()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                items = json.loads(body or b"[]")
                for item in items:
                    outer.bytes[_kind(item)] += len(json.dumps(item))
                    outer.items[_kind(item)] += 1
                answer = json.dumps({"itemsReceived": len(items), "itemsAccepted": len(items), "errors": []}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.connection_string = ("InstrumentationKey=00000000-0000-0000-0000-000000000000;"
                                  f"IngestionEndpoint=http://127.0.0.1:{self.server.server_port}/")

    def __enter__(self) -> _Ingestion:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _kind(item: dict) -> str:
    name = item.get("name", "").rsplit(".", 1)[-1]
    if name == "Metric":
        metrics = item.get("data", {}).get("baseData", {}).get("metrics") or [{}]
        return "Metric roomcal" if str(metrics[0].get("name", "")).startswith("roomcal.") else "Metric platform"
    return name


def _telemetry(services, queues, tables, meter, tid, synced) -> dict:
    """One more per-room catch-up round, then one batched period, with OpenTelemetry on (shared.telemetry, the
    Azure Monitor distro, no sampling), exporting to the local ingestion stand-in: bytes Application Insights would
    ingest per execution of each."""
    from opentelemetry import _logs, metrics, trace

    from shared import telemetry

    providers, per_kind = [], Counter()

    def flushed() -> tuple[Counter, Counter]:
        for provider in providers:
            provider.force_flush()
        return Counter(sink.bytes), Counter(sink.items)

    def attribute(kind: str) -> None:
        """Log records and spans exported since the last call are the execution's that just ran."""
        for provider in providers[:2]:  # traces and logs; metrics are cumulative, attributed to the period below
            provider.force_flush()
        total = sum(v for k, v in sink.bytes.items() if not k.startswith("Metric"))
        per_kind[kind] += total - sum(per_kind.values()) - base[0]

    os.environ["APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL"] = "true"  # Microsoft's own SDK statistics: not billed
    with _Ingestion() as sink:
        if not telemetry.configure_from_environment({"APPLICATIONINSIGHTS_CONNECTION_STRING": sink.connection_string}):
            return {}
        providers += [trace.get_tracer_provider(), _logs.get_logger_provider(), metrics.get_meter_provider()]
        samples = _timed_executions(services, queues, tables, meter, 1, tid, synced)
        per_room_bytes, per_room_items = flushed()
        base = [sum(v for k, v in per_room_bytes.items() if not k.startswith("Metric"))]
        batched = _batched_periods(services, queues, tables, meter, 1, after=attribute)
        all_bytes, all_items = flushed()
        for provider in providers:
            provider.shutdown()
    return {"executions": len(samples), "bytes": dict(per_room_bytes), "items": dict(per_room_items),
            "batched_executions": {k: len(v) for k, v in batched.items()}, "batched_by_kind": dict(per_kind),
            "batched_bytes": dict(all_bytes - per_room_bytes), "batched_items": dict(all_items - per_room_items)}


def _event_row_bytes(tables) -> float:
    sizes = []
    for row in tables.query("Events"):
        sizes.append(len(json.dumps(row, default=str)))
        if len(sizes) >= 400:
            break
    return sum(sizes) / max(1, len(sizes))


def _billed(seconds: float) -> float:
    """Flex Consumption on-demand: at least 1 s per execution, then rounded up to 100 ms (FUNCTIONS_NOTES §10)."""
    return max(1.0, math.ceil(seconds * 10) / 10)


def _stats(samples: list[dict]) -> dict:
    if not samples:
        return {"n": 0, "p50_s": 0.0, "p95_s": 0.0, "mean_s": 0.0, "table_ops": 0.0, "sent": 0.0, "logs": 0.0,
                "log_bytes": 0.0, "billed_s": 0.0}
    seconds = [s["s"] for s in samples]
    n = len(samples)
    return {"n": n, "p50_s": percentile(seconds, 0.5), "p95_s": percentile(seconds, 0.95),
            "mean_s": sum(seconds) / n, "table_ops": sum(s["table_ops"] for s in samples) / n,
            "sent": sum(s["sent"] for s in samples) / n, "logs": sum(s["logs"] for s in samples) / n,
            "log_bytes": sum(s["log_bytes"] for s in samples) / n, "billed_s": sum(_billed(x) for x in seconds) / n}


# The doorbell execution (HTTP, no Graph): 1 table read, 1 message, 1 log record (notification_ack.md).
DOORBELL = {"n": 0, "p50_s": 0.0, "p95_s": 0.0, "mean_s": 0.0, "billed_s": 1.0, "table_ops": 1, "sent": 1, "logs": 1,
            "log_bytes": 150}
CHANGES_PER_DAY = 1.15  # benchmarks/results/graph_requests.md: generated bookings, every occurrence a change


def _hourly_renewal(idle: dict, all_due: dict, renewed: float, due: float, scale: float) -> dict:
    """One hourly renew_tenant execution over ``scale`` times the measured rooms that renews ``due`` subscriptions:
    the idle execution's time and table reads grow with the rooms it checks (one Subscriptions read each), plus
    ``due`` times one renewal's measured share of the all-due execution (linear in the subscriptions renewed)."""
    def at(key, grows=False):
        return idle[key] * (scale if grows else 1) + due * (all_due[key] - idle[key]) / max(1.0, renewed)
    seconds = at("mean_s", grows=True)
    return {**idle, "mean_s": seconds, "billed_s": _billed(seconds), "table_ops": at("table_ops", grows=True),
            "sent": at("sent"), "logs": at("logs"), "log_bytes": at("log_bytes")}


def _per_day(components: list[tuple[str, float, dict]]) -> dict:
    return {"executions": sum(n for _, n, _ in components),
            "billed_s": sum(n * s["billed_s"] for _, n, s in components),
            "table_ops": sum(n * s["table_ops"] for _, n, s in components),
            "sent": sum(n * s["sent"] for _, n, s in components),
            "log_bytes": sum(n * s["log_bytes"] for _, n, s in components)}


def _telemetry_per_execution(t: dict) -> dict[str, float]:
    """Bytes per execution by component label: measured for the batched catch-up's kinds, the per-room catch-up's
    figure (logs, spans and RoomCal metrics, not platform metrics) for everything else ("other")."""
    if not t.get("executions"):
        return {}
    other = sum(v for k, v in t["bytes"].items() if k != "Metric platform") / t["executions"]
    kinds, counts = t.get("batched_by_kind", {}), t.get("batched_executions", {})
    labels = {"timer": "timer (catch_up_rooms)", CATCHUP_TENANTS: "plan (catchup-tenants)",
              CATCHUP_PROBES: "probe (catchup-probes)"}
    return {"other": other, **{label: kinds.get(kind, 0) / counts[kind] for kind, label in labels.items()
                               if counts.get(kind)}}


def _write(r: dict) -> None:
    rooms, periods, b, br = r["rooms"], r["rounds"], r["batched"], r["batched_renewal"]
    st = {"catch-up (room-changes)": _stats(r["catchup"]), "old timer (enqueue_catch_up)": _stats(r["old_timer"]),
          "change: delta round (room-changes)": _stats(r["change"]),
          "renewal (subscription-maintenance)": _stats(r["renewal"]),
          "timer (catch_up_rooms)": _stats(b["timer"]), "plan (catchup-tenants)": _stats(b[CATCHUP_TENANTS]),
          "probe, every slice (catchup-probes)": _stats(b[CATCHUP_PROBES]),
          f"probe, full slice of {SLICE} rooms": _stats([x for x in b[CATCHUP_PROBES] if x["rooms"] == SLICE]),
          "round a probe or plan queued (room-changes)": _stats(b[ROOM_CHANGES]),
          "window roll round (room-changes)": _stats(r["roll"]),
          "renewal timer (renew_subscriptions)": _stats(br["timer"]),
          "renewal tenant, nothing due (renewal-tenants)": _stats(br["idle"]),
          "renewal tenant, every subscription due": _stats(br["all_due"])}
    renewed = sum(x["result"]["renewed"] for x in br["all_due"]) / max(1, len(br["all_due"]))
    telemetry = _telemetry_per_execution(r.get("telemetry") or {})
    slices = len(b[CATCHUP_PROBES]) / periods
    sizes = [x["rooms"] for x in b[CATCHUP_PROBES][:round(slices)]]  # one period's slices

    old = [("catch-up (room-changes)", CATCHUPS_PER_DAY - ROLLS_PER_DAY, st["catch-up (room-changes)"]),
           ("window roll round (room-changes)", ROLLS_PER_DAY, st["window roll round (room-changes)"]),
           ("old timer (enqueue_catch_up)", CATCHUPS_PER_DAY / rooms, st["old timer (enqueue_catch_up)"]),
           ("change: doorbell (notifications)", CHANGES_PER_DAY, DOORBELL),
           ("change: delta round (room-changes)", CHANGES_PER_DAY, st["change: delta round (room-changes)"]),
           ("renewal (subscription-maintenance)", RENEWALS_PER_DAY, st["renewal (subscription-maintenance)"])]

    def batched(n_rooms: int, probe: dict, probes_per_period: float) -> list[tuple[str, float, dict]]:
        hourly = _hourly_renewal(st["renewal tenant, nothing due (renewal-tenants)"],
                                 st["renewal tenant, every subscription due"], renewed,
                                 n_rooms * RENEWALS_PER_DAY / RENEWAL_RUNS_PER_DAY, n_rooms / rooms)
        return [("timer (catch_up_rooms)", CATCHUPS_PER_DAY / n_rooms, st["timer (catch_up_rooms)"]),
                # the plan sends one message per slice: 50 for 1,000 rooms (its reads stay 2: 1,000 rows a page)
                ("plan (catchup-tenants)", CATCHUPS_PER_DAY / n_rooms,
                 {**st["plan (catchup-tenants)"], "sent": probes_per_period}),
                ("probe (catchup-probes)", CATCHUPS_PER_DAY * probes_per_period / n_rooms, probe),
                ("round a probe or plan queued (room-changes)", CATCHUPS_PER_DAY * len(b[ROOM_CHANGES]) / periods
                 / rooms, st["round a probe or plan queued (room-changes)"]),
                ("window roll round (room-changes)", ROLLS_PER_DAY, st["window roll round (room-changes)"]),
                ("change: doorbell (notifications)", CHANGES_PER_DAY, DOORBELL),
                ("change: delta round (room-changes)", CHANGES_PER_DAY, st["change: delta round (room-changes)"]),
                ("renewal timer (renew_subscriptions)", RENEWAL_RUNS_PER_DAY / n_rooms,
                 st["renewal timer (renew_subscriptions)"]),
                ("renewal tenant, hourly (renewal-tenants)", RENEWAL_RUNS_PER_DAY / n_rooms, hourly)]

    office = batched(rooms, st["probe, every slice (catchup-probes)"], slices)
    full = st[f"probe, full slice of {SLICE} rooms"]
    scaled = batched(SCALED_ROOMS, full if full["n"] else st["probe, every slice (catchup-probes)"],
                     math.ceil(SCALED_ROOMS / SLICE))
    days = {"old": _per_day(old), "office": _per_day(office), "scaled": _per_day(scaled)}
    if telemetry:
        for name, components in (("old", old), ("office", office), ("scaled", scaled)):
            days[name]["telemetry"] = sum(n * telemetry.get(label, telemetry["other"]) for label, n, _ in components)
    r["per_room_day"] = days

    lines = ["# Function executions and execution time per room per day (emulator + Azurite)", "",
             f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {rooms} synced rooms of a generated office, one tenant "
             f"({r['events']} events; its deliberately misconfigured rooms marked inactive); {os.cpu_count()} CPUs "
             "shared with the emulator and Azurite. Every execution the Functions host would make is timed on its "
             "own: wall clock of the handler in this process against a local emulator (about 1 ms per Graph "
             "request); billed time is Flex Consumption's per-execution minimum of 1 s, rounded up to 100 ms. "
             f"Batched catch-up: {periods} periods of {slices:.0f} probe slices ({', '.join(map(str, sizes))} rooms) "
             "after one plan; window roll: one period with every window 8 days old; batched renewal: renew_tenant "
             f"with nothing due and with all {renewed:.0f} subscriptions due, {len(br['idle'])} times each.", "",
             "**Per execution** (table ops: each TableStore call ≥ 1 transaction, a batch write one per 100 rows; "
             "messages: queue messages the execution sends; log: RoomCal's own records, before the host's):", "",
             "| execution | measured | p50 s | p95 s | billed s | table ops | messages sent | log records "
             "| log bytes |", "|---|---|---|---|---|---|---|---|---|",
             "| change: doorbell (notifications) | (202 without Graph: see notification_ack.md) | | | 1.0 | 1 | 1 "
             "| 1 | ~150 |"]
    for label, s in st.items():
        if not s["n"]:
            lines.append(f"| {label} | none in this run | | | | | | | |")
            continue
        lines.append(f"| {label} | {s['n']} | {s['p50_s']:.3f} | {s['p95_s']:.3f} | {s['billed_s']:.1f} "
                     f"| {s['table_ops']:.1f} | {s['sent']:.2f} | {s['logs']:.1f} | {s['log_bytes']:.0f} |")

    lines += ["", "**Executions per room per day** (catch-up every 15 min = 96 periods; window roll every 7 days; "
              f"changes {CHANGES_PER_DAY}/room/day as in graph_requests.md; a subscription renewed once per 4 days; "
              "renewal timer hourly; timers and plans are per deployment or tenant, so per room they shrink with "
              "the office). Per-room catch-up: the old timer (enqueue_catch_up, one room-changes execution per room "
              "per period), which no setting selects any more (shared/config.py has none; functions/timers.py always "
              "fans out); with the batched catch-up a room still gets a room-changes round of its own when the plan "
              "finds a full round due (window roll, no delta link, paused baseline, re-key) or a probe finds a "
              "change:", "",
              f"| execution | per-room catch-up (old timer, {rooms} rooms) | batched, this office ({rooms} rooms) "
              f"| batched, {SCALED_ROOMS:,} rooms in one tenant ({SCALED_ROOMS // SLICE} full slices) |",
              "|---|---|---|---|"]
    rows: dict[str, list[str]] = {}
    for column, components in enumerate((old, office, scaled)):
        for label, n, _ in components:
            rows.setdefault(label, ["—"] * 3)[column] = f"{n:.3f}"
    lines += [f"| {label} | {' | '.join(cells)} |" for label, cells in rows.items()]

    lines += ["", "**Per room per day**, sum of executions x their per-execution figures above (the probe of "
              f"{SCALED_ROOMS:,} rooms with the full slices' figures; an hourly renewal's cost is the idle execution's "
              "plus its due subscriptions x one renewal's measured share):", "",
              f"| per room per day | per-room catch-up (old timer) | batched, this office ({rooms} rooms) "
              f"| **batched, {SCALED_ROOMS:,} rooms in one tenant** |", "|---|---|---|---|"]
    for key, label, fmt in (("executions", "executions", "{:.1f}"), ("billed_s", "billed execution-seconds", "{:.1f}"),
                            ("gb_s", f"GB-s at {INSTANCE_GB} GB, each execution billed alone (upper bound)", "{:.0f}"),
                            ("table_ops", "table operations", "{:.0f}"), ("sent", "queue messages", "{:.1f}"),
                            ("log_kib", "RoomCal log text, KiB", "{:.1f}"),
                            ("telemetry_kib", "telemetry to Application Insights, KiB (see below)", "{:.0f}")):
        if key == "telemetry_kib" and not telemetry:
            continue
        cells = []
        for name in ("old", "office", "scaled"):
            d = days[name]
            value = {"gb_s": d["billed_s"] * INSTANCE_GB, "log_kib": d["log_bytes"] / 1024,
                     "telemetry_kib": d.get("telemetry", 0) / 1024}.get(key, d.get(key))
            cells.append(fmt.format(value))
        cells[2] = f"**{cells[2]}**"
        lines.append(f"| {label} | {' | '.join(cells)} |")
    lines += ["", f"Average stored Events row: {r['row_bytes']:.0f} bytes of JSON. "
              f"Graph requests in the measured phases: {r['graph']}."]

    t = r.get("telemetry") or {}
    if t.get("executions"):
        n = t["executions"]
        per = {k: v / n for k, v in t["bytes"].items() if k != "Metric platform"}
        lines += ["", f"**Telemetry** (one per-room catch-up round of {n} executions, then one batched period, with "
                  "OpenTelemetry on, the Azure Monitor distro without sampling, exported to a local stand-in of the "
                  "ingestion endpoint). Per-room catch-up: bytes per execution by item type "
                  + ", ".join(f"{k} {v:.0f} B ({t['items'][k] / n:.1f} items)" for k, v in sorted(per.items()))
                  + f"; total {sum(per.values()) / 1024:.1f} KiB per execution."]
        kinds, counts = t.get("batched_by_kind", {}), t.get("batched_executions", {})
        if kinds:
            metric = sum(v for k, v in t["batched_bytes"].items() if k == "Metric roomcal")
            lines[-1] += (" Batched period, logs and spans per execution: " + ", ".join(
                f"{k} {kinds.get(k, 0) / counts[k]:.0f} B" for k in counts if counts.get(k))
                + f" (plus {metric} B of RoomCal metrics for the whole period).")
        lines[-1] += (" Per room per day above: these figures for the catch-up timer, plans and probes; every other "
                      "execution at the per-room catch-up's figure (the same room-changes handler for rounds, "
                      "not measured for doorbells and renewals).")
        lines[-1] += (f" Platform metrics (per instance, not per execution): {t['bytes'].get('Metric platform', 0)} B "
                      "(performance counters are off in shared/telemetry.py). The Functions host's own request "
                      "record per execution is not in these figures.")
    publish("execution_cost", lines)


if __name__ == "__main__":
    main()
