// Optional: the diagnostic setting on an EXISTING Bastion host that archives BastionAuditLogs to the
// audit-log account (Azure Monitor writes PT1H.json append blobs under insights-logs-bastionauditlogs).
// Deployed in the Bastion host's resource group.

@description('Existing Bastion host name.')
param bastionName string

@description('Resource id of the audit-log storage account.')
param auditLogsAccountId string

@description('Diagnostic setting name.')
param settingName string

resource bastion 'Microsoft.Network/bastionHosts@2024-05-01' existing = {
  name: bastionName
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: bastion
  properties: {
    storageAccountId: auditLogsAccountId
    logs: [
      {
        category: 'BastionAuditLogs'
        enabled: true
      }
    ]
  }
}
