"""Fakes of the ports in shared/ports.py: in-memory, inspectable, no mocks."""

from __future__ import annotations

import copy
import itertools
import re
from datetime import UTC, datetime, timedelta

from shared.errors import Conflict, NotFound


class InMemoryTables:
    """TableStore fake: ``rows[table][(pk, rk)] = entity``. Supports the simple OData
    filters services use (``Prop eq/ne/lt/le/gt/ge 'value'`` joined by ``and``)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[tuple[str, str], dict]] = {}
        self._etags = itertools.count(1)

    def _table(self, name):
        return self.rows.setdefault(name, {})

    def get(self, table, partition_key, row_key):
        try:
            return copy.deepcopy(self._table(table)[(partition_key, row_key)])
        except KeyError:
            raise NotFound(f"{table} has no row {partition_key}/{row_key}") from None

    def upsert(self, table, entity):
        row = {k: v for k, v in copy.deepcopy(entity).items() if k != "_etag"}
        row["_etag"] = f"W/{next(self._etags)}"
        self._table(table)[(entity["PartitionKey"], entity["RowKey"])] = row

    def merge(self, table, entity, *, etag=None):
        key = (entity["PartitionKey"], entity["RowKey"])
        current = self._table(table).get(key)
        if current is None:
            raise NotFound(f"{table} has no row {key[0]}/{key[1]}")
        if etag is not None and current["_etag"] != etag:
            raise Conflict(f"{table} row changed concurrently; reload and retry")
        merged = {**current, **{k: v for k, v in copy.deepcopy(entity).items() if k != "_etag"}}
        self.upsert(table, merged)

    def delete(self, table, partition_key, row_key):
        self._table(table).pop((partition_key, row_key), None)

    def query(self, table, partition_key=None, *, filter=None, select=None):
        match = _compile_filter(filter)
        for (pk, _rk), row in sorted(self._table(table).items()):
            if partition_key is not None and pk != partition_key:
                continue
            if match(row):
                out = copy.deepcopy(row)
                yield {k: out[k] for k in (select or out) if k in out} if select else out

    def upsert_many(self, table, entities):
        for entity in entities:
            self.upsert(table, entity)

    def ping(self):
        return None


_CLAUSE = re.compile(r"^\s*(\w+)\s+(eq|ne|lt|le|gt|ge)\s+(?:'((?:[^']|'')*)'|(true|false|-?\d+(?:\.\d+)?))\s*$")
_OPS = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "lt": lambda a, b: a < b,
        "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b}


def _compile_filter(expr):
    if not expr:
        return lambda row: True
    clauses = []
    for part in re.split(r"\s+and\s+", expr.strip().strip("()")):
        m = _CLAUSE.match(part.strip("() "))
        if not m:
            raise ValueError(f"InMemoryTables cannot evaluate filter clause {part!r}")
        prop, op, text, literal = m.groups()
        if text is not None:
            value = text.replace("''", "'")
        elif literal in ("true", "false"):
            value = literal == "true"
        else:
            value = float(literal) if "." in literal else int(literal)
        clauses.append((prop, _OPS[op], value))

    def match(row):
        return all(prop in row and row[prop] is not None and op(row[prop], value) for prop, op, value in clauses)

    return match


class FakeQueue:
    """MessageQueue fake: every message sent is kept in ``sent`` as ``(queue, payload, delay)``."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict, int]] = []

    def send(self, queue, payload, *, delay_seconds=0):
        self.sent.append((queue, copy.deepcopy(payload), delay_seconds))

    def messages(self, queue):
        return [payload for name, payload, _ in self.sent if name == queue]

    def ping(self):
        return None


class FixedClock:
    def __init__(self, at: datetime | None = None) -> None:
        self.at = at or datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    def now(self):
        return self.at

    def advance(self, **delta):
        self.at += timedelta(**delta)


class FakeTokenSource:
    """TokenSource fake: tenants in ``consented`` get a token with ``roles_by_tenant[tid]`` roles;
    any other tenant raises AccessDenied the way Entra refuses an unconsented tenant."""

    def __init__(self, consented=(), roles_by_tenant=None) -> None:
        self.consented = set(consented)
        self.roles_by_tenant = dict(roles_by_tenant or {})
        self.asked: list[str] = []

    def token(self, tenant_id):
        from shared.errors import AccessDenied

        self.asked.append(tenant_id)
        if tenant_id not in self.consented:
            raise AccessDenied(f"tenant {tenant_id} has not consented to RoomCal")
        return f"token-for-{tenant_id}"

    def roles(self, tenant_id):
        self.token(tenant_id)
        return list(self.roles_by_tenant.get(tenant_id, ["Place.Read.All"]))
