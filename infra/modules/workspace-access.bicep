// Read for the app's identity on one workspace it queries (AUDITLOGS_WORKSPACES, CUSTODY_WORKSPACE_ID),
// deployed in the workspace's resource group. By default on the tables it reads there only (Log Analytics
// granular RBAC, Learn "Manage table-level access" / "Granular RBAC in Log Analytics"): a custom role with
// the query action and the data action `workspaces/tables/data/read`, assigned on the workspace with a
// condition naming the tables (the condition's own form, with the `tables:name` attribute). No `*/read`:
// a role carrying it would open every table again. With `tables` empty (workspaceReadScope = 'workspace',
// the fallback) Log Analytics Reader on the whole workspace, as before.

@description('Existing Log Analytics workspace name.')
param workspaceName string

@description('Principal id of the function app\'s system-assigned identity.')
param principalId string

@description('The tables the app reads in this workspace (granular RBAC condition); empty: Log Analytics Reader on the whole workspace.')
param tables array

@description('What the app reads the workspace for (audit or custody): part of the custom role\'s name, so two purposes on one workspace get a role each.')
param purpose string

// Log Analytics Reader (built-in).
var logAnalyticsReader = '73c42c96-874c-492b-b04d-ab87d138a893'
var tableRead = 'Microsoft.OperationalInsights/workspaces/tables/data/read'
// {'MicrosoftAzureBastionAuditLogs', 'AzureActivity'}: each table name quoted.
var tableList = '{\'${join(tables, '\', \'')}\'}'
var condition = '((!(ActionMatches{\'${tableRead}\'})) OR (@Resource[Microsoft.OperationalInsights/workspaces/tables:name] ForAllOfAnyValues:StringEquals ${tableList}))'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource tableRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (!empty(tables)) {
  name: guid(subscription().id, resourceGroup().id, 'bastion-workspace-table-reader', purpose)
  properties: {
    roleName: 'Bastion workspace table reader (${purpose}, ${resourceGroup().name}, ${subscription().subscriptionId})'
    description: 'Read the workspace, run Log Analytics queries and read the rows of the tables the assignment\'s condition names. No other table, no keys.'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        // The workspace itself (the estate check reads its customerId through Resource Manager)
        // and the query action; no `*/read`.
        actions: [
          'Microsoft.OperationalInsights/workspaces/read'
          'Microsoft.OperationalInsights/workspaces/query/read'
        ]
        notActions: []
        dataActions: [
          tableRead
        ]
        notDataActions: []
      }
    ]
  }
}

resource tableReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(tables)) {
  name: guid(workspace.id, principalId, 'bastion-workspace-table-reader', purpose)
  scope: workspace
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: tableRole.id
    condition: condition
    conditionVersion: '2.0'
  }
}

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (empty(tables)) {
  name: guid(workspace.id, principalId, logAnalyticsReader)
  scope: workspace
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', logAnalyticsReader)
  }
}
