<#
.SYNOPSIS
    Grants RoomCal access to room-mailbox calendars only, with Exchange Online RBAC for Applications.

.DESCRIPTION
    The parameterised twin of the script RoomCal generates at
    GET /api/tenants/{tenant_id}/rbac-script (same cmdlets, same role names; a test keeps them in step).
    Run as an Exchange Administrator (or Organization Management member) in PowerShell 7 or Windows
    PowerShell 5.1 with the modules Microsoft.Graph.Applications and ExchangeOnlineManagement.
    Safe to run again: existing objects are reused, the scope's filter is updated.
    Exchange caches RBAC changes for 30 minutes to 2 hours; RoomCal re-checks denied rooms by itself.

.EXAMPLE
    ./Grant-RoomCalAccess.ps1 -AppId <RoomCal client id> -TenantId <tenant id> -GroupName 'RoomCal Rooms'

.EXAMPLE
    ./Grant-RoomCalAccess.ps1 -AppId <RoomCal client id> -TenantId <tenant id> -CountryCode NL -RoleName 'Application Calendars.Read'
#>
[CmdletBinding(DefaultParameterSetName = 'Group')]
param(
    [Parameter(Mandatory)]
    [ValidatePattern('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')]
    [string] $AppId,

    [Parameter(Mandatory)]
    [ValidatePattern('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')]
    [string] $TenantId,

    # Name of the mail-enabled security group whose direct members are the rooms RoomCal may read.
    [Parameter(Mandatory, ParameterSetName = 'Group')]
    [ValidateLength(1, 64)]
    [ValidatePattern('^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$')]
    [string] $GroupName,

    # ISO 3166-1 alpha-2 code: rooms whose CountryOrRegion is this country.
    [Parameter(Mandatory, ParameterSetName = 'Country')]
    [ValidatePattern('^[A-Z]{2}$')]
    [string] $CountryCode,

    # ReadWrite lets RoomCal decline no-show meetings (opt-in); Read is enough while that stays off.
    [ValidateSet('Application Calendars.ReadWrite', 'Application Calendars.Read')]
    [string] $RoleName = 'Application Calendars.ReadWrite',

    [ValidateLength(1, 64)]
    [ValidatePattern('^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$')]
    [string] $ScopeName = 'RoomCal Room Calendars Scope'
)
$ErrorActionPreference = 'Stop'

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

# 3. The scope's filter, always limited to room mailboxes. Values inside an OPATH filter are
#    single-quoted with quotes doubled (PowerShell also treats U+2018..U+201B as quotes).
if ($PSCmdlet.ParameterSetName -eq 'Group') {
    $SecurityGroup = Get-Group -Identity $GroupName
    $QuoteCharacters = "['" + [char]0x2018 + [char]0x2019 + [char]0x201A + [char]0x201B + "]"
    $GroupDn = $SecurityGroup.DistinguishedName -replace "($QuoteCharacters)", '$1$1'
    $RecipientFilter = "(MemberOfGroup -eq '$GroupDn') -and (RecipientTypeDetails -eq 'RoomMailbox')"
} else {
    $RecipientFilter = "(CountryOrRegion -eq '$CountryCode') -and (RecipientTypeDetails -eq 'RoomMailbox')"
}

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
