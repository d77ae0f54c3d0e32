"""The composition root: the only place that builds adapters and wires services.

Nothing here runs at import. ``get_services()`` builds once per worker process, lazily,
so a missing setting surfaces as a clear error on first use instead of "0 functions found".
Tests call ``build_services(settings, tables=..., queues=..., graph=...)`` with fakes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from shared.analytics.aggregation import Aggregation
from shared.analytics.departments import Departments
from shared.analytics.store import AggregateStore
from shared.clock import SystemClock
from shared.config import Settings, get_settings
from shared.errors import ConfigurationError
from shared.log import quiet_sdk_loggers
from shared.messages import RoomChange
from shared.occupancy.monthly import MonthlyFigures
from shared.occupancy.service import OccupancyService
from shared.ports import Clock, GraphPort, MessageQueue, TableStore, TokenSource
from shared.sync.catchup_batch import BatchedCatchUp
from shared.sync.notifications import NotificationService
from shared.sync.renewal_batch import BatchedRenewal
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
    catch_up: BatchedCatchUp | None = None
    renewal: BatchedRenewal | None = None
    analytics: Aggregation | None = None
    aggregates: AggregateStore | None = None
    occupancy: OccupancyService | None = None

    def require_subscription_manager(self) -> SubscriptionManager:
        if self.subscription_manager is None:
            raise _graph_missing(self.settings)
        return self.subscription_manager

    def require_analytics(self) -> Aggregation:
        if self.analytics is None:  # pragma: no cover - build_services always builds it
            raise ConfigurationError("analytics is not configured")
        return self.analytics

    def require_aggregates(self) -> AggregateStore:
        if self.aggregates is None:  # pragma: no cover
            raise ConfigurationError("analytics storage is not configured")
        return self.aggregates

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
    aggregates: AggregateStore | None = None,
) -> Services:
    quiet_sdk_loggers()
    connection = settings.storage_connection.get_secret_value()
    if (tables is None or queues is None) and not connection and not settings.storage_account_name:
        raise ConfigurationError(
            "AzureWebJobsStorage is not set",
            fix="set AzureWebJobsStorage to the storage account's connection string "
            "(locally: UseDevelopmentStorage=true or Azurite's connection string), or in Azure "
            "AzureWebJobsStorage__accountName with __credential=managedidentity and __clientId",
        )
    doorbell_queues = queues
    if tables is None or queues is None:
        tables, queues, doorbell_queues = _storage(settings, connection, tables, queues)
    if graph is None and not settings.missing_for_graph():
        graph, tokens = _build_graph(settings, tokens)
    clock = clock or SystemClock()
    aggregates = aggregates or _build_aggregates(settings, tables, connection)
    analytics = Aggregation(tables, aggregates, clock, hash_key=settings.hash_key.get_secret_value(), queues=queues,
                            graph=graph, department=None if graph is None else Departments(
                                tables, graph, clock, hash_key=settings.hash_key.get_secret_value()))
    directory = SubscriptionDirectory(tables, ttl_seconds=settings.subscription_cache_seconds)
    leases = RoomSyncLeases(tables, queues, clock, lease_seconds=settings.sync_lease_seconds,
                            max_rounds=settings.sync_max_rounds)
    run_round = _sync_needs_graph(settings) if graph is None else DeltaSync(
        graph, tables, queues, leases, clock, hash_key=settings.hash_key.get_secret_value(),
        previous_hash_key=settings.hash_key_previous.get_secret_value(),
        window_roll_days=settings.sync_window_roll_days, max_pages_per_round=settings.sync_max_pages_per_round,
        mailbox_concurrency=settings.graph_mailbox_concurrency,
        on_page_written=_both(analytics.mark, MonthlyFigures(tables, clock).mark))
    catch_up = BatchedCatchUp(tables, queues, clock, graph, min_age_minutes=settings.catchup_min_age_minutes,
                              full_round_due=run_round.full_round_due if graph is not None else lambda row: True)
    urls = functools.partial(webhook_urls, settings)
    manager = None if graph is None else SubscriptionManager(
        graph, tables, directory, queues, clock, urls=urls,
        lifetime_minutes=settings.subscription_lifetime_minutes,
        renew_within_minutes=settings.subscription_renew_within_minutes)
    renewal = None if manager is None else BatchedRenewal(
        tables, queues, clock, graph, directory, next_expiry=manager.next_expiry,
        renew_within_minutes=settings.subscription_renew_within_minutes, urls=urls)
    return Services(
        settings=settings, tables=tables, queues=queues, clock=clock, subscriptions=directory, catch_up=catch_up,
        renewal=renewal,
        notifications=NotificationService(directory, queues, clock),
        room_changes=RoomChangeHandler(leases, run_round, tables, clock,
                                       max_dequeue_count=settings.queue_max_dequeue_count),
        subscription_manager=manager,
        graph=graph, tokens=tokens, analytics=analytics, aggregates=aggregates,
        occupancy=OccupancyService(tables, queues, clock, settings, graph=graph), doorbell_queues=doorbell_queues,
    )


def _storage(settings: Settings, connection: str, tables: TableStore | None, queues: MessageQueue | None):
    """Table and queue adapters from the connection string, or identity-based from the account name (Azure);
    the third is the doorbells' queue client, which fails fast (one attempt, 2 s) within Graph's 3 s."""
    from shared.adapters.queue_rest import doorbell_queue
    from shared.adapters.queues import DEADLINE_OPTIONS, AzureMessageQueue
    from shared.adapters.tables import AzureTableStore

    if connection:
        return (tables or AzureTableStore(connection), queues or AzureMessageQueue(connection),
                queues or doorbell_queue(AzureMessageQueue(connection, **DEADLINE_OPTIONS),
                                         connection_string=connection))
    from shared.adapters import storage_identity

    credential = storage_identity.credential(settings)
    deadline_service = storage_identity.queue_service(settings, credential, **DEADLINE_OPTIONS)
    return (tables or AzureTableStore(service=storage_identity.table_service(settings, credential)),
            queues or AzureMessageQueue(service=storage_identity.queue_service(settings, credential)),
            queues or doorbell_queue(AzureMessageQueue(service=deadline_service), account_url=deadline_service.url,
                                     credential=credential))


def _build_aggregates(settings: Settings, tables: TableStore, connection: str) -> AggregateStore:
    """The analytics store of the chosen layout (docs/analytics.md); in memory only when no storage is configured
    (tests with fake tables)."""
    from shared.analytics.store import MemoryBlobs, PackedTableAggregateStore, ParquetAggregateStore

    if settings.analytics_layout == "table":
        return PackedTableAggregateStore(tables)
    from shared.adapters.blobs import AzureBlobs

    if connection:
        return ParquetAggregateStore(AzureBlobs(connection, settings.analytics_container))
    if settings.storage_account_name:  # in Azure: identity-based, like tables and queues
        from shared.adapters import storage_identity

        service = storage_identity.blob_service(settings, storage_identity.credential(settings))
        return ParquetAggregateStore(AzureBlobs(container=settings.analytics_container, service=service))
    return ParquetAggregateStore(MemoryBlobs())


def _both(*hooks):
    """One on_page_written hook calling each: analytics and the stored sensor figures both follow Events."""
    def call(tenant: str, room: str) -> None:
        for hook in hooks:
            hook(tenant, room)

    return call


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


@functools.cache
def get_admin_access():
    """Sessions and Entra sign-in for the admin page (shared.admin.access), built on first use."""
    from shared.admin.access import build_admin_access

    return build_admin_access(get_settings(), get_services().clock)
