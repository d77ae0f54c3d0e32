"""Azure Table Storage adapter for the TableStore port (azure-data-tables)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from itertools import islice

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.data.tables import TableServiceClient, UpdateMode

from shared.errors import Conflict, NotFound, Unavailable
from shared.ports import Entity

_BATCH_LIMIT = 100  # Table Storage accepts at most 100 operations per transaction


class AzureTableStore:
    def __init__(self, connection_string: str) -> None:
        self._service = TableServiceClient.from_connection_string(connection_string)
        self._clients: dict = {}
        self._lock = threading.Lock()

    def _table(self, name: str):
        with self._lock:
            client = self._clients.get(name)
            if client is None:
                try:
                    self._service.create_table_if_not_exists(name)
                except ResourceExistsError:
                    pass
                except ServiceRequestError as exc:
                    raise Unavailable(f"table storage unreachable: {exc}") from exc
                client = self._service.get_table_client(name)
                self._clients[name] = client
            return client

    def get(self, table: str, partition_key: str, row_key: str) -> Entity:
        try:
            entity = self._table(table).get_entity(partition_key, row_key)
        except ResourceNotFoundError:
            raise NotFound(f"{table} has no row {partition_key}/{row_key}") from None
        return _plain(entity)

    def upsert(self, table: str, entity: Entity) -> None:
        self._table(table).upsert_entity(entity, mode=UpdateMode.REPLACE)

    def insert(self, table: str, entity: Entity) -> None:
        try:
            self._table(table).create_entity(entity)
        except ResourceExistsError:
            raise Conflict(f"{table} already has row {entity['PartitionKey']}/{entity['RowKey']}") from None

    def merge(self, table: str, entity: Entity, *, etag: str | None = None) -> str | None:
        client = self._table(table)
        try:
            if etag is None:
                metadata = client.update_entity(entity, mode=UpdateMode.MERGE)
            else:
                metadata = client.update_entity(
                    entity, mode=UpdateMode.MERGE, etag=etag, match_condition=MatchConditions.IfNotModified
                )
        except ResourceModifiedError:
            raise Conflict(f"{table} row changed concurrently; reload and retry") from None
        except ResourceNotFoundError:
            raise NotFound(f"{table} has no row {entity['PartitionKey']}/{entity['RowKey']}") from None
        return metadata.get("etag") if isinstance(metadata, dict) else None

    def delete(self, table: str, partition_key: str, row_key: str) -> None:
        self._table(table).delete_entity(partition_key, row_key)

    def query(self, table, partition_key=None, *, filter=None, select=None) -> Iterator[Entity]:
        clauses, params = [], {}
        if partition_key is not None:
            clauses.append("PartitionKey eq @pk")
            params["pk"] = partition_key
        if filter:
            clauses.append(f"({filter})")
        client = self._table(table)
        if clauses:
            rows = client.query_entities(" and ".join(clauses), parameters=params, select=select)
        else:
            rows = client.list_entities(select=select)
        for row in rows:
            yield _plain(row)

    def upsert_many(self, table: str, entities: Iterable[Entity]) -> None:
        by_partition: dict[str, list[Entity]] = {}
        for entity in entities:
            by_partition.setdefault(entity["PartitionKey"], []).append(entity)
        client = self._table(table)
        for rows in by_partition.values():
            it = iter(rows)
            while chunk := list(islice(it, _BATCH_LIMIT)):
                client.submit_transaction([("upsert", e, {"mode": UpdateMode.REPLACE}) for e in chunk])

    def ping(self) -> None:
        # A health probe answers fast: one attempt, short connect timeout, no SDK retries.
        try:
            next(iter(self._service.list_tables(results_per_page=1, retry_total=0, connection_timeout=3)), None)
        except AzureError as exc:
            raise Unavailable(f"table storage unreachable: {type(exc).__name__}") from exc


def _plain(entity) -> Entity:
    row = dict(entity)
    etag = getattr(entity, "metadata", {}).get("etag")
    if etag:
        row["_etag"] = etag
    return row
