"""Timers of the sync engine. Schedules come from app settings (six-field NCRONTAB, UTC):
ROOMCAL_CATCHUP_SCHEDULE, ROOMCAL_RENEW_SCHEDULE, ROOMCAL_RETENTION_SCHEDULE."""

import azure.functions as func

from shared import bootstrap
from shared.onboarding.offboarding import clean_leftovers
from shared.sync.catchup import enqueue_catch_up
from shared.sync.retention import purge_expired_events

bp = func.Blueprint()


@bp.timer_trigger(arg_name="timer", schedule="%ROOMCAL_CATCHUP_SCHEDULE%", use_monitor=True)
def catch_up_rooms(timer: func.TimerRequest) -> None:
    s = bootstrap.get_services()
    enqueue_catch_up(s.tables, s.queues, s.clock, min_age_minutes=s.settings.catchup_min_age_minutes)


@bp.timer_trigger(arg_name="timer", schedule="%ROOMCAL_RENEW_SCHEDULE%", use_monitor=True)
def renew_subscriptions(timer: func.TimerRequest) -> None:
    bootstrap.get_services().require_subscription_manager().enqueue_due()


@bp.timer_trigger(arg_name="timer", schedule="%ROOMCAL_RETENTION_SCHEDULE%", use_monitor=True)
def purge_old_events(timer: func.TimerRequest) -> None:
    s = bootstrap.get_services()
    purge_expired_events(s.tables, s.clock)
    clean_leftovers(s.tables, s.clock)  # what offboarded tenants still own (a crash, a late write)
