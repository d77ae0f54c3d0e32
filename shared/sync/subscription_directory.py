"""Table ``Subscriptions``: which tenant and room a Graph subscription belongs to, and the
sha256 of its clientState (the clientState itself is never stored).

    PartitionKey "sub" · RowKey subscription id ·
    tenant_id, room_email, client_state_hash (sha256 hex), expires_at (UTC)

Reads go through a short in-process cache so that a burst of notifications reads the table
at most once per subscription per TTL, even when many threads ask at the same moment.
Unknown ids are cached too (briefly), so a flood of forged ids cannot hammer the table.
The cache is a bounded LRU: past _MAX_CACHED entries the least recently used one goes, so a
flood of forged ids evicts only other cold entries, never the whole cache at once.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from pydantic import ValidationError

from shared.errors import NotFound
from shared.models import SubscriptionRecord
from shared.ports import TableStore

TABLE = "Subscriptions"
PARTITION = "sub"
_MAX_CACHED = 20_000  # bounds memory under a flood of forged subscription ids
NOT_CACHED = object()  # lookup(read=False) found nothing in the cache: not known either way


def client_state_matches(record: SubscriptionRecord, client_state: object) -> bool:
    """Constant-time comparison of the hash of a notification's clientState with the stored one."""
    if not isinstance(client_state, str):
        return False
    return hmac.compare_digest(hash_client_state(client_state), record.client_state_hash)


def hash_client_state(client_state: str) -> str:
    return hashlib.sha256(client_state.encode("utf-8")).hexdigest()


def _from_entity(row: dict) -> SubscriptionRecord | None:
    try:
        return SubscriptionRecord.from_entity(row)
    except ValidationError:
        return None  # an unreadable row authenticates nothing


class SubscriptionDirectory:
    """Cached lookups of subscription rows; ``forget`` after writing one."""

    def __init__(self, tables: TableStore, *, ttl_seconds: float = 60.0, unknown_ttl_seconds: float = 5.0,
                 monotonic: Callable[[], float] = time.monotonic, max_cached: int = _MAX_CACHED) -> None:
        self._tables = tables
        self._ttl = ttl_seconds
        self._unknown_ttl = unknown_ttl_seconds
        self._monotonic = monotonic
        self._max_cached = max_cached
        self._cache: OrderedDict[str, tuple[float, SubscriptionRecord | None]] = OrderedDict()
        self._key_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def lookup(self, subscription_id: str, *, read: bool = True):
        """The row's record, None for an unknown id; with ``read=False`` no table read: NOT_CACHED when
        the cache does not know."""
        hit = self._cached(subscription_id)
        if hit is not None:
            return hit[1]
        if not read:
            return NOT_CACHED
        with self._lock_for(subscription_id):
            hit = self._cached(subscription_id)  # another thread may have read it meanwhile
            if hit is not None:
                return hit[1]
            record = self._read(subscription_id)
            ttl = self._ttl if record else self._unknown_ttl
            with self._lock:
                self._cache[subscription_id] = (self._monotonic() + ttl, record)
                self._cache.move_to_end(subscription_id)
                while len(self._cache) > self._max_cached:
                    self._cache.popitem(last=False)
                self._key_locks.pop(subscription_id, None)
            return record

    def save(self, record: SubscriptionRecord) -> None:
        self._tables.upsert(TABLE, record.to_entity())
        self.forget(record.id)

    def remove(self, subscription_id: str) -> None:
        self._tables.delete(TABLE, PARTITION, subscription_id)
        self.forget(subscription_id)

    def forget(self, subscription_id: str) -> None:
        with self._lock:
            self._cache.pop(subscription_id, None)

    def _cached(self, subscription_id: str) -> tuple[float, SubscriptionRecord | None] | None:
        with self._lock:
            hit = self._cache.get(subscription_id)
            if hit is not None and hit[0] > self._monotonic():
                self._cache.move_to_end(subscription_id)
                return hit
            return None

    def _lock_for(self, subscription_id: str) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(subscription_id, threading.Lock())

    def _read(self, subscription_id: str) -> SubscriptionRecord | None:
        try:
            return _from_entity(self._tables.get(TABLE, PARTITION, subscription_id))
        except NotFound:
            return None
