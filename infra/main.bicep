// RoomCal on Azure: `azd up` provisions this (subscription scope: it creates the resource group) and deploys the app.
// Layout and naming follow Microsoft's azd templates for Python on Flex Consumption
// (Azure-Samples/functions-quickstart-python-azd*). Every parameter is described; docs/deploy.md explains them.
targetScope = 'subscription'

@description('azd environment name; names every resource (with a token unique to subscription, name and region).')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Azure region. Must offer Flex Consumption (az functionapp list-flexconsumption-locations).')
@minLength(1)
param location string

@description('Object id of the person or pipeline running azd (azd sets it). Gets Key Vault Secrets Officer to create the random secrets once; empty for none.')
param principalId string = ''

@description('Client id of RoomCal\'s multi-tenant Entra app registration (infra/entra/Register-RoomCalApp.ps1 prints it). Empty on the first `azd up`; set it with `azd env set ROOMCAL_CLIENT_ID ...` and provision again.')
param entraClientId string = ''

@description('How RoomCal proves itself to Entra ID: federated_identity (secretless: the managed identity is a federated credential of the app registration) or certificate (the Key Vault fallback).')
@allowed(['federated_identity', 'certificate'])
param clientCredentialKind string = 'federated_identity'

@description('Always-ready instances for the HTTP functions (0: scale to zero; 1 keeps Graph\'s doorbells warm, billed as baseline).')
@minValue(0)
@maxValue(20)
param alwaysReadyHttpInstances int = 0

@description('Always-ready instances for the room-changes sync worker (0: scale to zero).')
@minValue(0)
@maxValue(20)
param alwaysReadySyncInstances int = 0

@description('Most instances Flex Consumption may scale out to (40-1000). Graph\'s per-mailbox limits, not instances, bound RoomCal; 100 serves 10,000 rooms.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Instance memory in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Storage replication.')
@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS'])
param storageSku string = 'Standard_ZRS'

@description('E-mail address for alerts (poison messages, subscription failures, sync lag); empty: alerts only in the portal.')
param alertEmail string = ''

@description('Minutes without a successful sync before a room raises the sync-lag alert.')
@minValue(15)
param syncLagAlertMinutes int = 45

@description('Daily Log Analytics ingestion cap in GB (-1: none).')
param logDailyQuotaGb int = 5

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName, application: 'roomcal' }
var functionAppName = '${abbrs.webSitesFunctions}roomcal-${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(toLower(uniqueString(functionAppName, resourceToken)), 7)}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  scope: rg
  name: 'identity'
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}roomcal-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  scope: rg
  name: 'monitoring'
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}roomcal-${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}roomcal-${resourceToken}'
    location: location
    tags: tags
    dailyQuotaGb: logDailyQuotaGb
  }
}

module storage 'app/storage.bicep' = {
  scope: rg
  name: 'storage'
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    skuName: storageSku
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsId
  }
}

module vault 'app/keyvault.bicep' = {
  scope: rg
  name: 'keyvault'
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsId
  }
}

module rbac 'app/rbac.bicep' = {
  scope: rg
  name: 'rbac'
  params: {
    identityPrincipalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: vault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    deployerPrincipalId: principalId
    deployerManagesCertificates: clientCredentialKind == 'certificate'
  }
}

module app 'app/function.bicep' = {
  scope: rg
  name: 'function'
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}roomcal-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    keyVaultName: vault.outputs.name
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    alwaysReadyHttpInstances: alwaysReadyHttpInstances
    alwaysReadySyncInstances: alwaysReadySyncInstances
    entraClientId: entraClientId
    clientCredentialKind: clientCredentialKind
  }
  dependsOn: [rbac]
}

module alerts 'app/alerts.bicep' = {
  scope: rg
  name: 'alerts'
  params: {
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    location: location
    tags: tags
    namePrefix: 'roomcal-${resourceToken}'
    alertEmail: alertEmail
    syncLagMinutes: syncLagAlertMinutes
  }
}

module workbook 'app/workbook.bicep' = {
  scope: rg
  name: 'workbook'
  params: {
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    location: location
    tags: tags
  }
}

var baseUrl = 'https://${app.outputs.hostName}'

// azd writes these into .azure/<env>/.env; the hooks and docs/deploy.md use them. No secret is an output:
// the doorbell URLs carry their key as ?code=, read from Key Vault by the hooks, never printed here.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = app.outputs.name
output SERVICE_API_NAME string = app.outputs.name
output AZURE_KEY_VAULT_NAME string = vault.outputs.name
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
output ROOMCAL_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output ROOMCAL_MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output ROOMCAL_PUBLIC_BASE_URL string = baseUrl
output ROOMCAL_NOTIFICATION_URL string = '${baseUrl}/api/notifications'
output ROOMCAL_LIFECYCLE_URL string = '${baseUrl}/api/lifecycle'
output ROOMCAL_ADMIN_PAGE_URL string = '${baseUrl}/api/portal'
output ROOMCAL_CONSENT_REDIRECT_URI string = '${baseUrl}/api/consent/callback'
output ROOMCAL_SIGNIN_REDIRECT_URI string = '${baseUrl}/api/auth/callback'
