"""Entra contract: OpenID metadata, JWKS, client-credentials tokens and their documented errors, MSAL."""

from __future__ import annotations

import datetime as dt

import jwt
import msal
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from devtools.m365sim import trusted_session
from devtools.m365sim.world import DEFAULT_CLIENT_ID, DEFAULT_SECRET

from .conftest import GRAPH_SCOPE

ENTRA_ERROR_KEYS = {"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id"}


def test_openid_configuration_points_at_the_emulator(office):
    base = office.sim.base_url
    for path in (
        f"/{office.tid}/v2.0/.well-known/openid-configuration",
        f"/{office.tid}/.well-known/openid-configuration",
    ):
        doc = office.http.get(base + path, timeout=10).json()
        assert doc["token_endpoint"] == f"{base}/{office.tid}/oauth2/v2.0/token"
        assert doc["authorization_endpoint"] == f"{base}/{office.tid}/oauth2/v2.0/authorize"
        assert doc["jwks_uri"] == f"{base}/{office.tid}/discovery/v2.0/keys"
        assert doc["issuer"] == f"{base}/{office.tid}/v2.0"
        assert {"client_secret_post", "private_key_jwt"} <= set(doc["token_endpoint_auth_methods_supported"])
        assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
        assert doc["subject_types_supported"] == ["pairwise"]
        assert "end_session_endpoint" in doc and "userinfo_endpoint" in doc
    common = office.http.get(f"{base}/common/v2.0/.well-known/openid-configuration", timeout=10).json()
    assert common["issuer"] == f"{base}/{{tenantid}}/v2.0"


def test_unknown_tenant_metadata_and_token_answer_aadsts90002(office):
    r = office.http.get(f"{office.sim.base_url}/nope.example.org/v2.0/.well-known/openid-configuration", timeout=10)
    assert r.status_code == 400 and r.json()["error_codes"] == [90002]
    r = office.token_response(tenant="00000000-0000-0000-0000-000000000bad")
    assert r.status_code == 400
    body = r.json()
    assert set(body) >= ENTRA_ERROR_KEYS and body["error_codes"] == [90002]
    assert body["error_description"].startswith("AADSTS90002: ")


def test_client_credentials_token_claims_verify_against_jwks(office):
    r = office.token_response()
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "Bearer" and 3500 <= body["expires_in"] <= 3600 and "refresh_token" not in body
    jwks = office.http.get(f"{office.sim.base_url}/{office.tid}/discovery/v2.0/keys", timeout=10).json()
    header = jwt.get_unverified_header(body["access_token"])
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(
        body["access_token"], jwt.PyJWK(key).key, algorithms=["RS256"], audience="https://graph.microsoft.com"
    )
    assert claims["tid"] == office.tid and claims["appid"] == DEFAULT_CLIENT_ID
    assert claims["roles"] == ["Place.Read.All", "User.Read.All"]
    assert claims["exp"] - claims["iat"] == 3600 and claims["nbf"] <= claims["iat"]
    assert claims["iss"] == f"{office.sim.base_url}/{office.tid}/v2.0" and claims["oid"]


def test_token_by_domain_and_basic_auth(office):
    import base64

    basic = base64.b64encode(f"{DEFAULT_CLIENT_ID}:{DEFAULT_SECRET}".encode()).decode()
    r = office.http.post(
        f"{office.sim.base_url}/{office.domain}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "scope": GRAPH_SCOPE},
        headers={"Authorization": f"Basic {basic}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("form", "status", "error", "code"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client", 7000215),
        ({"client_secret": None}, 401, "invalid_client", 7000218),
        ({"client_id": "99999999-9999-9999-9999-999999999999"}, 400, "unauthorized_client", 700016),
        ({"scope": "https://graph.microsoft.com/Calendars.Read"}, 400, "invalid_scope", 1002012),
        ({"scope": "https://example.org/.default"}, 400, "invalid_resource", 500011),
        ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
        ({"grant_type": None}, 400, "invalid_request", 900144),
    ],
)
def test_token_errors_in_entra_shape(office, form, status, error, code):
    r = office.token_response(**form)
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) >= ENTRA_ERROR_KEYS
    assert body["error"] == error and body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert f"Trace ID: {body['trace_id']}" in body["error_description"]


def test_unconsented_and_revoked_tenant_answer_700016(office, ctl):
    t = ctl.create_tenant(domain="unconsented.example.com")
    r = office.token_response(tenant=t["id"])
    assert r.status_code == 400 and r.json()["error_codes"] == [700016]
    old = office.token()
    ctl.set_consent(office.tid, False)
    r = office.token_response()
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"
    # already-issued access tokens keep working until they expire (they cannot be revoked)
    assert (
        office.graph(
            "GET", f"/users/{office.rooms[0]}/calendarView?startDateTime=2026-01-01&endDateTime=2026-01-02", token=old
        ).status_code
        == 200
    )
    assert ctl.faults()["counters"]["consent_revoked"] >= 1


def _cert():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "roomcal-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode(), cert.fingerprint(hashes.SHA1()).hex()  # noqa: S303


def _msal_app(office, credential):
    return msal.ConfidentialClientApplication(
        DEFAULT_CLIENT_ID,
        client_credential=credential,
        authority=f"{office.sim.base_url}/{office.tid}",
        instance_discovery=False,
        validate_authority=False,
        http_client=trusted_session(office.sim.ca_path),
    )


def test_msal_client_credentials_with_secret(office):
    app = _msal_app(office, DEFAULT_SECRET)
    result = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert "access_token" in result, result
    again = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert again["access_token"] == result["access_token"]  # served from MSAL's cache
    assert office.graph("GET", "/places/microsoft.graph.room", token=result["access_token"]).status_code == 200


def test_msal_client_assertion_with_certificate(office, ctl):
    key_pem, cert_pem, thumb = _cert()
    ctl.app(certificate_pems=[cert_pem])
    try:
        result = _msal_app(office, {"private_key": key_pem, "thumbprint": thumb}).acquire_token_for_client(
            scopes=[GRAPH_SCOPE]
        )
        assert "access_token" in result, result
        other_key, _, _ = _cert()
        bad = _msal_app(office, {"private_key": other_key, "thumbprint": thumb}).acquire_token_for_client(
            scopes=[GRAPH_SCOPE]
        )
        assert bad.get("error") == "invalid_client" and 700027 in bad["error_codes"]
    finally:
        ctl.app(certificate_pems=[])


def test_msal_reports_entra_errors(office):
    result = _msal_app(office, "wrong").acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000215]


def test_token_endpoint_faults_are_counted(office, ctl):
    ctl.fail_token_endpoint(count=2)
    assert office.token_response().status_code == 503
    r = office.token_response()
    assert r.status_code == 503 and r.json()["error"] == "temporarily_unavailable"
    assert office.token_response().status_code == 200
    assert ctl.faults()["counters"]["token_failure"] == 2
