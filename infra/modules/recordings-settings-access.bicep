// What the estate checks read of the EXISTING recording accounts of ONE resource group (deployed there):
// the blob service (versioning, CORS for the portal player), the recording container
// (immutability), who may write it (role assignments and definitions) and, with a custody workspace,
// the blob service's diagnostic settings (whether StorageWrite and StorageDelete reach it), at the account ids functionapp.bicep sets in RECORDINGS_ACCOUNT_IDS from the same
// sources (so no account list, which would need read on the whole subscription). A custom role with
// exactly those two control-plane reads, defined once per resource group and assigned on each account: no data access
// (the container-scoped role of recordings-access.bicep does that) and no keys (Reader would allow
// neither, but reads every other resource type too).
//
// The permission drift test (tests/e2e/permissions/) holds these actions to the calls the code makes.

@description('Every recording source of the deployment: {accountName, container, group, firstOfAccount, ...}; only those of `group` are handled here.')
param sources array

@description('The resource group handled here: `<subscription id>/<resource group>`, lower case (a source\'s `group`).')
param group string

@description('Object id of the Function App identity.')
param principalId string


// The role assignments and definitions: whether the identity a host records with (Bastion
// api-version 2026-01-01, sessionRecordingConfiguration) may write the recording container.
var actions = [
  'Microsoft.Storage/storageAccounts/blobServices/read'
  'Microsoft.Storage/storageAccounts/blobServices/containers/read'
  'Microsoft.Authorization/roleAssignments/read'
  'Microsoft.Authorization/roleDefinitions/read'
  // The blob service's diagnostic settings: whether StorageWrite and StorageDelete reach the custody workspace.
  'Microsoft.Insights/diagnosticSettings/read'
]

var accounts = filter(sources, s => s.group == group && s.firstOfAccount)

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = [
  for s in accounts: {
    name: s.accountName
  }
]

// Custom role names are unique per tenant: the resource group's name alone collides between two
// deployments whose sources' resource groups share a name in two subscriptions.
var roleName = 'Bastion recordings settings reader (${resourceGroup().name}, ${subscription().subscriptionId})'

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, resourceGroup().id, 'bastion-recordings-settings-reader')
  properties: {
    roleName: roleName
    description: 'Read the blob service and container settings of the recording accounts (versioning, CORS, immutability) and their role assignments. No data, no keys.'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: actions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (s, i) in accounts: {
    name: guid(account[i].id, principalId, role.id)
    scope: account[i]
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: role.id
    }
  }
]
