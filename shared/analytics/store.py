"""Where room-day aggregates live: one frame per (tenant, dataset, month), two layouts behind one interface.

``AggregateStore`` is what aggregation writes and queries read. Months are ``YYYY-MM`` of the room-local day.

* ``ParquetAggregateStore`` (chosen, see docs/analytics.md for the measurements): one Parquet file per
  tenant, dataset and month in Blob Storage (``<dataset>/<tenant>/<YYYY-MM>.parquet``), read whole and
  queried in-process with polars; Power BI and Fabric read the same files. Partial updates rewrite the month
  under the blob's ETag (optimistic concurrency, retried).
* ``PackedTableAggregateStore`` (measured, rejected): Table Storage, one entity per room and month
  (PartitionKey ``<tenant>|<dataset>|<YYYY-MM>``, RowKey room), the room's daily vectors packed as compressed
  Arrow IPC bytes in binary properties of at most 64 KiB each.
"""

from __future__ import annotations

import io
import threading
import zlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import polars as pl

from shared import keys
from shared.analytics import frames
from shared.errors import Conflict, NotFound, Unavailable
from shared.ports import TableStore

_READ_THREADS = 8
DATASETS = ("bookings", "occupancy")  # occupancy: the sensor sibling of bookings (issue 11), same keys


class AggregateStore(Protocol):
    def read(self, tenant: str, dataset: str, months: Sequence[str],
             columns: Sequence[str] | None = None) -> pl.DataFrame:
        """All rows of those months, concatenated (an empty frame when none are stored); only ``columns``
        when given (a query that needs a few columns reads only those where the layout allows)."""

    def write_month(self, tenant: str, dataset: str, month: str, frame: pl.DataFrame) -> None:
        """Replace the whole month with ``frame`` (the full rebuild)."""

    def replace_rooms(self, tenant: str, dataset: str, month: str, rooms: Iterable[str],
                      frame: pl.DataFrame) -> None:
        """Replace only the rows of ``rooms`` in that month by ``frame``'s (an incremental update)."""

    def months(self, tenant: str, dataset: str) -> list[str]:
        """Months stored for the tenant, ascending."""

    def delete_tenant(self, tenant: str) -> None:
        """Remove every aggregate of the tenant (offboarding)."""


class BlobPort(Protocol):
    """The little of Blob Storage the Parquet layout needs (shared.adapters.blobs; tests: MemoryBlobs)."""

    def get(self, name: str) -> tuple[bytes, str]:
        """Content and ETag; raise NotFound when absent."""

    def put(self, name: str, data: bytes, *, etag: str | None = None, if_absent: bool = False) -> str:
        """Write; with ``etag`` only if unchanged, with ``if_absent`` only if new (Conflict otherwise)."""

    def list(self, prefix: str) -> list[str]:
        """Names under ``prefix``, ascending."""

    def etags(self, prefix: str) -> dict[str, str]:
        """Name → ETag of the blobs under ``prefix`` (one listing request)."""

    def delete(self, name: str) -> None:
        """Delete; succeed when already gone."""


def _parquet(frame: pl.DataFrame) -> bytes:
    out = io.BytesIO()
    frames.sort(frame).write_parquet(out, compression="zstd", statistics=False)
    return out.getvalue()


