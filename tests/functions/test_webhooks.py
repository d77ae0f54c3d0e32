import json

import azure.functions as func
import pytest

from functions import webhooks
from shared import bootstrap
from shared.config import load_settings
from shared.messages import ROOM_CHANGES
from shared.models import SubscriptionRecord
from shared.sync.subscription_directory import hash_client_state
from tests.fakes import FakeQueue, FixedClock, InMemoryTables


def _record(sub, tenant, room, client_state):
    return SubscriptionRecord(id=sub, tenant_id=tenant, room_email=room,
                              client_state_hash=hash_client_state(client_state),
                              expires_at="2026-12-01T00:00:00Z")

TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
SUB = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"


@pytest.fixture
def services(monkeypatch):
    built = bootstrap.build_services(load_settings(environment="development"), tables=InMemoryTables(),
                                     queues=FakeQueue(), clock=FixedClock())
    built.subscriptions.save(_record(SUB, TENANT, "room@contoso.com", "s"))
    monkeypatch.setattr(bootstrap, "get_services", lambda: built)
    return built


def _post(fn, body=b"", params=None, url="/api/notifications"):
    return fn(func.HttpRequest("POST", url, body=body, params=params or {}))


@pytest.mark.parametrize("fn", [webhooks.graph_notifications, webhooks.graph_lifecycle])
class TestHandshake:
    def test_echoes_the_decoded_token_as_plain_text(self, fn, services):
        """The host decodes the query; the body is exactly that token, text/plain."""
        resp = _post(fn, params={"validationToken": "Validation: Testing client application+x"})
        assert resp.status_code == 200
        assert resp.mimetype == "text/plain"
        assert resp.get_body().decode() == "Validation: Testing client application+x"

    def test_decodes_the_raw_url_when_params_are_not_given(self, fn, services):
        resp = _post(fn, url="/api/notifications?validationToken=Validation%3a+Testing%2Bok")
        assert resp.get_body().decode() == "Validation: Testing+ok"

    def test_hostile_tokens_stay_plain_text(self, fn, services):
        """A <script> token is echoed as text/plain with nosniff, never as HTML."""
        for token in ("<script>alert(1)</script>", "x" * 10_000):
            resp = _post(fn, params={"validationToken": token})
            assert resp.status_code == 200 and resp.mimetype == "text/plain"
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert resp.get_body().decode() == token

    def test_absurd_tokens_are_refused_in_plain_text(self, fn, services):
        resp = _post(fn, params={"validationToken": "<b>" * 10_000})
        assert resp.status_code == 400 and resp.mimetype == "text/plain"
        assert b"<b>" not in resp.get_body()

    def test_malformed_json_is_400_without_a_stack_trace(self, fn, services):
        resp = _post(fn, body=b'{"value": [')
        assert resp.status_code == 400
        body = json.loads(resp.get_body())
        assert body["error"] == "invalid_input" and "Traceback" not in resp.get_body().decode()

    def test_oversized_body_is_413(self, fn, services):
        assert _post(fn, body=b"{" + b" " * 1_100_000 + b"}").status_code == 413


def test_valid_notification_is_acknowledged_with_202_and_enqueued(services):
    body = json.dumps({"value": [{"subscriptionId": SUB, "clientState": "s", "tenantId": TENANT}]}).encode()
    resp = _post(webhooks.graph_notifications, body=body)
    assert resp.status_code == 202
    assert [m["room"] for m in services.queues.messages(ROOM_CHANGES)] == ["room@contoso.com"]


def test_forged_notification_gets_the_same_202_and_enqueues_nothing(services):
    """A spoofer learns nothing from the answer (GRAPH_NOTES A9)."""
    body = json.dumps({"value": [{"subscriptionId": SUB, "clientState": "guess"}]}).encode()
    resp = _post(webhooks.graph_notifications, body=body)
    assert resp.status_code == 202 and resp.get_body() == b""
    assert services.queues.sent == []
