"""Admin consent (v1, v2) via the HTML form and auto-consent; admin sign-in (authorization code), ID tokens."""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from devtools.m365sim.world import DEFAULT_CLIENT_ID, DEFAULT_SECRET

REDIRECT = "http://127.0.0.1:7071/api/consent/callback"
SIGNIN_REDIRECT = "http://127.0.0.1:7071/api/auth/callback"


@pytest.fixture
def fresh(ctl):
    # A fresh domain each time: id(ctl) could repeat across tests and two tenants then share a domain.
    t = ctl.create_tenant(domain=f"fresh-{uuid.uuid4().hex[:12]}.example.com")
    ctl.add_user(t["id"], f"boss@{t['domain']}", is_admin=True)
    ctl.add_user(t["id"], f"clerk@{t['domain']}", is_admin=False)
    return t


def _query(resp) -> dict:
    assert resp.status_code == 302, resp.text
    loc = resp.headers["Location"]
    assert loc.startswith(REDIRECT + "?") or loc.startswith(SIGNIN_REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(loc).query).items()}


def _form_fields(html: str) -> dict:
    return dict(re.findall(r"<input type='hidden' name='([^']+)' value='([^']*)'>", html))


def _consent(sim, http, tenant, v2=False, **params):
    path = f"/{tenant}/v2.0/adminconsent" if v2 else f"/{tenant}/adminconsent"
    q = {"client_id": DEFAULT_CLIENT_ID, "redirect_uri": REDIRECT, "state": "s-123", **params}
    if v2:
        q.setdefault("scope", "https://graph.microsoft.com/.default")
    return sim.base_url + path, http.get(sim.base_url + path, params=q, allow_redirects=False, timeout=10)


def _submit(http, url, page, user, action="accept"):
    assert page.status_code == 200 and "<form method='post'" in page.text
    assert user in page.text
    data = {**_form_fields(page.text), "login_hint": user, "action": action}
    return http.post(url, data=data, allow_redirects=False, timeout=10)


def test_v1_consent_form_approve_by_admin(sim, http, ctl, fresh):
    url, page = _consent(sim, http, fresh["id"])
    q = _query(_submit(http, url, page, f"boss@{fresh['domain']}"))
    assert q == {"admin_consent": "True", "tenant": fresh["id"], "state": "s-123"}
    t = ctl.tenant(fresh["id"])
    assert t["consented"] and t["grants"] == ["Place.Read.All", "User.Read.All"]


def test_v2_consent_form_by_domain_adds_scope(sim, http, ctl, fresh):
    url, page = _consent(sim, http, fresh["domain"], v2=True)
    q = _query(_submit(http, url, page, f"boss@{fresh['domain']}"))
    assert q["admin_consent"] == "True" and q["tenant"] == fresh["id"]
    assert q["scope"] == "https://graph.microsoft.com/.default" and q["state"] == "s-123"


def test_consent_cancel_and_non_admin_are_access_denied(sim, http, ctl, fresh):
    url, page = _consent(sim, http, fresh["id"])
    q = _query(_submit(http, url, page, f"boss@{fresh['domain']}", action="cancel"))
    assert q["error"] == "access_denied" and q["error_description"].startswith("AADSTS65004") and q["state"] == "s-123"
    url, page = _consent(sim, http, "organizations", v2=True)
    q = _query(_submit(http, url, page, f"clerk@{fresh['domain']}"))
    assert q["error"] == "access_denied" and q["error_description"].startswith("AADSTS90094")
    assert not ctl.tenant(fresh["id"])["consented"]


def test_unregistered_redirect_uri_is_an_error_page_not_a_redirect(sim, http, fresh):
    _, page = _consent(sim, http, fresh["id"], redirect_uri="https://evil.example.com/cb")
    assert page.status_code == 400 and "AADSTS50011" in page.text and "Location" not in page.headers
    _, page = _consent(sim, http, "common", v2=True)
    assert page.status_code == 400 and "AADSTS50059" in page.text


def test_v2_consent_needs_default_scope(sim, http, fresh):
    _, r = _consent(sim, http, fresh["id"], v2=True, scope="Calendars.Read")
    assert _query(r)["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("mode", "expect"), [("approve", "True"), ("decline", "AADSTS65004"), ("non_admin", "AADSTS90094")]
)
def test_auto_consent_skips_the_page(sim, http, ctl, fresh, mode, expect):
    ctl.auto_consent(fresh["id"], mode)
    _, r = _consent(sim, http, fresh["id"])
    q = _query(r)
    assert q.get("admin_consent") == expect or q.get("error_description", "").startswith(expect)
    then = office_token_status(sim, http, fresh["id"])
    assert then == (200 if mode == "approve" else 400)


def office_token_status(sim, http, tid):
    r = http.post(
        f"{sim.base_url}/{tid}/oauth2/v2.0/token",
        data={
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_SECRET,
            "grant_type": "client_credentials",
            "scope": "https://graph.microsoft.com/.default",
        },
        timeout=10,
    )
    return r.status_code


def test_admin_sign_in_authorization_code_flow(sim, http, fresh):
    url = f"{sim.base_url}/{fresh['id']}/oauth2/v2.0/authorize"
    params = {
        "client_id": DEFAULT_CLIENT_ID,
        "response_type": "code",
        "redirect_uri": SIGNIN_REDIRECT,
        "scope": "openid profile",
        "state": "st",
        "nonce": "n-1",
    }
    page = http.get(url, params=params, timeout=10)
    q = _query(_submit(http, url, page, f"boss@{fresh['domain']}"))
    assert q["state"] == "st"
    def redeem():
        form = {"grant_type": "authorization_code", "code": q["code"], "redirect_uri": SIGNIN_REDIRECT,
                "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_SECRET}
        return http.post(f"{sim.base_url}/{fresh['id']}/oauth2/v2.0/token", data=form, timeout=10)

    tok = redeem()
    assert tok.status_code == 200, tok.text
    jwks = http.get(f"{sim.base_url}/{fresh['id']}/discovery/v2.0/keys", timeout=10).json()
    id_token = tok.json()["id_token"]
    key = jwt.PyJWK(jwks["keys"][0]).key
    claims = jwt.decode(
        id_token, key, algorithms=["RS256"], audience=DEFAULT_CLIENT_ID, issuer=f"{sim.base_url}/{fresh['id']}/v2.0"
    )
    assert claims["tid"] == fresh["id"] and claims["preferred_username"] == f"boss@{fresh['domain']}"
    assert claims["roles"] == ["RoomCal.Admin"] and claims["nonce"] == "n-1" and claims["oid"]
    again = redeem()  # the same code, once more
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"  # codes are one-time


def test_id_token_shortcut_and_auto_signin(sim, http, ctl, fresh):
    token = ctl.id_token(fresh["id"], f"clerk@{fresh['domain']}", nonce="x")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["roles"] == [] and claims["aud"] == DEFAULT_CLIENT_ID and claims["nonce"] == "x"
    ctl.auto_signin(fresh["id"], f"boss@{fresh['domain']}")
    r = http.get(
        f"{sim.base_url}/{fresh['id']}/oauth2/v2.0/authorize",
        params={"client_id": DEFAULT_CLIENT_ID, "response_type": "code", "redirect_uri": SIGNIN_REDIRECT, "state": "a"},
        allow_redirects=False,
        timeout=10,
    )
    assert "code" in _query(r)
