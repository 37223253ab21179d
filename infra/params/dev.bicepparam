// Development: shares one storage account for recordings and audit logs, public endpoints.
using '../main.bicep'

param environment = 'dev'
param baseName = 'bastrec'
param tags = {
  workload: 'bastion-recordings'
  environment: 'dev'
}
param recordingsAccountName = 'stbastrecdevsrc01'
param recordingsContainer = 'recordings'
param auditLogsAccountName = 'stbastrecdevsrc01'
param auditLogsContainer = 'insights-logs-bastionauditlogs'
param tablePrefix = 'dev'
// 40: the documented floor below which HTTP apps (the catalogue API) risk throttling.
param maximumInstanceCount = 40
param logRetentionDays = 30
param bastionName = ''
