"""What issue 13 asks of each resource, read from the Bicep itself (checkov covers the generic rules; these are
RoomCal's own promises: identity-only storage, Key Vault in RBAC mode with purge protection, a user-assigned
identity with data-plane roles only, Python 3.11 on Flex Consumption with its scale parameters)."""

from __future__ import annotations

import re

import pytest

from tests.infra.tools import ROOT

APP = ROOT / "infra" / "app"


def text(name: str) -> str:
    return (APP / name).read_text()


@pytest.mark.parametrize("line", ["minimumTlsVersion: 'TLS1_2'", "supportsHttpsTrafficOnly: true",
                                  "allowSharedKeyAccess: false", "allowBlobPublicAccess: false",
                                  "defaultToOAuthAuthentication: true", "publicAccess: 'None'"])
def test_storage_is_identity_only(line):
    assert line in text("storage.bicep")


@pytest.mark.parametrize("line", ["enableRbacAuthorization: true", "enablePurgeProtection: true"])
def test_key_vault_is_rbac_mode_with_purge_protection(line):
    assert line in text("keyvault.bicep")
    assert "accessPolicies" not in text("keyvault.bicep")


def test_the_function_app_is_python_311_on_flex_consumption_with_its_identity():
    site = text("function.bicep")
    assert "tier: 'FlexConsumption'" in site and "name: 'FC1'" in site
    assert re.search(r"runtime: \{\s*name: 'python'\s*version: '3.11'", site)
    assert "type: 'UserAssigned'" in site and "keyVaultReferenceIdentity: identityId" in site
    assert "maximumInstanceCount: maximumInstanceCount" in site and "alwaysReady: alwaysReady" in site
    assert "httpsOnly: true" in site and "ftpsState: 'Disabled'" in site
    assert site.count("properties: { allow: false }") == 2  # FTP and SCM basic auth off


def test_the_identity_holds_data_plane_roles_only_each_on_its_resource():
    rbac = text("rbac.bicep")
    roles = dict(re.findall(r"^\s+(\w+): '([0-9a-f-]{36})'", rbac, re.M))
    assert set(roles) == {"storageBlobDataOwner", "storageQueueDataContributor", "storageTableDataContributor",
                          "keyVaultSecretsUser", "monitoringMetricsPublisher", "keyVaultSecretsOfficer",
                          "keyVaultCertificatesOfficer"}
    owner, contributor = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "b24988ac-6180-42d9-a0ca-bb1e482e9d7d"
    assert owner not in rbac and contributor not in rbac
    scopes = re.findall(r"scope: (\w+)", rbac)
    assert set(scopes) == {"storage", "vault", "applicationInsights"}  # never the resource group or subscription


def test_monitoring_has_local_auth_off_and_alerts_cover_the_three_signals():
    assert "DisableLocalAuth: true" in text("monitoring.bicep")
    alerts = text("alerts.bicep")
    for rule in ("poison-messages", "subscription-failures", "sync-lag"):
        assert f"name: '{rule}'" in alerts


def test_outputs_give_the_urls_a_reviewer_needs():
    main = (ROOT / "infra" / "main.bicep").read_text()
    for output in ("ROOMCAL_NOTIFICATION_URL", "ROOMCAL_LIFECYCLE_URL", "ROOMCAL_ADMIN_PAGE_URL",
                   "ROOMCAL_CONSENT_REDIRECT_URI"):
        assert f"output {output} string" in main
    assert "@secure()" not in main and "listKeys(" not in main  # no secret is a parameter or an output
