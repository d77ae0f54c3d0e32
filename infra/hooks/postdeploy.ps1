# azd postdeploy hook: gives Graph's two doorbells their own function keys, with the values kept in Key Vault
# (the app reads the same values as ROOMCAL_NOTIFICATIONS_KEY / ROOMCAL_LIFECYCLE_KEY and puts them in the
# subscription URLs as ?code=). Function-scoped keys, not host keys: a doorbell key opens its own doorbell and
# nothing else (a host key would also open the admin API). Idempotent: setting the same value again is a no-op.
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$group, $app, $vault = $env:AZURE_RESOURCE_GROUP, $env:AZURE_FUNCTION_NAME, $env:AZURE_KEY_VAULT_NAME
$doorbells = [ordered]@{ 'graph_notifications' = 'roomcal-notifications-key'; 'graph_lifecycle' = 'roomcal-lifecycle-key' }
foreach ($function in $doorbells.Keys) {
    $value = az keyvault secret show --vault-name $vault --name $doorbells[$function] --query value -o tsv
    if ($LASTEXITCODE -ne 0 -or -not $value) { throw "secret $($doorbells[$function]) missing in $vault (azd provision creates it)" }
    az functionapp function keys set --resource-group $group --name $app --function-name $function `
        --key-name roomcal --key-value $value --output none
    if ($LASTEXITCODE -ne 0) { throw "cannot set the function key of $function" }
    Write-Host "function key 'roomcal' of $function set from Key Vault"
}
Write-Host ''
Write-Host "Notification URL:  $env:ROOMCAL_NOTIFICATION_URL?code=<Key Vault secret roomcal-notifications-key>"
Write-Host "Lifecycle URL:     $env:ROOMCAL_LIFECYCLE_URL?code=<Key Vault secret roomcal-lifecycle-key>"
Write-Host "Admin page:        $env:ROOMCAL_ADMIN_PAGE_URL"
Write-Host "Consent redirect:  $env:ROOMCAL_CONSENT_REDIRECT_URI"
