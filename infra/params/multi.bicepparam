// Two Bastion hosts, one catalogue: a hub in West Europe and one in North Europe, each recording into
// its own account. The North Europe hub lives in another subscription and archives its audit logs into
// its recordings account (one system topic there carries both subscriptions); West Europe archives into
// a separate audit-log account. The first recording source is the default one: it stays first, new
// hosts are appended.
using '../main.bicep'

param environment = 'prod'
param baseName = 'bastrec'
param tags = {
  workload: 'bastion-recordings'
  environment: 'prod'
}
param recordingSources = [
  {
    accountName: 'stbasweurec01'
    resourceGroup: 'rg-bastion-weu'
    container: 'recordings'
    bastionName: 'bas-hub-weu'
  }
  {
    accountName: 'stbasneurec01'
    subscriptionId: '8c1b5e4a-2f6d-4b7e-9a3c-1d2e3f4a5b6c'
    resourceGroup: 'rg-bastion-neu'
    container: 'recordings'
    bastionName: 'bas-hub-neu'
  }
]
param auditLogSources = [
  {
    accountName: 'stbasweulog01'
    resourceGroup: 'rg-bastion-weu'
  }
  {
    accountName: 'stbasneurec01'
    subscriptionId: '8c1b5e4a-2f6d-4b7e-9a3c-1d2e3f4a5b6c'
    resourceGroup: 'rg-bastion-neu'
  }
]
param bastionDiagnostics = [
  {
    bastionName: 'bas-hub-weu'
    resourceGroup: 'rg-bastion-weu'
    auditLogsAccountName: 'stbasweulog01'
  }
  {
    bastionName: 'bas-hub-neu'
    subscriptionId: '8c1b5e4a-2f6d-4b7e-9a3c-1d2e3f4a5b6c'
    resourceGroup: 'rg-bastion-neu'
    auditLogsAccountName: 'stbasneurec01'
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
// The catalogue API app registration (client id); until it is set the API refuses every caller.
// param catalogueAuthClientId = '<client id>'
