"""The ready-to-run Exchange Online PowerShell script that scopes RoomCal to room mailboxes.

One source: the script is infra/exchange/Grant-RoomCalAccess.ps1, unchanged, run as a script
block with the tenant's values splatted as its parameters. Everything the admin typed reaches
the script only as a single-quoted literal (see shared/onboarding/powershell.py); the group's
distinguished name, which Exchange supplies at run time, is OPATH-escaped by the script itself.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from shared.errors import ConfigurationError, InvalidInput
from shared.onboarding.countries import ISO_3166_ALPHA2
from shared.onboarding.powershell import ps_literal, unsafe_characters

SOURCE = Path(__file__).resolve().parents[2] / "infra" / "exchange" / "Grant-RoomCalAccess.ps1"
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
    keep_private_flag: bool = False  # also run Set-CalendarProcessing -RemovePrivateProperty $false on the rooms

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
    parameters = {"AppId": app_id, "TenantId": tenant_id}
    parameters.update({"GroupName": request.group} if request.scope == "group" else {"CountryCode": request.country})
    parameters.update({"RoleName": request.role_name, "ScopeName": request.scope_name})
    lines = [f"    {name} = {ps_literal(value)}" for name, value in parameters.items()]
    if request.keep_private_flag:
        lines.append("    KeepPrivateFlag = $true")
    header = HEADER.replace("<role>", request.role_name).replace("<tenant>", tenant_id)
    body = ["$RoomCalParameters = @{", *lines, "}", "& {", source_script(), "} @RoomCalParameters"]
    return "\n".join([header, *body]) + "\n"


def source_script() -> str:
    """infra/exchange/Grant-RoomCalAccess.ps1, the one source of the script's steps."""
    try:
        return SOURCE.read_text(encoding="utf-8-sig").rstrip("\n")
    except OSError as exc:
        raise ConfigurationError(f"the RBAC script template is missing from the deployment ({SOURCE.name}: "
                                 f"{exc.strerror})", fix="deploy infra/exchange/Grant-RoomCalAccess.ps1 with the "
                                 "app (it must not be excluded by .funcignore)") from None


HEADER = """\
# RoomCal: Exchange Online RBAC for Applications for the room calendars of tenant <tenant>.
# Run as an Exchange Administrator (or Organization Management member) in PowerShell 7 or
# Windows PowerShell 5.1, with the modules Microsoft.Graph.Applications and
# ExchangeOnlineManagement (Install-Module <name> -Scope CurrentUser).
# It grants RoomCal '<role>' on room mailboxes in one management scope only.
# The values RoomCal filled in are below; the steps after them are infra/exchange/Grant-RoomCalAccess.ps1
# from RoomCal's repository, unchanged (Get-Help on that file explains each parameter).
# Exchange caches RBAC changes for 30 minutes to 2 hours: rooms may show 'outside the RBAC
# scope' in RoomCal until then; RoomCal re-checks them by itself.
"""
