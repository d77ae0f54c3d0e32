"""Onboarding HTTP functions: JSON in and out, the consent landing page, the .ps1 download."""

import json
from urllib.parse import parse_qs, urlparse

import azure.functions as func
import pytest

from functions import onboarding
from shared import bootstrap
from shared.config import load_settings
from tests.fakes import FakeQueue, FakeTokenSource, FixedClock, InMemoryTables

APP = "11111111-2222-3333-4444-555555555555"
TID = "aaaaaaaa-bbbb-cccc-dddd-000000000001"


@pytest.fixture
def services(monkeypatch):
    settings = load_settings(environment="development", client_id=APP, client_secret="x",
                             public_base_url="https://roomcal.example", login_base_url="https://login.example")
    built = bootstrap.build_services(settings, tables=InMemoryTables(), queues=FakeQueue(), clock=FixedClock(),
                                     tokens=FakeTokenSource(consented={TID}))
    monkeypatch.setattr(bootstrap, "get_services", lambda: built)
    return built


def http(method, url, body=b"", params=None, route_params=None, headers=None):
    return func.HttpRequest(method, url, body=body, params=params or {}, route_params=route_params or {},
                            headers=headers or {})


def start(body=b""):
    resp = onboarding.start_onboarding(http("POST", "/api/tenants", body, headers={"x-ms-client-principal-name": "fm"}))
    return resp.status_code, json.loads(resp.get_body())


def callback(**params):
    resp = onboarding.consent_callback(http("GET", "/api/consent/callback", params=params))
    return resp, resp.get_body().decode()


class TestStartOnboarding:
    def test_no_body_gives_an_organizations_link(self, services):
        status, body = start()
        assert status == 201 and "/organizations/v2.0/adminconsent?" in body["consent_url"]
        assert body["request_consent"]["message"]

    def test_tenant_hint_in_body(self, services):
        status, body = start(json.dumps({"tenant": TID}).encode())
        assert status == 201 and f"/{TID}/v2.0/adminconsent?" in body["consent_url"]

    @pytest.mark.parametrize("raw", [b"{not json", b'{"tenant": "common"}', b'{"tenant": 5}', b'{"tenantt": "x"}'])
    def test_bad_body_is_a_400_saying_what_is_wrong(self, services, raw):
        status, body = start(raw)
        assert status == 400 and body["error"] == "invalid_input" and body["message"]


class TestConsentCallback:
    def test_success_page_names_the_tenant_and_next_step(self, services):
        state = parse_qs(urlparse(start()[1]["consent_url"]).query)["state"][0]
        resp, page = callback(state=state, tenant=TID, admin_consent="True")
        assert resp.status_code == 200 and resp.mimetype == "text/html"
        assert TID in page and "rbac-script" in page
        assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")

    def test_hostile_parameters_are_never_reflected(self, services):
        state = parse_qs(urlparse(start()[1]["consent_url"]).query)["state"][0]
        resp, page = callback(state=state, error="<script>alert(1)</script>",
                              error_description="<img src=x onerror=alert(1)> AADSTS65004")
        assert resp.status_code == 400
        assert "<script>" not in page and "<img" not in page and "onerror" not in page

    def test_unknown_state_is_a_clear_error_page(self, services):
        resp, page = callback(state="A" * 43, tenant=TID)
        assert resp.status_code == 400 and "not valid" in page
        assert not services.tables.rows.get("Tenants")

    @pytest.mark.parametrize("params", [{"state": "A" * 300}, {"error": "e" * 500}, {"admin_consent": "True" * 10},
                                        {"tenant": TID * 8, "state": "A" * 43}])
    def test_overlong_parameters_are_an_error_page_not_a_500(self, services, params):
        """Anonymous input past CallbackParams' max_length raised a ValidationError: a JSON 500."""
        resp, page = callback(**params)
        assert resp.status_code == 400 and resp.mimetype == "text/html" and "not valid" in page
        assert not services.tables.rows.get("Tenants")


class TestRbacScript:
    def consented(self, services):
        state = parse_qs(urlparse(start()[1]["consent_url"]).query)["state"][0]
        callback(state=state, tenant=TID)

    def get(self, tenant=TID, **params):
        return onboarding.rbac_script(http("GET", f"/api/tenants/{tenant}/rbac-script", params=params,
                                           route_params={"tenant_id": tenant}))

    def test_download_is_a_named_ps1_with_a_bom(self, services):
        self.consented(services)
        resp = self.get(scope="group", group="RoomCal Rooms")
        assert resp.status_code == 200 and resp.mimetype == "text/plain"
        assert resp.headers["Content-Disposition"] == f'attachment; filename="Grant-RoomCalAccess-{TID}.ps1"'
        body = resp.get_body()
        assert body.startswith(b"\xef\xbb\xbf") and b"New-ManagementRoleAssignment" in body

    @pytest.mark.parametrize("params", [{}, {"scope": "group"}, {"scope": "country", "country": "ZZ"},
                                        {"scope": "group", "group": "a\nb"}, {"scope": "x"}])
    def test_bad_parameters_are_a_400_with_detail(self, services, params):
        self.consented(services)
        resp = self.get(**params)
        body = json.loads(resp.get_body())
        assert resp.status_code == 400 and body["detail"]

    def test_unknown_tenant_is_404_and_bad_id_400(self, services):
        assert self.get(scope="country", country="NL").status_code == 404
        assert self.get(tenant="not-a-guid", scope="country", country="NL").status_code == 400
