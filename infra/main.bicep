// Bastion recordings Functions app: composes one module per concern. Parameters per environment live in
// params/<env>.bicepparam; deploy with infra/deploy.sh (see infra/README.md). This file holds no
// resources of its own, only wiring: names, the function ↔ Event Grid map and who may touch what.

targetScope = 'resourceGroup'

@description('Environment name; part of resource names.')
@allowed([
  'dev'
  'test'
  'prod'
])
param environment string

@description('Short workload name: 3-11 lower-case letters and digits; part of resource names.')
@minLength(3)
@maxLength(11)
param baseName string

@description('Region of the app resources.')
param location string = resourceGroup().location

@description('Tags applied to every resource.')
param tags object = {}

@description('Function App name (globally unique DNS label).')
@minLength(2)
@maxLength(60)
param functionAppName string = 'func-${baseName}-${environment}-${take(uniqueString(resourceGroup().id), 6)}'

@description('App storage account name (3-24 lower-case letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param storageAccountName string = 'st${baseName}${environment}${take(uniqueString(resourceGroup().id), 6)}'

@description('EXISTING storage account Bastion writes recordings to.')
@minLength(3)
@maxLength(24)
param recordingsAccountName string

@description('Resource group of the recordings account.')
param recordingsResourceGroup string = resourceGroup().name

@description('Container Bastion writes recordings to (no immutability, no versioning: Bastion requirement).')
@minLength(3)
@maxLength(63)
param recordingsContainer string = 'recordings'

@description('Existing Event Grid system topic of the recordings account; empty to create one.')
param recordingsSystemTopicName string = ''

@description('EXISTING storage account the Bastion diagnostic setting archives audit logs to (may equal the recordings account).')
@minLength(3)
@maxLength(24)
param auditLogsAccountName string

@description('Resource group of the audit-log account.')
param auditLogsResourceGroup string = resourceGroup().name

@description('Container of the archived audit logs.')
@minLength(3)
@maxLength(63)
param auditLogsContainer string = 'insights-logs-bastionauditlogs'

@description('Existing Event Grid system topic of the audit-log account; empty to create one.')
param auditLogsSystemTopicName string = ''

@description('Container for poison payloads in the app account.')
param quarantineContainer string = 'quarantine'

@description('Container for Event Grid dead letters in the app account.')
param deadLetterContainer string = 'deadletters'

@description('Container the Flex Consumption plan deploys the package from.')
param deploymentContainer string = 'app-package'

@description('Prefix of every table name (letters and digits; may be empty).')
@maxLength(20)
param tablePrefix string = ''

@description('Retention policy TOML path inside the package; empty for the built-in policy.')
param retentionPolicy string = ''

@description('Apply infra/lifecycle-policy.json to the recordings account (replaces its lifecycle policy).')
param applyLifecyclePolicy bool = true

@description('Create the Event Grid subscriptions (needs the package deployed first: see infra/deploy.sh).')
param deployEventSubscriptions bool = true

@description('Event Grid delivery attempts before dead-lettering.')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('Minutes Event Grid retries an event before dead-lettering.')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

@description('Key Vault (in this resource group) holding webhook URLs/secrets; empty for none.')
param keyVaultName string = ''

@description('Key Vault secret names for notification destinations (empty = off): Teams URL, Slack URL, webhook URL, webhook signing secret.')
param notifyTeamsUrlSecret string = ''
@description('Key Vault secret name of the Slack incoming webhook URL (empty = off).')
param notifySlackUrlSecret string = ''
@description('Key Vault secret name of the generic webhook URL (empty = off).')
param notifyWebhookUrlSecret string = ''
@description('Key Vault secret name of the Standard Webhooks signing secret (empty = off).')
param notifyWebhookSecretSecret string = ''
@description('Base URL of the catalogue API for links in notifications (empty = none).')
param catalogueBaseUrl string = ''
@description('Add short-lived read links (user-delegation SAS) to GET /api/recordings/{id}; grants the app Storage Blob Delegator on the recordings account.')
param catalogueDownloadLinks bool = false

@description('Who authenticates catalogue API callers: jwt (the handler validates Microsoft Entra bearer tokens) or platform (App Service authentication in front); see infra/README.md.')
@allowed([
  'jwt'
  'platform'
])
param catalogueAuth string = 'jwt'

@description('Microsoft Entra tenant of the catalogue API app registration (default: this subscription\'s tenant).')
param catalogueAuthTenantId string = tenant().tenantId

@description('Client (application) id of the catalogue API app registration; empty until registered (the API then refuses every caller).')
param catalogueAuthClientId string = ''

// Flex Consumption accepts 1 to 1000 ("it must be set to a value between 1 and 1,000", default 100);
// below 40, HTTP apps can see frequent request failures and throttling (Microsoft Learn, "Migrate
// Consumption plan apps to the Flex Consumption plan", scale and concurrency settings).
@description('Maximum Flex Consumption instances (1-1000; at least 40 for an app with HTTP functions).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

// The instance memory sizes the Flex Consumption plan documents: 2,048 MB (default) and 4,096 MB.
@description('Memory per instance in MB.')
@allowed([
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Zone-redundant Flex Consumption plan (only in regions that support it).')
param zoneRedundant bool = false

@description('Days Log Analytics keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 90

@description('Soft-delete days for blobs and containers of the app account.')
@minValue(1)
@maxValue(365)
param softDeleteDays int = 14

@description('Existing Bastion host whose BastionAuditLogs to archive; empty to leave diagnostics alone.')
param bastionName string = ''

@description('Resource group of the Bastion host.')
param bastionResourceGroup string = resourceGroup().name

@description('Private endpoints + VNet integration; the app account then has public access disabled.')
param enablePrivateNetworking bool = false

@description('Subnet for VNet integration, delegated to Microsoft.App/environments (private networking only).')
param integrationSubnetId string = ''

@description('Subnet for private endpoints (private networking only).')
param privateEndpointSubnetId string = ''

@description('Private DNS zone ids {blob, queue, table} (private networking only).')
param privateDnsZoneIds object = {}

var suffix = take(uniqueString(resourceGroup().id), 6)
var recordingsTopicName = empty(recordingsSystemTopicName) ? 'evgt-${recordingsAccountName}' : recordingsSystemTopicName
var auditLogsTopicName = empty(auditLogsSystemTopicName) ? 'evgt-${auditLogsAccountName}' : auditLogsSystemTopicName
var sameSourceAccount = recordingsAccountName == auditLogsAccountName && recordingsResourceGroup == auditLogsResourceGroup

// Queues used by queue-triggered functions and queue outputs. Add a queue here when adding a
// queue-triggered function (e.g. RecordingHash on `hashrequests`).
var queues = [
  'notifications'
  'hashrequests'
]

// Event Grid-triggered functions, one subscription each. Add an entry to wire a new one.
var recordingSubscriptions = [
  {
    function: 'RecordingCreated'
    container: recordingsContainer
    subjectEndsWith: ''
    // Writes that complete a blob. A copy into the container (CopyBlob) counts; SetBlobTags etc. never
    // raise BlobCreated anyway.
    advancedFilters: [
      {
        operatorType: 'StringIn'
        key: 'data.api'
        values: [
          'PutBlob'
          'PutBlockList'
          'CopyBlob'
        ]
      }
    ]
  }
]
var auditLogSubscriptions = [
  {
    function: 'AuditLogCreated'
    container: auditLogsContainer
    subjectEndsWith: 'PT1H.json'
    // NO contentLength filter: PT1H.json is an append blob whose only BlobCreated event has length 0.
    advancedFilters: []
  }
]

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    appInsightsName: 'appi-${baseName}-${environment}-${suffix}'
    workspaceName: 'log-${baseName}-${environment}-${suffix}'
    location: location
    tags: tags
    retentionDays: logRetentionDays
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: storageAccountName
    location: location
    tags: tags
    quarantineContainer: quarantineContainer
    deadLetterContainer: deadLetterContainer
    deploymentContainer: deploymentContainer
    queues: queues
    softDeleteDays: softDeleteDays
    publicNetworkAccess: !enablePrivateNetworking
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    name: functionAppName
    planName: 'asp-${baseName}-${environment}-${suffix}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainer: deploymentContainer
    recordingsAccountName: recordingsAccountName
    recordingsContainer: recordingsContainer
    auditLogsAccountName: auditLogsAccountName
    auditLogsContainer: auditLogsContainer
    quarantineContainer: quarantineContainer
    tablePrefix: tablePrefix
    retentionPolicy: retentionPolicy
    appInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultName: keyVaultName
    notifyTeamsUrlSecret: notifyTeamsUrlSecret
    notifySlackUrlSecret: notifySlackUrlSecret
    notifyWebhookUrlSecret: notifyWebhookUrlSecret
    notifyWebhookSecretSecret: notifyWebhookSecretSecret
    catalogueBaseUrl: catalogueBaseUrl
    catalogueDownloadLinks: catalogueDownloadLinks
    catalogueAuth: catalogueAuth
    catalogueAuthTenantId: catalogueAuthTenantId
    catalogueAuthClientId: catalogueAuthClientId
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    zoneRedundant: zoneRedundant
    subnetId: enablePrivateNetworking ? integrationSubnetId : ''
  }
}

module catalogueAuthentication 'modules/catalogue-auth.bicep' = if (catalogueAuth == 'platform') {
  name: 'catalogue-auth'
  params: {
    functionAppName: functionApp.outputs.name
    tenantId: catalogueAuthTenantId
    clientId: catalogueAuthClientId
  }
}

module appAccess 'modules/app-access.bicep' = {
  name: 'app-access'
  params: {
    principalId: functionApp.outputs.principalId
    storageAccountName: storage.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
    keyVaultName: keyVaultName
  }
}

module recordingsAccess 'modules/recordings-access.bicep' = {
  name: 'recordings-access'
  scope: resourceGroup(recordingsResourceGroup)
  params: {
    accountName: recordingsAccountName
    containerName: recordingsContainer
    principalId: functionApp.outputs.principalId
    applyLifecyclePolicy: applyLifecyclePolicy
    grantDelegator: catalogueDownloadLinks
  }
}

module auditLogsAccess 'modules/auditlogs-access.bicep' = {
  name: 'auditlogs-access'
  scope: resourceGroup(auditLogsResourceGroup)
  params: {
    accountName: auditLogsAccountName
    containerName: auditLogsContainer
    principalId: functionApp.outputs.principalId
  }
}

// One system topic per source account (platform limit). When both sources share an account, both
// subscriptions go on the recordings account's topic.
module recordingsEvents 'modules/eventgrid.bicep' = {
  name: 'recordings-events'
  scope: resourceGroup(recordingsResourceGroup)
  params: {
    topicName: recordingsTopicName
    location: recordingsAccess.outputs.location
    tags: tags
    sourceAccountId: recordingsAccess.outputs.accountId
    subscriptions: sameSourceAccount ? concat(recordingSubscriptions, auditLogSubscriptions) : recordingSubscriptions
    deploySubscriptions: deployEventSubscriptions
    functionAppName: functionApp.outputs.name
    appResourceGroup: resourceGroup().name
    appStorageAccountName: storage.outputs.name
    deadLetterContainer: deadLetterContainer
    maxDeliveryAttempts: maxDeliveryAttempts
    eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
  }
}

module auditLogsEvents 'modules/eventgrid.bicep' = if (!sameSourceAccount) {
  name: 'auditlogs-events'
  scope: resourceGroup(auditLogsResourceGroup)
  params: {
    topicName: auditLogsTopicName
    location: auditLogsAccess.outputs.location
    tags: tags
    sourceAccountId: auditLogsAccess.outputs.accountId
    subscriptions: auditLogSubscriptions
    deploySubscriptions: deployEventSubscriptions
    functionAppName: functionApp.outputs.name
    appResourceGroup: resourceGroup().name
    appStorageAccountName: storage.outputs.name
    deadLetterContainer: deadLetterContainer
    maxDeliveryAttempts: maxDeliveryAttempts
    eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
  }
}

module bastionDiagnostics 'modules/bastion-diagnostics.bicep' = if (!empty(bastionName)) {
  name: 'bastion-diagnostics'
  scope: resourceGroup(bastionResourceGroup)
  params: {
    bastionName: bastionName
    auditLogsAccountId: auditLogsAccess.outputs.accountId
    settingName: 'archive-bastion-audit-logs'
  }
}

// Private endpoints: the app account's three services and the blob service of each source account.
var sourceEndpoints = [
  { name: 'pe-${storageAccountName}-blob', accountId: storage.outputs.id, groupId: 'blob' }
  { name: 'pe-${storageAccountName}-queue', accountId: storage.outputs.id, groupId: 'queue' }
  { name: 'pe-${storageAccountName}-table', accountId: storage.outputs.id, groupId: 'table' }
  { name: 'pe-${recordingsAccountName}-blob', accountId: recordingsAccess.outputs.accountId, groupId: 'blob' }
]
var auditLogsEndpoints = [
  { name: 'pe-${auditLogsAccountName}-blob', accountId: auditLogsAccess.outputs.accountId, groupId: 'blob' }
]

module network 'modules/network.bicep' = if (enablePrivateNetworking) {
  name: 'network'
  params: {
    location: location
    tags: tags
    subnetId: privateEndpointSubnetId
    privateDnsZoneIds: privateDnsZoneIds
    endpoints: sameSourceAccount ? sourceEndpoints : concat(sourceEndpoints, auditLogsEndpoints)
  }
}

@description('Function App name (for `az functionapp deployment source config-zip`).')
output functionAppName string = functionApp.outputs.name

@description('Function App host name.')
output functionAppHostName string = functionApp.outputs.hostName

@description('Object id of the Function App identity.')
output functionAppPrincipalId string = functionApp.outputs.principalId

@description('App storage account name (catalogue tables, queues, quarantine, dead letters).')
output appStorageAccountName string = storage.outputs.name

@description('Event Grid system topic of the recordings account.')
output recordingsSystemTopic string = recordingsTopicName

@description('Event Grid system topic of the audit-log account.')
output auditLogsSystemTopic string = sameSourceAccount ? recordingsTopicName : auditLogsTopicName
