"""The generated RBAC script: right steps, and nothing an admin types can break out of its quotes."""

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.errors import InvalidInput
from shared.onboarding.powershell import SINGLE_QUOTES, opath_literal, ps_literal
from shared.onboarding.rbac_script import RbacScriptRequest, build_rbac_script

APP = "11111111-2222-3333-4444-555555555555"
TENANT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
INFRA = Path(__file__).resolve().parents[2] / "infra" / "exchange" / "Grant-RoomCalAccess.ps1"

HOSTILE = [
    "O'Brien rooms",
    "x'; Remove-Mailbox -Identity * -Confirm:$false; '",
    "rooms `whoami` $env:USERNAME",
    "rooms $(Get-Process)",
    "a;b|c&d>e",
    "Caf\u00e9 \u2018quoted\u2019 \u201alow\u201b",
    "trailing quote '",
    "\u2019) -or (Name -ne \u2018",
    "\" double \" quotes \u201c\u201d",
]


def read_ps_single_quoted(text: str) -> tuple[str, str]:
    """Tokenise one single-quoted string as PowerShell does; return (value, rest of the text)."""
    assert text[0] in SINGLE_QUOTES, f"not a single-quoted string: {text[:20]!r}"
    value, i = [], 1
    while i < len(text):
        ch = text[i]
        if ch in SINGLE_QUOTES:
            if i + 1 < len(text) and text[i + 1] in SINGLE_QUOTES:
                value.append(ch)
                i += 2
                continue
            return "".join(value), text[i + 1:]
        value.append(ch)
        i += 1
    raise AssertionError("unterminated string")


def assigned(script: str, parameter: str) -> str:
    """The value splatted into the script for ``parameter`` (a line ``    Name = '...'`` of $RoomCalParameters)."""
    line = next(ln for ln in script.splitlines() if ln.startswith(f"    {parameter} = "))
    value, rest = read_ps_single_quoted(line[len(parameter) + 7:])
    assert rest == "", f"text after the string literal: {rest!r}"
    return value


def script_for(**kwargs) -> str:
    return build_rbac_script(RbacScriptRequest(**kwargs), app_id=APP, tenant_id=TENANT, release_enabled=False)


class TestQuoting:
    @pytest.mark.parametrize("hostile", HOSTILE)
    def test_a_hostile_group_name_reaches_powershell_unchanged_as_one_literal(self, hostile):
        """PowerShell reads back exactly what the admin typed, and nothing after it."""
        assert assigned(script_for(scope="group", group=hostile), "GroupName") == hostile.strip()

    @pytest.mark.parametrize("hostile", HOSTILE)
    def test_a_hostile_scope_name_reaches_powershell_unchanged(self, hostile):
        assert assigned(script_for(scope="country", country="NL", scope_name=hostile), "ScopeName") == hostile.strip()

    @pytest.mark.parametrize("hostile", HOSTILE)
    def test_opath_value_inside_ps_literal_survives_both_parsers(self, hostile):
        """Two levels: PowerShell undoes the outer doubling, OPATH the inner one."""
        filter_text = f"(Name -eq {opath_literal(hostile)}) -and (RecipientTypeDetails -eq 'RoomMailbox')"
        as_powershell_sees_it, rest = read_ps_single_quoted(ps_literal(filter_text))
        assert rest == "" and as_powershell_sees_it == filter_text
        inner = as_powershell_sees_it[len("(Name -eq "):]
        value, after = read_ps_single_quoted(inner)
        assert value == hostile and after == ") -and (RecipientTypeDetails -eq 'RoomMailbox')"

    @pytest.mark.parametrize("bad", ["rooms\nRemove-Mailbox", "a\rb", "tab\tname", "nul\x00", "rtl\u202eevil",
                                     "ls\u2028x"])
    def test_control_and_invisible_characters_are_refused(self, bad):
        with pytest.raises(ValidationError, match="invisible or control"):
            RbacScriptRequest(scope="group", group=bad)

    def test_country_reaches_the_filter_as_a_validated_code(self):
        script = script_for(scope="country", country="nl")
        assert assigned(script, "CountryCode") == "NL"
        assert "[ValidatePattern('^[A-Z]{2}$')]" in script
        assert "(CountryOrRegion -eq '$CountryCode') -and (RecipientTypeDetails -eq 'RoomMailbox')" in script


