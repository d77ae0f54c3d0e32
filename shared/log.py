"""Structured, privacy-safe logging: an allowlist of keys is the rule.

A filter cannot recognise a meeting subject or an attendee list in an arbitrary string, so
RoomCal never relies on redaction. Instead:

* ``message`` is a constant (a literal, never an f-string built from data);
* everything variable goes through ``log_event(logger, message, **fields)``, which keeps only
  keys in ``ALLOWED_FIELDS`` (operational identifiers and counters), drops the rest, and says how
  many it dropped (never which values);
* values are reduced to short single-line scalars, so a field cannot carry a payload.

Kept fields are appended to the message as ``key=value`` (plain-text sinks, the Functions host's
console) and attached to the record as attributes (``record.roomcal`` plus one attribute per
key) for OpenTelemetry / Application Insights custom dimensions.
"""

from __future__ import annotations

import logging
import re
from typing import Any

ALLOWED_FIELDS: frozenset[str] = frozenset({
    "tenant", "room", "subscription", "queue", "function", "operation", "reason", "status", "code",
    "http_status", "page", "pages", "count", "upserted", "removed", "skipped", "attempt", "retry_after",
    "waited_seconds", "request_id", "client_request_id", "duration_ms", "dequeue_count", "full_resync",
    "error", "dry_run",
})
_MAX_VALUE = 200
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


def safe_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The allowed subset of ``fields`` with scalar, single-line, bounded values."""
    kept: dict[str, Any] = {}
    for key, value in fields.items():
        if key not in ALLOWED_FIELDS or value is None:
            continue
        if isinstance(value, bool | int | float):
            kept[key] = value
        else:
            kept[key] = _UNSAFE.sub(" ", str(value))[:_MAX_VALUE]
    return kept


def log_event(logger: logging.Logger, message: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``message`` with only the allowlisted ``fields``; count (not name) the dropped ones."""
    if not logger.isEnabledFor(level):
        return
    kept = safe_fields(fields)
    dropped = sum(1 for k, v in fields.items() if v is not None and k not in ALLOWED_FIELDS)
    if dropped:
        kept["dropped_fields"] = dropped
    suffix = " ".join(f"{k}={v}" for k, v in kept.items())
    logger.log(level, "%s %s" if suffix else "%s", message, *([suffix] if suffix else []),
               extra={"roomcal": kept, **{f"roomcal_{k}": v for k, v in kept.items()}}, stacklevel=2)


NOISY_SDK_LOGGERS = ("azure.core.pipeline.policies.http_logging_policy", "azure.storage", "azure.data.tables",
                     "azure.identity", "msal", "urllib3.connectionpool")


def quiet_sdk_loggers() -> None:
    """The Azure SDK logs every request (URL and headers) at INFO, and the Functions worker forwards
    INFO: turn those loggers down to WARNING so storage traffic does not flood (or leak into) the logs."""
    for name in NOISY_SDK_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
