// Optional: the diagnostic setting on an EXISTING Bastion host that archives BastionAuditLogs to the
// audit-log account (Azure Monitor writes PT1H.json append blobs under insights-logs-bastionauditlogs).
// Deployed in the Bastion host's resource group.
//
// Azure Monitor archives a regional resource's logs only to a storage account in the same region. The
// template cannot stop on a condition known only at deployment time, so a host and account in two
// regions get a setting whose account id is a sentence saying so: Azure refuses it with that text.
// infra/preflight.sh finds the same before anything is deployed.

@description('Existing Bastion host name.')
param bastionName string

@description('Name of the audit-log storage account.')
param auditLogsAccountName string

@description('Subscription of the audit-log storage account.')
param auditLogsSubscriptionId string

@description('Resource group of the audit-log storage account.')
param auditLogsResourceGroup string

@description('Diagnostic setting name.')
param settingName string

resource bastion 'Microsoft.Network/bastionHosts@2024-05-01' existing = {
  name: bastionName
}

resource auditLogsAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: auditLogsAccountName
  scope: resourceGroup(auditLogsSubscriptionId, auditLogsResourceGroup)
}

var sameRegion = toLower(bastion.location) == toLower(auditLogsAccount.location)

// Preview api-version on purpose: named diagnostic settings exist only in preview versions (the one
// stable version, 2016-09-01, is the legacy single `service` setting).
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: bastion
  properties: {
    storageAccountId: sameRegion ? auditLogsAccount.id : 'audit-log account ${auditLogsAccountName} is in ${auditLogsAccount.location} but Bastion ${bastionName} in ${bastion.location}: diagnostic settings archive only to a storage account in the same region'
    logs: [
      {
        category: 'BastionAuditLogs'
        enabled: true
      }
    ]
  }
}
