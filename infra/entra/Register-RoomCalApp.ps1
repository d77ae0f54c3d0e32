<#
.SYNOPSIS
    Creates or updates RoomCal's multi-tenant Entra app registration, secretless.

.DESCRIPTION
    Applies infra/entra/roomcal-app-permissions.json (the one source, checked by tests/unit/test_least_privilege.py
    and tests/infra/test_app_registration.py) to the app registration named -DisplayName in the signed-in tenant
    (the vendor's or operator's "home" tenant):

      * multi-tenant (AzureADMultipleOrgs), so customers install it by admin consent;
      * exactly the application permissions in the JSON (Place.Read.All, User.Read.All: see PERMISSIONS.md) and deliberately NO Calendars permission:
        mailbox access comes only from each customer's Exchange RBAC for Applications scope (Entra and RBAC grants
        add up, so a Calendars permission here would open every mailbox);
      * the consent and sign-in redirect URIs under -BaseUrl;
      * the app roles RoomCal.Admin and RoomCal.Reader for customer admins and readers;
      * a federated identity credential trusting the Function App's user-assigned managed identity
        (issuer = <login endpoint><home tenant>/v2.0, subject = the identity's object id,
        audience = api://AzureADTokenExchange) — so no client secret exists anywhere
        (entra-docs workload-id/workload-identity-federation-config-app-trust-managed-identity.md);
      * optionally (-CertificatePath) the public half of the Key Vault fallback certificate.

    Idempotent: run it again after any change; it adds what is missing, corrects what differs, and with
    -RemoveClientSecrets deletes client secrets it finds (it always reports them). -WhatIf shows every change
    and changes nothing.

    Needs PowerShell 7 and the Microsoft.Graph.Applications module; sign-in as Application Administrator,
    Cloud Application Administrator or owner of the app (Connect-MgGraph -Scopes Application.ReadWrite.All).

.EXAMPLE
    ./Register-RoomCalApp.ps1 -BaseUrl https://func-roomcal-abc.azurewebsites.net -ManagedIdentityPrincipalId <object id> -WhatIf

.EXAMPLE
    # after `azd up`, with the azd environment's outputs:
    ./Register-RoomCalApp.ps1 -BaseUrl $env:ROOMCAL_PUBLIC_BASE_URL -ManagedIdentityPrincipalId $env:ROOMCAL_MANAGED_IDENTITY_PRINCIPAL_ID -RemoveClientSecrets
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    # https base URL of the Function App (azd output ROOMCAL_PUBLIC_BASE_URL).
    [Parameter(Mandatory)]
    [ValidatePattern('^https://[^/?#]+$')]
    [string] $BaseUrl,

    # Object (principal) id of the Function App's user-assigned identity (azd output ROOMCAL_MANAGED_IDENTITY_PRINCIPAL_ID).
    [Parameter(Mandatory)]
    [ValidatePattern('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')]
    [string] $ManagedIdentityPrincipalId,

    [string] $DisplayName = 'RoomCal',

    # Entra login endpoint of the cloud (US Gov: https://login.microsoftonline.us/, China: https://login.chinacloudapi.cn/).
    [ValidatePattern('^https://[^/?#]+/$')]
    [string] $LoginEndpoint = 'https://login.microsoftonline.com/',

    # Token-exchange audience of the cloud (api://AzureADTokenExchangeUSGov, api://AzureADTokenExchangeChina).
    [string] $FederationAudience = 'api://AzureADTokenExchange',

    # Public certificate (.cer / .pem, no private key) of the Key Vault fallback credential, to add as a key credential.
    [string] $CertificatePath,

    # Delete client secrets found on the app (RoomCal needs none).
    [switch] $RemoveClientSecrets
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$manifest = Get-Content -Raw -Path (Join-Path $PSScriptRoot 'roomcal-app-permissions.json') | ConvertFrom-Json
foreach ($resource in $manifest.requiredResourceAccess) {
    foreach ($access in $resource.resourceAccess) {
        if ($access._name -like 'Calendars.*') { throw "roomcal-app-permissions.json asks for $($access._name): refused (Exchange RBAC only)." }
    }
}

Import-Module Microsoft.Graph.Applications -ErrorAction Stop
$context = Get-MgContext
if (-not $context) {
    Connect-MgGraph -Scopes 'Application.ReadWrite.All' -NoWelcome | Out-Null
    $context = Get-MgContext
}
$tenantId = $context.TenantId
$issuer = "$LoginEndpoint$tenantId/v2.0"

$redirectUris = @($manifest.redirectPaths | ForEach-Object { "$BaseUrl$_" })
$requiredResourceAccess = @($manifest.requiredResourceAccess | ForEach-Object {
    @{ resourceAppId = $_.resourceAppId; resourceAccess = @($_.resourceAccess | ForEach-Object { @{ id = $_.id; type = $_.type } }) }
})
$appRoles = @($manifest.appRoles | ForEach-Object {
    @{ id = $_.id; value = $_.value; displayName = $_.displayName; description = $_.description
       allowedMemberTypes = @($_.allowedMemberTypes); isEnabled = [bool]$_.isEnabled }
})
$desired = @{
    displayName            = $DisplayName
    signInAudience         = $manifest.signInAudience
    requiredResourceAccess = $requiredResourceAccess
    appRoles               = $appRoles
    web                    = @{ redirectUris = $redirectUris; implicitGrantSettings = @{ enableIdTokenIssuance = $false; enableAccessTokenIssuance = $false } }
}

# 1. The application.
$app = Get-MgApplication -Filter "displayName eq '$($DisplayName.Replace("'", "''"))'" -All | Select-Object -First 1
if (-not $app) {
    if ($PSCmdlet.ShouldProcess($DisplayName, 'create multi-tenant app registration')) {
        $app = New-MgApplication -BodyParameter $desired
        Write-Host "created app registration $DisplayName (client id $($app.AppId))"
    }
} else {
    $drift = @()
    if ($app.SignInAudience -ne $desired.signInAudience) { $drift += 'signInAudience' }
    if ((@($app.Web.RedirectUris) | Sort-Object) -join ' ' -ne (($redirectUris | Sort-Object) -join ' ')) { $drift += 'redirectUris' }
    $haveRoles = @($app.AppRoles | ForEach-Object { "$($_.Id)=$($_.Value)" }) | Sort-Object
    $wantRoles = @($appRoles | ForEach-Object { "$($_.id)=$($_.value)" }) | Sort-Object
    if (($haveRoles -join ' ') -ne ($wantRoles -join ' ')) { $drift += 'appRoles' }
    $havePerms = @($app.RequiredResourceAccess | ForEach-Object { $r = $_.ResourceAppId; $_.ResourceAccess | ForEach-Object { "$r/$($_.Id)/$($_.Type)" } }) | Sort-Object
    $wantPerms = @($requiredResourceAccess | ForEach-Object { $r = $_.resourceAppId; $_.resourceAccess | ForEach-Object { "$r/$($_.id)/$($_.type)" } }) | Sort-Object
    if (($havePerms -join ' ') -ne ($wantPerms -join ' ')) { $drift += 'requiredResourceAccess (extra permissions are removed)' }
    if ($drift.Count -eq 0) {
        Write-Host "app registration $DisplayName is up to date (client id $($app.AppId))"
    } elseif ($PSCmdlet.ShouldProcess($DisplayName, "update $($drift -join ', ')")) {
        # Roles in use must be disabled before they can be removed; RoomCal's role ids never change, so an update
        # only ever adds or edits them.
        Update-MgApplication -ApplicationId $app.Id -BodyParameter $desired
        Write-Host "updated $($drift -join ', ')"
    }
}

if ($app) {
    # 2. Secretless: report (and with -RemoveClientSecrets delete) client secrets.
    foreach ($secret in @($app.PasswordCredentials)) {
        Write-Warning "client secret '$($secret.DisplayName)' ($($secret.KeyId)) exists; RoomCal needs none"
        if ($RemoveClientSecrets -and $PSCmdlet.ShouldProcess("$DisplayName secret $($secret.KeyId)", 'remove client secret')) {
            Remove-MgApplicationPassword -ApplicationId $app.Id -KeyId $secret.KeyId
        }
    }

    # 3. The managed identity as federated identity credential (name cannot change later; no wildcards).
    $ficName = $manifest.federatedCredential.name
    $fic = Get-MgApplicationFederatedIdentityCredential -ApplicationId $app.Id -All | Where-Object Name -eq $ficName
    $ficBody = @{ name = $ficName; issuer = $issuer; subject = $ManagedIdentityPrincipalId
                  audiences = @($FederationAudience); description = 'RoomCal Function App user-assigned managed identity' }
    if (-not $fic) {
        if ($PSCmdlet.ShouldProcess($ficName, "add federated credential (issuer $issuer, subject $ManagedIdentityPrincipalId)")) {
            New-MgApplicationFederatedIdentityCredential -ApplicationId $app.Id -BodyParameter $ficBody | Out-Null
        }
    } elseif ($fic.Issuer -ne $issuer -or $fic.Subject -ne $ManagedIdentityPrincipalId -or (@($fic.Audiences) -join ' ') -ne $FederationAudience) {
        if ($PSCmdlet.ShouldProcess($ficName, 'correct federated credential')) {
            Update-MgApplicationFederatedIdentityCredential -ApplicationId $app.Id -FederatedIdentityCredentialId $fic.Id -BodyParameter $ficBody
        }
    } else {
        Write-Host "federated credential $ficName is up to date"
    }

    # 4. Optional: the public certificate of the Key Vault fallback.
    if ($CertificatePath) {
        $cert = [System.Security.Cryptography.X509Certificates.X509Certificate2]::new((Resolve-Path $CertificatePath).Path)
        $known = @($app.KeyCredentials | Where-Object { [Convert]::ToBase64String($_.CustomKeyIdentifier) -eq [Convert]::ToBase64String($cert.GetCertHash()) })
        if ($known.Count -eq 0 -and $PSCmdlet.ShouldProcess($cert.Thumbprint, 'add certificate key credential')) {
            $keys = @($app.KeyCredentials) + @(@{ type = 'AsymmetricX509Cert'; usage = 'Verify'; key = $cert.RawData; displayName = "RoomCal fallback $($cert.NotAfter.ToString('yyyy-MM-dd'))" })
            Update-MgApplication -ApplicationId $app.Id -KeyCredentials $keys
        }
    }

    Write-Host ''
    Write-Host "ROOMCAL_CLIENT_ID=$($app.AppId)"
    Write-Host "Next: azd env set ROOMCAL_CLIENT_ID $($app.AppId); azd provision"
}
