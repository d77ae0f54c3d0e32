"""The app registration as code: multi-tenant, exactly RoomCal's application permissions and no Calendars one,
the two redirect URIs, the two app roles, a federated credential and no secret; idempotent with a what-if mode.
The Exchange check script only reads. (PowerShell cannot run here: these are static checks of the scripts.)"""

from __future__ import annotations

import json
import re

from tests.infra.tools import ROOT

ENTRA = ROOT / "infra" / "entra"
MANIFEST = json.loads((ENTRA / "roomcal-app-permissions.json").read_text())
SCRIPT = (ENTRA / "Register-RoomCalApp.ps1").read_text()
GRAPH_APP = "00000003-0000-0000-c000-000000000000"


def test_multi_tenant_with_places_and_user_reads_only():
    assert MANIFEST["signInAudience"] == "AzureADMultipleOrgs"
    (graph,) = MANIFEST["requiredResourceAccess"]
    assert graph["resourceAppId"] == GRAPH_APP
    assert [(a["_name"], a["type"]) for a in graph["resourceAccess"]] == [
        ("Place.Read.All", "Role"), ("User.Read.All", "Role")]


def test_app_roles_for_customer_admins_and_readers():
    roles = {r["value"]: r for r in MANIFEST["appRoles"]}
    assert set(roles) == {"RoomCal.Admin", "RoomCal.Reader"}
    assert all(r["allowedMemberTypes"] == ["User"] and r["isEnabled"] for r in roles.values())
    assert len({r["id"] for r in roles.values()}) == 2


def test_redirect_uris_are_the_consent_and_sign_in_callbacks():
    assert MANIFEST["redirectPaths"] == ["/api/consent/callback", "/api/auth/callback"]
    main = (ROOT / "infra" / "main.bicep").read_text()
    for path in MANIFEST["redirectPaths"]:
        assert f"${{baseUrl}}{path}'" in main  # the deployment outputs the same URIs


def test_the_script_applies_the_manifest_with_what_if_and_a_federated_credential():
    assert "[CmdletBinding(SupportsShouldProcess)]" in SCRIPT
    assert SCRIPT.count("$PSCmdlet.ShouldProcess(") >= 5  # every change goes through -WhatIf
    assert "roomcal-app-permissions.json" in SCRIPT
    assert "New-MgApplicationFederatedIdentityCredential" in SCRIPT
    assert "api://AzureADTokenExchange" in SCRIPT and "/v2.0" in SCRIPT
    assert MANIFEST["federatedCredential"]["audiences"] == ["api://AzureADTokenExchange"]


def test_the_script_never_creates_a_secret_or_a_calendar_permission():
    assert not re.search(r"Add-MgApplicationPassword|New-MgApplicationPassword|passwordCredentials\s*=", SCRIPT)
    assert "Remove-MgApplicationPassword" in SCRIPT  # it can remove them
    assert "Calendars.*" in SCRIPT  # refuses a manifest that asks for one


def test_the_exchange_check_only_reads():
    check = (ROOT / "infra" / "exchange" / "Test-RoomCalAccess.ps1").read_text()
    cmdlets = set(re.findall(r"\b([A-Z][a-z]+)-(?:Management|ServicePrincipal|Group|Recipient)\w*", check))
    assert cmdlets <= {"Get", "Test"}, cmdlets
    assert "Test-ServicePrincipalAuthorization" in check
