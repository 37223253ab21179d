// What the other-doors check (EstateCheck) reads at each SUBSCRIPTION whose VMs it watches (deployed
// at subscription scope): the subscription's own diagnostic settings
// (GET /subscriptions/{id}/providers/Microsoft.Insights/diagnosticSettings), to tell at every check
// whether its Activity log is still sent to a workspace the app reads. A subscription's settings lie
// above every resource group, so only a grant at the subscription reaches them. A custom role with
// exactly that read (settings only: no log, no key), nothing else. Without it the read is refused
// (403, naming Monitoring Reader or Reader at the subscription) and the doors of the subscription's
// VMs stay unknown.
//
// The same role reads PIM's Azure RBAC schedules at the subscription (who allowed each Bastion
// session, docs/authorization.md): GET /subscriptions/{id}/providers/Microsoft.Authorization/
// roleAssignmentScheduleInstances and .../roleAssignmentScheduleRequests (api-version 2020-10-01),
// which list the active assignments and their requests at, above and below the subscription
// (principal, role, scope, window, justification, ticket). Without them a session on the
// subscription's VMs that nothing else covers is `unknown`, never `none`. And it lists the
// subscription's VMs (GET /subscriptions/{id}/providers/Microsoft.Compute/virtualMachines,
// api-version 2024-07-01, each with its extensions): whether a shared VM account's VM signs people
// in with Entra ID (AADSSHLoginForLinux / AADLoginForWindows), one call for all its VMs. And it
// lists the role definitions applicable at the subscription (GET /subscriptions/{id}/providers/
// Microsoft.Authorization/roleDefinitions, api-version 2022-04-01), once a day: whether a role held
// allows a Bastion connection. Without it a session only such a role covers is `unknown`.
//
// The permission drift test (tests/e2e/permissions/) holds this action to the URL the code reads.

targetScope = 'subscription'

@description('Principal id of the function app\'s system-assigned identity.')
param principalId string

var actions = [
  'Microsoft.Insights/diagnosticSettings/read'
  'Microsoft.Authorization/roleAssignmentScheduleInstances/read'
  'Microsoft.Authorization/roleAssignmentScheduleRequests/read'
  'Microsoft.Compute/virtualMachines/read'
  'Microsoft.Authorization/roleDefinitions/read'
]

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, 'bastion-activity-log-settings-reader')
  properties: {
    // Unique per tenant: one definition per subscription.
    roleName: 'Bastion Activity log settings reader (${subscription().subscriptionId})'
    description: 'Read the subscription\'s diagnostic settings (whether its Activity log reaches the workspaces the app reads) its PIM role assignment schedules and requests (who allowed each Bastion session) its VMs with their extensions (Entra ID login of shared VM accounts) and its role definitions (whether a role allows a Bastion connection). Nothing else.'
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
