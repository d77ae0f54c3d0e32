"""Analytics at 1,000 rooms x 365 days on Azurite: the two storage layouts side by side.

Set-up (not timed): a tenant of 1,000 rooms in 5 buildings and a year of room-day aggregates with realistic
values (synthesised directly as aggregates: writing a year of Events for 1,000 rooms to Azurite would take this
machine most of an hour), written once in each layout:

* ``parquet``: one Parquet file per tenant and month in Blob Storage, read whole and queried with polars;
* ``table``: one Table entity per room and month with the daily vectors packed (compressed Arrow IPC).

Timed, per layout: writing the year; the rooms endpoint and the summary over the full year and over one month
of one building (p50/p95 of ``REPEATS`` runs each, in-process through the same service the HTTP trigger calls,
Rooms and AnalyticsRooms rows read from Azurite tables each time; parquet warm and cold); a full rebuild of a
tenant of ``EVENT_ROOMS`` rooms from real Events rows with a year of bookings each (Azurite read + computation +
write), extrapolated to 1,000 rooms; one room's incremental update after a moved event (Events on Azurite →
recompute of the changed months → rewrite of the 1,000-room month); the CPU-only computation rate. Peak memory
is the process's peak RSS.
Writes benchmarks/results/analytics.md.
"""

from __future__ import annotations

import random
import resource
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from benchmarks.report import percentile, publish
from devtools.azurite import Azurite
from shared import keys
from shared.adapters.blobs import AzureBlobs
from shared.adapters.tables import AzureTableStore
from shared.analytics import frames
from shared.analytics import room_day as rd
from shared.analytics.aggregation import STATE, Aggregation, months_between
from shared.analytics.definitions import Rules
from shared.analytics.queries import Analytics, AnalyticsQuery
from shared.analytics.store import PackedTableAggregateStore, ParquetAggregateStore
from shared.messages import stamp
from shared.models import Attendee, Room, RoomEvent, Tenant, TenantSettings
from tests.fakes import FixedClock

TENANT = "5e0b6c55-9b2e-4c3a-8f43-1a2b3c4d5e6f"
ROOMS, DAYS, REPEATS, EVENT_ROOMS = 1000, 365, 10, 10
BUILDINGS = [("Amstel", "Europe/Amsterdam"), ("Thames", "Europe/London"), ("Spree", "Europe/Berlin"),
             ("Hudson", "America/New_York"), ("Zuidas", "Europe/Amsterdam")]
