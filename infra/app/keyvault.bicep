// Key Vault for RoomCal's secrets that must exist in Azure: the event-id hash key, the two doorbell keys and,
// only when the federated credential cannot be used, the app registration's certificate (the fallback).
// RBAC mode (no access policies) and purge protection: a deleted key cannot be lost or silently replaced.
// The secrets are created by infra/hooks/postprovision.ps1 (random, once), never by a template parameter,
// so no secret value appears in a deployment's history.

@description('Key Vault name (3-24 letters, digits and hyphens).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Log Analytics workspace for the vault\'s audit log.')
param logAnalyticsWorkspaceId string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: Flex Consumption without VNet integration resolves Key Vault references over the vault's public endpoint; access is Entra RBAC only (no access policies), audited below.
  // checkov:skip=CKV_AZURE_189: public network access stays enabled for the reason given at CKV_AZURE_109 (no VNet integration).
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enablePurgeProtection: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource vaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      { categoryGroup: 'audit', enabled: true }
    ]
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
