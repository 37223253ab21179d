// Optional: the diagnostic setting on an EXISTING Bastion host the deployment manages that sends
// BastionAuditLogs to a Log Analytics workspace the app reads (logAnalyticsWorkspaces[] with
// `diagnostics: true`). Deployed in the Bastion host's resource group. Resource-specific mode
// ('Dedicated'): the records land in table MicrosoftAzureBastionAuditLogs, the one the app queries
// (the default mode writes them to AzureDiagnostics instead). Unlike an archive account, the
// workspace may be in another region or subscription.

@description('Existing Bastion host name.')
param bastionName string

@description('ARM resource id of the Log Analytics workspace.')
param workspaceResourceId string

@description('Diagnostic setting name.')
param settingName string

resource bastion 'Microsoft.Network/bastionHosts@2024-05-01' existing = {
  name: bastionName
}

// Preview api-version on purpose: named diagnostic settings exist only in preview versions.
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: bastion
  properties: {
    workspaceId: workspaceResourceId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      {
        category: 'BastionAuditLogs'
        enabled: true
      }
    ]
  }
}
