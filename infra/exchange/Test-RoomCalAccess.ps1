<#
.SYNOPSIS
    Read-only check of RoomCal's Exchange RBAC for Applications setup: changes nothing.

.DESCRIPTION
    The check mode of Grant-RoomCalAccess.ps1 (same parameters for the application and the scope): it only reads
    (Get-*, Test-*) and reports, for the Exchange admin or an auditor, whether RoomCal's service principal exists in
    Exchange, which scope and role assignments it holds, whether every assignment is limited to a scope that only
    matches room mailboxes, and — with -Mailbox — whether a given mailbox is in scope. Exit code 0 when the setup
    grants calendar access to room mailboxes only, 1 otherwise.
    Run as an Exchange Administrator (or View-Only Organization Management) with ExchangeOnlineManagement.

.EXAMPLE
    ./Test-RoomCalAccess.ps1 -AppId <RoomCal client id> -Mailbox room1@contoso.com, ceo@contoso.com
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [ValidatePattern('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')]
    [string] $AppId,

    # Mailboxes to test one by one (InScope true/false per role).
    [string[]] $Mailbox = @()
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Connect-ExchangeOnline -ShowBanner:$false

$problems = @()
$principal = Get-ServicePrincipal -Identity $AppId -ErrorAction SilentlyContinue
if (-not $principal) {
    Write-Host "RoomCal ($AppId) has no service principal in Exchange: run Grant-RoomCalAccess.ps1."
    exit 1
}

$assignments = @(Get-ManagementRoleAssignment -RoleAssignee $principal.ObjectId -ErrorAction SilentlyContinue)
if ($assignments.Count -eq 0) { $problems += 'no role assignment: RoomCal can read no calendar' }
foreach ($assignment in $assignments) {
    $scopeName = $assignment.CustomResourceScope
    if (-not $scopeName) {
        $problems += "role '$($assignment.Role)' is assigned to the whole organisation, not to a room scope"
        continue
    }
    $scope = Get-ManagementScope -Identity $scopeName
    if ($scope.RecipientFilter -notmatch "RecipientTypeDetails -eq 'RoomMailbox'") {
        $problems += "scope '$scopeName' does not limit '$($assignment.Role)' to room mailboxes ($($scope.RecipientFilter))"
    }
    [pscustomobject]@{ Role = $assignment.Role; Scope = $scopeName; Filter = $scope.RecipientFilter } | Format-List
}

Test-ServicePrincipalAuthorization -Identity $AppId | Format-Table RoleName, GrantedPermissions, AllowedResourceScope
foreach ($address in $Mailbox) {
    Test-ServicePrincipalAuthorization -Identity $AppId -Resource $address | Format-Table RoleName, InScope
}

if ($problems.Count) {
    $problems | ForEach-Object { Write-Warning $_ }
    exit 1
}
Write-Host 'RoomCal may read room mailboxes only. (Entra grants add to these: RoomCal asks Entra for no Calendars permission.)'
exit 0
