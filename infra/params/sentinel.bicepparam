// Microsoft Sentinel on: prod.bicepparam's single source, plus the export into an EXISTING workspace
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
param recordingsAccountName = 'stbastrecprodrec01'
param recordingsResourceGroup = 'rg-bastion-prod'
param auditLogsAccountName = 'stbastrecprodlog01'
param auditLogsResourceGroup = 'rg-bastion-prod'
param keyVaultName = 'kv-bastrec-prod'
param maximumInstanceCount = 40
param logRetentionDays = 365
param bastionName = 'bas-hub-prod'
param bastionResourceGroup = 'rg-bastion-prod'
param sentinelWorkspaceId = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-soc/providers/Microsoft.OperationalInsights/workspaces/law-sentinel'
// false: the workspace is onboarded to Sentinel already (the analytics rules need it); true onboards it.
param sentinelOnboard = false
param sentinelContent = true
param sentinelRulesEnabled = true
