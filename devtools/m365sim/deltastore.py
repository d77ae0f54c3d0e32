"""Server-side sync state behind the opaque ``$skiptoken`` / ``$deltatoken`` values.

Like Outlook, tokens live in a capacity-limited cache (oldest evicted first, ``settings.delta_state_capacity``);
a fault can expire them all. A delta token holds the round's end snapshot (instance id → version stamp) and the
change-log stamp it was taken at; a skip token holds the rest of a round being paged.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from .world import World


@dataclass
class SyncState:
    tenant_id: str
    mailbox: str
    start: datetime
    end: datetime
    snapshot: dict[str, int]
    log_stamp: int


@dataclass
class Round:
    state: SyncState  # the window; its snapshot becomes the next delta token's
    items: list[dict]
    offset: int = 0
    tz: str | None = None
    extra: dict = field(default_factory=dict)


class DeltaStore:
    def __init__(self, world: World) -> None:
        self.world = world
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, SyncState | Round] = OrderedDict()
        self._tombstones: OrderedDict[str, SyncState] = OrderedDict()  # expired tokens → their window only
        self.expired_tokens = 0
        self.evicted = 0

    def _put(self, obj: SyncState | Round) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._entries[token] = obj
            while len(self._entries) > self.world.settings.delta_state_capacity:
                self._entries.popitem(last=False)
                self.evicted += 1
        return token

    def put_state(self, state: SyncState) -> str:
        return self._put(state)

    def put_round(self, rnd: Round) -> str:
        return self._put(rnd)

    def get(self, token: str) -> SyncState | Round | None:
        with self._lock:
            return self._entries.get(token)

    def window_of(self, token: str) -> SyncState | None:
        """The window a live or expired token was for (to build a 410's fresh-sync ``Location``)."""
        with self._lock:
            obj = self._entries.get(token) or self._tombstones.get(token)
        return obj.state if isinstance(obj, Round) else obj

    def expire_all(self) -> int:
        with self._lock:
            n = len(self._entries)
            for token, obj in self._entries.items():
                st = obj.state if isinstance(obj, Round) else obj
                self._tombstones[token] = SyncState(st.tenant_id, st.mailbox, st.start, st.end, {}, 0)
            while len(self._tombstones) > self.world.settings.delta_state_capacity:
                self._tombstones.popitem(last=False)
            self._entries.clear()
            self.expired_tokens += n
            return n
