// The Function App: Flex Consumption (Linux), custom handler, system-assigned identity, identity-based
// storage connections. The app settings below mirror README.md's configuration table and
// local.settings.example.json; tests/e2e/settings_drift/ parses the block between the
// `app-settings:begin` and `app-settings:end` markers (one `NAME: value` per line), so keep that shape.

@description('Function App name (2-60 letters, digits and dashes; becomes <name>.azurewebsites.net).')
@minLength(2)
@maxLength(60)
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Name of the app storage account (AzureWebJobsStorage).')
param storageAccountName string

@description('Blob endpoint of the app storage account, with trailing slash.')
param storageBlobEndpoint string

@description('Container the app package is deployed to.')
param deploymentContainer string

@description('Recording sources, the default first: {accountName, subscriptionId, resourceGroup, container, bastionName (may be empty)}.')
param recordingSources array

@description('Audit-log sources: {accountName, container}.')
param auditLogSources array

@description('Log Analytics workspace sources: {resourceId, customerId, bastionName?}.')
param logAnalyticsWorkspaces array = []

@description('Logs Query API endpoint.')
param logAnalyticsEndpoint string = 'https://api.loganalytics.azure.com'

@description('Workspace id (customer id, a GUID) of the workspace receiving the recording accounts\' StorageBlobLogs; empty: no actor lookups or custody trails.')
param custodyWorkspaceId string = ''

@description('Minutes after a deletion or replacement outside the product its actor is looked for.')
param custodyActorWaitMinutes int = 60

@description('Microsoft Graph endpoint the sessions\' people are resolved to object ids at (https://graph.microsoft.com); empty: not resolved, every review unverified-identity.')
param graphEndpoint string = ''

@description('Regular expression whose first match in a PIM justification is the session\'s ticket when the request has no ticketInfo (AUTHZ_TICKET_PATTERN); empty: ticketInfo only.')
param authzTicketPattern string = ''

@description('A live session whose verdict is none, on a VM tagged bastion-authz=enforce, is disconnected after authzGraceMinutes (AUTHZ_ENFORCE); disconnect needs bastionDisconnect (its role), else the app refuses to start.')
@allowed(['report', 'disconnect'])
param authzEnforce string = 'report'

@description('Minutes after its start a live session with verdict none is left connected (AUTHZ_GRACE_MINUTES).')
@minValue(0)
@maxValue(1440)
param authzGraceMinutes int = 15

@description('Read the PIM for Groups memberships of the groups holding roles on watched scopes from Microsoft Graph (AUTHZ_PIM_GROUPS); needs graphEndpoint and the Graph permission PrivilegedAssignmentSchedule.Read.AzureADGroup (infra/README.md).')
param authzPimGroups bool = false

@description('Record whether each session\'s Entra VM sign-in satisfied MFA, from SigninLogs in the AuditLogs query (AUTHZ_SIGNIN_MFA).')
param authzSigninMfa bool = false

@description('Logs ingestion endpoint of the Sentinel data collection endpoint; empty: no Sentinel export.')
param sentinelIngestionEndpoint string = ''

@description('Immutable id of the Sentinel data collection rule; empty: no Sentinel export.')
param sentinelDcrImmutableId string = ''

@description('Container for poison payloads in the app account.')
param quarantineContainer string

@description('Prefix of every table name (letters and digits, may be empty).')
param tablePrefix string

@description('Path of a retention policy TOML file inside the package; empty for the built-in policy.')
param retentionPolicy string

@description('Application Insights connection string.')
param appInsightsConnectionString string

@description('Key Vault holding webhook URLs and secrets; empty when none are configured yet.')
param keyVaultName string

@description('Key Vault secret name of the Teams Workflows webhook URL; empty = Teams off.')
param notifyTeamsUrlSecret string = ''

@description('Key Vault secret name of the Slack incoming webhook URL; empty = Slack off.')
param notifySlackUrlSecret string = ''

@description('Key Vault secret name of the generic webhook URL; empty = webhook off.')
param notifyWebhookUrlSecret string = ''

@description('Key Vault secret name of the Standard Webhooks signing secret(s), whsec_…')
param notifyWebhookSecretSecret string = ''
@description('Key Vault secret holding the evidence pack signing key (base64 Ed25519 seed or PKCS 8 PEM); empty: no evidence packs.')
param evidenceSigningKeySecret string = ''

