"""The composition root: the only place that builds adapters and wires services.

Nothing here runs at import. ``get_services()`` builds once per worker process, lazily,
so a missing setting surfaces as a clear error on first use instead of "0 functions found".
Tests call ``build_services(settings, tables=..., queues=...)`` with fakes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from shared.clock import SystemClock
from shared.config import Settings, get_settings
from shared.errors import ConfigurationError
from shared.ports import Clock, MessageQueue, TableStore, TokenSource


@dataclass(frozen=True)
class Services:
    settings: Settings
    tables: TableStore
    queues: MessageQueue
    clock: Clock
    tokens: TokenSource | None = None


def build_services(
    settings: Settings,
    *,
    tables: TableStore | None = None,
    queues: MessageQueue | None = None,
    clock: Clock | None = None,
    tokens: TokenSource | None = None,
) -> Services:
    connection = settings.storage_connection.get_secret_value()
    if (tables is None or queues is None) and not connection:
        raise ConfigurationError(
            "AzureWebJobsStorage is not set",
            fix="set AzureWebJobsStorage to the storage account's connection string "
            "(locally: UseDevelopmentStorage=true or Azurite's connection string)",
        )
    if tables is None:
        from shared.adapters.tables import AzureTableStore

        tables = AzureTableStore(connection)
    if queues is None:
        from shared.adapters.queues import AzureMessageQueue

        queues = AzureMessageQueue(connection)
    return Services(settings=settings, tables=tables, queues=queues, clock=clock or SystemClock(),
                    tokens=tokens)


@functools.cache
def get_services() -> Services:
    return build_services(get_settings())
