// Access to the EXISTING accounts the Bastion diagnostic settings archive BastionAuditLogs to, for the
// audit-log sources of ONE resource group (deployed there): a least-privilege custom role, defined once
// per resource group and assigned on each source's container.

@description('Every audit-log source of the deployment: {accountName, container, group, ...}; only those of `group` are handled here.')
param sources array

@description('The resource group handled here: `<subscription id>/<resource group>`, lower case (a source\'s `group`).')
param group string

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

var mine = filter(sources, s => s.group == group)

// Azure Monitor creates this container on its first write, hours after the diagnostic setting exists.
// Declaring it (a PUT on an existing container keeps its blobs) lets the role be container-scoped now.
resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for s in mine: {
    name: '${s.accountName}/default/${s.container}'
    properties: {
      publicAccess: 'None'
    }
  }
]

// Custom role names are unique per tenant (see recordings-access.bicep).
// Custom role names are unique per tenant: the resource group's name alone collides between two
// deployments whose sources' resource groups share a name in two subscriptions.
var roleName = 'Bastion audit logs retention (${resourceGroup().name}, ${subscription().subscriptionId})'

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, resourceGroup().id, 'bastion-auditlogs-retention')
  properties: {
    roleName: roleName
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

// Scoped to each container, not the account: the app never touches other containers there.
resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (s, i) in mine: {
    name: guid(container[i].id, principalId, role.id)
    scope: container[i]
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: role.id
    }
  }
]

@description('Resource id of the custom role.')
output roleDefinitionId string = role.id
