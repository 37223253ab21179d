// Chain of custody on: prod.bicepparam's sources, plus the workspace receiving the recording
// account's StorageBlobLogs (docs/custody.md). custodyDiagnostics = true adds the diagnostic setting
// sending StorageRead/StorageWrite/StorageDelete there; leave it false where a setting (often Azure
// Policy's) already sends them to that workspace: infra/preflight.sh says which.
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
param custodyWorkspace = {
  resourceId: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-soc/providers/Microsoft.OperationalInsights/workspaces/law-custody'
  customerId: '00000000-0000-4000-8000-000000000000'
}
// Ingestion costs (docs/cost.md): only where no other setting sends these logs to the workspace.
param custodyDiagnostics = true
param custodyActorWaitMinutes = 60
