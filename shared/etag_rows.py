"""Read-change-write of one table row that never overwrites a concurrent change.

Tenants and Rooms rows are written by several parts (the admin API, the sync engine's mirror of
its status, verification), so a replace built from an older read would silently undo another
writer's fields. ``change_row`` reads the row with its etag, lets the caller build the new state,
and writes it as an etag-conditional merge (insert when there is no row), retrying from a fresh
read when another writer got there first. A merge cannot delete a property: fields the model
knows but the new state no longer has are stored as "" (models.from_entity reads "" as unset).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from shared.errors import Conflict, NotFound
from shared.ports import Entity, TableStore

_ATTEMPTS = 10
_KEYS = ("PartitionKey", "RowKey")


def change_row(tables: TableStore, table: str, partition_key: str, row_key: str,
               build: Callable[[Entity | None], Entity | None], *, known: Iterable[str]) -> Entity | None:
    """``build(current row or None)`` returns the row's new entity (or None: leave it); written
    only if the row is still as read. Returns what was written."""
    known = tuple(known)
    for _ in range(_ATTEMPTS):
        try:
            current = tables.get(table, partition_key, row_key)
        except NotFound:
            current = None
        new = build(current)
        if new is None:
            return None
        try:
            _write(tables, table, new, current, known)
            return new
        except (Conflict, NotFound):  # changed (or removed) since we read it: read again
            continue
    raise Conflict(f"{table} row {partition_key}/{row_key} kept changing; retry the request")


def change_model(tables: TableStore, table: str, partition_key: str, row_key: str, model, build: Callable):
    """``change_row`` for a row model (``from_entity``/``to_entity``): ``build(current model or None)`` returns
    its new state (None: no change). Returns the state written, or None."""
    written: dict = {}

    def entity(row: Entity | None) -> Entity | None:
        new = build(None if row is None else model.from_entity(row))
        written["model"] = new
        return None if new is None else new.to_entity()

    change_row(tables, table, partition_key, row_key, entity, known=model.model_fields)
    return written.get("model")


def _write(tables: TableStore, table: str, new: Entity, current: Entity | None, known: tuple[str, ...]) -> None:
    if current is None:
        tables.insert(table, new)
        return
    cleared = {k: "" for k in known if k not in new and current.get(k) not in (None, "")}
    fields = {k: v for k, v in new.items() if not k.startswith("_") and k not in _KEYS}
    tables.merge(table, {"PartitionKey": new["PartitionKey"], "RowKey": new["RowKey"], **fields, **cleared},
                 etag=current.get("_etag"))
