"""Consent bound to a signed identity: a signed-in admin onboards only their token's tenant, both links are
bound to it, a forged tenant on the callback is refused, and an offboarded tenant is revived only on purpose."""

from types import SimpleNamespace

import pytest

from shared.admin.principal import ADMIN_ROLE, READER_ROLE, Principal
from shared.config import load_settings
from shared.errors import AccessDenied, Conflict, InvalidInput
from shared.models import TenantStatus
from shared.onboarding import tenants
from shared.onboarding import use_cases as onboarding
from shared.onboarding.consent import CallbackParams
from tests.fakes import FakeTokenSource, FixedClock, InMemoryTables
from tests.unit.test_consent import state_of

TID = "aaaaaaaa-bbbb-cccc-dddd-000000000001"
OTHER = "aaaaaaaa-bbbb-cccc-dddd-000000000002"


@pytest.fixture
def services():
    settings = load_settings(environment="development", client_id="11111111-2222-3333-4444-555555555555",
                             client_secret="x", login_base_url="https://login.example")
    return SimpleNamespace(settings=settings, tables=InMemoryTables(), clock=FixedClock(),
                           tokens=FakeTokenSource(consented={TID, OTHER}))


def admin(tid=TID, *roles):
    return Principal(kind="entra", tenant_id=tid, object_id="o1", username=f"ada@{tid[:4]}.example",
                     roles=frozenset(roles))


def finish(services, url, tenant):
    return onboarding.finish_consent(services, CallbackParams(state=state_of(url), tenant=tenant,
                                                              admin_consent="True"))


class TestSignedInAddTenant:
    def test_both_links_are_bound_to_the_token_tenant(self, services):
        links = onboarding.start(services, onboarding.StartOnboarding(), actor="ada", principal=admin())
        assert links["tenant_hint"] == TID
        for url in (links["consent_url"], links["request_consent"]["url"]):
            assert f"/{TID}/v2.0/adminconsent" in url

    def test_another_tenant_in_the_body_is_refused(self, services):
        with pytest.raises(InvalidInput):
            onboarding.start(services, onboarding.StartOnboarding(tenant=OTHER), actor="ada", principal=admin())

    @pytest.mark.parametrize("kind", ["consent_url", "request"])
    def test_a_forged_tenant_on_the_callback_is_refused(self, services, kind):
        """Even for a tenant that did consent RoomCal: the state was issued for TID, so OTHER is refused."""
        links = onboarding.start(services, onboarding.StartOnboarding(), actor="ada", principal=admin())
        url = links["consent_url"] if kind == "consent_url" else links["request_consent"]["url"]
        outcome = finish(services, url, OTHER)
        assert not outcome.ok and outcome.error == "tenant_mismatch"
        assert tenants.all_tenants(services.tables) == []
        assert finish(services, links["request_consent"]["url"] if kind == "consent_url" else links["consent_url"],
                      TID).ok

    def test_a_connected_tenant_needs_the_admin_role_to_start_again(self, services):
        tenants.mark_consented(services.tables, services.clock, TID)
        with pytest.raises(AccessDenied):
            onboarding.start(services, onboarding.StartOnboarding(), actor="r", principal=admin(TID, READER_ROLE))
        assert onboarding.start(services, onboarding.StartOnboarding(), actor="a", principal=admin(TID, ADMIN_ROLE))


class TestOffboardedTenants:
    @pytest.fixture
    def offboarded(self, services):
        tenants.mark_consented(services.tables, services.clock, TID)
        tenants.change(services.tables, TID, lambda current: current.model_copy(
            update={"status": TenantStatus.offboarded}))
        return services

    def test_starting_again_needs_the_explicit_reonboard(self, offboarded):
        with pytest.raises(Conflict):
            onboarding.start(offboarded, onboarding.StartOnboarding(), actor="a", principal=admin(TID, ADMIN_ROLE))

    def test_a_callback_with_an_old_link_does_not_revive_it(self, offboarded):
        """A link issued before offboarding (or without reonboard) consents nothing back."""
        services = offboarded
        tenants.change(services.tables, TID, lambda current: current.model_copy(
            update={"status": TenantStatus.active}))
        url = onboarding.start(services, onboarding.StartOnboarding(tenant=TID), actor="op")["consent_url"]
        tenants.change(services.tables, TID, lambda current: current.model_copy(
            update={"status": TenantStatus.offboarded}))
        outcome = finish(services, url, TID)
        assert not outcome.ok and outcome.error == "tenant_offboarded"
        assert tenants.load(services.tables, TID).status == TenantStatus.offboarded

    def test_reonboard_connects_it_again(self, offboarded):
        links = onboarding.start(offboarded, onboarding.StartOnboarding(reonboard=True), actor="a",
                                 principal=admin(TID, ADMIN_ROLE))
        assert finish(offboarded, links["consent_url"], TID).ok
        assert tenants.load(offboarded.tables, TID).status == TenantStatus.consented