@description('Base URL of the catalogue API used in notification links; empty = no links.')
param catalogueBaseUrl string = ''

@description('Short-lived read links (user-delegation SAS) in GET /api/recordings/{id}.')
param catalogueDownloadLinks bool = false

@description('Bastion host resource ids the estate checks watch (comma-separated), each granted by main.bicep; empty: the estate checks are off')
param bastionHosts string = ''

@description('Subscription or resource group ids whose VMs the bypass checks watch besides the VMs the watched hosts\' sessions reached (comma-separated); their Activity log is read from the workspaces the app reads')
param bypassScopes string = ''

@description('VM extensions whose writes are no other door (Publisher/Type, comma-separated; none: every extension is one). Empty: Microsoft\'s monitoring and security agents (docs/estate.md lists them and why each is harmless)')
param bypassExtensionAllow string = ''

@description('A legal-hold release needs two principals with Catalogue.Hold (HOLD_RELEASE_TWO_PERSON).')
param holdReleaseTwoPerson bool = false

@description('Let Catalogue.Disconnect holders disconnect live Bastion sessions (grants the disconnect action)')
param bastionDisconnect bool = false

@description('Working hours of the review queue (REVIEW_WORKING_HOURS): <days> <HH:MM>-<HH:MM> <IANA zone>.')
param reviewWorkingHours string = 'Mon-Fri 08:00-18:00 UTC'

@description('Who authenticates catalogue API callers (CATALOGUE_AUTH): jwt = the handler validates Microsoft Entra bearer tokens; platform = App Service authentication (authsettingsV2) in front, the handler trusts x-ms-client-principal.')
@allowed([
  'jwt'
  'platform'
])
param catalogueAuth string = 'jwt'

@description('Microsoft Entra tenant of the catalogue API app registration.')
param catalogueAuthTenantId string

@description('Client (application) id of the catalogue API app registration; empty = not registered yet (the API then answers 401, naming the setting).')
param catalogueAuthClientId string = ''

