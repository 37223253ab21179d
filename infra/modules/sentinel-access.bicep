// Monitoring Metrics Publisher for the function app's identity on the data collection rule the
// handler sends Sentinel rows through: the role the Logs Ingestion API checks (a 403 names it).
// Deployed in the rule's (the workspace's) resource group, after the app exists.

@description('Name of the data collection rule (modules/sentinel.bicep).')
param dcrName string

@description('Principal id of the function app\'s system-assigned identity.')
param principalId string

// Monitoring Metrics Publisher (built-in).
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource rule 'Microsoft.Insights/dataCollectionRules@2024-03-11' existing = {
  name: dcrName
}

resource publisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(rule.id, principalId, monitoringMetricsPublisher)
  scope: rule
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
  }
}
