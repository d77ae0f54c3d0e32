"""The sign-in endpoints as functions: who-am-I, sign-out, and a callback that has no sign-in of ours."""

import json

import azure.functions as func
import pytest

from functions import auth
from shared import bootstrap
from shared.admin.access import AdminAccess
from shared.admin.principal import ADMIN_ROLE, Principal
from shared.admin.sessions import SessionCodec, fernet_for
from tests.fakes import FixedClock, InMemoryTables

TID = "aaaaaaaa-bbbb-cccc-dddd-000000000001"


@pytest.fixture
def codec(monkeypatch):
    codec = SessionCodec(fernet_for("k" * 40, development=False), clock=FixedClock(), minutes=60)
    monkeypatch.setattr(bootstrap, "get_admin_access", lambda: AdminAccess(codec, "http://127.0.0.1:7071"))
    tables = InMemoryTables()
    monkeypatch.setattr(bootstrap, "get_services", lambda: type("S", (), {"tables": tables})())
    return codec


def request(method, cookie=None, **headers):
    if cookie:
        headers["cookie"] = cookie
    return func.HttpRequest(method, "/api/auth/x", body=b"", headers=headers)


def session(codec) -> str:
    return codec.session_cookie(Principal(kind="entra", tenant_id=TID, object_id="o", username="ada@contoso.com",
                                          roles=frozenset({ADMIN_ROLE}))).split(";", 1)[0]


def test_me_answers_401_without_a_session_and_the_identity_with_one(codec):
    assert auth.signin_me(request("GET")).status_code == 401
    answer = auth.signin_me(request("GET", session(codec)))
    body = json.loads(answer.get_body())
    assert answer.status_code == 200 and body["tenant_id"] == TID and body["can_change"] and body["csrf"]
    assert answer.headers["Cache-Control"] == "no-store"


def test_sign_out_needs_the_csrf_token_and_clears_the_cookie(codec):
    cookie = session(codec)
    assert auth.signin_signout(request("POST", cookie)).status_code == 403
    csrf = codec.principal(cookie).csrf
    answer = auth.signin_signout(request("POST", cookie, **{"x-csrf-token": csrf}))
    assert answer.status_code == 204 and answer.headers["Set-Cookie"].startswith("roomcal_session=; Max-Age=0")
    # A copy of the cookie kept from before the sign-out is no session any more.
    assert auth.signin_me(request("GET", cookie)).status_code == 401
    assert auth.signin_me(request("GET", session(codec))).status_code == 200  # a new sign-in is


def test_a_callback_without_our_sign_in_cookie_is_refused_and_records_nothing(codec):
    req = func.HttpRequest("GET", "/api/auth/callback", body=b"", params={"code": "c", "state": "s"})
    answer = auth.signin_callback(req)
    assert answer.status_code == 400 and b"Sign in again" in answer.get_body()
    assert "Max-Age=0" in answer.headers["Set-Cookie"]
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]


def test_a_session_cookie_is_not_a_sign_in_flow(codec):
    req = func.HttpRequest("GET", "/api/auth/callback", body=b"", params={"code": "c", "state": "s"},
                           headers={"cookie": session(codec)})
    assert auth.signin_callback(req).status_code == 400
