// Development: shares one storage account for recordings and audit logs, public endpoints.
using '../main.bicep'

param environment = 'dev'
param baseName = 'bastrec'
param tags = {
  workload: 'bastion-recordings'
  environment: 'dev'
}
param recordingSources = [
  {
    accountName: 'stbastrecdevsrc01'
    container: 'recordings'
  }
]
param auditLogSources = [
  {
    accountName: 'stbastrecdevsrc01'
    container: 'insights-logs-bastionauditlogs'
  }
]
param tablePrefix = 'dev'
// 40: the documented floor below which HTTP apps (the catalogue API) risk throttling.
param maximumInstanceCount = 40
param logRetentionDays = 30
