"""Onboarding end to end against the Microsoft 365 emulator: real HTTPS, real MSAL, real Graph client.

Tables and queues are the in-memory fakes (the storage adapters have their own Azurite tests);
the queue is drained by calling the room-verify handler, as the host would.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from devtools.m365sim import ControlClient, Emulator, trusted_session
from devtools.m365sim.world import DEFAULT_CLIENT_ID, DEFAULT_SECRET
from shared import bootstrap
from shared.config import load_settings
from shared.errors import ConsentMissing
from shared.onboarding import rooms, tenants, verification
from shared.onboarding import use_cases as onboarding
from shared.onboarding.consent import CallbackParams
from tests.fakes import FakeQueue, InMemoryTables
from tests.integration.offices import small_office

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with Emulator(port=0, seed=1, state_dir=tmp_path_factory.mktemp("m365sim")) as s:
        yield s


@pytest.fixture
def ctl(sim):
    return ControlClient(sim.base_url, sim.ca_path)


@pytest.fixture
def services(sim):
    settings = load_settings(environment="development", notifications_key="n-key", lifecycle_key="l-key",
                             graph_base_url=f"{sim.base_url}/v1.0",
                             login_base_url=sim.base_url, client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_SECRET,
                             ca_bundle=sim.ca_path, public_base_url="http://127.0.0.1:7071", hash_key="k" * 32)
    return bootstrap.build_services(settings, tables=InMemoryTables(), queues=FakeQueue())


def new_tenant(ctl) -> tuple[str, str]:
    """A tenant that has not consented yet, with an admin, a non-admin, and a mix of mailboxes."""
    return small_office(ctl, "onb", capacity=6, building="HQ", floor=1)


def consent(sim, services, tid: str, mode: str = "approve", *, state_from=None) -> onboarding.ConsentOutcome:
    ControlClient(sim.base_url, sim.ca_path).auto_consent(tid, mode)
    links = onboarding.start(services, onboarding.StartOnboarding(tenant=tid), actor="fm@vendor")
    answer = trusted_session(sim.ca_path).get(links["consent_url"], allow_redirects=False, timeout=30)
    assert answer.status_code in (302, 303), answer.text
    params = {k: v[0] for k, v in parse_qs(urlparse(answer.headers["Location"]).query).items()}
    if state_from is not None:
        state_from.append(params)
    return onboarding.finish_consent(services, CallbackParams(**params))


def apply_rbac(ctl, tid: str, domain: str, role: str = "Application Calendars.ReadWrite") -> None:
    """What the generated script does, through the emulator's Exchange control API."""
    ctl.add_group(tid, f"roomcal-rooms@{domain}", [f"good1@{domain}", f"good2@{domain}", f"ann@{domain}",
                                                   f"onprem@{domain}"])
    ctl.add_scope(tid, "RoomCal Room Calendars Scope", member_of_group=f"roomcal-rooms@{domain}",
                  recipient_type="RoomMailbox")
    ctl.assign_role(tid, role, "RoomCal Room Calendars Scope")


def verify_all(services, tid: str) -> dict:
    onboarding.verify(services, tid, actor="fm")
    while messages := services.queues.messages(verification.QUEUE):
        services.queues.sent = [s for s in services.queues.sent if s[0] != verification.QUEUE]
        for message in messages:
            onboarding.verify_room_message(services, message)
    return {r["email"].split("@")[0]: r for r in rooms.listing(services.tables, tid)["rooms"]}


def onboard_and_sync(sim, services, ctl, tid: str, domain: str) -> None:
    """Consent, the RBAC script, the /places import, verification and the first synchronise, as an admin
    does them; the room-changes hints are left queued for the test to drain."""
    assert consent(sim, services, tid).ok
    apply_rbac(ctl, tid, domain)
    onboarding.import_rooms(services, tid, actor="fm")
    verify_all(services, tid)
    onboarding.synchronise(services, tid, actor="fm")


def test_full_onboarding_ends_with_the_right_reason_on_each_room(sim, ctl, services):
    tid, domain = new_tenant(ctl)
    outcome = consent(sim, services, tid)
    assert outcome.ok and outcome.tenant_id == tid, outcome
    apply_rbac(ctl, tid, domain)
    imported = onboarding.import_rooms(services, tid, actor="fm")
    assert len(imported["added"]) == 4
    onboarding.register_rooms(services, tid, {"rooms": [{"email": f"ann@{domain}"},
                                                        {"email": f"ghost@{domain}"}]}, actor="fm")
    result = verify_all(services, tid)
    codes = {name: room["reason_code"] for name, room in result.items()}
    assert codes == {"good1": "ready", "good2": "ready", "outside": "outside_rbac_scope",
                     "onprem": "mailbox_not_found", "ann": "not_a_room_mailbox", "ghost": "mailbox_not_found"}
    assert result["good1"]["capacity"] == 6 and result["good1"]["building"] == "HQ"
    progress = verification.progress(services.tables, tid)
    assert progress["done"] and progress["verified"] == progress["total"] == 6
    synced = onboarding.synchronise(services, tid, actor="fm")
    assert sorted(synced["queued"]) == [f"good1@{domain}", f"good2@{domain}"]
    assert tenants.load(services.tables, tid).status == "active"


