"""Azure Table Storage adapter for the TableStore port (azure-data-tables).

``upsert_many`` writes entity group transactions with a lean multipart body of its own: the SDK's
``submit_transaction`` builds every operation as a full HttpRequest, serialises them through
``email`` and a thread pool and parses the answer the same way, which was about 60 % of a sync
worker's CPU. The body is the documented $batch format (one changeset of replace-upserts of one
partition, entity JSON from the SDK's own serialiser), sent through the client's pipeline, so
authentication, retries and the API version are the SDK's. Any answer other than every
operation succeeding is retried once through ``submit_transaction`` (upserts are idempotent),
which raises the SDK's exact error.
https://learn.microsoft.com/rest/api/storageservices/performing-entity-group-transactions
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import uuid
from collections.abc import Iterable, Iterator
from itertools import islice
from urllib.parse import quote

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.core.rest import HttpRequest
from azure.data.tables import TableServiceClient, UpdateMode

try:  # a private helper of the SDK: without it the lean path is off and the SDK's own path writes
    from azure.data.tables._serialize import _add_entity_properties
except ImportError:  # pragma: no cover - depends on the installed SDK
    _add_entity_properties = None

from shared.adapters.sdk_options import STORAGE_CLIENT_OPTIONS
from shared.errors import Conflict, EntityRefused, NotFound, Unavailable
from shared.ports import Entity

_BATCH_LIMIT = 100  # Table Storage accepts at most 100 operations per transaction
_PART_STATUS = re.compile(rb"^HTTP/1\.1 (\d{3})", re.MULTILINE)


class AzureTableStore:
    def __init__(self, connection_string: str = "", *, service: TableServiceClient | None = None) -> None:
        """From a connection string (Azurite, local) or a ready client (identity-based: storage_identity.py)."""
        self._service = service or TableServiceClient.from_connection_string(connection_string,
                                                                                  **STORAGE_CLIENT_OPTIONS)
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
        with _refusals(table):
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
                if not _lean_upserts(client, table, chunk):
                    with _refusals(table):
                        client.submit_transaction([("upsert", e, {"mode": UpdateMode.REPLACE}) for e in chunk])

    def delete_many(self, table: str, keys: Iterable[tuple[str, str]]) -> int:
        """Entity group transactions of up to 100 deletes per partition. A transaction fails whole
        when one row is already gone (404), so such a chunk is deleted row by row instead."""
        by_partition: dict[str, list[str]] = {}
        for partition_key, row_key in keys:
            by_partition.setdefault(partition_key, []).append(row_key)
        client, count = self._table(table), 0
        for partition_key, row_keys in by_partition.items():
            it = iter(row_keys)
            while chunk := list(islice(it, _BATCH_LIMIT)):
                pairs = [(partition_key, rk) for rk in chunk]
                if not _lean_deletes(client, table, pairs):
                    for pk, rk in pairs:
                        self.delete(table, pk, rk)
                count += len(chunk)
        return count

    def ping(self) -> None:
        # A health probe answers fast: one attempt, short connect timeout, no SDK retries.
        try:
            next(iter(self._service.list_tables(results_per_page=1, retry_total=0, connection_timeout=3)), None)
        except AzureError as exc:
            raise Unavailable(f"table storage unreachable: {type(exc).__name__}") from exc


@contextlib.contextmanager
def _refusals(table: str):
    """A 400/413 on a write (a property or entity too large, a bad value) becomes EntityRefused,
    with the service's error code only: its message may quote the refused value."""
    try:
        yield
    except HttpResponseError as exc:
        if exc.status_code not in (400, 413):
            raise
        code = getattr(exc, "error_code", None) or "refused"
        raise EntityRefused(f"table {table} refused a row", detail={"code": str(code)[:64]}) from None


def _lean_upserts(client, table: str, entities: list[Entity]) -> bool:
    """One $batch of replace-upserts (one partition); True when every operation succeeded.

    False means "write these through the SDK instead": any failure, and any change in the SDK's
    private surface this relies on (an attribute gone or renamed), only turns the fast path off.
    """
    if _add_entity_properties is None:
        return False
    try:
        return _send_lean_batch(client, table, entities)
    except (AzureError, AttributeError, TypeError):
        return False


def _lean_deletes(client, table: str, pairs: list[tuple[str, str]]) -> bool:
    """One $batch of deletes (one partition, If-Match: *); True when every one succeeded."""
    try:
        return _send_lean_batch(client, table, [], deletes=pairs)
    except (AzureError, AttributeError, TypeError):
        return False


def _entity_url(base: str, table: str, partition_key: str, row_key: str) -> str:
    pk, rk = (quote(str(k).replace("'", "''"), safe="") for k in (partition_key, row_key))
    return f"{base}/{table}(PartitionKey='{pk}',RowKey='{rk}')"


def _send_lean_batch(client, table: str, entities: list[Entity], *, deletes: list[tuple[str, str]] = ()) -> bool:
    base = f"{client.scheme}://{client._primary_hostname}"
    batch, changeset = f"batch_{uuid.uuid4()}", f"changeset_{uuid.uuid4()}"
    parts = [f"--{batch}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n"]
    for entity in entities:
        parts.append(
            f"--{changeset}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            f"PUT {_entity_url(base, table, entity['PartitionKey'], entity['RowKey'])} HTTP/1.1\r\n"
            "Content-Type: application/json\r\nAccept: application/json;odata=minimalmetadata\r\n"
            "DataServiceVersion: 3.0\r\n\r\n"
            f"{json.dumps(_add_entity_properties(entity), separators=(',', ':'))}\r\n")
    for partition_key, row_key in deletes:
        parts.append(
            f"--{changeset}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            f"DELETE {_entity_url(base, table, partition_key, row_key)} HTTP/1.1\r\n"
            "Accept: application/json;odata=minimalmetadata\r\nIf-Match: *\r\nDataServiceVersion: 3.0\r\n\r\n")
    parts.append(f"--{changeset}--\r\n--{batch}--\r\n")
    request = HttpRequest("POST", f"{base}/$batch", content="".join(parts).encode("utf-8"), headers={
        "x-ms-version": client.api_version, "DataServiceVersion": "3.0", "MaxDataServiceVersion": "3.0;NetFx",
        "Content-Type": f"multipart/mixed; boundary={batch}", "Accept": "application/json"})
    response = client._client.send_request(request, stream=True)  # a multipart answer: read it raw
    content = response.read()
    if response.status_code != 202:
        return False
    statuses = _PART_STATUS.findall(content)
    return len(statuses) == len(entities) + len(deletes) and all(s.startswith(b"2") for s in statuses)


def _plain(entity) -> Entity:
    row = dict(entity)
    etag = getattr(entity, "metadata", {}).get("etag")
    if etag:
        row["_etag"] = etag
    return row
