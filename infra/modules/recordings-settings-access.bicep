// What the estate checks read of the EXISTING recording accounts of ONE resource group (deployed there):
// the blob service (versioning, CORS for the portal player) and the recording container
// (immutability), at the account ids functionapp.bicep sets in RECORDINGS_ACCOUNT_IDS from the same
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

@description('Subscription id of the Function App (role names elsewhere carry their subscription).')
param appSubscriptionId string

var actions = [
  'Microsoft.Storage/storageAccounts/blobServices/read'
  'Microsoft.Storage/storageAccounts/blobServices/containers/read'
]

var accounts = filter(sources, s => s.group == group && s.firstOfAccount)

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = [
  for s in accounts: {
    name: s.accountName
  }
]

var sameSubscription = toLower(subscription().subscriptionId) == toLower(appSubscriptionId)
var roleName = sameSubscription ? 'Bastion recordings settings reader (${resourceGroup().name})' : 'Bastion recordings settings reader (${resourceGroup().name}, ${subscription().subscriptionId})'

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, resourceGroup().id, 'bastion-recordings-settings-reader')
  properties: {
    roleName: roleName
    description: 'Read the blob service and container settings of the recording accounts (versioning, CORS, immutability). No data, no keys.'
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
