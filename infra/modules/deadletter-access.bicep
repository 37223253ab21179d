// Lets one Event Grid system topic identity write dead-lettered events into the dead-letter container
// of the app account (shared-key access is off there, so Event Grid must use its identity).

@description('Name of the app storage account.')
param storageAccountName string

@description('Dead-letter container.')
param containerName string

@description('Object id of the system topic identity.')
param principalId string

// Storage Blob Data Contributor, scoped to the one container.
var blobDataContributor = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: account
  name: 'default'
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: containerName
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(container.id, principalId, blobDataContributor)
  scope: container
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: blobDataContributor
  }
}
