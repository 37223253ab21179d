// Log Analytics Reader on one workspace the app reads Bastion audit logs from (AUDITLOGS_WORKSPACES):
// the role carries Microsoft.OperationalInsights/workspaces/query/read and the tables' read actions the
// Logs Query API checks. Deployed in the workspace's resource group.

@description('Existing Log Analytics workspace name.')
param workspaceName string

@description('Principal id of the function app\'s system-assigned identity.')
param principalId string

// Log Analytics Reader (built-in).
var logAnalyticsReader = '73c42c96-874c-492b-b04d-ab87d138a893'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(workspace.id, principalId, logAnalyticsReader)
  scope: workspace
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', logAnalyticsReader)
  }
}
