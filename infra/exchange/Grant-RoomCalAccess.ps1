<#
.SYNOPSIS
    Grants RoomCal access to room-mailbox calendars only, with Exchange Online RBAC for Applications.

.DESCRIPTION
    The one source of RoomCal's Exchange RBAC script: GET /api/tenants/{tenant_id}/rbac-script returns this
    file unchanged, run with the tenant's values as parameters.
    Run as an Exchange Administrator (or Organization Management member) in PowerShell 7 or Windows
    PowerShell 5.1 with the modules Microsoft.Graph.Applications and ExchangeOnlineManagement
    (Install-Module <name> -Scope CurrentUser).
    Safe to run again: existing objects are reused. The filter of an existing management scope is changed only
    when RoomCal's own role assignments are the only ones on it; any other scope of that name is left alone.
    Exchange caches RBAC changes for 30 minutes to 2 hours: rooms may show 'outside the RBAC scope' in RoomCal
    until then; RoomCal re-checks them by itself.
    Sources: "Role Based Access Control for Applications in Exchange Online" (learn.microsoft.com/exchange/
    permissions-exo/application-rbac); Get-ManagementRoleAssignment and Test-ServicePrincipalAuthorization
    (learn.microsoft.com/powershell/module/exchange/).

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
    [string] $ScopeName = 'RoomCal Room Calendars Scope',

    # Keep the private flag of meetings booked into the rooms in scope (see step 8).
    [switch] $KeepPrivateFlag
)
$ErrorActionPreference = 'Stop'

# The Exchange application roles RoomCal is granted on the scope: one line per role.
$RoomCalRoles = @(
    $RoleName                                   # calendars: read them, or read them and decline no-shows
    'Application MailboxSettings.Read'          # the rooms' time zones (mailboxSettings), for analytics
)

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

# RoomCal's role assignments are found by their assignee, this service principal, whatever name Exchange shows
# for it (Get-ManagementRoleAssignment documents no ServicePrincipal value for -RoleAssigneeType).
$RoomCalIds = @($ServicePrincipalExchange.Identity, $ServicePrincipalExchange.Name, $ServicePrincipalExchange.ObjectId,
    $ServicePrincipalExchange.AppId, $ServicePrincipalAad.Id, $AppId) | Where-Object { $_ } | ForEach-Object { "$_" }
function Test-RoomCalAssignment($Assignment) {
    ("$($Assignment.RoleAssignee)" -in $RoomCalIds) -or ("$($Assignment.RoleAssigneeName)" -in $RoomCalIds)
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

# 4. Create the management scope, or reuse one of that name. Its filter is changed only when RoomCal's own role
#    assignments are the only ones on it: never rewrite a scope someone else created or also uses.
$ManagementScope = Get-ManagementScope -Identity $ScopeName -ErrorAction SilentlyContinue
if (-not $ManagementScope) {
    $ManagementScope = New-ManagementScope -Name $ScopeName -RecipientRestrictionFilter $RecipientFilter
} elseif ("$($ManagementScope.RecipientFilter)" -ne $RecipientFilter) {
    $OnScope = @(Get-ManagementRoleAssignment | Where-Object { "$($_.CustomResourceScope)" -eq $ScopeName })
    $Others = @($OnScope | Where-Object { -not (Test-RoomCalAssignment $_) })
    if ($OnScope.Count -eq 0 -or $Others.Count -gt 0) {
        throw ("A management scope named '$ScopeName' already exists with another filter, and RoomCal did not " +
            "create it (or others use it too); it was left unchanged. Run this script again with -ScopeName <a new name>.")
    }
    Set-ManagementScope -Identity $ScopeName -RecipientRestrictionFilter $RecipientFilter
    $ManagementScope = Get-ManagementScope -Identity $ScopeName
}

# 5. Preview: the room mailboxes RoomCal will be able to read. Empty? Add rooms to the group
#    (or set their CountryOrRegion) and run this script again.
Get-Recipient -RecipientPreviewFilter $ManagementScope.RecipientFilter -ResultSize Unlimited |
    Format-Table Name, PrimarySmtpAddress, RecipientTypeDetails

# 6. Assign each role to the application on that scope (once), found by assignee and scope.
foreach ($Role in $RoomCalRoles) {
    $Mine = @(Get-ManagementRoleAssignment -Role $Role | Where-Object { Test-RoomCalAssignment $_ })
    if (-not ($Mine | Where-Object { "$($_.CustomResourceScope)" -eq $ScopeName })) {
        New-ManagementRoleAssignment -App $ServicePrincipalExchange.ObjectId -Role $Role -CustomResourceScope $ScopeName
    }
    foreach ($Other in ($Mine | Where-Object { "$($_.CustomResourceScope)" -ne $ScopeName })) {
        Write-Warning "RoomCal also holds '$Role' on '$($Other.CustomResourceScope)' ($($Other.Name)): grants add up."
    }
}
New-ManagementRoleAssignment -App $ServicePrincipalExchange.ObjectId -Role "Application MailboxSettings.Read" `
    -CustomResourceScope $ScopeName -ErrorAction SilentlyContinue  # rooms' time zones, for analytics

# 7. Check: what the application may do, bypassing Exchange's RBAC cache. -Identity takes the AppId
#    (documented: Name, DN, GUID, AppId or ServiceId). Add -Resource <room address> to see InScope for one room.
Test-ServicePrincipalAuthorization -Identity $AppId | Format-Table

# 8. Private meetings. Exchange clears the private flag of meetings booked into room mailboxes by default
#    (Set-CalendarProcessing -RemovePrivateProperty $true), so RoomCal cannot tell a private meeting in a room
#    calendar and names no organisers unless the tenant turns 'show_organisers' on. To keep the flag on new
#    bookings, run this script with -KeepPrivateFlag: it sets -RemovePrivateProperty $false on the rooms in scope.
if ($KeepPrivateFlag) {
    Get-Recipient -RecipientPreviewFilter $ManagementScope.RecipientFilter -ResultSize Unlimited |
        ForEach-Object { Set-CalendarProcessing -Identity $_.PrimarySmtpAddress -RemovePrivateProperty $false }
} else {
    Write-Host ("Rooms clear the private flag of meetings (RemovePrivateProperty `$true, Exchange's default): " +
        "run again with -KeepPrivateFlag before turning on organiser names in RoomCal.")
}
Write-Host "Done. Graph sees RBAC changes within 30 minutes to 2 hours; then 'Continue setup' in RoomCal."
