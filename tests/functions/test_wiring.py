"""The app's registrations as data: every function, its trigger, route, auth level, queue."""

import function_app


def _functions():
    # get_functions() may be called once per FunctionApp; cache it for the module.
    if not hasattr(_functions, "cache"):
        _functions.cache = {f.get_function_name(): f for f in function_app.app.get_functions()}
    return _functions.cache


def _trigger(fn):
    return next(b for b in fn.get_bindings() if b.type.endswith("Trigger"))


EXPECTED_HTTP = {
    "health": ("health", ["GET"], "anonymous"),
    "selftest_start": ("selftest", ["POST"], "function"),
    "selftest_result": ("selftest/{probe_id}", ["GET"], "function"),
    "start_onboarding": ("tenants", ["POST"], "function"),
    "consent_callback": ("consent/callback", ["GET"], "anonymous"),
    "rbac_script": ("tenants/{tenant_id}/rbac-script", ["GET"], "function"),
    "tenant_overview": ("tenants/{tenant_id}", ["GET"], "function"),
    "offboard_tenant": ("tenants/{tenant_id}", ["DELETE"], "function"),
    "tenant_settings_get": ("tenants/{tenant_id}/settings", ["GET"], "function"),
    "tenant_settings_update": ("tenants/{tenant_id}/settings", ["PATCH"], "function"),
    "tenant_audit": ("tenants/{tenant_id}/audit", ["GET"], "function"),
    "list_rooms": ("tenants/{tenant_id}/rooms", ["GET"], "function"),
    "register_rooms": ("tenants/{tenant_id}/rooms", ["POST"], "function"),
    "import_rooms": ("tenants/{tenant_id}/rooms/import", ["POST"], "function"),
    "update_room": ("tenants/{tenant_id}/rooms/{email}", ["PATCH"], "function"),
    "remove_room": ("tenants/{tenant_id}/rooms/{email}", ["DELETE"], "function"),
    "start_verification": ("tenants/{tenant_id}/verify", ["POST"], "function"),
    "verification_progress": ("tenants/{tenant_id}/verify", ["GET"], "function"),
    "start_sync": ("tenants/{tenant_id}/sync", ["POST"], "function"),
    "graph_notifications": ("notifications", ["POST"], "function"),
    "graph_lifecycle": ("lifecycle", ["POST"], "function"),
    "tenant_status": ("tenants/{tenant_id}/status", ["GET"], "function"),
}
EXPECTED_QUEUE = {"selftest_receive": "selftest", "verify_room": "room-verify", "room_changes": "room-changes",
                  "subscription_maintenance": "subscription-maintenance"}
EXPECTED_TIMER = {"recheck_denied_rooms": "0 */15 * * * *", "catch_up_rooms": "%ROOMCAL_CATCHUP_SCHEDULE%",
                  "renew_subscriptions": "%ROOMCAL_RENEW_SCHEDULE%", "purge_old_events": "%ROOMCAL_RETENTION_SCHEDULE%"}


def test_every_http_function_has_its_route_method_and_auth_level():
    for name, (route, methods, auth) in EXPECTED_HTTP.items():
        trig = _trigger(_functions()[name])
        assert trig.type == "httpTrigger"
        assert trig.route == route
        assert [str(m.value if hasattr(m, "value") else m) for m in trig.methods] == methods
        assert str(getattr(trig.auth_level, "value", trig.auth_level)).lower() == auth


def test_every_queue_function_reads_its_queue_on_the_storage_connection():
    for name, queue in EXPECTED_QUEUE.items():
        trig = _trigger(_functions()[name])
        assert trig.type == "queueTrigger"
        assert trig.queue_name == queue
        assert trig.connection == "AzureWebJobsStorage"


def test_every_timer_function_has_its_utc_ncrontab_schedule():
    for name, schedule in EXPECTED_TIMER.items():
        trig = _trigger(_functions()[name])
        assert trig.type == "timerTrigger"
        assert trig.schedule == schedule


def test_no_function_is_unaccounted_for():
    assert set(_functions()) == set(EXPECTED_HTTP) | set(EXPECTED_QUEUE) | set(EXPECTED_TIMER)
