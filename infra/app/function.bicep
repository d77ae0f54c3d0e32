// The Function App on the Flex Consumption plan (Linux, Python 3.11), in the shape of Microsoft's azd templates
// (Azure-Samples functions-quickstart-python-azd*: functionAppConfig, blob-container deployment with the
// user-assigned identity, identity-based AzureWebJobsStorage), plus every RoomCal setting.

@description('Function App name.')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('azd service name (azure.yaml) this app is deployed as.')
param serviceName string = 'api'

@description('Resource id of the user-assigned managed identity.')
param identityId string

@description('Client id of the user-assigned managed identity.')
param identityClientId string

@description('Storage account name (host storage, queues, tables).')
param storageAccountName string

@description('Blob endpoint of the storage account.')
param storageBlobEndpoint string

@description('Blob container holding the deployment package.')
param deploymentContainerName string

@description('Key Vault name (Key Vault references for the secrets).')
param keyVaultName string

@description('Application Insights connection string (not a secret: ingestion needs the identity, local auth is off).')
param applicationInsightsConnectionString string

@description('Instance memory in MB (Flex Consumption: 512, 2048 or 4096).')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Most instances the platform may scale out to (40-1000).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Always-ready instances for the HTTP group (doorbells, admin API); 0 scales to zero.')
@minValue(0)
param alwaysReadyHttpInstances int = 0

@description('Always-ready instances for the room-changes queue worker (function:room_changes); 0 scales to zero.')
@minValue(0)
param alwaysReadySyncInstances int = 0

@description('Per-instance HTTP concurrency (Flex default for Python is 1 with 2048 MB; RoomCal\'s doorbells are I/O bound).')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 16

@description('Client id of the multi-tenant Entra app registration (infra/entra/Register-RoomCalApp.ps1 prints it); empty until registered.')
param entraClientId string

@description('How RoomCal proves itself to Entra: federated_identity (secretless, the default) or certificate (Key Vault fallback).')
@allowed(['federated_identity', 'certificate'])
param clientCredentialKind string = 'federated_identity'

@description('Key Vault certificate name of the fallback credential (used only with clientCredentialKind = certificate).')
param certificateName string = 'roomcal-client-certificate'

@description('Microsoft Graph base URL (national clouds: https://graph.microsoft.us/v1.0, https://microsoftgraph.chinacloudapi.cn/v1.0).')
param graphBaseUrl string = 'https://graph.microsoft.com/v1.0'

@description('Token-exchange audience of the federated credential (public cloud; USGov: api://AzureADTokenExchangeUSGov, China: api://AzureADTokenExchangeChina).')
param federationAudience string = 'api://AzureADTokenExchange'

@description('Sync-engine schedules and tuning; any key here overrides the default of the same RoomCal setting below.')
param settingOverrides object = {}

var alwaysReadyHttp = alwaysReadyHttpInstances > 0 ? [{ name: 'http', instanceCount: alwaysReadyHttpInstances }] : []
var alwaysReadySync = alwaysReadySyncInstances > 0 ? [{ name: 'function:room_changes', instanceCount: alwaysReadySyncInstances }] : []
var alwaysReady = concat(alwaysReadyHttp, alwaysReadySync)

var keyVaultRef = 'VaultName=${keyVaultName};SecretName='

// Platform settings read by the host or the OpenTelemetry exporter, not by RoomCal's code.
var platformSettings = {
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  PYTHON_ENABLE_OPENTELEMETRY: 'true'
}

