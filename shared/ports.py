"""The ports services depend on. Adapters implement them for Azure; tests use fakes.

Entities are plain dicts with ``PartitionKey`` and ``RowKey``, as Azure Table Storage
keeps them; keys never contain ``/ \\ # ?`` or control characters (see shared/keys.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Protocol

Entity = dict[str, Any]


class TableStore(Protocol):
    def get(self, table: str, partition_key: str, row_key: str) -> Entity:
        """Return one entity; raise shared.errors.NotFound when absent."""

    def upsert(self, table: str, entity: Entity) -> None:
        """Insert or replace (not merge) one entity."""

    def merge(self, table: str, entity: Entity, *, etag: str | None = None) -> None:
        """Merge properties into an existing entity; with ``etag``, only if unchanged
        (raise shared.errors.Conflict otherwise)."""

    def delete(self, table: str, partition_key: str, row_key: str) -> None:
        """Delete one entity; succeed if it is already gone."""

    def query(self, table: str, partition_key: str | None = None, *, filter: str | None = None,
              select: list[str] | None = None) -> Iterator[Entity]:
        """Entities of a partition (or of the table), optionally OData-filtered."""

    def upsert_many(self, table: str, entities: Iterable[Entity]) -> None:
        """Upsert entities, batching per partition where the store allows."""

    def ping(self) -> None:
        """Raise shared.errors.Unavailable when the store cannot be reached."""


class MessageQueue(Protocol):
    def send(self, queue: str, payload: dict, *, delay_seconds: int = 0) -> None:
        """Enqueue one JSON message (the Functions host reads base64)."""

    def ping(self) -> None:
        """Raise shared.errors.Unavailable when the queue service cannot be reached."""


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""


class TokenSource(Protocol):
    def token(self, tenant_id: str) -> str:
        """An app-only Graph token for the tenant; raise AccessDenied (ConsentMissing) when the
        tenant has not consented, or consent was revoked."""

    def roles(self, tenant_id: str) -> list[str]:
        """The application roles (the token's ``roles`` claim) RoomCal holds in that tenant."""
