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
}
EXPECTED_QUEUE = {"selftest_receive": "selftest"}


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


def test_no_function_is_unaccounted_for():
    assert set(_functions()) == set(EXPECTED_HTTP) | set(EXPECTED_QUEUE)
