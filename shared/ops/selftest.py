"""End-to-end self test: HTTP → queue → queue trigger → table, timed.

Operators use it after a deployment to prove the queue trigger really runs; the demo
and the integration tests use it to prove the local host wires everything as Azure does.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from shared.errors import InvalidInput, NotFound

QUEUE = "selftest"
TABLE = "SelfTest"
_PARTITION = "selftest"


def start(queues, clock) -> dict:
    probe_id = uuid.uuid4().hex
    sent_at = clock.now().isoformat()
    queues.send(QUEUE, {"id": probe_id, "sent_at": sent_at})
    return {"id": probe_id, "status": "queued", "sent_at": sent_at}


def record(message: dict, *, dequeue_count: int, tables, clock) -> None:
    probe_id = message.get("id")
    if not isinstance(probe_id, str) or not probe_id.isalnum():
        raise InvalidInput("self-test message has no valid id")
    received = clock.now()
    sent = datetime.fromisoformat(message["sent_at"])
    tables.upsert(TABLE, {
        "PartitionKey": _PARTITION, "RowKey": probe_id, "sent_at": message["sent_at"],
        "received_at": received.isoformat(), "latency_ms": round((received - sent).total_seconds() * 1000, 1),
        "dequeue_count": dequeue_count,
    })


def result(probe_id: str, tables) -> dict:
    if not probe_id.isalnum():
        raise InvalidInput("self-test id must be alphanumeric", fix="use the id returned by POST /api/selftest")
    try:
        row = tables.get(TABLE, _PARTITION, probe_id)
    except NotFound:
        return {"id": probe_id, "status": "pending"}
    return {"id": probe_id, "status": "done", "sent_at": row["sent_at"], "received_at": row["received_at"],
            "latency_ms": row["latency_ms"], "dequeue_count": row["dequeue_count"]}
