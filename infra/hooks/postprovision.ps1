# azd postprovision hook: creates RoomCal's random secrets in Key Vault once (never overwrites one), so no secret
# value is a template parameter or appears in a deployment's history. Needs PowerShell 7 and the Azure CLI
# signed in as the azd principal (main.bicep gives it Key Vault Secrets Officer on the vault).
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$vault = $env:AZURE_KEY_VAULT_NAME
if (-not $vault) { throw 'AZURE_KEY_VAULT_NAME is not set (run through azd)' }

function New-RandomSecret([int] $bytes) {
    $buffer = [byte[]]::new($bytes)
    [System.Security.Cryptography.RandomNumberGenerator]::Fill($buffer)
    # base64url without padding: safe in a URL query (the doorbell keys travel as ?code=)
    return [Convert]::ToBase64String($buffer).TrimEnd('=').Replace('+', '-').Replace('/', '_')
}

$secrets = [ordered]@{
    'roomcal-hash-key'          = 48   # ROOMCAL_HASH_KEY: keyed hash of Graph event ids (>= 32 random bytes)
    'roomcal-notifications-key' = 32   # ROOMCAL_NOTIFICATIONS_KEY: function key of /api/notifications
    'roomcal-lifecycle-key'     = 32   # ROOMCAL_LIFECYCLE_KEY: function key of /api/lifecycle
    'roomcal-session-secret'    = 48   # ROOMCAL_SESSION_SECRET: the admin page's session-cookie key
}
foreach ($name in $secrets.Keys) {
    $existing = az keyvault secret list --vault-name $vault --query "[?name=='$name'].name" -o tsv
    if ($LASTEXITCODE -ne 0) { throw "cannot list secrets of $vault (role assignment may take a minute; run azd provision again)" }
    if ($existing) {
        Write-Host "Key Vault secret $name exists (kept)"
        continue
    }
    $value = New-RandomSecret $secrets[$name]
    az keyvault secret set --vault-name $vault --name $name --value $value --content-type 'text/plain' --output none
    if ($LASTEXITCODE -ne 0) { throw "cannot create secret $name in $vault" }
    Write-Host "Key Vault secret $name created"
}

if (-not $env:ROOMCAL_CLIENT_ID) {
    Write-Host ''
    Write-Host 'Next: register the Entra app (docs/deploy.md, "Register the app"):'
    Write-Host "  pwsh infra/entra/Register-RoomCalApp.ps1 -BaseUrl $env:ROOMCAL_PUBLIC_BASE_URL -ManagedIdentityPrincipalId $env:ROOMCAL_MANAGED_IDENTITY_PRINCIPAL_ID"
    Write-Host '  azd env set ROOMCAL_CLIENT_ID <client id it prints>; azd provision'
}
