"""Signed-out sessions: a session id recorded at sign-out is refused until the session would have expired anyway.

AdminSignOuts table: PartitionKey the tenant id (so offboarding's per-tenant deletion takes them along), RowKey the
session id, ``expires_at``. One point read per signed-in request; operators (Functions keys) never touch it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from shared import keys
from shared.admin.principal import Principal
from shared.errors import NotFound

TABLE = "AdminSignOuts"


def record(tables, principal: Principal) -> None:
    if principal.is_operator or not principal.session_id:
        return
    tables.upsert(TABLE, {"PartitionKey": principal.tenant_id, "RowKey": keys.check_key(principal.session_id),
                          "expires_at": datetime.fromtimestamp(principal.expires_at, UTC).isoformat()})


def signed_out(tables, principal: Principal) -> bool:
    if principal.is_operator:
        return False
    if not principal.session_id:
        return True  # every session RoomCal issues has an id
    try:
        tables.get(TABLE, principal.tenant_id, principal.session_id)
    except NotFound:
        return False
    return True