@description('Maximum number of instances the plan scales out to (Flex Consumption: 1 to 1000; below 40 HTTP apps risk throttling).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory per instance in MB: the documented Flex Consumption sizes, 512, 2048 (default) or 4096.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('Spread instances across availability zones (region must support it). Costs always-ready instances around the clock: at least two per per-function scale group (infra/README.md, Zone redundancy).')
param zoneRedundant bool

@description('Subnet for VNet integration (delegated to Microsoft.App/environments); empty for none.')
param subnetId string

// Key Vault references are resolved by the platform with the app's identity
// (role Key Vault Secrets User, granted in main.bicep). Use `'${kvPrefix}<secret-name>)'` as a value.
var kvPrefix = '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName='

// Tokens for the catalogue API are issued by the tenant's v2.0 endpoint for the app registration (the
// audience is its client id: the registration must issue v2 access tokens, accessTokenAcceptedVersion 2).
var loginEndpoint = environment().authentication.loginEndpoint
var jwtAuthority = catalogueAuth == 'jwt' && !empty(catalogueAuthClientId) ? '${loginEndpoint}${catalogueAuthTenantId}/v2.0' : ''

// The sources, as RECORDINGS_SOURCES / AUDITLOGS_SOURCES entries naming one identity connection per
// account. The first recordings account's connection is RECORDINGS_STORAGE, the first audit-log
// account's AUDITLOGS_STORAGE (plain connection names the lists give); any other account gets
// SOURCE_<ACCOUNT>, set below through sourceConnections. The first recording entry stays first: it is
// the default source.
var recordingsAccount = toLower(recordingSources[0].accountName)
var auditLogsAccount = toLower(auditLogSources[0].accountName)
var recordingEntries = [
  for s in recordingSources: '${toLower(s.accountName) == recordingsAccount ? 'RECORDINGS_STORAGE' : (toLower(s.accountName) == auditLogsAccount ? 'AUDITLOGS_STORAGE' : 'SOURCE_${toUpper(s.accountName)}')}:${s.container}${empty(s.bastionName) ? '' : '@${s.bastionName}'}'
]
var auditLogEntries = [
  for s in auditLogSources: '${toLower(s.accountName) == auditLogsAccount ? 'AUDITLOGS_STORAGE' : (toLower(s.accountName) == recordingsAccount ? 'RECORDINGS_STORAGE' : 'SOURCE_${toUpper(s.accountName)}')}:${s.container}'
]
var workspaceEntries = [
  for w in logAnalyticsWorkspaces: '${w.customerId}${empty(w.?bastionName ?? '') ? '' : '@${w.?bastionName}'}'
]
var recordingAccountNames = [for s in recordingSources: toLower(s.accountName)]
// The recording accounts' resource ids, from the same sources recordings-settings-access.bicep grants
// read on: the estate checks read each at account scope and never list a subscription's accounts.
var recordingAccountIdList = [
  for s in recordingSources: resourceId(s.subscriptionId, s.resourceGroup, 'Microsoft.Storage/storageAccounts', s.accountName)
]
var recordingAccountIds = union(recordingAccountIdList, recordingAccountIdList)
var auditLogAccountNames = [for s in auditLogSources: toLower(s.accountName)]
var sourceAccountNames = union(recordingAccountNames, auditLogAccountNames)
var otherAccounts = filter(sourceAccountNames, a => a != recordingsAccount && a != auditLogsAccount)
var sourceConnectionPairs = [
  for a in otherAccounts: [
    {
      name: 'SOURCE_${toUpper(a)}__accountName'
      value: a
    }
    {
      name: 'SOURCE_${toUpper(a)}__credential'
      value: 'managedidentity'
    }
  ]
]
var sourceConnections = flatten(sourceConnectionPairs)

// FUNCTIONS_WORKER_RUNTIME: on Flex Consumption the worker runtime is `functionAppConfig.runtime.name`
// (`custom` below); the platform rejects the legacy app setting there.
var settings = {
  // app-settings:begin
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  RECORDINGS_STORAGE__accountName: recordingsAccount
  RECORDINGS_STORAGE__credential: 'managedidentity'
  AUDITLOGS_STORAGE__accountName: auditLogsAccount
  AUDITLOGS_STORAGE__credential: 'managedidentity'
  // The lists name every source, a single one too: the handler reads sources nowhere else.
  RECORDINGS_SOURCES: join(recordingEntries, ',')
  AUDITLOGS_SOURCES: join(auditLogEntries, ',')
  // Workspace sources (AuditLogQuery): `<workspace id>[@<bastion>]`; empty: none.
  AUDITLOGS_WORKSPACES: join(workspaceEntries, ',')
  LOGANALYTICS_ENDPOINT: logAnalyticsEndpoint
  AUDITLOGS_QUERY_LAG_SECONDS: '120'
  AUDITLOGS_QUERY_OVERLAP_SECONDS: '300'
  AUDITLOGS_QUERY_PAGE_ROWS: '10000'
  QUARANTINE_CONTAINER: quarantineContainer
  TABLE_PREFIX: tablePrefix
  // Every storage call (and the identity token behind it): 6 s a try, 12 s with retries, so an
  // invocation facing a dead endpoint answers 500 well inside Event Grid's 30 s.
  STORAGE_TRY_TIMEOUT_MS: '6000'
  STORAGE_TIMEOUT_MS: '12000'
  RETENTION_POLICY: retentionPolicy
  RETENTION_MAX_DELETES_PER_RUN: '5000'
  RETENTION_DRY_RUN: 'false'
  RETENTION_CLASS_AUDITLOGS: 'audit-1y'
  RETENTION_ALLOW_SHORTENING: 'false'
  HOLD_RELEASE_TWO_PERSON: holdReleaseTwoPerson ? 'true' : 'false'
  HOLD_RELEASE_REQUEST_HOURS: '24'
  // Secrets come from Key Vault references only when a secret name is given; an unresolved
  // reference would reach the handler as text and stop start-up, so "off" is an empty value.
  NOTIFY_TEAMS_URL: empty(notifyTeamsUrlSecret) ? '' : '${kvPrefix}${notifyTeamsUrlSecret})'
  NOTIFY_SLACK_URL: empty(notifySlackUrlSecret) ? '' : '${kvPrefix}${notifySlackUrlSecret})'
  NOTIFY_WEBHOOK_URL: empty(notifyWebhookUrlSecret) ? '' : '${kvPrefix}${notifyWebhookUrlSecret})'
  NOTIFY_WEBHOOK_SECRET: empty(notifyWebhookSecretSecret) ? '' : '${kvPrefix}${notifyWebhookSecretSecret})'
  EVIDENCE_SIGNING_KEY: empty(evidenceSigningKeySecret) ? '' : '${kvPrefix}${evidenceSigningKeySecret})'
  EVIDENCE_PAPER: 'A4'
  NOTIFY_ROUTES: ''
  NOTIFY_INCLUDE_PII: 'false'
  NOTIFY_TIMEOUT_MS: '10000'
  NOTIFY_BUDGET_MS: '45000'
  NOTIFY_MAX_DEQUEUE: '5'
  CATALOGUE_BASE_URL: catalogueBaseUrl
  // Never `none` in Azure: with `jwt` the handler validates tokens itself; with `platform` it trusts
  // x-ms-client-principal, which only the authsettingsV2 resource below makes trustworthy.
  CATALOGUE_AUTH: catalogueAuth
  CATALOGUE_JWT_AUTHORITY: jwtAuthority
  CATALOGUE_JWT_AUDIENCE: catalogueAuth == 'jwt' ? catalogueAuthClientId : ''
  CATALOGUE_MAX_RANGE_DAYS: '31'
  CATALOGUE_DOWNLOAD_LINKS: catalogueDownloadLinks ? 'true' : 'false'
  CATALOGUE_LINK_MINUTES: '15'
  CATALOGUE_EVIDENCE_BUILDS: '2'
  HEALTH_HEARTBEAT_SECONDS: '60'
  HEALTH_TAIL_LAG_MINUTES: '30'
  INTEGRITY_VERIFY_SAMPLE: '50'
  // The estate checks read Resource Manager of this cloud with the app's identity.
  BASTION_HOSTS: bastionHosts
  ARM_ENDPOINT: environment().resourceManager
  BASTION_DISCONNECT: bastionDisconnect ? 'true' : 'false'
  RECORDINGS_ACCOUNT_IDS: join(recordingAccountIds, ',')
  // A used host whose audit records stop arriving this long: finding audit-logs-silent.
  ESTATE_AUDIT_SILENCE_HOURS: '24'
  // Other doors onto the watched VMs: the VMs sessions reached in this many days, plus bypassScopes.
  BYPASS_VM_LOOKBACK_DAYS: '90'
  BYPASS_SCOPES: bypassScopes
  // The level of a path to SSH/RDP from inside the virtual network beside the Bastion subnet.
  BYPASS_INTERNAL_LEVEL: 'medium'
  BYPASS_EXTENSION_ALLOW: bypassExtensionAllow
  // Microsoft Sentinel (SentinelExport): both from modules/sentinel.bicep, or both empty (off).
  SENTINEL_INGESTION_ENDPOINT: sentinelIngestionEndpoint
  SENTINEL_DCR_IMMUTABLE_ID: sentinelDcrImmutableId
  // Chain of custody from StorageBlobLogs (CustodyActor, the detail API's trail): the workspace the
  // recording accounts send StorageRead/StorageWrite/StorageDelete to, or empty (off).
  CUSTODY_WORKSPACE_ID: custodyWorkspaceId
  CUSTODY_ACTOR_WAIT_MINUTES: string(custodyActorWaitMinutes)
  // Segregation of duties by object id: the sessions' people through Microsoft Graph, or empty
  // (off). Needs the app role granted to the app's identity by hand (infra/README.md).
  GRAPH_ENDPOINT: graphEndpoint
  // Who allowed each session (EstateCheck): the ticket read from a PIM justification.
  AUTHZ_TICKET_PATTERN: authzTicketPattern
  // One VM account used by two or more people within this many days: shared-account.
  SHARED_ACCOUNT_DAYS: '30'
  // Disconnecting live sessions whose verdict is none (tagged VMs only): uses the disconnect role.
  AUTHZ_ENFORCE: authzEnforce
  AUTHZ_GRACE_MINUTES: string(authzGraceMinutes)
  // Optional authorization sources: PIM for Groups (Graph) and SigninLogs MFA.
  AUTHZ_PIM_GROUPS: authzPimGroups ? 'true' : 'false'
  AUTHZ_SIGNIN_MFA: authzSigninMfa ? 'true' : 'false'
  REVIEW_WORKING_HOURS: reviewWorkingHours
  REVIEW_DEADLINE_HOURS: '24'
  REVIEW_LONG_SESSION_MINUTES: '240'
  AUDIT_TAIL_MAX_BYTES: '67108864'
  AUDIT_TAIL_MAX_RECORDS: '20000'
  AUDIT_TAIL_CHUNK_BYTES: '4194304'
  AUDIT_TAIL_BUDGET_SECONDS: '120'
  AUDIT_MAX_LINE_BYTES: '1048576'
  AUDIT_TAIL_WINDOW_HOURS: '48'
  UNRECORDED_GRACE_MINUTES: '30'
  STALLED_AFTER_HOURS: '6'
  FAILED_LOGIN_THRESHOLD: '5'
  FAILED_LOGIN_WINDOW_MINUTES: '15'
  RECORDING_UPLOAD_LAG_MINUTES: '30'
  RECORDING_MIN_BYTES: '4096'
  RECORDING_VOUCH_LAG_HOURS: '24'
  RECORDING_SESSION_WAIT_MINUTES: '120'
  OPEN_SESSION_MAX_HOURS: '12'
  SESSION_MAX_HOURS: '24'
  RECONCILE_WINDOW_HOURS: '48'
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'
  // Read by mimalloc at process start: no transparent huge pages even where the host's THP mode is
  // `always` (a first touch of a 2 MiB page zeroes it inside a request; README, Benchmarks).
  MIMALLOC_ALLOW_THP: '0'
  // app-settings:end
}

// Timers of features left unconfigured are disabled: each run bills at least one second of
// instanceMemoryMB even when it has nothing to do (a minute timer runs 43,800 times a month).
// main.bicep hands the watched hosts explicitly (bastionHosts, or the sources' hosts it grants on).
var estateOff = empty(bastionHosts)
var functionSwitches = [
  {
    name: 'AzureWebJobs.AuditLogQuery.Disabled'
    value: empty(logAnalyticsWorkspaces) ? 'true' : 'false'
  }
  {
    name: 'AzureWebJobs.EstateCheck.Disabled'
    value: estateOff ? 'true' : 'false'
  }
  {
    name: 'AzureWebJobs.LiveSessions.Disabled'
    value: estateOff ? 'true' : 'false'
  }
  {
    name: 'AzureWebJobs.SentinelExport.Disabled'
    value: empty(sentinelIngestionEndpoint) ? 'true' : 'false'
  }
  {
    name: 'AzureWebJobs.CustodyActor.Disabled'
    value: empty(custodyWorkspaceId) ? 'true' : 'false'
  }
]

// The block above plus the connections of accounts beyond the first two (named only inside the lists).
var settingList = [for s in items(settings): { name: s.key, value: s.value }]
var appSettings = concat(settingList, sourceConnections, functionSwitches)

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  // checkov:skip=CKV_AZURE_225:Zone redundancy is the opt-in zoneRedundant parameter: on Flex Consumption it bills at least two always-ready instances per per-function scale group around the clock, and only some regions offer it.
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
    zoneRedundant: zoneRedundant
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  // checkov:skip=CKV_AZURE_222:Event Grid delivers to the host webhook over the public endpoint (it cannot reach private endpoints); every route needs a system or function key.
  // checkov:skip=CKV_AZURE_17:Callers authenticate with system/function keys; Event Grid cannot present client certificates.
  // checkov:skip=CKV_AZURE_212:Flex Consumption scales to zero by design (maximumInstanceCount bounds it); Event Grid and queue retries absorb cold starts, always-ready instances would be billed permanently.
  // checkov:skip=CKV_AZURE_213:Flex Consumption has no App Service health check; the Functions host polls the handler's GET / and restarts it when it dies.
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    virtualNetworkSubnetId: empty(subnetId) ? null : subnetId
    // checkov:skip=CKV_AZURE_78:Flex Consumption rejects siteConfig.ftpsState (FTPS is not supported there); FTP and SCM basic credentials are disabled below (basicPublishingCredentialsPolicies).
    siteConfig: {
      minTlsVersion: '1.2'
      http20Enabled: true
      appSettings: appSettings
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainer}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'custom'
        version: '1.0'
      }
    }
  }
}

// No basic (user name and password) publishing: FTP and the SCM site accept Microsoft Entra tokens only.
// `az functionapp deployment source config-zip` authenticates with the caller's token.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

@description('Resource id of the Function App.')
output id string = site.id

@description('Name of the Function App.')
output name string = site.name

@description('Default host name (<name>.azurewebsites.net).')
output hostName string = site.properties.defaultHostName

@description('Object id of the system-assigned identity.')
output principalId string = site.identity.principalId
