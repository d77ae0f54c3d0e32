"""Session cookies and the authorisation rule: encrypted, tamper-evident, short-lived; one tenant per admin."""

import pytest

from shared.admin.authorise import authorise, check_csrf
from shared.admin.principal import ADMIN_ROLE, OPERATOR, READER_ROLE, Need, Principal
from shared.admin.sessions import SessionCodec, fernet_for
from shared.errors import AccessDenied, ConfigurationError, InvalidInput, NotFound
from tests.fakes import FixedClock

TID = "aaaaaaaa-bbbb-cccc-dddd-000000000001"
OTHER = "aaaaaaaa-bbbb-cccc-dddd-000000000002"
ADA = Principal(kind="entra", tenant_id=TID, object_id="o1", username="ada@contoso.com",
                roles=frozenset({ADMIN_ROLE}))


@pytest.fixture
def clock():
    return FixedClock()


@pytest.fixture
def codec(clock):
    return SessionCodec(fernet_for("s" * 40, development=False), clock=clock, minutes=60)


def pair(cookie: str) -> str:
    return cookie.split(";", 1)[0]


class TestCookies:
    def test_a_session_round_trips_with_its_attributes(self, codec):
        cookie = codec.session_cookie(ADA)
        assert all(a in cookie for a in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/api", "Max-Age=3600"))
        back = codec.principal(pair(cookie))
        assert (back.tenant_id, back.username, back.roles, back.can_change) == (TID, ADA.username, ADA.roles, True)
        assert len(back.csrf) >= 24 and "ada@contoso.com" not in cookie  # encrypted, not just signed

    def test_tampered_foreign_or_expired_cookies_are_no_session(self, codec, clock):
        cookie = pair(codec.session_cookie(ADA))
        flipped = cookie[:-3] + ("A" if cookie[-3] != "A" else "B") + cookie[-2:]
        other_key = SessionCodec(fernet_for("t" * 40, development=False), clock=clock, minutes=60)
        assert codec.principal(flipped) is None
        assert other_key.principal(cookie) is None
        assert codec.read(cookie, "flow") is None  # a session is not a sign-in flow
        clock.advance(minutes=61)
        assert codec.principal(cookie) is None

    def test_a_flow_cookie_is_not_a_session(self, codec):
        assert codec.principal(pair(codec.flow_cookie({"state": "s"}))) is None

    def test_sign_out_clears_the_cookie(self, codec):
        assert codec.clear_cookie().startswith("roomcal_session=; Max-Age=0")

    def test_production_needs_a_secret(self):
        with pytest.raises(ConfigurationError):
            fernet_for("", development=False)


class TestAuthorise:
    def test_operators_see_every_tenant(self):
        assert authorise(OPERATOR, Need.change, OTHER.upper()) == OTHER

    def test_an_admin_acts_only_for_their_tenant(self):
        assert authorise(ADA, Need.change, TID.upper()) == TID
        with pytest.raises(NotFound):
            authorise(ADA, Need.read, OTHER)
        with pytest.raises(NotFound):
            authorise(ADA, Need.read, "not-a-guid")

    def test_roles_decide_read_and_change(self):
        reader = Principal(kind="entra", tenant_id=TID, roles=frozenset({READER_ROLE}))
        nobody = Principal(kind="entra", tenant_id=TID)
        assert authorise(reader, Need.read, TID) == TID
        with pytest.raises(AccessDenied):
            authorise(reader, Need.change, TID)
        with pytest.raises(AccessDenied):
            authorise(nobody, Need.read, TID)
        assert authorise(nobody, Need.signed_in, None) is None
        with pytest.raises(AccessDenied):
            authorise(ADA, Need.operator, None)

    def test_operators_still_get_400_for_a_malformed_tenant(self):
        with pytest.raises(InvalidInput):
            authorise(OPERATOR, Need.read, "nope")


class TestCsrf:
    ME = Principal(kind="entra", tenant_id=TID, csrf="token-1")

    def test_reads_need_no_token_writes_do(self):
        check_csrf(self.ME, "GET", {}, "http://127.0.0.1:7071")
        check_csrf(self.ME, "POST", {"X-CSRF-Token": "token-1", "Origin": "http://127.0.0.1:7071"},
                   "http://127.0.0.1:7071")
        for headers in ({}, {"X-CSRF-Token": "token-2"},
                        {"X-CSRF-Token": "token-1", "Origin": "https://evil.example"}):
            with pytest.raises(AccessDenied):
                check_csrf(self.ME, "DELETE", headers, "http://127.0.0.1:7071")

    def test_operators_with_a_key_need_none(self):
        check_csrf(OPERATOR, "POST", {}, "http://127.0.0.1:7071")
