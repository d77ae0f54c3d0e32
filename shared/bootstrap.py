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
from shared.messages import RoomChange
from shared.ports import Clock, MessageQueue, TableStore
from shared.services.notifications import NotificationService
from shared.services.room_changes import RoomChangeHandler
from shared.services.subscription_directory import SubscriptionDirectory
from shared.services.sync_lease import Lease, RoomSyncLeases


@dataclass(frozen=True)
class Services:
    settings: Settings
    tables: TableStore
    queues: MessageQueue
    clock: Clock
    subscriptions: SubscriptionDirectory
    notifications: NotificationService
    room_changes: RoomChangeHandler


def build_services(
    settings: Settings,
    *,
    tables: TableStore | None = None,
    queues: MessageQueue | None = None,
    clock: Clock | None = None,
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
    clock = clock or SystemClock()
    directory = SubscriptionDirectory(tables, ttl_seconds=settings.subscription_cache_seconds)
    leases = RoomSyncLeases(tables, queues, clock, lease_seconds=settings.sync_lease_seconds,
                            max_rounds=settings.sync_max_rounds)
    return Services(
        settings=settings, tables=tables, queues=queues, clock=clock, subscriptions=directory,
        notifications=NotificationService(directory, queues, clock),
        room_changes=RoomChangeHandler(leases, _delta_round_not_wired, tables, clock,
                                       max_dequeue_count=settings.queue_max_dequeue_count),
    )


def _delta_round_not_wired(lease: Lease, change: RoomChange) -> None:
    raise ConfigurationError("the delta sync needs the Graph client, which this build does not wire yet")


@functools.cache
def get_services() -> Services:
    return build_services(get_settings())
