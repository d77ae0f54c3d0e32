"""RoomCal's custom metrics: one small module every capability calls, never OpenTelemetry directly.

Until telemetry is configured (``shared.telemetry``, only when APPLICATIONINSIGHTS_CONNECTION_STRING is set) every
call is a no-op that imports nothing. Dimensions are operational identifiers only — tenant, room (a mailbox
address), queue, reason, operation — bounded like ``shared.log``'s fields; never meeting content.

In Application Insights they appear in ``customMetrics`` under these names (the alert rules in
infra/app/alerts.bicep and the workbook in infra/workbook/ query them):

============================== ============================ ====================================================
name                           dimensions                   when
============================== ============================ ====================================================
roomcal.notifications_received operation                    items accepted by a doorbell (hints enqueued)
roomcal.notifications_refused  operation, reason            items refused (unknown subscription, clientState…)
roomcal.sync_lag_seconds       tenant[, room]               catch-up: age of each room's last completed round;
                                                            per room only when late (≥ LATE_SECONDS), so 100,000
                                                            healthy rooms cost one series per tenant, not per room
roomcal.graph_throttled        tenant                       every Graph 429
roomcal.poison_messages        queue, tenant                a message's last attempt failed (host moves it to
                                                            ``<queue>-poison``)
roomcal.subscription_failures  tenant, reason               a subscription could not be created or renewed
roomcal.noshow_releases        tenant                       a no-show booking was released (declined)
============================== ============================ ====================================================
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from shared.log import safe_fields

LATE_SECONDS = 20 * 60  # more than one catch-up period (15 min) plus slack: the room missed a round
_DIMENSIONS = frozenset({"tenant", "room", "queue", "reason", "operation"})

_lock = threading.Lock()
_meter: Any = None
_instruments: dict[str, Any] = {}
_captures: list[list[tuple[str, float, dict]]] = []


def bind(meter: Any) -> None:
    """Send metrics to an OpenTelemetry ``Meter`` (shared.telemetry calls this); ``None`` turns them off."""
    global _meter
    with _lock:
        _meter = meter
        _instruments.clear()


def _emit(kind: str, name: str, value: float, dims: dict[str, Any]) -> None:
    attributes = {k: v for k, v in safe_fields(dims).items() if k in _DIMENSIONS}
    for sink in _captures:
        sink.append((name, value, attributes))
    meter = _meter
    if meter is None:
        return
    with _lock:
        instrument = _instruments.get(name)
        if instrument is None:
            make = meter.create_counter if kind == "counter" else meter.create_histogram
            instrument = _instruments[name] = make(name, unit="s" if name.endswith("_seconds") else "1")
    (instrument.add if kind == "counter" else instrument.record)(value, attributes)


@contextlib.contextmanager
def captured() -> Iterator[list[tuple[str, float, dict]]]:
    """Tests: collect ``(name, value, dimensions)`` of every metric emitted inside the block."""
    sink: list[tuple[str, float, dict]] = []
    _captures.append(sink)
    try:
        yield sink
    finally:
        _captures.remove(sink)


def notifications(kind: str, *, received: int, refused: dict[str, int]) -> None:
    if received:
        _emit("counter", "roomcal.notifications_received", received, {"operation": kind})
    for reason, count in refused.items():
        if count:
            _emit("counter", "roomcal.notifications_refused", count, {"operation": kind, "reason": reason})


def sync_lag(tenant: str, room: str, seconds: float) -> None:
    _emit("histogram", "roomcal.sync_lag_seconds", seconds, {"tenant": tenant})
    if seconds >= LATE_SECONDS:
        _emit("histogram", "roomcal.sync_lag_seconds", seconds, {"tenant": tenant, "room": room})


def graph_throttled(tenant: str | None) -> None:
    _emit("counter", "roomcal.graph_throttled", 1, {"tenant": tenant})


def poison_message(queue: str, tenant: str | None = None) -> None:
    _emit("counter", "roomcal.poison_messages", 1, {"queue": queue, "tenant": tenant})


def subscription_failure(tenant: str, reason: str) -> None:
    _emit("counter", "roomcal.subscription_failures", 1, {"tenant": tenant, "reason": reason})


def noshow_released(tenant: str, count: int = 1) -> None:
    _emit("counter", "roomcal.noshow_releases", count, {"tenant": tenant})
