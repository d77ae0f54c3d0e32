"""Safe Table Storage keys, derived from (never pasted from) outside identifiers.

Table keys may not contain ``/ \\ # ?`` or control characters and are at most 1 KiB. Graph
ids can contain any of those, and the event id is not stored at all (DESIGN.md, privacy), so
rows are keyed by an HMAC-SHA256 of the id under the deployment's ``ROOMCAL_HASH_KEY``: stable
for one deployment, meaningless without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from datetime import UTC, datetime, timedelta

from shared.errors import InvalidInput

MAX_KEY_BYTES = 1024
_FORBIDDEN = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")
# Pragmatic address check: one @, a local part of the characters Exchange accepts in SMTP
# addresses (apostrophes included: O'Brien@contoso.com), a dotted domain with a 2+ letter TLD.
_LOCAL = re.compile(r"^[a-z0-9!$%&'*+=^_`{|}~-]+(?:\.[a-z0-9!$%&'*+=^_`{|}~-]+)*$")
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_TICKS_MAX = 10**19 - 1  # 19 digits of microseconds cover year 1 to 9999
_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


def normalise_email(value: object) -> str:
    """Strip and lower-case an e-mail address; raise InvalidInput saying what is wrong."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("e-mail address is empty",
                           fix="give the room mailbox's SMTP address, e.g. room1@contoso.com")
    email = value.strip().lower()
    if email.startswith("mailto:"):
        email = email[len("mailto:"):]
    if email.count("@") != 1:
        raise InvalidInput(f"{email!r} is not an e-mail address: it must contain exactly one '@'")
    local, domain = email.split("@")
    if len(email) > 254 or len(local) > 64:
        raise InvalidInput("e-mail address is too long (at most 64 characters before '@', 254 in all)")
    if not _LOCAL.match(local):
        raise InvalidInput(f"{email!r} is not an e-mail address: the part before '@' has a character "
                           "that is not allowed, or a leading, trailing or double dot")
    if not _DOMAIN.match(domain):
        raise InvalidInput(f"{email!r} is not an e-mail address: the domain after '@' must look like contoso.com")
    return email


def normalise_tenant_id(value: object) -> str:
    """A Microsoft Entra tenant id is a GUID; return it lower-case, hyphenated."""
    try:
        return str(uuid.UUID(str(value).strip()))
    except ValueError:
        raise InvalidInput(f"tenant id {str(value)[:64]!r} is not a GUID",
                           fix="use the Directory (tenant) ID from the Entra admin centre") from None


def check_key(value: str) -> str:
    """Return ``value`` if it is a valid Table key, else raise InvalidInput."""
    if not value:
        raise InvalidInput("table key is empty")
    if _FORBIDDEN.search(value):
        raise InvalidInput("table key contains '/', '\\', '#', '?' or a control character")
    if len(value.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidInput("table key is longer than 1 KiB")
    return value


def keyed_hash(hash_key: str | bytes, *parts: str) -> str:
    """HMAC-SHA256 of the parts (unit-separator joined) as 64 lower-case hex characters."""
    key = hash_key.encode("utf-8") if isinstance(hash_key, str) else hash_key
    if not key:
        raise InvalidInput("hash key is empty", fix="set ROOMCAL_HASH_KEY to a long random secret")
    message = "\x1f".join(parts).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def event_row_key(hash_key: str | bytes, room_email: str, graph_event_id: str) -> str:
    """RowKey of an Events row: keyed hash of the room and Graph's event id."""
    if not graph_event_id:
        raise InvalidInput("event id is empty")
    return keyed_hash(hash_key, "event", normalise_email(room_email), graph_event_id)


def series_key(hash_key: str | bytes, room_email: str, series_master_id: str) -> str:
    """Identifies a recurring series (its master's id, hashed) without storing the id."""
    if not series_master_id:
        raise InvalidInput("series master id is empty")
    return keyed_hash(hash_key, "series", normalise_email(room_email), series_master_id)


def room_partition(tenant_id: str, room_email: str) -> str:
    """PartitionKey for per-room tables (Events): ``<tenant guid>|<room e-mail>``."""
    return check_key(f"{normalise_tenant_id(tenant_id)}|{normalise_email(room_email)}")


def inverted_time_key(dt: datetime, suffix: str = "") -> str:
    """A RowKey that sorts newest first: 19 digits of (max - microseconds since 0001-01-01 UTC).

    ``suffix`` (e.g. a short random id) keeps two rows of the same microsecond apart.
    """
    if dt.tzinfo is None:
        raise InvalidInput("inverted_time_key needs a timezone-aware datetime")
    micros = (dt.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)
    key = f"{_TICKS_MAX - micros:019d}"
    return check_key(f"{key}-{suffix}" if suffix else key)

