"""RoomCal's admin sign-in (shared.admin) against the emulator's Entra: the code flow with PKCE and nonce via
MSAL, and every ID-token check (signature and key rollover, issuer per tenant, audience, expiry, nonce, tid)."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from devtools.m365sim import trusted_session
from devtools.m365sim.world import DEFAULT_CLIENT_ID, DEFAULT_SECRET
from shared.admin.id_tokens import IdTokenValidator, JwksCache
from shared.admin.signin import EntraSignIn
from shared.errors import AccessDenied, InvalidInput

CALLBACK = "http://127.0.0.1:7071/api/auth/callback"


class SimClock:
    def __init__(self, sim):
        self.sim = sim

    def now(self) -> datetime:
        return self.sim.world.clock.now().astimezone(UTC)


@pytest.fixture
def office(ctl):
    t = ctl.create_tenant(domain=f"signin-{uuid.uuid4().hex[:10]}.example.com")
    ctl.add_user(t["id"], f"ada@{t['domain']}", is_admin=True, app_roles=["RoomCal.Admin"])
    ctl.add_user(t["id"], f"rita@{t['domain']}", app_roles=["RoomCal.Reader"])
    return t


@pytest.fixture
def monotonic():
    return {"now": 0.0}


@pytest.fixture
def validator(sim, monotonic):
    metadata = f"{sim.base_url}/organizations/v2.0/.well-known/openid-configuration"
    jwks = JwksCache(trusted_session(sim.ca_path), metadata, monotonic=lambda: monotonic["now"])
    return IdTokenValidator(jwks, client_id=DEFAULT_CLIENT_ID, clock=SimClock(sim))


@pytest.fixture
def signin(sim, validator):
    return EntraSignIn(client_id=DEFAULT_CLIENT_ID, credential=DEFAULT_SECRET, login_base_url=sim.base_url,
                       session=trusted_session(sim.ca_path), redirect_uri=CALLBACK, validator=validator)


def _pick_user(sim, auth_uri: str, user: str) -> dict:
    """The browser's part: open the sign-in page, choose ``user``, accept; the callback's query."""
    browser = trusted_session(sim.ca_path)
    page = browser.get(auth_uri, timeout=10)
    hidden = dict(re.findall(r"<input type='hidden' name='([^']+)' value='([^']*)'>", page.text))
    answer = browser.post(page.url, data={**hidden, "login_hint": user, "action": "accept"}, allow_redirects=False,
                          timeout=10)
    assert answer.status_code == 302, answer.text
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}


def _claims(sim, tenant: str, **changes) -> dict:
    now = int(sim.world.clock.now().timestamp())
    claims = {"aud": DEFAULT_CLIENT_ID, "iss": f"{sim.base_url}/{tenant}/v2.0", "iat": now, "nbf": now,
              "exp": now + 3600, "tid": tenant, "oid": str(uuid.uuid4()), "nonce": "n-1", "ver": "2.0"}
    return {k: v for k, v in {**claims, **changes}.items() if v is not None}


def _signed(sim, claims: dict, key=None, kid=None) -> str:
    return jwt.encode(claims, key or sim.tokens.key.private, algorithm="RS256",
                      headers={"kid": kid or sim.tokens.key.kid})


class TestSignIn:
    def test_code_flow_with_pkce_gives_the_validated_identity(self, sim, signin, office):
        """The auth URL carries PKCE S256 and a nonce; the identity is the token's tid, oid and roles."""
        url, flow = signin.begin()
        query = parse_qs(urlsplit(url).query)
        assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
        assert query["nonce"][0] and "/organizations/oauth2/v2.0/authorize" in url
        who = signin.complete(flow, _pick_user(sim, url, f"ada@{office['domain']}"))
        assert (who.tenant_id, who.username, who.can_change) == (office["id"], f"ada@{office['domain']}", True)
        reader = signin.complete(*_flow_and_answer(sim, signin, f"rita@{office['domain']}"))
        assert reader.can_read and not reader.can_change

    def test_a_callback_with_another_flows_state_is_refused(self, sim, signin, office):
        _, flow = signin.begin()
        other_url, _ = signin.begin()
        with pytest.raises(InvalidInput):
            signin.complete(flow, _pick_user(sim, other_url, f"ada@{office['domain']}"))

    def test_the_emulator_refuses_a_wrong_code_verifier(self, sim, office):
        """PKCE: the code is worthless without the verifier whose S256 hash went to /authorize."""
        verifier = "v" * 50
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        url = (f"{sim.base_url}/organizations/oauth2/v2.0/authorize?client_id={DEFAULT_CLIENT_ID}&response_type=code"
               f"&redirect_uri={CALLBACK}&scope=openid&state=s&nonce=n&code_challenge={challenge}"
               "&code_challenge_method=S256")
        http = trusted_session(sim.ca_path)

        def redeem(code, code_verifier):
            return http.post(f"{sim.base_url}/organizations/oauth2/v2.0/token", timeout=10, data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
                "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_SECRET, "code_verifier": code_verifier})

        wrong = redeem(_pick_user(sim, url, f"ada@{office['domain']}")["code"], "w" * 50)
        assert wrong.status_code == 400 and 501481 in wrong.json()["error_codes"]
        right = redeem(_pick_user(sim, url, f"ada@{office['domain']}")["code"], verifier)
        assert right.status_code == 200 and right.json()["id_token"]


def _flow_and_answer(sim, signin, user):
    url, flow = signin.begin()
    return flow, _pick_user(sim, url, user)


class TestIdTokenValidation:
    def test_a_good_token_passes(self, sim, validator, office):
        assert validator.validate(_signed(sim, _claims(sim, office["id"])), nonce="n-1")["tid"] == office["id"]

    @pytest.mark.parametrize(("change", "why"), [
        ({"aud": "00000000-0000-0000-0000-00000000beef"}, "another application"),
        ({"nonce": "n-2"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"exp": 1_000}, "expired"),
        ({"iat": 4_000_000_000, "nbf": 4_000_000_000}, "not valid yet"),
        ({"tid": "not-a-guid"}, "GUID"),
    ])
    def test_each_claim_check_refuses(self, sim, validator, office, change, why):
        with pytest.raises(AccessDenied, match=why):
            validator.validate(_signed(sim, _claims(sim, office["id"], **change)), nonce="n-1")

    def test_the_issuer_must_be_the_tokens_own_tenant(self, sim, validator, office):
        """A token whose tid says one tenant but whose issuer is another's is refused (multi-tenant issuer check)."""
        claims = _claims(sim, office["id"], iss=f"{sim.base_url}/{uuid.uuid4()}/v2.0")
        with pytest.raises(AccessDenied, match="issuer"):
            validator.validate(_signed(sim, claims), nonce="n-1")

    def test_a_forged_signature_is_refused(self, sim, validator, office):
        forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with pytest.raises(AccessDenied):
            validator.validate(_signed(sim, _claims(sim, office["id"]), key=forger), nonce="n-1")

    def test_personal_accounts_are_refused(self, sim, validator):
        msa = "9188040d-6c67-4c5b-b112-36a304b66dad"
        with pytest.raises(AccessDenied, match="personal"):
            validator.validate(_signed(sim, _claims(sim, msa)), nonce="n-1")

    def test_key_rollover_refetches_the_jwks_for_an_unknown_kid(self, sim, ctl, validator, monotonic, office):
        """Keys are cached; a token signed with a new key makes the cache refetch (after the 5-minute guard)."""
        assert validator.validate(_signed(sim, _claims(sim, office["id"])), nonce="n-1")
        ctl.rotate_signing_key()
        fresh = _signed(sim, _claims(sim, office["id"]))
        with pytest.raises(AccessDenied, match="does not publish"):
            validator.validate(fresh, nonce="n-1")  # refetched moments ago: not again yet
        monotonic["now"] += 301
        assert validator.validate(fresh, nonce="n-1")["tid"] == office["id"]
        old = sim.tokens.retired[0]
        assert validator.validate(_signed(sim, _claims(sim, office["id"]), key=old.private, kid=old.kid), nonce="n-1")
