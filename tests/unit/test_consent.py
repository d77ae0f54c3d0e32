"""Admin consent: links with one-time state, and a callback that trusts only a real token."""

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from shared.errors import InvalidInput
from shared.onboarding import tenants
from shared.onboarding.consent import TABLE, CallbackParams, ConsentService
from shared.ops import audit
from tests.fakes import FakeTokenSource, FixedClock, InMemoryTables

APP = "11111111-2222-3333-4444-555555555555"
TID = "aaaaaaaa-bbbb-cccc-dddd-000000000001"
OTHER = "aaaaaaaa-bbbb-cccc-dddd-000000000002"


@pytest.fixture
def world():
    tables, clock, tokens = InMemoryTables(), FixedClock(), FakeTokenSource(consented={TID})
    service = ConsentService(tables=tables, clock=clock, tokens=tokens, client_id=APP,
                             login_base_url="https://login.example/", public_base_url="https://roomcal.example")
    return service, tables, clock, tokens


def state_of(url):
    return parse_qs(urlparse(url).query)["state"][0]


class TestStart:
    def test_consent_url_has_microsofts_v2_parameters(self, world):
        service, tables, *_ = world
        links = service.start(tenant_hint=None, created_by="ops@vendor")
        url = urlparse(links["consent_url"])
        assert (url.scheme, url.netloc, url.path) == ("https", "login.example", "/organizations/v2.0/adminconsent")
        query = parse_qs(url.query)
        assert query["client_id"] == [APP]
        assert query["scope"] == ["https://graph.microsoft.com/.default"]
        assert query["redirect_uri"] == ["https://roomcal.example/api/consent/callback"]
        row = tables.get(TABLE, "consent", query["state"][0])
        assert row["used"] is False and row["created_by"] == "ops@vendor" and row["kind"] == "admin"

    def test_request_consent_link_has_its_own_state_and_a_message(self, world):
        service, *_ = world
        links = service.start(tenant_hint="Contoso.onmicrosoft.com", created_by="fm@contoso")
        assert state_of(links["consent_url"]) != state_of(links["request_consent"]["url"])
        assert "/contoso.onmicrosoft.com/v2.0/adminconsent" in links["request_consent"]["url"]
        assert links["request_consent"]["url"] in links["request_consent"]["message"]

    @pytest.mark.parametrize("hint", ["common", "not a domain", "evil.com/../x", "a" * 300])
    def test_bad_tenant_hints_are_refused(self, world, hint):
        with pytest.raises(InvalidInput):
            world[0].start(tenant_hint=hint, created_by="x")


