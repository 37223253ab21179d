// What the estate checks (EstateCheck, LiveSessions) and the disconnect action need on ONE Bastion host
// (BASTION_HOSTS), deployed in the host's resource group (the status and result URLs of its
// long-running getActiveSessions lie above it: bastion-operations-access.bicep): a least-privilege custom role with the host's
// read, its live sessions and its diagnostic settings, assigned on the host; and, only when disconnect
// is enabled (BASTION_DISCONNECT), a second custom role with the disconnect action alone. Reader would
// do the reads but not the two actions; Network Contributor could reconfigure the host.
//
// The permission drift test (tests/e2e/permissions/) holds these actions to the Resource Manager calls
// the code makes: an action no call uses, or a call no action allows, fails it.

@description('Existing Bastion host name.')
param bastionName string

@description('Principal id of the function app\'s system-assigned identity.')
param principalId string


@description('Grant the disconnect action (BASTION_DISCONNECT=true).')
param grantDisconnect bool = false

// `bastionHosts/*/read`: the result of getActiveSessions when the service points its Location
// under the host (the specification's example), and the sessions' next pages; neither has an
// action of its own in the provider's operation list.
var monitorActions = [
  'Microsoft.Network/bastionHosts/read'
  'Microsoft.Network/bastionHosts/getactivesessions/action'
  'Microsoft.Network/bastionHosts/*/read'
  'Microsoft.Insights/diagnosticSettings/read'
]

var disconnectActions = [
  'Microsoft.Network/bastionHosts/disconnectactivesessions/action'
]

resource bastion 'Microsoft.Network/bastionHosts@2024-05-01' existing = {
  name: bastionName
}

// Custom role names are unique per tenant: the resource group's name alone collides between two
// deployments whose hosts' resource groups share a name in two subscriptions.

resource monitorRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, resourceGroup().id, 'bastion-estate-monitor')
  properties: {
    roleName: 'Bastion estate monitor (${resourceGroup().name}, ${subscription().subscriptionId})'
    description: 'Read a Bastion host, its diagnostic settings and its live sessions. No change to the host.'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: monitorActions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource disconnectRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (grantDisconnect) {
  name: guid(subscription().id, resourceGroup().id, 'bastion-session-disconnect')
  properties: {
    roleName: 'Bastion session disconnect (${resourceGroup().name}, ${subscription().subscriptionId})'
    description: 'Disconnect live Bastion sessions. Nothing else.'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: disconnectActions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource monitor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(bastion.id, principalId, monitorRole.id)
  scope: bastion
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: monitorRole.id
  }
}

resource disconnect 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantDisconnect) {
  name: guid(bastion.id, principalId, 'bastion-session-disconnect')
  scope: bastion
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: disconnectRole.id
  }
}
