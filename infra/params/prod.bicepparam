// Production: separate recordings and audit-log accounts in a shared "bastion" resource group,
// Key Vault for webhook secrets, Bastion audit-log archiving managed here.
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
// Zone redundancy is an opt-in: true bills 32 always-ready instances (two per per-function scale
// group, sixteen groups) of instanceMemoryMB around the clock, about 673 USD a month at 2,048 MB
// (docs/cost.md). Set true only where a zone outage must not pause cataloguing.
param zoneRedundant = false
param maximumInstanceCount = 40
param logRetentionDays = 365
param softDeleteDays = 30
param bastionDiagnostics = [
  {
    bastionName: 'bas-hub-prod'
    resourceGroup: 'rg-bastion-prod'
  }
]
// The catalogue API app registration (client id); until it is set the API refuses every caller.
// param catalogueAuthClientId = '<client id>'
