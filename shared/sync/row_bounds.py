"""What one Events row may hold, so ordinary data (a town hall, a pasted essay) always fits.

Azure Table Storage refuses a string property over 32K characters (64 KiB as UTF-16), an entity
over 1 MiB and a batch over 4 MiB or 100 operations, and one refused entity fails its whole
batch (https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model,
.../performing-entity-group-transactions). A refused page used to fail its message until the
poison queue, with the room's delta link stuck on that page. So:

* normalisation keeps at most ``MAX_ATTENDEES`` attendees (rooms first) plus the full counts, and
  cuts every text to ``MAX_TEXT`` characters;
* ``fits`` checks a row against RoomCal's own budget (``MAX_ENTITY_BYTES``, far below 1 MiB, so
  100 rows stay below a batch's 4 MiB) and ``MAX_PROPERTY_CHARS`` before it is batched;
* ``reduced`` is the row that is written instead of one that does not fit or that the store still
  refuses: times, flags, counts and organiser, without attendees, locations or recurrence.
"""

from __future__ import annotations

from datetime import datetime

from shared.models import Attendee
from shared.ports import Entity

MAX_ATTENDEES = 100
MAX_ROOM_ATTENDEES = 20  # of those, rooms (resources) kept first, so the room's own entry stays
MAX_TEXT = 256
MAX_PROPERTY_CHARS = 32_000
MAX_ENTITY_BYTES = 32 * 1024  # estimated as Table Storage counts it (UTF-16 strings)
_DROPPED_WHEN_REDUCED = ("attendees", "locations", "recurrence")


def bounded_attendees(attendees: list[Attendee]) -> list[Attendee]:
    """The first ``MAX_ATTENDEES`` attendees, rooms first (original order kept within each)."""
    if len(attendees) <= MAX_ATTENDEES:
        return attendees
    rooms = [a for a in attendees if a.type == "resource"][:MAX_ROOM_ATTENDEES]
    people = [a for a in attendees if a.type != "resource"][:MAX_ATTENDEES - len(rooms)]
    return rooms + people


def entity_bytes(entity: Entity) -> int:
    """Size of an entity as Table Storage measures it: 4 + keys as UTF-16 + per property
    8 + name as UTF-16 + value (string: 4 + UTF-16 bytes; binary: 4 + bytes; others 8)."""
    size = 4
    for name, value in entity.items():
        if name.startswith("_"):
            continue
        if name in ("PartitionKey", "RowKey"):
            size += _utf16(str(value))
            continue
        size += 8 + _utf16(name) + _value_bytes(value)
    return size


def fits(entity: Entity) -> bool:
    too_long = any(isinstance(v, str) and len(v) > MAX_PROPERTY_CHARS for v in entity.values())
    return not too_long and entity_bytes(entity) <= MAX_ENTITY_BYTES


def reduced(entity: Entity) -> Entity:
    """The row without its lists; ``reduced`` says so, the counts stay."""
    row = {k: v for k, v in entity.items() if k not in _DROPPED_WHEN_REDUCED}
    row["reduced"] = True
    return row


def _value_bytes(value: object) -> int:
    if isinstance(value, str):
        return 4 + _utf16(value)
    if isinstance(value, bytes):
        return 4 + len(value)
    if isinstance(value, bool):
        return 1
    if isinstance(value, int | float | datetime):
        return 8
    return 4 + _utf16(str(value))


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le"))
