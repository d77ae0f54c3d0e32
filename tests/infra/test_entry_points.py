"""docs/security.md's entry points are the app's: every HTTP route needs a key unless the threat model names it as
anonymous, and every queue and timer the model covers is the one registered."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys

from tests.infra.tools import ROOT

SECURITY = (ROOT / "docs" / "security.md").read_text()
# Anonymous by design (docs/security.md says why, and what stops abuse): a browser cannot send a Functions key to
# the consent or sign-in callback, the admin page and its assets hold no data, the OpenAPI document describes the API
# only, health answers healthy/unhealthy only. Graph's doorbells are not here: they are authLevel function (issue 14).
MAY_BE_ANONYMOUS = {"health", "consent/callback", "auth/signin", "auth/callback", "auth/me", "auth/signout",
                    "portal", "portal/static/{name}", "openapi.json"}
# The admin API's session twins (functions.guard): /api/session/<route> is anonymous at the host and checks the
# session, tenant, role and CSRF itself; each must be the twin of a keyed /api/<route>.
SESSION = "session/"


@functools.cache
def functions() -> list[dict]:
    """The app's registrations, read in a fresh interpreter (get_functions() may run once per FunctionApp)."""
    probe = ("import json, function_app; print(json.dumps([json.loads(f.get_function_json()) | "
             "{'name': f.get_function_name()} for f in function_app.app.get_functions()]))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def trigger(function: dict) -> dict:
    return next(b for b in function["bindings"] if b["direction"] == "IN" and b["type"].endswith("Trigger"))


def test_only_the_routes_the_threat_model_names_are_anonymous():
    http = [trigger(f) for f in functions() if trigger(f)["type"] == "httpTrigger"]
    anonymous = {t.get("route") for t in http if t.get("authLevel", "").lower() == "anonymous"}
    keyed = {t.get("route") for t in http if t.get("authLevel", "").lower() != "anonymous"}
    twins = {route for route in anonymous if route.startswith(SESSION) and route[len(SESSION):] in keyed}
    others = anonymous - twins
    assert others <= MAY_BE_ANONYMOUS, f"anonymous routes not in docs/security.md: {others - MAY_BE_ANONYMOUS}"
    for route in others:
        assert f"/api/{route}" in SECURITY, f"docs/security.md does not describe /api/{route}"
    if twins:
        assert f"/api/{SESSION}" in SECURITY, "docs/security.md does not describe the /api/session/ routes"


def test_every_queue_and_timer_is_in_the_threat_model():
    for f in functions():
        t = trigger(f)
        if t["type"] == "queueTrigger":
            assert f"`{t['queueName']}`" in SECURITY, f"queue {t['queueName']} missing from docs/security.md"
        elif t["type"] == "timerTrigger":
            assert f"`{f['name']}`" in SECURITY, f"timer {f['name']} missing from docs/security.md"


def test_every_test_the_threat_model_cites_exists():
    for path, name in re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", SECURITY):
        source = (ROOT / path).read_text()
        assert f"def {name}(" in source, f"{path}::{name} cited in docs/security.md does not exist"