class TestValidation:
    @pytest.mark.parametrize("kwargs", [
        {"scope": "group"}, {"scope": "country"}, {"scope": "group", "group": "g", "country": "NL"},
        {"scope": "country", "country": "XX"}, {"scope": "country", "country": "NLD"},
        {"scope": "country", "country": "'; x"}, {"scope": "everything"}, {"scope": "group", "group": "  "},
        {"scope": "group", "group": "g" * 65}, {"scope": "group", "group": "g", "role": "fullaccess"},
    ])
    def test_bad_choices_are_refused_with_a_reason(self, kwargs):
        with pytest.raises(ValidationError):
            RbacScriptRequest(**kwargs)

    def test_read_only_role_is_refused_while_no_show_release_is_enabled(self):
        request = RbacScriptRequest(scope="country", country="NL", role="read")
        with pytest.raises(InvalidInput, match="no-show release"):
            build_rbac_script(request, app_id=APP, tenant_id=TENANT, release_enabled=True)

    def test_tenant_id_must_be_a_guid(self):
        with pytest.raises(InvalidInput):
            build_rbac_script(RbacScriptRequest(scope="country", country="NL"), app_id=APP,
                              tenant_id="contoso'; x", release_enabled=False)


class TestContent:
    def test_group_script_has_every_step_in_order(self):
        script = script_for(scope="group", group="RoomCal Rooms")
        steps = ["Connect-MgGraph", "Get-MgServicePrincipal", "Connect-ExchangeOnline", "New-ServicePrincipal",
                 "Get-Group", "New-ManagementScope", "Get-Recipient -RecipientPreviewFilter",
                 "New-ManagementRoleAssignment", "Test-ServicePrincipalAuthorization"]
        body = script[script.index("$ErrorActionPreference"):]  # after the help text, which names cmdlets too
        positions = [body.index(step) for step in steps]
        assert positions == sorted(positions)
        assert "RecipientTypeDetails -eq 'RoomMailbox'" in script
        assert "30 minutes to 2 hours" in script
        assert assigned(script, "AppId") == APP and assigned(script, "TenantId") == TENANT

    def test_role_choice_selects_the_role_name(self):
        assert assigned(script_for(scope="country", country="NL"), "RoleName") == "Application Calendars.ReadWrite"
        read_only = script_for(scope="country", country="NL", role="read")
        assert assigned(read_only, "RoleName") == "Application Calendars.Read"

    def test_the_generated_script_is_the_infra_script_with_parameters(self):
        """One source: the infra file verbatim, run as a script block with the tenant's values splatted."""
        infra = INFRA.read_text(encoding="utf-8-sig").rstrip("\n")
        script = script_for(scope="group", group="g")
        assert f"& {{\n{infra}\n}} @RoomCalParameters\n" in script
        assert script.index("$RoomCalParameters = @{") < script.index("& {")
        assert assigned(script, "GroupName") == "g" and assigned(script, "ScopeName") == "RoomCal Room Calendars Scope"

    def test_every_splatted_parameter_is_declared_by_the_infra_script(self):
        param_block = INFRA.read_text(encoding="utf-8")
        script = script_for(scope="country", country="NL", keep_private_flag=True)
        names = re.findall(r"^    (\w+) = ", script.split("& {")[0], re.M)
        assert set(names) == {"AppId", "TenantId", "CountryCode", "RoleName", "ScopeName", "KeepPrivateFlag"}
        for name in names:
            assert re.search(rf"\]\s*\${name}\b", param_block), name

    def test_roomcal_assignment_is_found_by_its_assignee_not_by_an_undocumented_assignee_type(self):
        infra = INFRA.read_text(encoding="utf-8")
        assert "-RoleAssigneeType" not in infra.replace("documents no ServicePrincipal value for -RoleAssigneeType", "")
        assert "Get-ManagementRoleAssignment -Role $Role | Where-Object { Test-RoomCalAssignment $_ }" in infra
        assert "Test-ServicePrincipalAuthorization -Identity $AppId" in infra

    def test_a_scope_roomcal_did_not_create_keeps_its_filter(self):
        """Set-ManagementScope runs only after checking that RoomCal's own assignments are the only ones on it."""
        infra = INFRA.read_text(encoding="utf-8")
        guard = infra.index("$Others.Count -gt 0")
        rewrite = infra.index("Set-ManagementScope")
        assert guard < rewrite and "left unchanged" in infra[guard:rewrite]

    def test_the_role_list_is_one_line_per_role(self):
        """Adding a role is adding one line (e.g. 'Application MailboxSettings.Read')."""
        infra = INFRA.read_text(encoding="utf-8")
        block = infra[infra.index("$RoomCalRoles = @(\n") + len("$RoomCalRoles = @(\n"):]
        lines = block[:block.index("\n)\n")].splitlines()
        assert lines and all(re.fullmatch(r"\s+(\$RoleName|'Application [\w.]+')\s*(#.*)?", ln) for ln in lines)
        assert lines[0].split()[0] == "$RoleName"

    def test_the_private_flag_step_is_named(self):
        script = script_for(scope="group", group="g")
        assert "Set-CalendarProcessing -Identity $_.PrimarySmtpAddress -RemovePrivateProperty $false" in script
        assert "KeepPrivateFlag = $true" not in script
        assert "KeepPrivateFlag = $true" in script_for(scope="group", group="g", keep_private_flag=True)
