"""Timers of the sync engine. Schedules come from app settings (six-field NCRONTAB, UTC):
ROOMCAL_CATCHUP_SCHEDULE, ROOMCAL_RENEW_SCHEDULE, ROOMCAL_RETENTION_SCHEDULE."""

import azure.functions as func

from shared import bootstrap
from shared.onboarding.offboarding import clean_leftovers
from shared.sync.retention import purge_expired_events

bp = func.Blueprint()


@bp.timer_trigger(arg_name="timer", schedule="%ROOMCAL_CATCHUP_SCHEDULE%", use_monitor=True)
def catch_up_rooms(timer: func.TimerRequest) -> None:
    # Fans out: one message per tenant; each tenant's rooms are then probed 20 per Graph $batch
    # (shared/sync/catchup_batch.py).
    bootstrap.get_services().catch_up.enqueue_tenants()


@bp.timer_trigger(arg_name="timer", schedule="%ROOMCAL_RENEW_SCHEDULE%", use_monitor=True)
def renew_subscriptions(timer: func.TimerRequest) -> None:
    # Fans out: one message per tenant; each renews its due subscriptions 20 per Graph $batch
    # (shared/sync/renewal_batch.py).
    s = bootstrap.get_services()
    s.require_subscription_manager()  # a clear error when Graph is not configured
    s.renewal.enqueue_tenants()


@bp.timer_trigger(arg_name="timer", schedule="%ROOMCAL_RETENTION_SCHEDULE%", use_monitor=True)
def purge_old_events(timer: func.TimerRequest) -> None:
    s = bootstrap.get_services()
    purge_expired_events(s.tables, s.clock)
    clean_leftovers(s.tables, s.clock)  # what offboarded tenants still own (a crash, a late write)
