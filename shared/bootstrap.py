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
from shared.ports import Clock, GraphPort, MessageQueue, TableStore, TokenSource


@dataclass(frozen=True)
class Services:
    settings: Settings
    tables: TableStore
    queues: MessageQueue
    clock: Clock
    graph: GraphPort | None = None
    tokens: TokenSource | None = None

    def require_graph(self) -> GraphPort:
        """The Graph client, or a ConfigurationError naming the settings still missing."""
        if self.graph is None:
            missing = self.settings.missing_for_graph() or ["ROOMCAL_CLIENT_ID"]
            raise ConfigurationError(f"RoomCal cannot call Microsoft Graph: {', '.join(missing)} not set",
                                     fix="set the app registration's client id and secret (or certificate)")
        return self.graph


def build_services(
    settings: Settings,
    *,
    tables: TableStore | None = None,
    queues: MessageQueue | None = None,
    clock: Clock | None = None,
    graph: GraphPort | None = None,
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
    if graph is None and not settings.missing_for_graph():
        graph, tokens = _build_graph(settings, tokens)
    return Services(settings=settings, tables=tables, queues=queues, clock=clock or SystemClock(),
                    graph=graph, tokens=tokens)


def _build_graph(settings: Settings, tokens: TokenSource | None):
    """One pooled session shared by MSAL and Graph; no network until the first call."""
    from shared.adapters.entra import TokenProvider
    from shared.adapters.graph import GraphClient
    from shared.adapters.http_session import build_session

    session = build_session(settings)
    tokens = tokens or TokenProvider.from_settings(settings, session)
    return GraphClient.from_settings(settings, session, tokens), tokens


@functools.cache
def get_services() -> Services:
    return build_services(get_settings())