// BEGIN roomcal-settings: every setting RoomCal reads (shared/config.py). tests/unit/test_infra_settings.py keeps
// this block and config.py in step; settings that must not exist in Azure are listed there with the reason.
var roomcalSettings = {
  ROOMCAL_ENVIRONMENT: 'production'
  AzureWebJobsStorage__accountName: storageAccountName // identity-based: no connection string, no account key
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  ROOMCAL_GRAPH_BASE_URL: graphBaseUrl
  ROOMCAL_LOGIN_BASE_URL: environment().authentication.loginEndpoint
  ROOMCAL_CLIENT_ID: entraClientId
  ROOMCAL_CLIENT_CREDENTIAL: clientCredentialKind
  ROOMCAL_MANAGED_IDENTITY_CLIENT_ID: identityClientId
  ROOMCAL_FEDERATION_AUDIENCE: federationAudience
  ROOMCAL_CLIENT_CERTIFICATE: clientCredentialKind == 'certificate' ? '@Microsoft.KeyVault(${keyVaultRef}${certificateName})' : ''
  ROOMCAL_PUBLIC_BASE_URL: 'https://${site.properties.defaultHostName}'
  ROOMCAL_HASH_KEY: '@Microsoft.KeyVault(${keyVaultRef}roomcal-hash-key)'
  ROOMCAL_NOTIFICATIONS_KEY: '@Microsoft.KeyVault(${keyVaultRef}roomcal-notifications-key)'
  ROOMCAL_LIFECYCLE_KEY: '@Microsoft.KeyVault(${keyVaultRef}roomcal-lifecycle-key)'
  ROOMCAL_HTTP_TIMEOUT_SECONDS: '30'
  ROOMCAL_HTTP_POOL_SIZE: '32'
  ROOMCAL_CONSENT_STATE_MINUTES: '30'
  ROOMCAL_GRAPH_MAX_WAIT_SECONDS: '60'
  ROOMCAL_GRAPH_MAX_RETRIES: '4'
  ROOMCAL_GRAPH_PAGE_SIZE: '100'
  ROOMCAL_GRAPH_MAILBOX_CONCURRENCY: '4'
  ROOMCAL_CATCHUP_SCHEDULE: '0 */15 * * * *'
  ROOMCAL_RENEW_SCHEDULE: '0 7 * * * *'
  ROOMCAL_RETENTION_SCHEDULE: '0 30 2 * * *'
  ROOMCAL_CATCHUP_MIN_AGE_MINUTES: '0'
  ROOMCAL_SYNC_LEASE_SECONDS: '120'
  ROOMCAL_SYNC_MAX_ROUNDS: '5'
  ROOMCAL_SYNC_MAX_PAGES_PER_ROUND: '50'
  ROOMCAL_SYNC_WINDOW_ROLL_DAYS: '7'
  ROOMCAL_QUEUE_MAX_DEQUEUE_COUNT: '5'
  ROOMCAL_SUBSCRIPTION_LIFETIME_MINUTES: '10080'
  ROOMCAL_SUBSCRIPTION_RENEW_WITHIN_MINUTES: '4320'
  ROOMCAL_SUBSCRIPTION_CACHE_SECONDS: '60'
  ROOMCAL_HASH_KEY_PREVIOUS: '' // set (a Key Vault reference) only during a hash-key rotation: docs/key-rotation.md
  ROOMCAL_SESSION_SECRET: '@Microsoft.KeyVault(${keyVaultRef}roomcal-session-secret)'
  ROOMCAL_SESSION_MINUTES: '60'
  ROOMCAL_OCCUPANCY_MAX_BODY_BYTES: '4194304'
  ROOMCAL_OCCUPANCY_MAX_ROWS: '20000'
  ROOMCAL_OCCUPANCY_SAMPLE_HOLD_MINUTES: '15'
  ROOMCAL_OCCUPANCY_STALE_MINUTES: '30'
  ROOMCAL_NOSHOW_SCHEDULE: '0 */5 * * * *'
  ROOMCAL_ANALYTICS_CONTAINER: 'analytics' // created by storage.bicep
  ROOMCAL_ANALYTICS_LAYOUT: 'parquet'
  ROOMCAL_ANALYTICS_SWEEP_SCHEDULE: '0 */10 * * * *'
  ROOMCAL_ANALYTICS_MAX_DAYS: '400'
}
// END roomcal-settings

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: zone redundancy of a Flex Consumption plan is a region-dependent option (two always-ready instances per group at least); left to the operator (docs/deploy.md, Scaling).
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_56: App Service Authentication (Easy Auth) would put Entra sign-in in front of Graph's doorbells, which Graph cannot pass; RoomCal authenticates each entry point itself (function keys, consent state, admin sign-in; docs/security.md).
  // checkov:skip=CKV_AZURE_17: client certificates cannot be asked of Microsoft Graph's webhook deliveries.
  // checkov:skip=CKV_AZURE_212: instance count is set per plan by maximumInstanceCount on Flex Consumption, not by App Service plan workers.
  // checkov:skip=CKV_AZURE_222: Microsoft Graph must reach the doorbells (/api/notifications, /api/lifecycle) and admins the consent callback from the internet; every entry point authenticates itself (docs/security.md).
  // checkov:skip=CKV_AZURE_213: an App Service health-check probe would ping every minute and keep a scale-to-zero Flex Consumption instance running (billed); GET /api/health serves external monitors instead.
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      remoteDebuggingEnabled: false
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        alwaysReady: alwaysReady
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        triggers: {
          http: { perInstanceConcurrency: httpPerInstanceConcurrency }
        }
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // These checks read the site's 'web' config; this resource is the 'appsettings' key/value list, which has none of their properties.
  // checkov:skip=CKV_AZURE_13: Easy Auth is a 'web' config setting (see CKV_AZURE_56 on the site).
  // checkov:skip=CKV_AZURE_63: HTTP file logging is a 'web' config setting; Flex Consumption logs go to Application Insights.
  // checkov:skip=CKV_AZURE_65: detailed error pages are a 'web' config setting; not used by Functions.
  // checkov:skip=CKV_AZURE_66: failed-request tracing is a 'web' config setting; Application Insights traces requests.
  // checkov:skip=CKV_AZURE_80: .NET version is a 'web' config setting; this is a Python app.
  // checkov:skip=CKV_AZURE_88: Azure Files mounts are 'azurestorageaccounts' config; RoomCal needs none.
  // checkov:skip=CKV_AZURE_222: network access is a site property (see CKV_AZURE_222 on the site).
  parent: site
  name: 'appsettings'
  properties: union(platformSettings, roomcalSettings, settingOverrides)
}

// No basic-auth (FTP / SCM) publishing: azd and the Flex deployment API use Entra.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: { allow: false }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: { allow: false }
}

output id string = site.id
output name string = site.name
output hostName string = site.properties.defaultHostName
