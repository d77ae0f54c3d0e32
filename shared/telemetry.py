"""OpenTelemetry to Application Insights through ``azure-monitor-opentelemetry``, only when configured.

``configure_from_environment()`` runs once per worker process (function_app.py calls it at import, as Microsoft's
Functions OpenTelemetry guide does). Without APPLICATIONINSIGHTS_CONNECTION_STRING it returns at once and imports
nothing from OpenTelemetry. With it, the distro exports RoomCal's logs (the ``roomcal.*`` loggers, whose
allowlisted fields become custom dimensions), traces of the Azure SDK and requests calls, and RoomCal's metrics
(shared.metrics). In Azure local auth is off: the exporter authenticates with the managed identity named by
APPLICATIONINSIGHTS_AUTHENTICATION_STRING (infra/app/function.bicep). It never raises: telemetry must not stop the app.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping

from shared import metrics

log = logging.getLogger(__name__)
_lock = threading.Lock()
_configured = False


def configure_from_environment(environ: Mapping[str, str] = os.environ) -> bool:
    """Configure the Azure Monitor distro if a connection string is set; True if it is now configured."""
    global _configured
    connection_string = (environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING") or "").strip()
    if not connection_string:
        return False
    with _lock:
        if _configured:
            return True
        try:
            from azure.monitor.opentelemetry import configure_azure_monitor
            from opentelemetry import metrics as otel_metrics

            # logger_name: export RoomCal's own loggers (roomcal.*, allowlisted fields only), not every library's.
            # Performance counters off: measured ~34 KB per instance-minute (benchmarks/results/execution_cost.md),
            # and Flex Consumption's platform metrics already show instances and memory.
            configure_azure_monitor(connection_string=connection_string, logger_name="roomcal",
                                    enable_performance_counters=False,
                                    instrumentation_options={"django": {"enabled": False},
                                                             "fastapi": {"enabled": False},
                                                             "flask": {"enabled": False},
                                                             "psycopg2": {"enabled": False}})
            metrics.bind(otel_metrics.get_meter("roomcal"))
        except Exception as exc:  # a bad connection string must not stop the functions from loading
            log.warning("telemetry not configured (%s)", type(exc).__name__)
            return False
        _configured = True
        return True
