// The app's one identity: a user-assigned managed identity. User-assigned (not system-assigned) because only a
// user-assigned identity can be a federated identity credential of the Entra app registration
// (entra-docs workload-id/workload-identity-federation-config-app-trust-managed-identity.md).

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
