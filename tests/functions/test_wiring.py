"""The app's registrations as data: every function, its trigger, route, auth level, queue."""

from tests.functions.registrations import functions as _functions
from tests.functions.registrations import trigger as _trigger

EXPECTED_HTTP = {
    "health": ("health", ["GET"], "anonymous"),
    "health_details": ("health/details", ["GET"], "function"),
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
    "offboarding_progress": ("tenants/{tenant_id}/offboarding", ["GET"], "function"),
    "erase_person": ("tenants/{tenant_id}/erasures", ["POST"], "function"),
    "key_rotation_status": ("ops/key-rotation", ["GET"], "admin"),
    "rotate_client_states": ("ops/key-rotation/client-states", ["POST"], "admin"),
    "analytics": ("tenants/{tenant_id}/analytics/{table}", ["GET"], "function"),
    "analytics_rebuild": ("tenants/{tenant_id}/analytics/{table}", ["POST"], "function"),
    "ingest_occupancy": ("tenants/{tenant_id}/occupancy", ["POST"], "function"),
    "sensor_health": ("tenants/{tenant_id}/occupancy/health", ["GET"], "function"),
    "queued_reports": ("tenants/{tenant_id}/occupancy/reports", ["GET"], "function"),
    "occupancy_analytics": ("tenants/{tenant_id}/analytics/occupancy", ["GET"], "function"),
    "ghost_series": ("tenants/{tenant_id}/analytics/occupancy/ghost-series", ["GET"], "function"),
    "simulate_noshow_policy": ("tenants/{tenant_id}/noshow/simulate", ["GET"], "function"),
    "release_noshows": ("tenants/{tenant_id}/noshow/release", ["POST"], "function"),
}
# The admin page's twin of every admin endpoint (functions.guard): same handler, session cookie instead of a key.
_OPERATOR_ONLY = {"health", "selftest_start", "selftest_result", "consent_callback", "graph_notifications",
                  "graph_lifecycle", "health_details", "key_rotation_status", "rotate_client_states"}
EXPECTED_HTTP |= {f"{name}_session": (f"session/{route}", methods, "anonymous")
                  for name, (route, methods, _) in list(EXPECTED_HTTP.items()) if name not in _OPERATOR_ONLY}
EXPECTED_HTTP |= {
    "signin_start": ("auth/signin", ["GET"], "anonymous"),
    "signin_callback": ("auth/callback", ["GET"], "anonymous"),
    "signin_me": ("auth/me", ["GET"], "anonymous"),
    "signin_signout": ("auth/signout", ["POST"], "anonymous"),
    "admin_page": ("portal", ["GET"], "anonymous"),
    "admin_static": ("portal/static/{name}", ["GET"], "anonymous"),
    "openapi_document": ("openapi.json", ["GET"], "anonymous"),
}
EXPECTED_QUEUE = {"selftest_receive": "selftest", "verify_room": "room-verify", "room_changes": "room-changes",
                  "subscription_maintenance": "subscription-maintenance",
                  "offboard_tenant_step": "tenant-offboarding", "erase_person_in_room": "person-erasure",
                  "catch_up_tenant": "catchup-tenants", "catch_up_probe": "catchup-probes",
                  "renew_tenant_subscriptions": "renewal-tenants",
                  "recompute_analytics": "analytics-changes",
                  "ingest_queued_occupancy": "occupancy-ingest"}
EXPECTED_TIMER = {"recheck_denied_rooms": "0 */15 * * * *", "catch_up_rooms": "%ROOMCAL_CATCHUP_SCHEDULE%",
                  "renew_subscriptions": "%ROOMCAL_RENEW_SCHEDULE%", "purge_old_events": "%ROOMCAL_RETENTION_SCHEDULE%",
                  "sweep_analytics_marks": "%ROOMCAL_ANALYTICS_SWEEP_SCHEDULE%",
                  "noshow_sweep": "%ROOMCAL_NOSHOW_SCHEDULE%", "purge_old_occupancy": "%ROOMCAL_RETENTION_SCHEDULE%"}


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
