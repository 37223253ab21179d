// Read access to the EXISTING account the Bastion diagnostic setting archives BastionAuditLogs to
// (deployed in that account's resource group).

@description('Existing storage account holding the archived audit logs.')
param accountName string

@description('Container of the archived audit logs (Azure Monitor names it insights-logs-bastionauditlogs).')
param containerName string

@description('Object id of the Function App identity.')
param principalId string

// Storage Blob Data Reader: AuditLogCreated and AuditLogTail only read PT1H.json blobs.
var blobDataReader = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1')

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: accountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: account
  name: 'default'
}

// Azure Monitor creates this container on its first write, hours after the diagnostic setting exists.
// Declaring it (a PUT on an existing container keeps its blobs) lets the role be container-scoped now.
resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(container.id, principalId, blobDataReader)
  scope: container
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: blobDataReader
  }
}

@description('Resource id of the audit-log account (Event Grid source).')
output accountId string = account.id

@description('Region of the audit-log account.')
output location string = account.location
