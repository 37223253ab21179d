// Microsoft Sentinel on: prod.bicepparam's sources, plus the export into an EXISTING workspace
// that the SOC's Sentinel uses (docs/sentinel.md). The first pass of infra/deploy.sh creates the six
// tables, the data collection endpoint and rule; the second adds the analytics rules, the ASIM parser
// and the workbook. infra/preflight.sh checks the workspace, its onboarding and the deployer's rights.
using '../main.bicep'

param environment = 'prod'
param baseName = 'bastrec'
param tags = {
  workload: 'bastion-recordings'
  environment: 'prod'
}
param recordingSources = [
  {
    accountName: 'stbastrecprodrec01'
    resourceGroup: 'rg-bastion-prod'
    container: 'recordings'
  }
]
param auditLogSources = [
  {
    accountName: 'stbastrecprodlog01'
    resourceGroup: 'rg-bastion-prod'
    container: 'insights-logs-bastionauditlogs'
  }
]
param keyVaultName = 'kv-bastrec-prod'
param maximumInstanceCount = 40
param logRetentionDays = 365
param bastionDiagnostics = [
  {
    bastionName: 'bas-hub-prod'
    resourceGroup: 'rg-bastion-prod'
  }
]
param sentinelWorkspaceId = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-soc/providers/Microsoft.OperationalInsights/workspaces/law-sentinel'
// false: the workspace is onboarded to Sentinel already (the analytics rules need it); true onboards it.
param sentinelOnboard = false
param sentinelContent = true
param sentinelRulesEnabled = true
