"""The composition root: the only place that builds adapters and wires services.

Nothing here runs at import. ``get_services()`` builds once per worker process, lazily,
so a missing setting surfaces as a clear error on first use instead of "0 functions found".
Tests call ``build_services(settings, tables=..., queues=..., graph=...)`` with fakes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from shared.clock import SystemClock
from shared.config import Settings, get_settings
from shared.errors import ConfigurationError
from shared.messages import RoomChange
from shared.ports import Clock, GraphPort, MessageQueue, TableStore, TokenSource
from shared.sync.notifications import NotificationService
from shared.sync.room_changes import RoomChangeHandler
from shared.sync.subscription_directory import SubscriptionDirectory
from shared.sync.subscriptions import SubscriptionManager
from shared.sync.sync import DeltaSync
from shared.sync.sync_lease import Lease, RoomSyncLeases
from shared.sync.webhook_urls import webhook_urls


@dataclass(frozen=True)
class Services:
    settings: Settings
    tables: TableStore
    queues: MessageQueue
    clock: Clock
    subscriptions: SubscriptionDirectory
    notifications: NotificationService
    room_changes: RoomChangeHandler
    subscription_manager: SubscriptionManager | None = None
    doorbell_queues: MessageQueue | None = None  # the webhook's own writes: fail fast, Graph retries
    graph: GraphPort | None = None
    tokens: TokenSource | None = None

    def require_subscription_manager(self) -> SubscriptionManager:
        if self.subscription_manager is None:
            raise _graph_missing(self.settings)
        return self.subscription_manager

    def require_graph(self) -> GraphPort:
        """The Graph client, or a ConfigurationError naming the settings still missing."""
        if self.graph is None:
            raise _graph_missing(self.settings)
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
    doorbell_queues = queues
    if queues is None:
        from shared.adapters.queues import DEADLINE_OPTIONS, AzureMessageQueue

        queues = AzureMessageQueue(connection)
        doorbell_queues = AzureMessageQueue(connection, **DEADLINE_OPTIONS)
    if graph is None and not settings.missing_for_graph():
        graph, tokens = _build_graph(settings, tokens)
    clock = clock or SystemClock()
    directory = SubscriptionDirectory(tables, ttl_seconds=settings.subscription_cache_seconds)
    leases = RoomSyncLeases(tables, queues, clock, lease_seconds=settings.sync_lease_seconds,
                            max_rounds=settings.sync_max_rounds)
    run_round = _sync_needs_graph(settings) if graph is None else DeltaSync(
        graph, tables, queues, leases, clock, hash_key=settings.hash_key.get_secret_value(),
        window_roll_days=settings.sync_window_roll_days, max_pages_per_round=settings.sync_max_pages_per_round)
    return Services(
        settings=settings, tables=tables, queues=queues, clock=clock, subscriptions=directory,
        notifications=NotificationService(directory, queues, clock),
        room_changes=RoomChangeHandler(leases, run_round, tables, clock,
                                       max_dequeue_count=settings.queue_max_dequeue_count),
        subscription_manager=None if graph is None else SubscriptionManager(
            graph, tables, directory, queues, clock, urls=functools.partial(webhook_urls, settings),
            lifetime_minutes=settings.subscription_lifetime_minutes,
            renew_within_minutes=settings.subscription_renew_within_minutes),
        graph=graph, tokens=tokens, doorbell_queues=doorbell_queues,
    )


def _graph_missing(settings: Settings) -> ConfigurationError:
    missing = settings.missing_for_graph() or ["ROOMCAL_CLIENT_ID"]
    return ConfigurationError(f"RoomCal cannot call Microsoft Graph: {', '.join(missing)} not set",
                              fix="set the app registration's client id and secret (or certificate)")


def _sync_needs_graph(settings: Settings):
    def run_round(lease: Lease, change: RoomChange) -> None:
        raise _graph_missing(settings)

    return run_round


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