class TestCallback:
    def test_success_records_the_tenant_only_after_a_token(self, world):
        service, tables, _, tokens = world
        state = state_of(service.start(tenant_hint=TID, created_by="ops")["consent_url"])
        outcome = service.handle_callback(CallbackParams(state=state, tenant=TID, admin_consent="True"))
        assert outcome.ok and outcome.tenant_id == TID and tokens.asked[0] == TID
        assert tenants.load(tables, TID).status == "consented"
        assert audit.list_entries(tables, tenant_id=TID)[0]["action"] == "consent.granted"

    def test_forged_tenant_without_a_token_records_nothing(self, world):
        service, tables, *_ = world
        state = state_of(service.start(tenant_hint=None, created_by="ops")["consent_url"])
        outcome = service.handle_callback(CallbackParams(state=state, tenant=OTHER, admin_consent="True"))
        assert not outcome.ok and "could not sign in" in outcome.title
        assert "Tenants" not in tables.rows or not tables.rows["Tenants"]

    def test_reused_state_is_refused(self, world):
        service, *_ = world
        state = state_of(service.start(tenant_hint=None, created_by="ops")["consent_url"])
        assert service.handle_callback(CallbackParams(state=state, tenant=TID)).ok
        again = service.handle_callback(CallbackParams(state=state, tenant=TID))
        assert not again.ok and "already used" in again.title

    def test_expired_state_is_refused_and_nothing_recorded(self, world):
        service, tables, clock, _ = world
        state = state_of(service.start(tenant_hint=None, created_by="ops")["consent_url"])
        clock.advance(minutes=31)
        outcome = service.handle_callback(CallbackParams(state=state, tenant=TID))
        assert not outcome.ok and "expired" in outcome.title
        assert not tables.rows.get("Tenants")

    @pytest.mark.parametrize("state", [None, "", "short", "x" * 43, "<script>alert(1)</script>" * 2])
    def test_unknown_or_malformed_state_is_refused(self, world, state):
        outcome = world[0].handle_callback(CallbackParams(state=state, tenant=TID))
        assert not outcome.ok and outcome.error == "invalid_state"

    def test_a_concurrent_double_submit_consumes_the_state_once(self, world):
        service, tables, *_ = world
        state = state_of(service.start(tenant_hint=None, created_by="ops")["consent_url"])
        original_merge = tables.merge

        def racing_merge(table, entity, *, etag=None):
            original_merge(table, {"PartitionKey": "consent", "RowKey": state, "used": True})  # the other request
            original_merge(table, entity, etag=etag)

        tables.merge = racing_merge
        outcome = service.handle_callback(CallbackParams(state=state, tenant=TID))
        assert not outcome.ok and "already used" in outcome.title

    def test_consenting_again_is_idempotent_and_keeps_an_active_tenant_active(self, world):
        service, tables, _clock, _ = world
        for _ in range(2):
            state = state_of(service.start(tenant_hint=None, created_by="ops")["consent_url"])
            assert service.handle_callback(CallbackParams(state=state, tenant=TID)).ok
        assert len(tables.rows["Tenants"]) == 1
        tables.merge("Tenants", {"PartitionKey": "tenant", "RowKey": TID, "status": "active"})
        state = state_of(service.start(tenant_hint=None, created_by="ops")["consent_url"])
        assert service.handle_callback(CallbackParams(state=state, tenant=TID)).ok
        assert tenants.load(tables, TID).status == "active"

    def test_tenant_mismatch_with_the_requested_tenant_is_refused(self, world):
        service, tables, _, tokens = world
        tokens.consented.add(OTHER)
        state = state_of(service.start(tenant_hint=TID, created_by="ops")["consent_url"])
        outcome = service.handle_callback(CallbackParams(state=state, tenant=OTHER))
        assert not outcome.ok and outcome.error == "tenant_mismatch" and not tables.rows.get("Tenants")

    def test_tenant_wide_calendar_permission_is_flagged(self, world):
        service, _, _, tokens = world
        tokens.roles_by_tenant[TID] = ["Place.Read.All", "Calendars.ReadWrite"]
        state = state_of(service.start(tenant_hint=None, created_by="ops")["consent_url"])
        outcome = service.handle_callback(CallbackParams(state=state, tenant=TID))
        assert outcome.ok and "Calendars.ReadWrite" in outcome.warnings[0]


class TestMicrosoftErrors:
    @pytest.mark.parametrize(("error", "description", "title"), [
        ("access_denied", "AADSTS65004: User declined to consent", "Consent was not given"),
        ("permission_denied", "The admin canceled the request", "Consent was not given"),
        ("consent_required", "AADSTS90094: admin consent required", "An administrator has to approve RoomCal"),
        ("invalid_request", "AADSTS50011: redirect uri mismatch", "app registration"),
        ("temporarily_unavailable", "", "Microsoft could not complete"),
        ("<b>weird</b>", "<script>", "did not complete"),
    ])
    def test_errors_become_readable_messages_and_record_nothing(self, world, error, description, title):
        service, tables, *_ = world
        state = state_of(service.start(tenant_hint=None, created_by="ops")["consent_url"])
        outcome = service.handle_callback(CallbackParams(state=state, tenant=TID, error=error,
                                                         error_description=description))
        assert not outcome.ok and title in outcome.title and outcome.next_steps
        assert "<" not in str(outcome.to_dict())
        assert not tables.rows.get("Tenants")

    def test_state_ttl_is_configurable(self):
        tables, clock = InMemoryTables(), FixedClock()
        service = ConsentService(tables=tables, clock=clock, tokens=FakeTokenSource({TID}), client_id=APP,
                                 login_base_url="https://l", public_base_url="https://p", ttl=timedelta(minutes=5))
        state = state_of(service.start(tenant_hint=None, created_by="x")["consent_url"])
        clock.advance(minutes=6)
        assert "expired" in service.handle_callback(CallbackParams(state=state, tenant=TID)).title
