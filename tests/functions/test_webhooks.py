import asyncio
import inspect
import json
import uuid

import azure.functions as func
import pytest

from functions import webhooks
from shared import bootstrap
from shared.config import load_settings
from shared.errors import Unavailable
from shared.messages import ROOM_CHANGES
from shared.models import SubscriptionRecord
from shared.sync.notifications import MAX_BODY_BYTES, MAX_SUSPECT_ITEMS
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


class Out:
    """What the worker passes for a queue output binding (func.Out)."""

    def __init__(self):
        self.value = None

    def set(self, value):
        self.value = value

    def get(self):
        return self.value

    def messages(self):
        return [json.loads(m) for m in self.value or []]


def _post(fn, body=b"", params=None, url="/api/notifications", headers=None, outs=None, request=None):
    outs = {} if outs is None else outs
    for name in list(inspect.signature(fn._function.get_user_function()).parameters)[1:]:
        outs.setdefault(name, Out())
    req = request or func.HttpRequest("POST", url, body=body, params=params or {}, headers=headers or {})
    answer = fn(req, **outs)
    return asyncio.run(answer) if inspect.iscoroutine(answer) else answer


class CountingTables(InMemoryTables):
    def __init__(self):
        super().__init__()
        self.reads = 0

    def get(self, *args, **kwargs):
        self.reads += 1
        return super().get(*args, **kwargs)


class BodyNeverRead(func.HttpRequest):
    def get_body(self):
        raise AssertionError("the body was read")


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


def _items(*items):
    return json.dumps({"value": list(items)}).encode()


def _valid(sub=SUB, state="s"):
    return {"subscriptionId": sub, "clientState": state, "tenantId": TENANT}


def test_valid_notification_is_acknowledged_with_202_and_handed_to_the_output_binding(services):
    outs = {}
    resp = _post(webhooks.graph_notifications, body=_items(_valid()), outs=outs)
    assert resp.status_code == 202
    assert [m["room"] for m in outs["hints"].messages()] == ["room@contoso.com"]
    assert services.queues.sent == []  # the host writes it, not the app


def test_a_delayed_follow_up_hint_is_written_by_the_adapter_and_an_outage_is_503(services):
    """A binding cannot delay a message: the gate's follow-up goes through the app's queue, and if
    storage is down the answer is 503 so Graph retries."""
    outs = {}
    assert _post(webhooks.graph_notifications, body=_items(_valid())).status_code == 202
    assert _post(webhooks.graph_notifications, body=_items(_valid()), outs=outs).status_code == 202
    assert outs["hints"].get() is None
    [(queue, _hint, delay)] = services.queues.sent
    assert queue == ROOM_CHANGES and delay == 1
    services.clock.advance(seconds=0.9)

    def down(*_a, **_k):
        raise Unavailable("queue 'room-changes' unreachable")

    services.queues.send = down
    services.clock.advance(seconds=5)
    _post(webhooks.graph_notifications, body=_items(_valid()))
    assert _post(webhooks.graph_notifications, body=_items(_valid())).status_code == 503


def test_lifecycle_events_go_to_their_own_bindings(services):
    outs = {}
    body = _items({**_valid(), "lifecycleEvent": "reauthorizationRequired"}, {**_valid(), "lifecycleEvent": "missed"})
    assert _post(webhooks.graph_lifecycle, body=body, outs=outs).status_code == 202
    assert [m["action"] for m in outs["maintenance"].messages()] == ["renew"]
    assert [m["reason"] for m in outs["changes"].messages()] == ["missed"]


@pytest.mark.parametrize("fn", [webhooks.graph_notifications, webhooks.graph_lifecycle])
def test_a_declared_oversized_body_is_413_before_it_is_read(fn, services):
    req = BodyNeverRead("POST", "/api/notifications", body=b"", headers={"Content-Length": str(MAX_BODY_BYTES + 1)})
    resp = _post(fn, request=req)
    assert resp.status_code == 413 and json.loads(resp.get_body())["error"] == "payload_too_large"


def test_a_thousand_unknown_ids_cost_at_most_the_bound_in_table_reads(monkeypatch):
    tables = CountingTables()
    built = bootstrap.build_services(load_settings(environment="development"), tables=tables, queues=FakeQueue(),
                                     clock=FixedClock())
    built.subscriptions.save(_record(SUB, TENANT, "room@contoso.com", "s"))
    monkeypatch.setattr(bootstrap, "get_services", lambda: built)
    built.subscriptions.lookup(SUB)  # the live subscription is in the cache, as under real traffic
    tables.reads = 0
    forged = [_valid(sub=str(uuid.uuid4()), state="guess") for _ in range(1000)]
    assert _post(webhooks.graph_notifications, body=_items(*forged)).status_code == 202
    assert tables.reads == MAX_SUSPECT_ITEMS
    tables.reads, outs = 0, {}
    fresh = [_valid(sub=str(uuid.uuid4()), state="guess") for _ in range(999)]
    resp = _post(webhooks.graph_notifications, body=_items(*fresh[:500], _valid(), *fresh[500:]), outs=outs)
    assert resp.status_code == 202 and tables.reads == MAX_SUSPECT_ITEMS
    assert [m["room"] for m in outs["hints"].messages()] == ["room@contoso.com"]  # a cached live item still counts


def test_forged_notification_gets_the_same_202_and_enqueues_nothing(services):
    """A spoofer learns nothing from the answer (GRAPH_NOTES A9)."""
    body = json.dumps({"value": [{"subscriptionId": SUB, "clientState": "guess"}]}).encode()
    outs = {}
    resp = _post(webhooks.graph_notifications, body=body, outs=outs)
    assert resp.status_code == 202 and resp.get_body() == b""
    assert services.queues.sent == [] and outs["hints"].get() is None