FIRST = date(2025, 12, 1)
LAST = FIRST + timedelta(days=DAYS - 1)
NOW = datetime.combine(LAST, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
HASH_KEY = "b" * 32


def _rooms() -> list[Room]:
    return [Room(tenant_id=TENANT, email=f"room-{i:04d}@bench.example.com", display_name=f"Room {i}",
                 capacity=random.Random(i).choice([2, 4, 6, 8, 10, 12, 16, 20]), building=BUILDINGS[i % 5][0],
                 floor=str(i // 5 % 8), sync_status="synced", last_full_sync_at=NOW) for i in range(ROOMS)]


def _events(room: str, zone: ZoneInfo, rng: random.Random) -> list[RoomEvent]:
    """A year of bookings of one room: about five meetings per working day, 30-120 minutes, some overlaps."""
    out, popularity = [], rng.uniform(0.1, 0.8)
    day = FIRST
    while day <= LAST:
        if day.weekday() < 5:
            for _ in range(int(popularity * 8)):
                start = datetime.combine(day, datetime.min.time(), tzinfo=zone) + timedelta(
                    hours=rng.randint(8, 17), minutes=rng.choice([0, 30]))
                start = start.astimezone(UTC)
                people = [Attendee(address=f"p{rng.randint(0, 3000)}@bench.example.com", type="required")
                          for _ in range(rng.randint(1, 8))]
                out.append(RoomEvent(
                    tenant_id=TENANT, room_email=room, row_key=keys.keyed_hash(HASH_KEY, room, str(len(out))),
                    start_utc=start, end_utc=start + timedelta(minutes=rng.choice([30, 60, 90, 120])),
                    created_utc=start - timedelta(minutes=rng.choice([5, 60, 600, 3000, 20000])),
                    organizer=people[0].address, attendees=people, room_response="accepted",
                    is_cancelled=rng.random() < 0.04))
        day += timedelta(days=1)
    return out


def _synthetic_frame(rooms: list[Room], prototypes: int = 40) -> pl.DataFrame:
    """A year of aggregates for every room, with the spread a real office has: ``prototypes`` room-years made
    in Python (popularity 5-85 %), each room one of them; organisers drawn from 3,000 people."""
    rng, cols = random.Random(7), {name: [] for name in frames.SCHEMA if name != "room"} | {"proto": []}
    for proto in range(prototypes):
        popularity = 0.05 + 0.8 * proto / max(1, prototypes - 1)
        day = FIRST
        while day <= LAST:
            work = day.weekday() < 5
            available = 36000 if work else 0
            n = rng.randint(0, int(popularity * 8)) if work else 0
            booked = min(available, n * rng.choice([1800, 3600, 5400]))
            adhoc = sum(rng.random() < 0.2 for _ in range(n))
            for name, value in (("proto", proto), ("day", day), ("available_seconds", available),
                                ("booked_seconds", booked), ("meetings", n), ("ad_hoc_meetings", adhoc),
                                ("all_day_meetings", 0), ("lead_buckets", [adhoc, 0, n - adhoc, 0, 0]),
                                ("sizes", sorted(rng.randint(1, 12) for _ in range(n))),
                                ("organisers", sorted({rng.getrandbits(64) % 3000 for _ in range(n)})),
                                ("hour_available", [3600 if work and 8 <= h < 18 else 0 for h in range(24)]),
                                ("hour_booked", [min(3600, booked // 10) if work and 8 <= h < 18 else 0
                                                 for h in range(24)]),
                                ("groups", [{"domain": "bench.example.com", "department": "", "meetings": n,
                                             "booked_seconds": booked}] if n else [])):
                cols[name].append(value)
            day += timedelta(days=1)
    base = pl.DataFrame(cols, schema={**{k: v for k, v in frames.SCHEMA.items() if k != "room"}, "proto": pl.Int64})
    assign = pl.DataFrame({"room": [r.email for r in rooms], "proto": [i % prototypes for i in range(len(rooms))]})
    year = assign.join(base, on="proto").drop("proto")  # organisers: a pool of 3,000 people across rooms
    return frames.conform(frames.sort(year))


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, Azurite(log_file=Path(tmp) / "azurite.log") as azurite:
        conn = azurite.connection_string
        tables = AzureTableStore(conn)
        settings = TenantSettings(backfill_days=365, retention_days=400, lookahead_days=30)
        tables.upsert("Tenants", Tenant(id=TENANT, status="active", settings=settings, created_at=NOW,
                                        updated_at=NOW).to_entity())
        rooms = _rooms()
        tables.upsert_many("Rooms", [r.to_entity() for r in rooms])
        covered = {"covered_from": stamp(NOW - timedelta(days=400)), "covered_to": stamp(NOW + timedelta(days=30))}
        tables.upsert_many(STATE, [{"PartitionKey": TENANT, "RowKey": r.email, "time_zone": BUILDINGS[i % 5][1],
                                    "time_zone_source": "mailbox", **covered} for i, r in enumerate(rooms)])
        year = _synthetic_frame(rooms)
        months = months_between(FIRST, LAST)
        stores = {"parquet": ParquetAggregateStore(AzureBlobs(conn, "analytics-bench")),
                  "table": PackedTableAggregateStore(tables)}
        results: dict[str, dict] = {}
        clock = FixedClock(NOW)
        for name, store in stores.items():
            r = results[name] = {}
            r["write_s"] = _timed(lambda store=store: [
                store.write_month(TENANT, rd.DATASET, m, year.filter(pl.col("day").dt.strftime("%Y-%m") == m))
                for m in months])
            service = Analytics(tables, store, clock)
            cases = {"rooms, full year": ("rooms", AnalyticsQuery(**{"from": str(FIRST), "to": str(LAST)})),
                     "summary, full year": ("summary", AnalyticsQuery(**{"from": str(FIRST), "to": str(LAST)})),
                     "rooms, 1 month x 1 building": ("rooms", AnalyticsQuery(**{
                         "from": "2026-06-01", "to": "2026-06-30", "building": "Thames"})),
                     "summary, 1 month x 1 building": ("summary", AnalyticsQuery(**{
                         "from": "2026-06-01", "to": "2026-06-30", "building": "Thames"}))}
            for kind, query in cases.values():  # warm: connections, imports, and (parquet) the parsed months
                (service.rooms if kind == "rooms" else service.summary)(TENANT, query)
            for case, (kind, query) in cases.items():
                call = service.rooms if kind == "rooms" else service.summary
                warm = [_timed(lambda call=call, query=query: call(TENANT, query)) for _ in range(REPEATS)]
                cold = []
                for _ in range(REPEATS if name == "parquet" else 0):
                    store.forget_cache()
                    cold.append(_timed(lambda call=call, query=query: call(TENANT, query)))
                r[case] = (percentile(warm, 0.5), percentile(warm, 0.95))
                r[case + " cold"] = (percentile(cold, 0.5), percentile(cold, 0.95)) if cold else r[case]
            check = service.summary(TENANT, cases["summary, full year"][1])["totals"]
            r["rooms_answered"] = check["rooms"]
        results["parquet"]["bytes"] = sum(len(stores["parquet"]._blobs.get(
            ParquetAggregateStore.name(TENANT, rd.DATASET, m))[0]) for m in months)
        rss_queries = _rss_mb()

        # full rebuild from real Events rows on Azurite: a tenant of EVENT_ROOMS rooms with a year of bookings
        small = "6f1c7d66-0c3f-4d4b-9a54-2b3c4d5e6f70"
        tables.upsert("Tenants", Tenant(id=small, status="active", settings=settings, created_at=NOW,
                                        updated_at=NOW).to_entity())
        rng = random.Random(3)
        small_rooms = [r.model_copy(update={"tenant_id": small}) for r in rooms[:EVENT_ROOMS]]
        tables.upsert_many("Rooms", [r.to_entity() for r in small_rooms])
        n_events = 0
        for i, room in enumerate(small_rooms):
            evs = [e.model_copy(update={"tenant_id": small})
                   for e in _events(room.email, ZoneInfo(BUILDINGS[i % 5][1]), rng)]
            tables.upsert_many("Events", [e.to_entity() for e in evs])
            n_events += len(evs)
        # the big tenant's first room gets a year of Events too, for the incremental update
        big_events = _events(rooms[0].email, ZoneInfo(BUILDINGS[0][1]), random.Random(11))
        tables.upsert_many("Events", [e.to_entity() for e in big_events])
        for name, store in stores.items():
            r = results[name]
            agg = Aggregation(tables, store, clock, hash_key=HASH_KEY)
            built = agg.rebuild(small)
            r["rebuild_small_s"] = _timed(lambda agg=agg: agg.rebuild(small))
            r["rebuild_rate"] = built["room_days"] / r["rebuild_small_s"]
            r["rebuild_1000_s"] = r["rebuild_small_s"] * ROOMS / EVENT_ROOMS + r["write_s"]
            agg.refresh_room(TENANT, rooms[0].email)  # its months now hold its real bookings
            lat = []
            for k in range(5):
                event = big_events[40 + k]
                moved = event.model_copy(update={"start_utc": event.start_utc + timedelta(minutes=30),
                                                 "end_utc": event.end_utc + timedelta(minutes=30)})
                tables.upsert("Events", moved.to_entity())
                lat.append(_timed(lambda agg=agg: agg.refresh_room(TENANT, rooms[0].email)))
            r["incremental"] = (percentile(lat, 0.5), max(lat))
        # CPU-only computation (events generated in memory, one room at a time)
        rules = Rules.from_settings(settings)
        cpu_rooms, t_cpu = 50, 0.0
        for i in range(cpu_rooms):
            evs = _events(f"cpu{i}@bench.example.com", ZoneInfo(BUILDINGS[i % 5][1]), random.Random(i))
            t0 = time.perf_counter()
            frames.to_frame(rd.compute_room_days(f"cpu{i}@bench.example.com", evs, ZoneInfo(BUILDINGS[i % 5][1]),
                                                 FIRST, LAST, rules, hash_key=HASH_KEY))
            t_cpu += time.perf_counter() - t0
        cpu_rate = cpu_rooms * DAYS / t_cpu
        rss_all = _rss_mb()

    lines = [
        "# Analytics: 1,000 rooms x 365 days, two storage layouts",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on this machine (2 shared cores), Azurite in memory; "
        f"{REPEATS} runs per query (nearest-rank p50/p95), in-process through the service the HTTP trigger calls. "
        "Reference: p95 < 1 s for the full-year rooms endpoint and summary.",
        "",
        "| figure | parquet (Blob, chosen) | table (packed rows) |",
        "|---|---|---|",
    ]
    for case in ("rooms, full year", "summary, full year", "rooms, 1 month x 1 building",
                 "summary, 1 month x 1 building"):
        p, pc, t = results["parquet"][case], results["parquet"][case + " cold"], results["table"][case]
        lines.append(f"| {case}: p50 / p95 | {p[0] * 1000:.0f} / {p[1] * 1000:.0f} ms (cold: {pc[0] * 1000:.0f} / "
                     f"{pc[1] * 1000:.0f} ms) | {t[0] * 1000:.0f} / {t[1] * 1000:.0f} ms |")
    P, T = results["parquet"], results["table"]
    lines += [
        f"| write a year of aggregates ({len(months)} months) | {P['write_s']:.1f} s | {T['write_s']:.1f} s |",
        f"| stored size of the year | {P['bytes'] / 1e6:.1f} MB ({len(months)} blobs) | "
        f"{ROOMS * len(months):,} entities |",
        f"| full rebuild, {EVENT_ROOMS} rooms x {len(months)} months from {n_events:,} Events on Azurite | "
        f"{P['rebuild_small_s']:.1f} s ({P['rebuild_rate']:,.0f} room-days/s) | "
        f"{T['rebuild_small_s']:.1f} s ({T['rebuild_rate']:,.0f} room-days/s) |",
        f"| full rebuild, 1,000 rooms (extrapolated: the above x {ROOMS // EVENT_ROOMS} + the year's write) | "
        f"{P['rebuild_1000_s']:.0f} s | {T['rebuild_1000_s']:.0f} s |",
        f"| incremental: one moved event → its room's months recomputed and rewritten (p50 / max of 5) | "
        f"{P['incremental'][0] * 1000:.0f} / {P['incremental'][1] * 1000:.0f} ms | "
        f"{T['incremental'][0] * 1000:.0f} / {T['incremental'][1] * 1000:.0f} ms |",
        f"| rooms answered (check) | {P['rooms_answered']} | {T['rooms_answered']} |",
        "",
        f"* Computation alone (CPU, no storage): {cpu_rate:,.0f} room-days/s, so 365,000 room-days take "
        f"{ROOMS * DAYS / cpu_rate:.0f} s of one core.",
        "* parquet keeps the months it has parsed, keyed by ETag: a query lists the tenant's months (one request) "
        "and downloads only changed ones; 'cold' clears that cache before every run.",
        "* Incremental latency from a change to its aggregate adds the sync's mark delay "
        "(5 s, so a burst of pages makes one recompute) to the figure above.",
        f"* Peak RSS of the benchmark process: {rss_queries:.0f} MB after the query runs (this includes the "
        f"synthesised year and both layouts' data in memory), {rss_all:.0f} MB at the end.",
    ]
    publish("analytics", lines)
