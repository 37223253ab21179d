// What LiveSessions needs at the SUBSCRIPTION of each watched Bastion host (deployed at subscription
// scope, only when hosts are watched): getActiveSessions is a long-running operation, and the Network
// provider points its status monitor (Azure-AsyncOperation) and result (Location) at
// /subscriptions/{sub}/providers/Microsoft.Network/locations/{region}/operations|operationResults/{id}.
// Those URLs lie above every resource group, so a role on the host cannot grant reading them
// (Microsoft Learn, "Track asynchronous Azure operations": tracking needs the permission at resource
// group or subscription level; for these URLs only the subscription holds them). A custom role with
// exactly the two reads, nothing else.
//
// The permission drift test (tests/e2e/permissions/) holds these actions to the URLs the code polls.

targetScope = 'subscription'

@description('Principal id of the function app\'s system-assigned identity.')
param principalId string

var actions = [
  'Microsoft.Network/locations/operations/read'
  'Microsoft.Network/locations/operationResults/read'
]

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, 'bastion-operation-reader')
  properties: {
    // Unique per tenant: one definition per subscription.
    roleName: 'Bastion operation reader (${subscription().subscriptionId})'
    description: 'Read the status and result of Network operations (getActiveSessions polls). Nothing else.'
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