def test_read_only_role_with_release_enabled_is_reported(sim, ctl, services):
    from shared.models import TenantSettingsUpdate

    tid, domain = new_tenant(ctl)
    assert consent(sim, services, tid).ok
    apply_rbac(ctl, tid, domain, role="Application Calendars.Read")
    tenants.update_settings(services.tables, services.clock, tid, TenantSettingsUpdate(noshow_release=True),
                            actor="fm")
    onboarding.register_rooms(services, tid, {"email": f"good1@{domain}"}, actor="fm")
    assert verify_all(services, tid)["good1"]["reason_code"] == "read_only_role"
    assert not [d for d in sim.declines if d["tenant"] == tid]  # the write probe changed nothing


def test_consent_declined_and_not_an_admin(sim, ctl, services):
    tid, _ = new_tenant(ctl)
    declined = consent(sim, services, tid, "decline")
    assert not declined.ok and declined.title == "Consent was not given" and declined.aadsts == "AADSTS65004"
    not_admin = consent(sim, services, tid, "non_admin")
    assert not not_admin.ok and "administrator" in not_admin.title
    assert not services.tables.rows.get("Tenants")


def test_forged_reused_and_expired_state(sim, ctl, services):
    tid, _ = new_tenant(ctl)
    other, _ = new_tenant(ctl)  # never consents
    seen: list[dict] = []
    assert consent(sim, services, tid, state_from=seen).ok
    reused = onboarding.finish_consent(services, CallbackParams(**seen[0]))
    assert not reused.ok and "already used" in reused.title
    forged = onboarding.finish_consent(services, CallbackParams(**{**seen[0], "state": "F" * 43}))
    assert not forged.ok and forged.error == "invalid_state"
    links = onboarding.start(services, onboarding.StartOnboarding(), actor="fm")
    state = parse_qs(urlparse(links["consent_url"]).query)["state"][0]
    forged_tenant = onboarding.finish_consent(services, CallbackParams(state=state, tenant=other,
                                                                       admin_consent="True"))
    assert not forged_tenant.ok and "could not sign in" in forged_tenant.title
    with pytest.raises(Exception):  # noqa: B017
        tenants.load(services.tables, other)


def test_consent_revoked_after_onboarding_is_flagged(sim, ctl, services):
    tid, domain = new_tenant(ctl)
    assert consent(sim, services, tid).ok
    apply_rbac(ctl, tid, domain)
    onboarding.register_rooms(services, tid, {"email": f"good1@{domain}"}, actor="fm")
    ctl.set_consent(tid, False)
    services.tokens.forget(tid)
    with pytest.raises(ConsentMissing):
        onboarding.verify(services, tid, actor="fm")
    assert "consent revoked" in tenants.load(services.tables, tid).reason


def test_two_tenants_side_by_side_without_leakage(sim, ctl, services):
    (t1, d1), (t2, d2) = new_tenant(ctl), new_tenant(ctl)
    for tid, domain in ((t1, d1), (t2, d2)):
        assert consent(sim, services, tid).ok
        apply_rbac(ctl, tid, domain)
        onboarding.import_rooms(services, tid, actor="fm")
    onboarding.register_rooms(services, t1, {"email": f"good1@{d2}"}, actor="fm")  # another tenant's room
    verify_all(services, t1)
    verify_all(services, t2)
    in_t1 = {r["email"]: r["reason_code"] for r in rooms.listing(services.tables, t1)["rooms"]}
    in_t2 = {r["email"]: r["reason_code"] for r in rooms.listing(services.tables, t2)["rooms"]}
    assert all(email.endswith(d2) for email in in_t2) and in_t2[f"good1@{d2}"] == "ready"
    assert in_t1[f"good1@{d1}"] == "ready"
    # tenant 1's token cannot read tenant 2's mailbox, whatever tenant 1 registers
    assert in_t1[f"good1@{d2}"] in {"mailbox_not_found", "not_a_room_mailbox"}


def test_expired_state_records_nothing_even_after_a_real_consent(sim, ctl, services):
    from tests.fakes import FixedClock

    clocked = bootstrap.build_services(services.settings, tables=InMemoryTables(), queues=FakeQueue(),
                                       clock=FixedClock(), graph=services.graph, tokens=services.tokens)
    tid, _ = new_tenant(ctl)
    ctl.auto_consent(tid, "approve")
    links = onboarding.start(clocked, onboarding.StartOnboarding(tenant=tid), actor="fm")
    answer = trusted_session(sim.ca_path).get(links["consent_url"], allow_redirects=False, timeout=30)
    params = {k: v[0] for k, v in parse_qs(urlparse(answer.headers["Location"]).query).items()}
    clocked.clock.advance(minutes=31)
    outcome = onboarding.finish_consent(clocked, CallbackParams(**params))
    assert not outcome.ok and "expired" in outcome.title
    assert not clocked.tables.rows.get("Tenants")
