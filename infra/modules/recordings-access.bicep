// Access to the EXISTING accounts/containers Bastion hosts write recordings to, for the recording
// sources of ONE resource group (deployed there): a least-privilege custom role, defined once per
// resource group and assigned on each source's container; per account, Storage Blob Delegator (download
// links) and the retention lifecycle policy.
//
// The recordings container must keep NO immutability policy and NO blob versioning: Bastion refuses
// such a target, and with recording enabled an unusable target blocks every Bastion connection. This
// module therefore never declares the container or the blob service (a redeclaration could reset
// their settings); it only references them.

@description('Every recording source of the deployment: {accountName, container, group, firstOfAccount, ...}; only those of `group` are handled here.')
param sources array

@description('The resource group handled here: `<subscription id>/<resource group>`, lower case (a source\'s `group`).')
param group string

@description('Object id of the Function App identity.')
param principalId string


@description('Apply infra/lifecycle-policy.json (tiering by retentionClass) to each account. It REPLACES any lifecycle policy on the account.')
param applyLifecyclePolicy bool

@description('Grant Storage Blob Delegator on each account (download links: Get User Delegation Key).')
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

var mine = filter(sources, s => s.group == group)
// The delegator and the lifecycle policy act on the whole account: once per account.
var accounts = filter(mine, s => s.firstOfAccount)

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = [
  for s in accounts: {
    name: s.accountName
  }
]

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = [
  for s in mine: {
    name: '${s.accountName}/default/${s.container}'
  }
]

// Custom role names are unique per tenant: the resource group's name alone could repeat in another
// subscription, so the subscription id is added there (never for the app's own subscription, whose
// roles keep the name they always had).
// Custom role names are unique per tenant: the resource group's name alone collides between two
// deployments whose sources' resource groups share a name in two subscriptions.
var roleName = 'Bastion recordings retention (${resourceGroup().name}, ${subscription().subscriptionId})'

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, resourceGroup().id, 'bastion-recordings-retention')
  properties: {
    roleName: roleName
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

// Get User Delegation Key acts on the whole account, so its action
// (Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action, a control-plane
// action no data role at container scope carries) must be granted at account scope. Storage Blob
// Delegator holds that action only: no data access; the links it signs are still bounded by the
// container-scoped custom role above (read).
var blobDelegator = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a')

resource delegator 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (s, i) in accounts: if (grantDelegator) {
    name: guid(account[i].id, principalId, blobDelegator)
    scope: account[i]
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: blobDelegator
    }
  }
]

// The Archive tier is not offered on zone-redundant accounts (ZRS, GZRS, RA-GZRS), and a policy that
// tiers to it fails there: on such an account the same rules apply without tierToArchive (those classes
// stop at Cold), and a rule left with no action is dropped. infra/preflight.sh reports which applies.
var policy = loadJsonContent('../lifecycle-policy.json')
var zoneRedundantSkus = [
  'Standard_ZRS'
  'Standard_GZRS'
  'Standard_RAGZRS'
  'Premium_ZRS'
]
var rulesWithoutArchive = [
  for r in policy.rules: {
    name: r.name
    type: r.type
    enabled: r.enabled
    definition: {
      filters: r.definition.filters
      actions: {
        // Every action the policy generator writes except tierToArchive (check_bicep.py pins the list).
        baseBlob: union(
          contains(r.definition.actions.baseBlob, 'tierToCool') ? { tierToCool: r.definition.actions.baseBlob.tierToCool } : {},
          contains(r.definition.actions.baseBlob, 'tierToCold') ? { tierToCold: r.definition.actions.baseBlob.tierToCold } : {}
        )
      }
    }
  }
]
var policyWithoutArchive = {
  rules: filter(rulesWithoutArchive, r => !empty(r.definition.actions.baseBlob))
}

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = [
  for (s, i) in accounts: if (applyLifecyclePolicy) {
    parent: account[i]
    name: 'default'
    properties: {
      policy: contains(zoneRedundantSkus, account[i].sku.name) ? policyWithoutArchive : policy
    }
  }
]

@description('Resource id of the custom role.')
output roleDefinitionId string = role.id
