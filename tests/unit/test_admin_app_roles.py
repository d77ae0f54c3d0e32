"""The app registration (infra/entra/roomcal-app-permissions.json, which Register-RoomCalApp.ps1 applies) defines
exactly the app roles RoomCal's authorisation checks, and the callbacks it serves."""

import json
from pathlib import Path

from shared.admin.access import SIGNIN_CALLBACK
from shared.admin.principal import ADMIN_ROLE, READER_ROLE

ENTRA = Path(__file__).resolve().parents[2] / "infra" / "entra"
MANIFEST = ENTRA / "roomcal-app-permissions.json"


def test_the_manifest_defines_the_roles_the_code_checks():
    manifest = json.loads(MANIFEST.read_text())
    roles = {r["value"]: r for r in manifest["appRoles"]}
    assert set(roles) == {ADMIN_ROLE, READER_ROLE}
    assert all(r["allowedMemberTypes"] == ["User"] and r["isEnabled"] for r in roles.values())
    assert len({r["id"] for r in roles.values()}) == 2


def test_the_manifest_registers_both_callbacks_and_the_script_no_implicit_tokens():
    manifest = json.loads(MANIFEST.read_text())
    assert set(manifest["redirectPaths"]) == {SIGNIN_CALLBACK, "/api/consent/callback"}
    assert manifest["signInAudience"] == "AzureADMultipleOrgs"
    script = (ENTRA / "Register-RoomCalApp.ps1").read_text()
    assert "enableIdTokenIssuance = $false; enableAccessTokenIssuance = $false" in script


def test_sign_in_redeems_its_code_with_the_deployments_credential(monkeypatch):
    """In Azure the credential is the federated identity (no secret): the sign-in uses the same one as Graph."""
    from shared.admin.access import build_admin_access
    from shared.config import load_settings
    from tests.fakes import FixedClock

    settings = load_settings(environment="development", client_id="app", client_credential="federated_identity",
                             managed_identity_client_id="mi-client", session_secret="s" * 40)
    access = build_admin_access(settings, FixedClock())
    credential = access.signin._credential
    assert isinstance(credential, dict) and callable(credential["client_assertion"])
