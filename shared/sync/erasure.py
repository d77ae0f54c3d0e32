"""Erased people (GDPR art. 17): their addresses become a stable pseudonym in Events rows.

Table ``Erasures``: PartitionKey tenant id, RowKey ``person_hash`` (a keyed hash of tenant and
address; the address itself is never stored), ``pseudonym``, ``erased_at``. The pseudonym is
derived from that hash, so the same person always gets the same one and counts (attendees,
distinct organisers) stay right.

* Normalisation consults the tenant's registry on every page (``Pseudonyms``), so a later delta
  of a meeting the person is in cannot bring the address back.
* ``rewrite_room`` (queue ``person-erasure``, one message per room, no address in it) rewrites the
  room's existing rows: organiser and attendees whose address hashes to the erased person. It
  is idempotent and each row is merged only if unchanged since read (etag).
* During a hash-key rotation (docs/key-rotation.md) a match under the previous key also writes
  the person's hash under the current key, so the registry follows the key.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, ValidationError

from shared import keys
from shared.errors import Conflict, InvalidInput, NotFound
from shared.ports import Entity, TableStore

TABLE = "Erasures"
QUEUE = "person-erasure"
DOMAIN = "erased.invalid"  # RFC 2606: never a real mailbox


def person_hash(hash_key: str | bytes, tenant_id: str, address: str) -> str:
    return keys.keyed_hash(hash_key, "person", tenant_id, address.strip().lower())


def pseudonym_for(subject_hash: str) -> str:
    return f"erased-{subject_hash[:24]}@{DOMAIN}"


def register(tables: TableStore, hash_key: str, tenant_id: str, address: str, *, at) -> tuple[str, bool]:
    """Record the person as erased; returns (their hash, whether they were already erased)."""
    subject = person_hash(hash_key, tenant_id, address)
    try:
        tables.insert(TABLE, {"PartitionKey": tenant_id, "RowKey": subject, "pseudonym": pseudonym_for(subject),
                              "erased_at": at})
    except Conflict:
        return subject, True
    return subject, False


class Pseudonyms:
    """The tenant's erased people, read once per page: ``rename(address)`` is the address to store."""

    def __init__(self, tables: TableStore, tenant_id: str, hash_keys: Iterable[str]) -> None:
        self._tables, self._tenant = tables, tenant_id
        self._keys = [k for k in hash_keys if k]
        self._erased = {row["RowKey"] for row in tables.query(TABLE, tenant_id, select=["RowKey"])}

    def __bool__(self) -> bool:
        return bool(self._erased)

    def rename(self, address: str | None) -> str | None:
        if not address or not self._erased:
            return address
        for index, key in enumerate(self._keys):
            subject = person_hash(key, self._tenant, address)
            if subject in self._erased:
                if index:  # matched under the previous key: follow the current one from now on
                    self._follow(address)
                return pseudonym_for(person_hash(self._keys[0], self._tenant, address))
        return address

    def _follow(self, address: str) -> None:
        subject = person_hash(self._keys[0], self._tenant, address)
        if subject not in self._erased:
            with contextlib.suppress(Conflict):
                self._tables.insert(TABLE, {"PartitionKey": self._tenant, "RowKey": subject,
                                            "pseudonym": pseudonym_for(subject)})
            self._erased.add(subject)


class RoomErasure(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    tenant: str
    room: str
    subject: str  # person_hash: the address never travels


def rewrite_room(tables: TableStore, payload: object, *, hash_key: str) -> int:
    """Rewrite one room's Events rows for one erased person; returns how many rows changed."""
    try:
        job = RoomErasure.model_validate(payload)
        partition = keys.room_partition(job.tenant, job.room)
    except (ValidationError, InvalidInput):
        raise InvalidInput("person-erasure message is invalid") from None
    pseudonym = pseudonym_for(job.subject)

    def is_subject(address: object) -> bool:
        return isinstance(address, str) and person_hash(hash_key, job.tenant, address) == job.subject

    changed = 0
    for row in tables.query("Events", partition, select=["PartitionKey", "RowKey", "organizer", "attendees"]):
        if _rewrite_row(tables, row, is_subject, pseudonym):
            changed += 1
    return changed


def _rewrite_row(tables: TableStore, row: Entity, is_subject, pseudonym: str) -> bool:
    for _ in range(5):
        fields = _renamed(row, is_subject, pseudonym)
        if not fields:
            return False
        try:
            tables.merge("Events", {"PartitionKey": row["PartitionKey"], "RowKey": row["RowKey"], **fields},
                         etag=row.get("_etag"))
            return True
        except Conflict:  # the sync rewrote it meanwhile: judge the fresh row
            try:
                row = tables.get("Events", row["PartitionKey"], row["RowKey"])
            except NotFound:
                return False
        except NotFound:
            return False
    raise Conflict("an Events row kept changing during erasure; the message will be retried")


def _renamed(row: Entity, is_subject, pseudonym: str) -> dict:
    fields: dict = {}
    if is_subject(row.get("organizer")):
        fields["organizer"] = pseudonym
    try:
        attendees = json.loads(row["attendees"]) if isinstance(row.get("attendees"), str) else []
    except ValueError:
        attendees = []
    if any(is_subject(a.get("address")) for a in attendees if isinstance(a, dict)):
        for a in attendees:
            if isinstance(a, dict) and is_subject(a.get("address")):
                a["address"] = pseudonym
        fields["attendees"] = json.dumps(attendees, separators=(",", ":"), sort_keys=True)
    return fields
