"""The audit trail: who did what to a tenant, newest first. Never secrets, never event content.

Audit table: PartitionKey tenant id, RowKey inverted time + short random suffix (newest
first, two entries in the same microsecond stay apart); action, actor, detail (JSON).
"""

from __future__ import annotations

import json
import secrets

from shared.errors import InvalidInput
from shared.keys import inverted_time_key

TABLE = "Audit"
_FORBIDDEN_DETAIL_KEYS = {"subject", "body", "bodypreview", "attachments", "onlinemeeting", "joinurl",
                          "onlinemeetingurl", "secret", "client_secret", "token", "access_token", "password"}
_MAX_DETAIL_CHARS = 4000


def record(tables, clock, *, tenant_id: str, action: str, actor: str, detail: dict | None = None) -> dict:
    """Append one audit entry and return it."""
    detail = detail or {}
    bad = sorted(k for k in detail if k.lower().replace("-", "_") in _FORBIDDEN_DETAIL_KEYS)
    if bad:
        raise InvalidInput(f"audit detail may not carry {', '.join(bad)}")
    text = json.dumps(detail, default=str, sort_keys=True)
    if len(text) > _MAX_DETAIL_CHARS:
        raise InvalidInput("audit detail is too long")
    at = clock.now()
    entry = {"PartitionKey": tenant_id, "RowKey": inverted_time_key(at, secrets.token_hex(4)),
             "at": at.isoformat(), "action": action, "actor": actor or "unknown", "detail": text}
    tables.upsert(TABLE, entry)
    return _public(entry)


def list_entries(tables, *, tenant_id: str, limit: int = 100) -> list[dict]:
    """The tenant's audit entries, newest first."""
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be between 1 and 1000")
    out = []
    for row in tables.query(TABLE, tenant_id):
        out.append(_public(row))
        if len(out) >= limit:
            break
    return out


def _public(row: dict) -> dict:
    return {"at": row["at"], "action": row["action"], "actor": row["actor"], "detail": json.loads(row["detail"])}


def rename_actor(tables, *, tenant_id: str, address: str, pseudonym: str) -> int:
    """Erasure of one person: their entries stay (who did what), under their pseudonym."""
    changed = 0
    for row in tables.query(TABLE, tenant_id, select=["PartitionKey", "RowKey", "actor"]):
        if isinstance(row.get("actor"), str) and row["actor"].strip().lower() == address:
            tables.merge(TABLE, {"PartitionKey": row["PartitionKey"], "RowKey": row["RowKey"], "actor": pseudonym})
            changed += 1
    return changed
