"""The ready-to-run Exchange Online PowerShell script that scopes RoomCal to room mailboxes.

Same steps as infra/exchange/Grant-RoomCalAccess.ps1 (a test keeps the two in step), with
the tenant's values filled in. Everything the admin typed reaches the script only as a
single-quoted literal (see shared/onboarding/powershell.py); the group's distinguished name,
which Exchange supplies at run time, is OPATH-escaped by the script itself.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from shared.errors import InvalidInput
from shared.onboarding.countries import ISO_3166_ALPHA2
from shared.onboarding.powershell import opath_literal, ps_literal, unsafe_characters

DEFAULT_SCOPE_NAME = "RoomCal Room Calendars Scope"
ROLE_NAMES = {"readwrite": "Application Calendars.ReadWrite", "read": "Application Calendars.Read"}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _safe_name(value: str, what: str) -> str:
    value = value.strip()
    if not 1 <= len(value) <= 64:
        raise ValueError(f"{what} must be 1 to 64 characters")
    found = unsafe_characters(value)
    if found:
        raise ValueError(f"{what} contains invisible or control characters ({', '.join(found)}); retype it")
    return value


class RbacScriptRequest(BaseModel):
    """What the Exchange admin chooses: scope by group membership or by country, and the role."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scope: Literal["group", "country"]
    group: str | None = None
    country: str | None = None
    role: Literal["readwrite", "read"] = "readwrite"
    scope_name: str = DEFAULT_SCOPE_NAME

    @field_validator("group")
    @classmethod
    def _group(cls, value: str | None) -> str | None:
        return None if value is None else _safe_name(value, "group (mail-enabled security group name)")

    @field_validator("scope_name")
    @classmethod
    def _scope_name(cls, value: str) -> str:
        return _safe_name(value, "scope_name")

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        if code not in ISO_3166_ALPHA2:
            raise ValueError("country must be an ISO 3166-1 alpha-2 code such as NL, DE or US")
        return code

    @model_validator(mode="after")
    def _one_scope(self) -> RbacScriptRequest:
        if self.scope == "group" and (not self.group or self.country):
            raise ValueError("scope=group needs group=<name of the mail-enabled security group> and no country")
        if self.scope == "country" and (not self.country or self.group):
            raise ValueError("scope=country needs country=<ISO code, e.g. NL> and no group")
        return self

    @property
    def role_name(self) -> str:
        return ROLE_NAMES[self.role]


def build_rbac_script(request: RbacScriptRequest, *, app_id: str, tenant_id: str, release_enabled: bool) -> str:
    """The .ps1 text for ``tenant_id``; refuses a read-only role when no-show release is on."""
    if not _GUID.match(app_id):
        raise InvalidInput("RoomCal's client id is not a GUID", fix="set ROOMCAL_CLIENT_ID to the app's client id")
    if not _GUID.match(tenant_id):
        raise InvalidInput("tenant id must be a GUID", fix="use the tenant id shown after consent")
    if request.role == "read" and release_enabled:
        raise InvalidInput(
            "role=read cannot decline no-show meetings, but this tenant has no-show release enabled",
            fix="use role=readwrite, or turn no-show release off in the tenant settings first",
        )
    variables = [
        f"$AppId = {ps_literal(app_id)}",
        f"$TenantId = {ps_literal(tenant_id)}",
        f"$ScopeName = {ps_literal(request.scope_name)}",
        f"$RoleName = {ps_literal(request.role_name)}",
    ]
    if request.scope == "group":
        variables.append(f"$GroupName = {ps_literal(request.group)}")
        filter_step = GROUP_FILTER_STEP
    else:
        opath = f"(CountryOrRegion -eq {opath_literal(request.country)}) -and (RecipientTypeDetails -eq 'RoomMailbox')"
        variables.append(f"$RecipientFilter = {ps_literal(opath)}")
        filter_step = COUNTRY_FILTER_STEP
    header = HEADER.replace("<role>", request.role_name)
    return "\n".join([header, *variables, "", CONNECT_STEPS, filter_step, SCOPE_AND_ROLE_STEPS]) + "\n"


