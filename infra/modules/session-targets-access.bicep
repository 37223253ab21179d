// Optional (bastionSessionTargetGroups): what EstateCheck reads of the VMs live Bastion sessions
// reach, in ONE resource group of such VMs (deployed there): whether a VM has the AADLoginForWindows
// extension (Microsoft Entra ID sign-in for RDP), which Microsoft documents cannot be used with
// graphical session recording in the portal. A custom role with that one read: no VM, no secret (an
// extension's protected settings are never returned). Without it the check cannot read the VMs and
// the finding is not decided. The same role reads the group's NICs, NSGs and virtual networks (lists
// only: no key, no secret) for the other-doors check: a path to 22/3389 from outside the Bastion
// subnet and a public IP on a watched VM's NIC; and reads a VM itself (its networkProfile) when no
// list found its NIC, which then lies in another group and is read on its own (GET on the NIC:
// list that group here too, as the groups of the VMs' networks). And it reads the group's
// just-in-time policies (their requests: who opened which port to which source) when the Activity
// log's row of a just-in-time request carries no request body.
//
// The permission drift test (tests/e2e/permissions/) holds this action to the calls the code makes.

@description('Principal id of the function app\'s system-assigned identity.')
param principalId string

var actions = [
  'Microsoft.Compute/virtualMachines/extensions/read'
  'Microsoft.Compute/virtualMachines/read'
  'Microsoft.Network/networkInterfaces/read'
  'Microsoft.Network/networkSecurityGroups/read'
  'Microsoft.Network/virtualNetworks/read'
  'Microsoft.Security/locations/jitNetworkAccessPolicies/read'
]

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, resourceGroup().id, 'bastion-session-target-reader')
  properties: {
    // Unique per tenant: the resource group's name and the subscription id.
    roleName: 'Bastion session target reader (${resourceGroup().name}, ${subscription().subscriptionId})'
    description: 'Read the VMs Bastion sessions reach (their NICs) and their extensions (Entra ID sign-in), the NICs, NSGs and virtual networks of their group, and its just-in-time policies. Nothing else.'
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

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, role.id)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: role.id
  }
}
