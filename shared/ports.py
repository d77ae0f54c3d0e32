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

    def insert(self, table: str, entity: Entity) -> None:
        """Insert one entity only if absent; raise shared.errors.Conflict when it exists."""

    def merge(self, table: str, entity: Entity, *, etag: str | None = None) -> str | None:
        """Merge properties into an existing entity; with ``etag``, only if unchanged
        (raise shared.errors.Conflict otherwise). Returns the entity's new etag when known."""

    def delete(self, table: str, partition_key: str, row_key: str) -> None:
        """Delete one entity; succeed if it is already gone."""

    def query(self, table: str, partition_key: str | None = None, *, filter: str | None = None,
              select: list[str] | None = None) -> Iterator[Entity]:
        """Entities of a partition (or of the table), optionally OData-filtered."""

    def upsert_many(self, table: str, entities: Iterable[Entity]) -> None:
        """Upsert entities, batching per partition where the store allows."""

    def delete_many(self, table: str, keys: Iterable[tuple[str, str]]) -> int:
        """Delete (PartitionKey, RowKey) pairs, batching per partition where the store allows;
        rows already gone are fine. Returns how many pairs were handled."""

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
    """App-only Graph tokens per tenant (shared.adapters.entra.TokenProvider)."""

    def __call__(self, tenant_id: str) -> str:
        """Same as ``token``: lets a TokenSource be passed where ``(tenant_id) -> str`` is wanted."""

    def token(self, tenant_id: str) -> str:
        """A valid access token; raise ConsentMissing, ConfigurationError, NotFound or Unavailable."""

    def roles(self, tenant_id: str) -> set[str]:
        """Application permissions granted in the tenant (the token's ``roles`` claim)."""

    def forget(self, tenant_id: str) -> None:
        """Drop the tenant's cached tokens, so the next ``token`` is issued for the grant as it is now."""


class DeltaPageLike(Protocol):
    """One page of a delta round (shared.adapters.graph.DeltaPage): store ``items``, then, on the
    last page, persist ``delta_link``."""

    @property
    def items(self) -> list[dict]: ...

    @property
    def next_link(self) -> str | None: ...

    @property
    def delta_link(self) -> str | None: ...


class GraphPort(Protocol):
    """What services need from Microsoft Graph (shared.adapters.graph.GraphClient; tests: FakeGraph).

    Calendar methods return raw Graph dicts: services pass them through
    shared.sync.privacy.normalise_event before storing, queuing or logging anything.
    Errors: MailboxAccessDenied, MailboxNotFound, NotFound, DeltaTokenExpired, Throttled,
    Unavailable, AccessDenied (see shared/errors.py).
    """

    def list_rooms(self, tenant: str) -> Iterator[dict]: ...

    def get_user(self, tenant: str, email: str) -> dict: ...

    def get_mailbox_time_zone(self, tenant: str, mailbox: str) -> str: ...

    def get_user_department(self, tenant: str, email: str) -> str: ...

    def calendar_view_delta(self, tenant: str, mailbox: str, *, start: datetime | None = None,
                            end: datetime | None = None, delta_link: str | None = None,
                            page_size: int | None = None) -> Iterator[DeltaPageLike]: ...

    def get_event(self, tenant: str, mailbox: str, event_id: str, *, select: Iterable[str] | None = None) -> dict: ...

    def list_calendar_view(self, tenant: str, mailbox: str, start: datetime, end: datetime) -> Iterator[dict]: ...

    def decline_event(self, tenant: str, mailbox: str, event_id: str, comment: str, *,
                      send_response: bool = True) -> None: ...

    def batch(self, tenant: str, requests_: list[dict]) -> list[dict]: ...

    def create_subscription(self, tenant: str, mailbox: str, *, notification_url: str, expiration: datetime,
                            client_state: str, lifecycle_url: str | None = None,
                            change_type: str = "created,updated,deleted", resource: str | None = None) -> dict: ...

    def renew_subscription(self, tenant: str, subscription_id: str, expiration: datetime, *,
                           notification_url: str | None = None) -> dict: ...

    def list_subscriptions(self, tenant: str) -> Iterator[dict]: ...

    def get_subscription(self, tenant: str, subscription_id: str) -> dict: ...

    def delete_subscription(self, tenant: str, subscription_id: str) -> None: ...

    def reauthorize_subscription(self, tenant: str, subscription_id: str) -> None: ...
