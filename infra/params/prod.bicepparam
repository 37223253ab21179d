// Production: separate recordings and audit-log accounts in a shared "bastion" resource group,
// Key Vault for webhook secrets, Bastion audit-log archiving managed here.
using '../main.bicep'

param environment = 'prod'
param baseName = 'bastrec'
param tags = {
  workload: 'bastion-recordings'
  environment: 'prod'
}
param recordingsAccountName = 'stbastrecprodrec01'
param recordingsResourceGroup = 'rg-bastion-prod'
param recordingsContainer = 'recordings'
param auditLogsAccountName = 'stbastrecprodlog01'
param auditLogsResourceGroup = 'rg-bastion-prod'
param auditLogsContainer = 'insights-logs-bastionauditlogs'
param keyVaultName = 'kv-bastrec-prod'
// Zone redundancy is an opt-in: true bills 32 always-ready instances (two per per-function scale
// group, sixteen groups) of instanceMemoryMB around the clock, about 673 USD a month at 2,048 MB
// (docs/cost.md). Set true only where a zone outage must not pause cataloguing.
param zoneRedundant = false
param maximumInstanceCount = 40
param logRetentionDays = 365
param softDeleteDays = 30
param bastionName = 'bas-hub-prod'
param bastionResourceGroup = 'rg-bastion-prod'
// The catalogue API app registration (client id); until it is set the API refuses every caller.
// param catalogueAuthClientId = '<client id>'
