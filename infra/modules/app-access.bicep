// Role assignments for the Function App identity on resources in the app's resource group: its own
// storage account, Application Insights, and (optionally) the Key Vault holding webhook secrets.

@description('Object id of the Function App identity.')
param principalId string

@description('Name of the app storage account.')
param storageAccountName string

@description('Name of the Application Insights component.')
param appInsightsName string

@description('Key Vault with the webhook secrets, in this resource group; empty for none.')
param keyVaultName string

// Storage roles on the app's own account. tests/e2e/permissions holds them to the operations the
// functions perform here plus the Functions host's documented needs (Microsoft Learn, "Connecting to
// host storage with an identity"), and fails on a role neither requires.
var roles = {
  // Host storage: "The Storage Blob Data Owner role covers the basic needs of Functions host storage";
  // it is also the documented minimum for timer triggers (their locks are blobs) and reads the Flex
  // deployment container. Storage Blob Data Contributor is narrower but not what the docs require, and a
  // host that cannot take its locks stops every timer, so Owner stays; the handler itself only writes
  // and lists quarantine blobs (creating the container if missing).
  blobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  // Queue triggers (`notifications`, `hashrequests`), queue outputs, poison queues, queue depths.
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  // Catalogue, sessions, claims, cursor and heartbeat tables; the host's diagnostic events.
  tableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  // Telemetry ingestion with Entra auth (local auth is disabled on the component).
  metricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  // Key Vault references in app settings.
  secretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
}

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = if (!empty(keyVaultName)) {
  name: keyVaultName
}

resource storageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for r in [roles.blobDataOwner, roles.queueDataContributor, roles.tableDataContributor]: {
    name: guid(account.id, principalId, r)
    scope: account
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', r)
    }
  }
]

resource telemetryRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, principalId, roles.metricsPublisher)
  scope: appInsights
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.metricsPublisher)
  }
}

resource secretsRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(keyVaultName)) {
  name: guid(resourceGroup().id, keyVaultName, principalId, roles.secretsUser)
  scope: vault
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.secretsUser)
  }
}
