"""Organiser departments for the groups view, read from the directory only when the tenant turned
``directory_reads`` on (Entra permission User.Read.All), and cached.

Only the department name is kept, in table ``Departments`` (PartitionKey tenant, RowKey a keyed hash of the
organiser's address: no address is stored), refreshed after ``MAX_AGE``; a failed read (no permission, not a
person) is remembered as "no department" for a day, so a rebuild does not ask Graph once per meeting.
"""

from __future__ import annotations

from datetime import timedelta

from shared import keys
from shared.errors import NotFound, RoomCalError
from shared.messages import parse_stamp, stamp
from shared.models import RoomEvent
from shared.ports import Clock, GraphPort, TableStore

TABLE = "Departments"
MAX_AGE, FAILED_AGE = timedelta(days=30), timedelta(days=1)


class Departments:
    def __init__(self, tables: TableStore, graph: GraphPort, clock: Clock, *, hash_key: str) -> None:
        self._tables, self._graph, self._clock, self._hash_key = tables, graph, clock, hash_key
        self._memo: dict[tuple[str, str], str] = {}

    def __call__(self, tenant: str, event: RoomEvent) -> str:
        address = (event.organizer or "").lower()
        if not address:
            return ""
        key = keys.keyed_hash(self._hash_key, "department", address)[:32]
        if (tenant, key) in self._memo:
            return self._memo[(tenant, key)]
        department = self._cached(tenant, key)
        if department is None:
            department = self._read(tenant, key, address)
        self._memo[(tenant, key)] = department
        return department

    def _cached(self, tenant: str, key: str) -> str | None:
        try:
            row = self._tables.get(TABLE, tenant, key)
        except NotFound:
            return None
        checked = parse_stamp(row.get("checked_at"))
        age = MAX_AGE if row.get("found") else FAILED_AGE
        if checked is None or self._clock.now() - checked > age:
            return None
        return str(row.get("department") or "")

    def _read(self, tenant: str, key: str, address: str) -> str:
        try:
            department, found = self._graph.get_user_department(tenant, address)[:100], True
        except RoomCalError:
            department, found = "", False
        self._tables.upsert(TABLE, {"PartitionKey": tenant, "RowKey": key, "department": department,
                                    "found": found, "checked_at": stamp(self._clock.now())})
        return department