class ParquetAggregateStore:
    """Months already read stay parsed in memory, keyed by ETag: a read lists the tenant's months once and
    downloads only those that changed since (bounded by ``cache_rows``)."""

    def __init__(self, blobs: BlobPort, *, retries: int = 8, cache_rows: int = 500_000) -> None:
        self._blobs, self._retries, self._cache_rows = blobs, retries, cache_rows
        self._cache: dict[str, tuple[str, pl.DataFrame]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def name(tenant: str, dataset: str, month: str) -> str:
        return f"{dataset}/{tenant}/{month}.parquet"

    def _get(self, name: str, columns: Sequence[str] | None = None) -> tuple[pl.DataFrame, str | None]:
        dataset = name.split("/", 1)[0]
        try:
            data, etag = self._blobs.get(name)
        except NotFound:
            return frames.empty(columns, dataset), None
        return frames.conform(pl.read_parquet(io.BytesIO(data), columns=list(columns) if columns else None),
                              columns, dataset), etag

    def read(self, tenant: str, dataset: str, months: Sequence[str],
             columns: Sequence[str] | None = None) -> pl.DataFrame:
        names = [self.name(tenant, dataset, m) for m in months]
        current = self._blobs.etags(f"{dataset}/{tenant}/")
        with ThreadPoolExecutor(min(_READ_THREADS, max(1, len(names)))) as pool:
            parts = list(pool.map(lambda n: self._cached(n, current.get(n)), names))
        found = [p if not columns else p.select(list(columns)) for p in parts if p is not None]
        return pl.concat(found, how="vertical") if found else frames.empty(columns, dataset)

    def _cached(self, name: str, etag: str | None) -> pl.DataFrame | None:
        if etag is None:
            return None
        with self._lock:
            hit = self._cache.get(name)
        if hit is not None and hit[0] == etag:
            return hit[1]
        frame, got = self._get(name)
        with self._lock:
            self._cache[name] = (got or etag, frame)
            while sum(f.height for _, f in self._cache.values()) > self._cache_rows and len(self._cache) > 1:
                self._cache.pop(next(iter(self._cache)))
        return frame

    def forget_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def write_month(self, tenant: str, dataset: str, month: str, frame: pl.DataFrame) -> None:
        self._blobs.put(self.name(tenant, dataset, month), _parquet(frames.conform(frame, dataset=dataset)))

    def replace_rooms(self, tenant, dataset, month, rooms, frame) -> None:
        rooms, name = set(rooms), self.name(tenant, dataset, month)
        for _ in range(self._retries):
            current, etag = self._get(name)
            kept = current.filter(~pl.col("room").is_in(list(rooms))) if current.height else current
            merged = pl.concat([kept, frames.conform(frame, dataset=dataset)], how="vertical_relaxed")
            try:
                self._blobs.put(name, _parquet(merged), etag=etag, if_absent=etag is None)
                return
            except Conflict:
                continue  # someone else rewrote the month meanwhile: merge into theirs
        raise Unavailable(f"aggregates of {month} kept changing under {self._retries} attempts",
                          detail={"tenant": tenant, "month": month})

    def months(self, tenant: str, dataset: str) -> list[str]:
        prefix = f"{dataset}/{tenant}/"
        return sorted(n[len(prefix):-len(".parquet")] for n in self._blobs.list(prefix) if n.endswith(".parquet"))

    def delete_tenant(self, tenant: str) -> None:
        for dataset in DATASETS:
            for month in self.months(tenant, dataset):
                self._blobs.delete(self.name(tenant, dataset, month))


TABLE = "RoomMonthly"
_CHUNK = 60 * 1024  # a binary property holds at most 64 KiB


class PackedTableAggregateStore:
    def __init__(self, tables: TableStore) -> None:
        self._tables = tables

    @staticmethod
    def partition(tenant: str, dataset: str, month: str) -> str:
        return keys.check_key(f"{tenant}|{dataset}|{month}")

    @staticmethod
    def _pack(frame: pl.DataFrame) -> dict:
        out = io.BytesIO()
        frame.drop("room").write_ipc(out, compression="uncompressed")
        data = zlib.compress(out.getvalue(), 6)
        return {f"v{i}": data[k:k + _CHUNK] for i, k in enumerate(range(0, len(data), _CHUNK))}

    @staticmethod
    def _unpack(entity: dict, dataset: str) -> pl.DataFrame:
        data = b"".join(entity[f"v{i}"] for i in range(len([k for k in entity if k[:1] == "v" and k[1:].isdigit()])))
        frame = pl.read_ipc(io.BytesIO(zlib.decompress(data)))
        return frames.conform(frame.with_columns(pl.lit(entity["RowKey"]).alias("room")), dataset=dataset)

    def _entities(self, tenant, dataset, month, frame: pl.DataFrame) -> list[dict]:
        pk = self.partition(tenant, dataset, month)
        conformed = frames.sort(frames.conform(frame, dataset=dataset))
        return [{"PartitionKey": pk, "RowKey": keys.check_key(room), **self._pack(part)}
                for (room,), part in conformed.group_by("room", maintain_order=True)]

    def _read_month(self, args) -> pl.DataFrame | None:
        tenant, dataset, month = args
        rows = list(self._tables.query(TABLE, self.partition(tenant, dataset, month)))
        return pl.concat([self._unpack(r, dataset) for r in rows]) if rows else None

    def read(self, tenant: str, dataset: str, months: Sequence[str],
             columns: Sequence[str] | None = None) -> pl.DataFrame:
        with ThreadPoolExecutor(min(_READ_THREADS, max(1, len(months)))) as pool:
            parts = [p for p in pool.map(self._read_month, [(tenant, dataset, m) for m in months]) if p is not None]
        if not parts:
            return frames.empty(columns, dataset)
        frame = frames.sort(pl.concat(parts))
        return frame.select(list(columns)) if columns else frame

    def write_month(self, tenant: str, dataset: str, month: str, frame: pl.DataFrame) -> None:
        entities = self._entities(tenant, dataset, month, frame)
        stored = {e["RowKey"] for e in self._tables.query(TABLE, self.partition(tenant, dataset, month),
                                                           select=["RowKey"])}
        self._tables.upsert_many(TABLE, entities)
        for gone in stored - {e["RowKey"] for e in entities}:
            self._tables.delete(TABLE, self.partition(tenant, dataset, month), gone)

    def replace_rooms(self, tenant, dataset, month, rooms, frame) -> None:
        entities = self._entities(tenant, dataset, month, frame)
        self._tables.upsert_many(TABLE, entities)
        for gone in set(rooms) - {e["RowKey"] for e in entities}:
            self._tables.delete(TABLE, self.partition(tenant, dataset, month), gone)

    def months(self, tenant: str, dataset: str) -> list[str]:
        prefix = f"{tenant}|{dataset}|"
        found = {e["PartitionKey"][len(prefix):] for e in self._tables.query(
            TABLE, filter=f"PartitionKey ge '{prefix}' and PartitionKey lt '{prefix}~'", select=["PartitionKey"])}
        return sorted(found)

    def delete_tenant(self, tenant: str) -> None:
        for dataset in DATASETS:
            for month in self.months(tenant, dataset):
                pk = self.partition(tenant, dataset, month)
                for e in list(self._tables.query(TABLE, pk, select=["RowKey"])):
                    self._tables.delete(TABLE, pk, e["RowKey"])


class MemoryBlobs:
    """BlobPort in memory (tests, and the benchmarks' baseline): ETags are counters."""

    def __init__(self) -> None:
        self.blobs: dict[str, tuple[bytes, str]] = {}
        self._n = 0

    def get(self, name: str) -> tuple[bytes, str]:
        if name not in self.blobs:
            raise NotFound(f"blob {name} not found")
        return self.blobs[name]

    def put(self, name: str, data: bytes, *, etag: str | None = None, if_absent: bool = False) -> str:
        current = self.blobs.get(name)
        if (if_absent and current is not None) or (etag is not None and (current is None or current[1] != etag)):
            raise Conflict(f"blob {name} changed")
        self._n += 1
        self.blobs[name] = (bytes(data), str(self._n))
        return str(self._n)

    def list(self, prefix: str) -> list[str]:
        return sorted(n for n in self.blobs if n.startswith(prefix))

    def etags(self, prefix: str) -> dict[str, str]:
        return {n: self.blobs[n][1] for n in self.list(prefix)}

    def delete(self, name: str) -> None:
        self.blobs.pop(name, None)
