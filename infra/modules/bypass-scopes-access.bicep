// What the other-doors check (EstateCheck) reads at the SUBSCRIPTION of each BYPASS_SCOPES entry
// that is a whole subscription (deployed at subscription scope, only for such entries): the NICs,
// NSGs and virtual networks of every VM in it, each kind listed once for the subscription
// (GET /subscriptions/{id}/providers/Microsoft.Network/networkInterfaces|networkSecurityGroups|
// virtualNetworks, every page), and the just-in-time policy of a request its Activity log shows
// (GET {group}/providers/Microsoft.Security/locations/{region}/jitNetworkAccessPolicies/{name}),
// and a watched VM the Activity log shows moved into one of its groups (GET {vm}: its vmId, to
// follow the move). A list above every resource group needs its read at the subscription, and the
// policy and the moved VM sit in groups no parameter lists. A custom role with exactly those reads
// (no key, no secret), nothing else. Resource group entries get the same reads through
// session-targets-access.bicep.
//
// The permission drift test (tests/e2e/permissions/) holds these actions to the URLs the code
// lists.

targetScope = 'subscription'

@description('Principal id of the function app\'s system-assigned identity.')
param principalId string

var actions = [
  'Microsoft.Compute/virtualMachines/read'
  'Microsoft.Network/networkInterfaces/read'
  'Microsoft.Network/networkSecurityGroups/read'
  'Microsoft.Network/virtualNetworks/read'
  'Microsoft.Security/locations/jitNetworkAccessPolicies/read'
]

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, 'bastion-bypass-scope-reader')
  properties: {
    // Unique per tenant: one definition per subscription.
    roleName: 'Bastion other-doors network reader (${subscription().subscriptionId})'
    description: 'List the NICs, NSGs and virtual networks of the subscription, read its just-in-time policies and a VM moved into it (other doors beside Bastion onto its VMs). Nothing else.'
    type: 'CustomRole'
    assignableScopes: [
      subscription().id
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

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, role.id)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: role.id
  }
}