HEADER = """\
# RoomCal: Exchange Online RBAC for Applications for room calendars.
# Run as an Exchange Administrator (or Organization Management member) in PowerShell 7 or
# Windows PowerShell 5.1, with the modules Microsoft.Graph.Applications and
# ExchangeOnlineManagement (Install-Module <name> -Scope CurrentUser).
# It grants RoomCal '<role>' on room mailboxes in one management scope only.
# Safe to run again: existing objects are reused, the scope's filter is updated.
# Exchange caches RBAC changes for 30 minutes to 2 hours: rooms may show 'outside the RBAC
# scope' in RoomCal until then; RoomCal re-checks them by itself.
$ErrorActionPreference = 'Stop'
"""

CONNECT_STEPS = """\
# 1. Find RoomCal's enterprise application (service principal) in Microsoft Entra ID.
#    It exists once an admin has consented to RoomCal (step 1 in RoomCal).
Connect-MgGraph -TenantId $TenantId -Scopes 'Application.Read.All'
$ServicePrincipalAad = Get-MgServicePrincipal -Filter "appId eq '$AppId'"
if (-not $ServicePrincipalAad) {
    throw "RoomCal ($AppId) is not installed in this tenant: complete the admin consent first."
}
Write-Host "Entra service principal: $($ServicePrincipalAad.DisplayName) ($($ServicePrincipalAad.Id))"

# 2. Connect to Exchange Online and create (or reuse) the Exchange pointer to that application.
Connect-ExchangeOnline
$ServicePrincipalExchange = Get-ServicePrincipal -Identity $ServicePrincipalAad.AppId -ErrorAction SilentlyContinue
if (-not $ServicePrincipalExchange) {
    $Pointer = @{ AppId = $ServicePrincipalAad.AppId; ObjectId = $ServicePrincipalAad.Id }
    $ServicePrincipalExchange = New-ServicePrincipal @Pointer -DisplayName $ServicePrincipalAad.DisplayName
}
"""

GROUP_FILTER_STEP = """\
# 3. The scope: room mailboxes that are direct members of the mail-enabled security group.
#    The group's distinguished name goes into an OPATH filter, so quotes in it are doubled.
$SecurityGroup = Get-Group -Identity $GroupName
$QuoteCharacters = "['" + [char]0x2018 + [char]0x2019 + [char]0x201A + [char]0x201B + "]"
$GroupDn = $SecurityGroup.DistinguishedName -replace "($QuoteCharacters)", '$1$1'
$RecipientFilter = "(MemberOfGroup -eq '$GroupDn') -and (RecipientTypeDetails -eq 'RoomMailbox')"
"""

COUNTRY_FILTER_STEP = """\
# 3. The scope: room mailboxes whose CountryOrRegion is the chosen country (filter above).
"""

SCOPE_AND_ROLE_STEPS = """\
# 4. Create (or update) the management scope; only room mailboxes ever match it.
$ManagementScope = Get-ManagementScope -Identity $ScopeName -ErrorAction SilentlyContinue
if ($ManagementScope) {
    Set-ManagementScope -Identity $ScopeName -RecipientRestrictionFilter $RecipientFilter
    $ManagementScope = Get-ManagementScope -Identity $ScopeName
} else {
    $ManagementScope = New-ManagementScope -Name $ScopeName -RecipientRestrictionFilter $RecipientFilter
}

# 5. Preview: the room mailboxes RoomCal will be able to read. Empty? Add rooms to the group
#    (or set their CountryOrRegion) and run this script again.
Get-Recipient -RecipientPreviewFilter $ManagementScope.RecipientFilter -ResultSize Unlimited |
    Format-Table Name, PrimarySmtpAddress, RecipientTypeDetails

# 6. Assign the role to the application on that scope (once).
$Assignments = Get-ManagementRoleAssignment -Role $RoleName -RoleAssigneeType ServicePrincipal
$Existing = $Assignments | Where-Object { $_.CustomResourceScope -eq $ScopeName }
if (-not $Existing) {
    New-ManagementRoleAssignment -App $ServicePrincipalExchange.ObjectId -Role $RoleName -CustomResourceScope $ScopeName
}
New-ManagementRoleAssignment -App $ServicePrincipalExchange.ObjectId -Role "Application MailboxSettings.Read" `
    -CustomResourceScope $ScopeName -ErrorAction SilentlyContinue  # rooms' time zones, for analytics

# 7. Check: what the application may do, bypassing Exchange's RBAC cache. Add
#    -Resource <room address> to see InScope True/False for one room.
Test-ServicePrincipalAuthorization -Identity $ServicePrincipalExchange.ObjectId | Format-Table
Write-Host "Done. Graph sees RBAC changes within 30 minutes to 2 hours; then 'Continue setup' in RoomCal."
"""
