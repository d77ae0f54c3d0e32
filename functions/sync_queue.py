"""Queue triggers of the sync engine: thin, each hands the message to one service."""

import azure.functions as func

from shared import bootstrap
from shared.messages import ROOM_CHANGES, SUBSCRIPTION_MAINTENANCE
from shared.sync.catchup_batch import CATCHUP_PROBES, CATCHUP_TENANTS
from shared.sync.renewal_batch import RENEWAL_TENANTS

bp = func.Blueprint()


@bp.queue_trigger(arg_name="msg", queue_name=ROOM_CHANGES, connection="AzureWebJobsStorage")
def room_changes(msg: func.QueueMessage) -> None:
    bootstrap.get_services().room_changes.handle(msg.get_json(), dequeue_count=msg.dequeue_count or 1)


@bp.queue_trigger(arg_name="msg", queue_name=SUBSCRIPTION_MAINTENANCE, connection="AzureWebJobsStorage")
def subscription_maintenance(msg: func.QueueMessage) -> None:
    bootstrap.get_services().require_subscription_manager().handle(msg.get_json())


@bp.queue_trigger(arg_name="msg", queue_name=CATCHUP_TENANTS, connection="AzureWebJobsStorage")
def catch_up_tenant(msg: func.QueueMessage) -> None:
    bootstrap.get_services().catch_up.plan_tenant(msg.get_json())


@bp.queue_trigger(arg_name="msg", queue_name=CATCHUP_PROBES, connection="AzureWebJobsStorage")
def catch_up_probe(msg: func.QueueMessage) -> None:
    bootstrap.get_services().catch_up.probe(msg.get_json())


@bp.queue_trigger(arg_name="msg", queue_name=RENEWAL_TENANTS, connection="AzureWebJobsStorage")
def renew_tenant_subscriptions(msg: func.QueueMessage) -> None:
    s = bootstrap.get_services()
    s.require_subscription_manager()
    s.renewal.renew_tenant(msg.get_json())
