// Access to the EXISTING account/container Bastion writes recordings to (deployed in that account's
// resource group): a least-privilege custom role for the app, and the retention lifecycle policy.
//
// The recordings container must keep NO immutability policy and NO blob versioning: Bastion refuses
// such a target, and with recording enabled an unusable target blocks every Bastion connection. This
// module therefore never declares the container or the blob service (a redeclaration could reset
// their settings); it only references them.

@description('Existing storage account Bastion writes recordings to.')
param accountName string

@description('Existing container Bastion writes recordings to.')
param containerName string

@description('Object id of the Function App identity.')
param principalId string

@description('Apply infra/lifecycle-policy.json (tiering by retentionClass). It REPLACES any lifecycle policy on the account.')
param applyLifecyclePolicy bool

@description('Grant Storage Blob Delegator on the account (download links: Get User Delegation Key).')
param grantDelegator bool = false

// Exactly what the functions do with recordings: read (and list), delete expired ones, read and write
// blob index tags (retentionClass, retainUntil), and Find Blobs by Tags for the sweep. Storage Blob
// Data Contributor lacks the tag actions; Storage Blob Data Owner could also change ACLs/ownership.
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

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: containerName
}

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, resourceGroup().id, 'bastion-recordings-retention')
  properties: {
    roleName: 'Bastion recordings retention (${resourceGroup().name})'
    description: 'Read, delete, tag and find-by-tag Bastion session recordings. No container or account management.'
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

// Get User Delegation Key acts on the whole account, so its action
// (Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action, a control-plane
// action no data role at container scope carries) must be granted at account scope. Storage Blob
// Delegator holds that action only: no data access; the links it signs are still bounded by the
// container-scoped custom role above (read).
var blobDelegator = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a')

resource delegator 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantDelegator) {
  name: guid(account.id, principalId, blobDelegator)
  scope: account
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: blobDelegator
  }
}

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = if (applyLifecyclePolicy) {
  parent: account
  name: 'default'
  properties: {
    policy: loadJsonContent('../lifecycle-policy.json')
  }
}

@description('Resource id of the recordings account (Event Grid source).')
output accountId string = account.id

@description('Region of the recordings account (a system topic lives in its source\'s region).')
output location string = account.location

@description('Resource id of the custom role.')
output roleDefinitionId string = role.id
