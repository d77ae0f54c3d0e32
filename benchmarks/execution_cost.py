"""Function executions, execution time and storage operations per room per day: the inputs of docs/deploy.md's cost
per 1,000 rooms.

RoomCal's handlers run in this process against the emulator (real HTTPS) and Azurite, exactly as in
graph_requests.py, and every execution the Functions host would make is timed:

* **catch-up**: the room-changes execution of one room's 15-minute catch-up hint with nothing changed (96 a day);
* **change**: the notification doorbell's execution for one change, then the room-changes execution it queues;
* **renewal**: the subscription-maintenance execution that renews one room's subscription (once per 4 days).

Also counted per execution: Table Storage operations (each call of the TableStore port is at least one billable
transaction; a query page or a 100-entity batch is one), queue messages sent, RoomCal's own log records and their
bytes (what Application Insights ingests from the app, before the host's own request record), and the stored size of
an Events row. The emulator answers in about a millisecond; real Graph takes longer, so the cost table in
docs/deploy.md adds an assumed Graph round trip per request to the measured time (stated there). Bounded: a
generated office of ``rooms`` rooms, ``rounds`` catch-up rounds, ``changes`` changes. Writes
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
from shared.errors import RoomCalError
from shared.messages import ROOM_CHANGES, SUBSCRIPTION_MAINTENANCE
from shared.sync.catchup import enqueue_catch_up
from tests.fakes import FakeQueue

INSTANCE_GB = 2.048  # Flex Consumption instance memory (infra: instanceMemoryMB 2048), what on-demand GB-s bill


class CountingTables:
    """The TableStore port with a count of calls (≥ 1 billable transaction each)."""

    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, Counter()

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def counted(*args, **kwargs):
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


def main(rooms: int = 16, rounds: int = 3, changes: int = 24) -> dict:
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
        settings = load_settings(environment="development", graph_base_url=f"{sim['base_url']}/v1.0",
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
        row_bytes = _event_row_bytes(tables.inner)
        events = sum(int(tables.inner.get("RoomSync", tid, m).get("event_count") or 0) for m in synced)

        phase[0] = "catchup"
        catchup = _timed_executions(services, queues, tables, meter, rounds, tid, synced)
        phase[0] = "change"
        change = _changes(ControlClient(sim["base_url"], sim["ca_path"]), services, queues, tables, meter, hook,
                          tid, f"bench@{domain}", synced, changes)
        phase[0] = "renewal"
        renewal = _renewals(services, queues, tables, meter, tid, synced)
        phase[0] = "telemetry"
        telemetry = _telemetry(services, queues, tables, meter, tid, synced)
    result = {"rooms": len(synced), "events": events, "row_bytes": row_bytes, "catchup": catchup, "change": change,
              "renewal": renewal, "graph": dict(graph_counts), "telemetry": telemetry}
    _write(result)
    return result


def _measure(run, tables: CountingTables, queues: FakeQueue, meter: LogMeter) -> dict:
    calls, sent, records, size = sum(tables.calls.values()), len(queues.sent), meter.records, meter.bytes
    started = time.perf_counter()
    run()
    return {"s": time.perf_counter() - started, "table_ops": sum(tables.calls.values()) - calls,
            "sent": len(queues.sent) - sent, "logs": meter.records - records, "log_bytes": meter.bytes - size}


def _timed_executions(services, queues, tables, meter, rounds, tid, synced) -> list[dict]:
    samples = []
    for _ in range(rounds):
        enqueue_catch_up(services.tables, queues, services.clock)
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
    """One more catch-up round with OpenTelemetry on (shared.telemetry, the Azure Monitor distro, no sampling),
    exporting to the local ingestion stand-in: bytes Application Insights would ingest per execution."""
    from opentelemetry import _logs, metrics, trace

    from shared import telemetry

    os.environ["APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL"] = "true"  # Microsoft's own SDK statistics: not billed
    with _Ingestion() as sink:
        if not telemetry.configure_from_environment({"APPLICATIONINSIGHTS_CONNECTION_STRING": sink.connection_string}):
            return {}
        samples = _timed_executions(services, queues, tables, meter, 1, tid, synced)
        for provider in (trace.get_tracer_provider(), _logs.get_logger_provider(), metrics.get_meter_provider()):
            provider.force_flush()
            provider.shutdown()
    return {"executions": len(samples), "bytes": dict(sink.bytes), "items": dict(sink.items)}


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
    seconds = [s["s"] for s in samples]
    n = max(1, len(samples))
    return {"n": len(samples), "p50_s": percentile(seconds, 0.5), "p95_s": percentile(seconds, 0.95),
            "mean_s": sum(seconds) / n, "table_ops": sum(s["table_ops"] for s in samples) / n,
            "sent": sum(s["sent"] for s in samples) / n, "logs": sum(s["logs"] for s in samples) / n,
            "log_bytes": sum(s["log_bytes"] for s in samples) / n, "billed_s": sum(_billed(x) for x in seconds) / n}


def _write(r: dict) -> None:
    catchup, change, renewal = _stats(r["catchup"]), _stats(r["change"]), _stats(r["renewal"])
    changes_per_day = 1.15  # benchmarks/results/graph_requests.md: generated bookings, every occurrence a change
    per_day = {"catch-up (room-changes)": (CATCHUPS_PER_DAY, catchup),
               "change: doorbell (notifications)": (changes_per_day, None),
               "change: delta round (room-changes)": (changes_per_day, change),
               "renewal (subscription-maintenance)": (RENEWALS_PER_DAY, renewal)}
    executions = sum(n for n, _ in per_day.values())
    lines = ["# Function executions and execution time per room per day (emulator + Azurite)", "",
             f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {r['rooms']} synced rooms of a generated office "
             f"({r['events']} events), {catchup['n']} catch-up executions, {change['n']} change executions, "
             f"{renewal['n']} renewals; 2 CPUs shared with the emulator and Azurite. Times are wall clock of the "
             "handler in this process against a local emulator (about 1 ms per Graph request); billed time is "
             "Flex Consumption's per-execution minimum of 1 s, rounded up to 100 ms.", "",
             "| execution | per room per day | p50 s | p95 s | billed s | table ops | messages sent | log records "
             "| log bytes |", "|---|---|---|---|---|---|---|---|---|"]
    for label, (n, s) in per_day.items():
        if s is None:
            lines.append(f"| {label} | {n:.2f} | (202 without Graph: see notification_ack.md) | | 1.0 | 1 | 1 "
                         "| 1 | ~150 |")
            continue
        lines.append(f"| {label} | {n:.2f} | {s['p50_s']:.3f} | {s['p95_s']:.3f} | {s['billed_s']:.1f} "
                     f"| {s['table_ops']:.1f} | {s['sent']:.2f} | {s['logs']:.1f} | {s['log_bytes']:.0f} |")
    day_s = sum(n * (s["billed_s"] if s else 1.0) for n, s in per_day.values())
    day_ops = sum(n * (s["table_ops"] if s else 1) for n, s in per_day.values())
    day_log = sum(n * (s["log_bytes"] if s else 150) for n, s in per_day.values())
    lines += ["", f"**Per room per day:** {executions:.1f} executions; {day_s:.1f} billed execution-seconds "
              f"= {day_s * INSTANCE_GB:.0f} GB-s at {INSTANCE_GB} GB if no two executions ever share an instance's "
              f"billed second (the upper bound); {day_ops:.0f} table operations; {day_log / 1024:.1f} KiB of "
              f"RoomCal log text. Average stored Events row: {r['row_bytes']:.0f} bytes of JSON.",
              f"Graph requests in the measured phases: {r['graph']}."]
    t = r.get("telemetry") or {}
    if t.get("executions"):
        n = t["executions"]
        per = {k: v / n for k, v in t["bytes"].items() if k != "Metric platform"}
        lines += ["", f"**Telemetry** (one catch-up round of {n} executions with OpenTelemetry on, the Azure Monitor "
                  "distro without sampling, exported to a local stand-in of the ingestion endpoint): bytes per "
                  "execution by item type " + ", ".join(f"{k} {v:.0f} B ({t['items'][k] / n:.1f} items)"
                                                      for k, v in sorted(per.items()))
                  + f"; total {sum(per.values()) / 1024:.1f} KiB per execution. Platform metrics (per instance, not "
                  f"per execution): {t['bytes'].get('Metric platform', 0)} B (performance counters are off in "
                  "shared/telemetry.py). The Functions host's own request record per execution is not in this figure."]
    publish("execution_cost", lines)


if __name__ == "__main__":
    main()
