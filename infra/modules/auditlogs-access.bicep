// Access to the EXISTING account the Bastion diagnostic setting archives BastionAuditLogs to
// (deployed in that account's resource group): a least-privilege custom role on the container.

@description('Existing storage account holding the archived audit logs.')
param accountName string

@description('Container of the archived audit logs (Azure Monitor names it insights-logs-bastionauditlogs).')
param containerName string

@description('Object id of the Function App identity.')
param principalId string

// Exactly what the functions do with hour blobs: AuditLogCreated and AuditLogTail read them,
// AuditLogCreated and Reconcile read and write their retention tags, RetentionSweep finds expired
// ones by tag and deletes them. A reader role would refuse every tag and sweep call (403).
// The permission drift test (tests/e2e/permissions/) holds this list to the calls the code makes.
var dataActions = [
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/read'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/write'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/filter/action'
]

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

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, resourceGroup().id, 'bastion-auditlogs-retention')
  properties: {
    roleName: 'Bastion audit logs retention (${resourceGroup().name})'
    description: 'Read, delete, tag and find-by-tag archived Bastion audit logs. No container or account management.'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: dataActions
        notDataActions: []
      }
    ]
  }
}

// Scoped to the container, not the account: the app never touches other containers there.
resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(container.id, principalId, role.id)
  scope: container
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: role.id
  }
}

@description('Resource id of the audit-log account (Event Grid source).')
output accountId string = account.id

@description('Region of the audit-log account.')
output location string = account.location
