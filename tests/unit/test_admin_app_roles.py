"""The app registration defines exactly the app roles RoomCal's authorisation checks, and the callbacks it serves."""

import json
from pathlib import Path

from shared.admin.access import SIGNIN_CALLBACK
from shared.admin.principal import ADMIN_ROLE, READER_ROLE

MANIFEST = Path(__file__).resolve().parents[2] / "infra" / "entra" / "roomcal-app-roles.json"


def test_the_manifest_defines_the_roles_the_code_checks():
    manifest = json.loads(MANIFEST.read_text())
    roles = {r["value"]: r for r in manifest["appRoles"]}
    assert set(roles) == {ADMIN_ROLE, READER_ROLE}
    assert all(r["allowedMemberTypes"] == ["User"] and r["isEnabled"] for r in roles.values())
    assert len({r["id"] for r in roles.values()}) == 2


def test_the_manifest_registers_both_callbacks_and_no_implicit_tokens():
    manifest = json.loads(MANIFEST.read_text())
    uris = manifest["web"]["redirectUris"]
    assert any(u.endswith(SIGNIN_CALLBACK) for u in uris) and any(u.endswith("/api/consent/callback") for u in uris)
    assert manifest["web"]["implicitGrantSettings"] == {"enableIdTokenIssuance": False,
                                                        "enableAccessTokenIssuance": False}
    assert manifest["signInAudience"] == "AzureADMultipleOrgs"
