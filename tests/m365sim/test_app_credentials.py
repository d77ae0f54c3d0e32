"""RoomCal's three credential kinds against the emulator's Entra: secret (local), certificate (Key Vault fallback)
and federated identity (a managed identity's token for api://AzureADTokenExchange as the client assertion,
entra-docs workload-id/workload-identity-federation-config-app-trust-managed-identity.md)."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from devtools.m365sim import trusted_session
from devtools.m365sim.managed_identity import TOKEN_EXCHANGE_AUDIENCE
from devtools.m365sim.world import DEFAULT_CLIENT_ID, DEFAULT_SECRET
from shared.adapters.entra import TokenProvider
from shared.config import load_settings
from shared.errors import ConfigurationError


def provider(sim, **settings) -> TokenProvider:
    values = {"environment": "development", "client_id": DEFAULT_CLIENT_ID, "login_base_url": sim.base_url,
              "graph_base_url": sim.base_url + "/v1.0", **settings}
    return TokenProvider.from_settings(load_settings(**values), trusted_session(sim.ca_path))


def app_id_of(token: str) -> str:
    return jwt.decode(token, options={"verify_signature": False})["appid"]


def pem_with_key() -> tuple[str, str]:
    """(key + certificate PEM as Key Vault exports it, public certificate PEM as the app registration holds it)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "roomcal-fallback")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return key_pem + cert_pem, cert_pem


@pytest.fixture
def federated(sim, ctl, monkeypatch):
    """A user-assigned identity on the emulated Function App, trusted by the app registration as a FIC."""
    answer = ctl.add_managed_identity()
    ident = answer["identity"]
    monkeypatch.setenv("IDENTITY_ENDPOINT", answer["identity_endpoint"])
    monkeypatch.setenv("IDENTITY_HEADER", answer["identity_header"])
    fic = {"name": "roomcal-function-app", "issuer": f"{sim.base_url}/{ident['tenant_id']}/v2.0",
           "subject": ident["principal_id"], "audiences": [TOKEN_EXCHANGE_AUDIENCE]}
    ctl.app(federated_credentials=[fic])
    yield ident, fic
    ctl.app(federated_credentials=[])


def test_secret(office, sim):
    token = provider(sim, client_credential="secret", client_secret=DEFAULT_SECRET).token(office.tid)
    assert app_id_of(token) == DEFAULT_CLIENT_ID


def test_wrong_secret_is_a_configuration_error(office, sim):
    with pytest.raises(ConfigurationError, match="client secret"):
        provider(sim, client_credential="secret", client_secret="not-the-secret").token(office.tid)


def test_certificate_from_key_vault_pem(office, sim, ctl):
    bundle, public = pem_with_key()
    ctl.app(certificate_pems=[public])
    try:
        token = provider(sim, client_credential="certificate", client_certificate=bundle).token(office.tid)
        assert app_id_of(token) == DEFAULT_CLIENT_ID
    finally:
        ctl.app(certificate_pems=[])


def test_certificate_not_registered_is_refused(office, sim):
    bundle, _ = pem_with_key()
    with pytest.raises(ConfigurationError, match="certificate"):
        provider(sim, client_credential="certificate", client_certificate=bundle).token(office.tid)


def test_federated_identity_gets_a_token_for_a_customer_tenant_without_any_secret(office, sim, ctl, federated):
    ident, _ = federated
    ctl.app(secrets=[])  # secretless: no client secret exists
    try:
        before = ctl.stats()["stats"].get("managed_identity_tokens", 0)
        tokens = provider(sim, client_credential="federated_identity", managed_identity_client_id=ident["client_id"])
        token = tokens.token(office.tid)
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["appid"] == DEFAULT_CLIENT_ID and claims["tid"] == office.tid
        assert tokens.roles(office.tid) == {"Place.Read.All", "User.Read.All"}
        assert ctl.stats()["stats"].get("managed_identity_tokens", 0) == before + 1
    finally:
        ctl.app(secrets=[DEFAULT_SECRET])


@pytest.mark.parametrize(("change", "aadsts"), [
    ({"subject": "00000000-0000-0000-0000-000000000000"}, "700213"),
    ({"audiences": ["api://SomethingElse"]}, "700212"),
    ({"issuer": "https://login.example/other/v2.0"}, "700211"),
])
def test_federated_credential_must_match_exactly(office, sim, ctl, federated, change, aadsts):
    ident, fic = federated
    ctl.app(federated_credentials=[{**fic, **change}])
    with pytest.raises(ConfigurationError, match="federated credential") as err:
        provider(sim, client_credential="federated_identity",
                 managed_identity_client_id=ident["client_id"]).token(office.tid)
    assert int(aadsts) in err.value.detail["aadsts"]


def test_federated_identity_with_an_unknown_identity_names_the_setting(office, sim, federated):
    with pytest.raises(ConfigurationError, match="managed identity"):
        provider(sim, client_credential="federated_identity",
                 managed_identity_client_id="11111111-0000-0000-0000-000000000000").token(office.tid)


def test_identity_endpoint_needs_its_header(sim, ctl, federated):
    ident, _ = federated
    http = trusted_session(sim.ca_path)
    url = ctl.managed_identities()["identity_endpoint"]
    params = {"resource": TOKEN_EXCHANGE_AUDIENCE, "api-version": "2019-08-01", "client_id": ident["client_id"]}
    assert http.get(url, params=params, timeout=10).status_code == 400
    good = http.get(url, params=params, headers={"X-IDENTITY-HEADER": ctl.managed_identities()["identity_header"]},
                    timeout=10)
    assert good.status_code == 200
    claims = jwt.decode(good.json()["access_token"], options={"verify_signature": False})
    assert claims["aud"] == TOKEN_EXCHANGE_AUDIENCE and claims["sub"] == ident["principal_id"]
