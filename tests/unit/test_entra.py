"""TokenProvider against a tiny fake Entra (OpenID metadata + token endpoint) on the transport seam."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from shared.adapters.entra import GRAPH_SCOPE, TokenProvider, load_certificate, map_token_error
from shared.errors import AccessDenied, ConfigurationError, ConsentMissing, NotFound, Unavailable
from tests.http_fakes import FakeServer, session_for

LOGIN = "https://login.test"
TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
OTHER = "0b5d1b5e-0000-4000-8000-000000000002"


def metadata(tenant: str):
    return 200, {}, {"issuer": f"{LOGIN}/{tenant}/v2.0",
                     "authorization_endpoint": f"{LOGIN}/{tenant}/oauth2/v2.0/authorize",
                     "token_endpoint": f"{LOGIN}/{tenant}/oauth2/v2.0/token"}


def access_token(tenant: str, roles: list[str]) -> str:
    return jwt.encode({"tid": tenant, "roles": roles, "aud": "https://graph.microsoft.com"}, "not-verified" * 4,
                      algorithm="HS256")


def entra(*tenants: str, token_answer=None) -> FakeServer:
    server = FakeServer()
    for tenant in tenants:
        server.on("GET", f"/{tenant}/v2.0/.well-known/openid-configuration", metadata(tenant))
        server.on("POST", f"/{tenant}/oauth2/v2.0/token", token_answer or (200, {}, {
            "token_type": "Bearer", "expires_in": 3599,
            "access_token": access_token(tenant, ["Calendars.ReadWrite", "Place.Read.All"])}))
    return server


def provider(server: FakeServer) -> TokenProvider:
    return TokenProvider(client_id="app-id", credential="app-secret", login_base_url=LOGIN,
                         session=session_for(server))


class TestTokens:
    def test_client_credentials_token_for_graph(self):
        """The token request is client credentials for Graph's .default scope, at the tenant's authority."""
        server = entra(TENANT)
        token = provider(server).token(TENANT.upper())
        assert jwt.decode(token, options={"verify_signature": False})["tid"] == TENANT
        form = parse_qs(server.calls("POST", f"/{TENANT}/oauth2/v2.0/token")[0].body)
        assert form["grant_type"] == ["client_credentials"] and form["scope"] == [GRAPH_SCOPE]
        assert form["client_id"] == ["app-id"] and form["client_secret"] == ["app-secret"]

    def test_the_scope_follows_the_graph_host_of_a_national_cloud(self):
        server = entra(TENANT)
        TokenProvider(client_id="app-id", credential="app-secret", login_base_url=LOGIN, session=session_for(server),
                      scope="https://graph.microsoft.us/.default").token(TENANT)
        form = parse_qs(server.calls("POST", f"/{TENANT}/oauth2/v2.0/token")[0].body)
        assert form["scope"] == ["https://graph.microsoft.us/.default"]

    def test_one_client_per_tenant_and_tokens_are_cached(self):
        """Metadata is read once per tenant and a valid token is reused, not fetched per call."""
        server = entra(TENANT, OTHER)
        tokens = provider(server)
        for _ in range(3):
            tokens(TENANT)
        tokens(OTHER)
        assert len(server.calls("GET", f"/{TENANT}/v2.0/.well-known/openid-configuration")) == 1
        assert len(server.calls("POST", f"/{TENANT}/oauth2/v2.0/token")) == 1
        assert len(server.calls("POST", f"/{OTHER}/oauth2/v2.0/token")) == 1

    def test_roles_come_from_the_token(self):
        assert provider(entra(TENANT)).roles(TENANT) == {"Calendars.ReadWrite", "Place.Read.All"}

    def test_revoked_consent_becomes_consent_missing(self):
        server = entra(TENANT, token_answer=(400, {}, {
            "error": "unauthorized_client", "error_codes": [700016], "correlation_id": "corr-1",
            "error_description": "AADSTS700016: Application with identifier 'app-id' was not found in the directory"}))
        with pytest.raises(ConsentMissing) as err:
            provider(server).token(TENANT)
        assert "admin consent" in err.value.fix and err.value.detail["correlation_id"] == "corr-1"

    def test_unknown_tenant_is_not_found(self):
        server = FakeServer().on("GET", f"/{TENANT}/v2.0/.well-known/openid-configuration", (400, {}, {
            "error": "invalid_tenant", "error_codes": [90002]}))
        with pytest.raises(NotFound, match=TENANT):
            provider(server).token(TENANT)

    def test_token_endpoint_down_is_unavailable(self):
        server = entra(TENANT, token_answer=(503, {}, "down"))
        with pytest.raises(Unavailable):
            provider(server).token(TENANT)

    def test_tenant_must_be_a_guid(self):
        """The tenant id goes into the authority URL: nothing but a GUID gets there."""
        from shared.errors import InvalidInput

        with pytest.raises(InvalidInput):
            provider(FakeServer()).token("../../evil")

    def test_missing_credentials_name_the_settings(self):
        with pytest.raises(ConfigurationError) as err:
            TokenProvider(client_id="", credential="", login_base_url=LOGIN, session=session_for(FakeServer()))
        assert "ROOMCAL_CLIENT_ID" in err.value.fix


class TestErrorMapping:
    @pytest.mark.parametrize(("codes", "error", "kind"), [
        ([700016], "unauthorized_client", ConsentMissing),
        ([65001], "invalid_grant", ConsentMissing),
        ([7000112], "unauthorized_client", ConsentMissing),
        ([7000215], "invalid_client", ConfigurationError),
        ([7000222], "invalid_client", ConfigurationError),
        ([90002], "invalid_request", NotFound),
        ([53003], "access_denied", AccessDenied),
        ([], "temporarily_unavailable", Unavailable),
        ([12345], "invalid_request", AccessDenied),
    ])
    def test_msal_errors_map_to_domain_errors(self, codes, error, kind):
        mapped = map_token_error({"error": error, "error_codes": codes, "error_description": "AADSTS..."}, TENANT)
        assert type(mapped) is kind
        assert mapped.detail["tenant"] == TENANT

    def test_bad_secret_names_the_setting(self):
        mapped = map_token_error({"error": "invalid_client", "error_codes": [7000215]}, TENANT)
        assert "ROOMCAL_CLIENT_SECRET" in mapped.fix


class TestCertificate:
    def test_pem_with_key_and_certificate_gives_an_msal_credential(self, tmp_path):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "roomcal")])
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
                .sign(key, hashes.SHA256()))
        pem = tmp_path / "app.pem"
        pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()) + cert.public_bytes(serialization.Encoding.PEM))
        credential = load_certificate(str(pem))
        assert credential["thumbprint"] == cert.fingerprint(hashes.SHA1()).hex()  # noqa: S303
        assert "PRIVATE KEY" in credential["private_key"]

    def test_unreadable_certificate_names_the_setting(self, tmp_path):
        with pytest.raises(ConfigurationError, match="ROOMCAL_CLIENT_CERTIFICATE_PATH"):
            load_certificate(str(tmp_path / "missing.pem"))


def test_a_consent_callback_reads_a_fresh_token_not_one_cached_before_it():
    """MSAL caches a tenant's token for about an hour. After an admin removes a tenant-wide calendar
    permission and consents again, the callback must judge the new grant, not the cached token (which
    also says nothing about whether consent still exists)."""
    from urllib.parse import urlparse

    from shared.onboarding.consent import CallbackParams, ConsentService
    from tests.fakes import FixedClock, InMemoryTables

    def token_with(roles):
        return 200, {}, {"token_type": "Bearer", "expires_in": 3599, "access_token": access_token(TENANT, roles)}

    server = FakeServer()
    server.on("GET", f"/{TENANT}/v2.0/.well-known/openid-configuration", metadata(TENANT))
    server.on("POST", f"/{TENANT}/oauth2/v2.0/token", token_with(["Calendars.Read.All", "Place.Read.All"]),
              token_with(["Place.Read.All"]))
    service = ConsentService(tables=InMemoryTables(), clock=FixedClock(), tokens=provider(server),
                             client_id="11111111-2222-3333-4444-555555555555", login_base_url=LOGIN,
                             public_base_url="https://roomcal.example")

    def consent():
        state = parse_qs(urlparse(service.start(tenant_hint=None, created_by="fm")["consent_url"]).query)["state"][0]
        return service.handle_callback(CallbackParams(state=state, tenant=TENANT, admin_consent="True"))

    assert consent().warnings  # tenant-wide Calendars.Read.All: warned
    second = consent()  # the admin removed it and consented again
    assert second.ok and second.warnings == []
