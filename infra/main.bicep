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

@description('Short workload name: 3-11 letters and digits, lower-cased in resource names (a storage account name takes lower case only).')
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
param functionAppName string = 'func-${toLower(baseName)}-${environment}-${take(uniqueString(resourceGroup().id), 6)}'

@description('App storage account name (3-24 lower-case letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param storageAccountName string = 'st${toLower(baseName)}${environment}${take(uniqueString(resourceGroup().id), 6)}'

// Sources. Each Bastion host records into one container of one account; several hosts (a hub per region)
// mean several sources, possibly in other resource groups or subscriptions. One host is a list of one.
@description('Recording sources, one per Bastion host: {accountName, subscriptionId?, resourceGroup?, container? (recordings), bastionName? (name or resource id, labels the source), systemTopicName? (the account\'s existing topic)}. The first is the default source.')
@minLength(1)
param recordingSources array

@description('Audit-log sources (accounts the Bastion diagnostic settings archive to; may be a recordings account): {accountName, subscriptionId?, resourceGroup?, container? (insights-logs-bastionauditlogs), systemTopicName?}.')
@minLength(1)
param auditLogSources array

@description('Container for poison payloads in the app account.')
param quarantineContainer string = 'quarantine'

@description('Days each evidence blob of container `evidence` is write-protected after creation (time-based immutability).')
@minValue(1)
param evidenceImmutabilityDays int = 400

@description('Set true once the evidence container\'s immutability policy is locked (infra/README.md): the template then leaves the policy alone; false writes it unlocked.')
param evidenceImmutabilityLocked bool = false

@description('Redundancy of the app account. Standard_GZRS needs a region with availability zones: infra/preflight.sh checks the region offers it; elsewhere use Standard_GRS (or Standard_ZRS / Standard_LRS).')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_RAGRS'
  'Standard_GZRS'
  'Standard_RAGZRS'
])
param appStorageSku string = 'Standard_GZRS'

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

@description('Create the Event Grid subscriptions. Only once the package runs and the host has created its eventgrid_extension system key (infra/deploy.sh checks it before setting this): false never asks for that key.')
param deployEventSubscriptions bool = false

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
@description('Key Vault secret (in keyVaultName) holding the evidence pack signing key; empty: no evidence packs.')
param evidenceSigningKeySecret string = ''
@description('Base URL of the catalogue API for links in notifications (empty = none).')
param catalogueBaseUrl string = ''
@description('Add short-lived read links (user-delegation SAS) to GET /api/recordings/{id}; grants the app Storage Blob Delegator on the recordings account.')
param catalogueDownloadLinks bool = false
@description('Working hours of the review queue (REVIEW_WORKING_HOURS), e.g. Mon-Fri 08:00-18:00 Europe/Berlin; sessions starting outside them are queued for review.')
param reviewWorkingHours string = 'Mon-Fri 08:00-18:00 UTC'

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

// The instance memory sizes the Flex Consumption plan documents: 512 MB, 2,048 MB (default) and
// 4,096 MB. The handler idles at about 10 MiB; always-ready and execution time bill per GB-second.
@description('Memory per instance in MB (512, 2048 or 4096).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

// Opt-in, never a default: with zone redundancy the platform keeps at least two always-ready instances
// per per-function scale group, billed around the clock whatever the load. This app has sixteen groups
// (one per non-HTTP function, one for HTTP): 32 instances of instanceMemoryMB (docs/cost.md).
@description('Zone-redundant Flex Consumption plan (only in regions that support it). Costs 32 always-ready instances of instanceMemoryMB around the clock; see docs/cost.md.')
param zoneRedundant bool = false

@description('Days Log Analytics keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 90

@description('Soft-delete days for blobs and containers of the app account.')
@minValue(1)
@maxValue(365)
param softDeleteDays int = 14

@description('Bastion hosts whose BastionAuditLogs this template archives (a diagnostic setting on each): {bastionName, subscriptionId?, resourceGroup?, auditLogsAccountName? (default: the first audit-log source)}. Empty: none (leave out a host whose setting exists already).')
param bastionDiagnostics array = []

@description('Log Analytics workspaces the app reads Bastion audit logs from (MicrosoftAzureBastionAuditLogs): {resourceId (the workspace\'s ARM id), customerId (its workspace id, a GUID), bastionName? (ties it to one host: a name, or the host\'s resource id), diagnostics? (true: this template adds the diagnostic setting sending that host\'s BastionAuditLogs to the workspace, in resource-specific mode), bastionSubscriptionId?, bastionResourceGroup? (the host\'s when bastionName is a name, default this deployment\'s)}. The app\'s identity may read the tables it queries there (workspaceReadScope). Empty: no workspace source.')
param logAnalyticsWorkspaces array = []

@description('How the app\'s identity may read the workspaces it queries: tables (default: only the tables its queries read, through a role assignment conditioned on the table names, Log Analytics granular RBAC) or workspace (the fallback: Log Analytics Reader on each whole workspace, e.g. where a condition cannot be written).')
@allowed([
  'tables'
  'workspace'
])
param workspaceReadScope string = 'tables'

@description('The Log Analytics workspace receiving the recording accounts\' StorageBlobLogs, for the actor of a deletion or replacement outside the product and each recording\'s custody trail: {resourceId (its ARM id), customerId (its workspace id, a GUID)}. The app\'s identity may read StorageBlobLogs there (workspaceReadScope). Empty: off.')
param custodyWorkspace object = {}

@description('Minutes after a deletion or replacement outside the product its actor is looked for in StorageBlobLogs before it is recorded as unknown (CUSTODY_ACTOR_WAIT_MINUTES).')
@minValue(1)
@maxValue(1440)
param custodyActorWaitMinutes int = 60

@description('Microsoft Graph endpoint (https://graph.microsoft.com) the sessions\' people are resolved to Entra object ids at, so reviews compare people by object id (GRAPH_ENDPOINT). Needs the Graph application permission User.ReadBasic.All granted to the app\'s identity, which Bicep cannot assign: infra/README.md has the command. Empty: off, every review unverified-identity.')
param graphEndpoint string = ''

@description('Regular expression whose first match in a PIM justification is a session\'s ticket when the PIM request carries no ticketInfo (AUTHZ_TICKET_PATTERN), e.g. (CHG|INC)[0-9]{7}. Empty: ticketInfo only.')
param authzTicketPattern string = ''

@description('disconnect: a live session whose authorization verdict is none, on a VM tagged bastion-authz=enforce, is disconnected authzGraceMinutes after its start (AUTHZ_ENFORCE). Needs bastionDisconnect, whose role it uses: without it the deployment fails (authzEnforceChecked) and the app refuses to start. Default report: verdicts are reported only.')
@allowed(['report', 'disconnect'])
param authzEnforce string = 'report'

@description('Minutes after its start a live session with verdict none is left connected before authzEnforce disconnects it (AUTHZ_GRACE_MINUTES).')
@minValue(0)
@maxValue(1440)
param authzGraceMinutes int = 15

@description('true (with graphEndpoint): the PIM for Groups memberships of groups holding roles on watched scopes are read from Microsoft Graph, so pim-group is decided from them (AUTHZ_PIM_GROUPS). Needs the Graph permission PrivilegedAssignmentSchedule.Read.AzureADGroup (infra/README.md).')
param authzPimGroups bool = false

@description('true: each session\'s Entra VM sign-in is looked up in SigninLogs, folded into the AuditLogs query, and its MFA recorded (AUTHZ_SIGNIN_MFA). Needs the workspace to receive Entra sign-in logs.')
param authzSigninMfa bool = false

@description('true (with custodyWorkspace): a diagnostic setting on each recording account\'s blob service sends StorageRead, StorageWrite and StorageDelete to the custody workspace. Off by default: it costs ingestion (docs/cost.md).')
param custodyDiagnostics bool = false

@description('Bastion host resource ids the estate checks (EstateCheck, LiveSessions) watch; the app\'s identity gets a custom role on each (read the host, its diagnostic settings and live sessions) and read of the recording accounts\' blob service and container settings. Empty: the hosts the recording sources name by resource id (bastionName), with the same grants.')
param bastionHosts array = []

@description('Subscription (/subscriptions/{id}) or resource group ids whose VMs the other-doors check watches besides the VMs the watched hosts\' sessions reached (BYPASS_SCOPES). Their Activity log is read from the workspaces the app reads. Their NICs, NSGs and virtual networks are read through Resource Manager: the app\'s identity gets those reads in each resource group listed (the role of bastionSessionTargetGroups) and at each subscription listed (modules/bypass-scopes-access.bicep: each kind listed once for the subscription). The groups of the networks of VMs outside these scopes still go in bastionSessionTargetGroups.')
param bypassScopes array = []

@description('Let Catalogue.Disconnect holders disconnect live sessions on the bastionHosts (grants the disconnect action there).')
param bastionDisconnect bool = false

@description('A legal-hold release needs two principals with Catalogue.Hold: one requests, a different one approves (HOLD_RELEASE_TWO_PERSON).')
param holdReleaseTwoPerson bool = false

@description('Resource groups (resource ids) of the VMs Bastion sessions reach, and of their virtual networks and NSGs: the app\'s identity may read their VMs\' extensions, NICs, NSGs and virtual networks there, so the estate check can tell a recording host whose RDP sessions reach VMs signing in with Microsoft Entra ID (which Microsoft documents cannot be recorded together), and the other-doors check a network path to SSH/RDP from outside the Bastion subnet or a public IP on a watched VM. Empty: those checks stay undecided.')
param bastionSessionTargetGroups array = []

@description('Logs Query API endpoint (sovereign clouds differ).')
param logAnalyticsEndpoint string = 'https://api.loganalytics.azure.com'

@description('Resource id of the EXISTING Log Analytics workspace Microsoft Sentinel uses: the custom tables, the data collection endpoint and rule the app sends sessions, recordings, detections, reviews, findings and disconnects through, and (sentinelContent) the analytics rules, ASIM parser and workbook go there; the app\'s identity gets Monitoring Metrics Publisher on the rule. Empty: no Sentinel export (SENTINEL_* unset, SentinelExport disabled).')
param sentinelWorkspaceId string = ''

@description('Onboard that workspace to Microsoft Sentinel (onboardingStates/default); leave false when it is onboarded already.')
param sentinelOnboard bool = false

@description('Deploy the analytics rules, the ASIM Authentication parser and the workbook into the Sentinel workspace (the rules need it onboarded).')
param sentinelContent bool = true

@description('Create the analytics rules enabled.')
param sentinelRulesEnabled bool = true

@description('Tables outside this product\'s own that the Sentinel workspace already has (infra/deploy.sh writes those infra/preflight.sh found, e.g. StorageBlobLogs): a rule reading such a table is deployed only when it is listed here or this deployment sends it there; the others are named in the output sentinelRulesSkipped.')
param sentinelWorkspaceTables array = []

@description('Private endpoints + VNet integration; the app account then has public access disabled.')
param enablePrivateNetworking bool = false

@description('Subnet for VNet integration, delegated to Microsoft.App/environments (private networking only).')
param integrationSubnetId string = ''

@description('Subnet for private endpoints (private networking only).')
param privateEndpointSubnetId string = ''

@description('Private DNS zone ids {blob, queue, table} (private networking only).')
param privateDnsZoneIds object = {}

@description('Resource id of the EXISTING Azure Monitor Private Link Scope whose private endpoint and privatelink DNS zones serve the app\'s virtual network (private networking with Sentinel: the data collection endpoint then refuses public traffic, and the template links it and this deployment\'s Log Analytics workspace to the scope). Required with both; ignored otherwise.')
param monitorPrivateLinkScopeId string = ''

var suffix = take(uniqueString(resourceGroup().id), 6)
// Names take baseName lower-cased: a storage account name allows lower-case letters and digits only.
var baseNameLower = toLower(baseName)

// Queues used by queue-triggered functions and queue outputs. Add a queue here when adding a
// queue-triggered function (e.g. RecordingHash on `hashrequests`).
var queues = [
  'notifications'
  'hashrequests'
  // The work units the per-host timers plan, one message a host (workspace, source) a period (WorkUnit).
  'workunits'
]

// Event Grid-triggered functions, one subscription per source each. Add an entry to wire a new one.
var recordingSubscriptions = [
  {
    function: 'RecordingCreated'
    subjectEndsWith: ''
    // BlobDeleted too: a recording deleted by anyone but the retention sweep is reported at once.
    eventTypes: [
      'Microsoft.Storage.BlobCreated'
      'Microsoft.Storage.BlobDeleted'
    ]
    // Writes that complete a blob. A copy into the container (CopyBlob) counts; SetBlobTags etc. never
    // raise BlobCreated anyway. On an account with a hierarchical namespace, Data Lake writes raise
    // CreateFile (an empty file: not committed, so not subscribed; the handler skips it too) and then
    // FlushWithClose once the data is committed. Deletions: DeleteBlob, or DeleteFile through Data Lake.
    advancedFilters: [
      {
        operatorType: 'StringIn'
        key: 'data.api'
        values: [
          'PutBlob'
          'PutBlockList'
          'CopyBlob'
          'FlushWithClose'
          'DeleteBlob'
          'DeleteFile'
        ]
      }
    ]
  }
]
var auditLogSubscriptions = [
  {
    function: 'AuditLogCreated'
    subjectEndsWith: 'PT1H.json'
    eventTypes: [
      'Microsoft.Storage.BlobCreated'
    ]
    // NO contentLength filter: PT1H.json is an append blob whose only BlobCreated event has length 0.
    advancedFilters: []
  }
]

// ---- Sources, normalised: every field set, plus comparison keys (lower case: Azure names compare
// without case) and whether the source is the first of its account / resource group. Scopes and
// role names use the values as given, so an existing deployment's ids do not change.
var recordingsFilled = [
  for s in recordingSources: {
    accountName: s.accountName
    subscriptionId: s.?subscriptionId ?? subscription().subscriptionId
    resourceGroup: s.?resourceGroup ?? resourceGroup().name
    container: s.?container ?? 'recordings'
    bastionName: s.?bastionName ?? ''
    systemTopicName: s.?systemTopicName ?? ''
  }
]
var auditLogsFilled = [
  for s in auditLogSources: {
    accountName: s.accountName
    subscriptionId: s.?subscriptionId ?? subscription().subscriptionId
    resourceGroup: s.?resourceGroup ?? resourceGroup().name
    container: s.?container ?? 'insights-logs-bastionauditlogs'
    bastionName: ''
    systemTopicName: s.?systemTopicName ?? ''
  }
]
var recordingGroupKeys = [for s in recordingsFilled: toLower('${s.subscriptionId}/${s.resourceGroup}')]
var recordingAccountRefs = [for s in recordingsFilled: toLower('${s.subscriptionId}/${s.resourceGroup}/${s.accountName}')]
var auditLogGroupKeys = [for s in auditLogsFilled: toLower('${s.subscriptionId}/${s.resourceGroup}')]
var auditLogAccountRefs = [for s in auditLogsFilled: toLower('${s.subscriptionId}/${s.resourceGroup}/${s.accountName}')]
var recordings = [
  for (s, i) in recordingsFilled: union(s, {
    group: recordingGroupKeys[i]
    account: recordingAccountRefs[i]
    firstOfAccount: indexOf(recordingAccountRefs, recordingAccountRefs[i]) == i
  })
]
var auditLogs = [
  for (s, i) in auditLogsFilled: union(s, {
    group: auditLogGroupKeys[i]
    account: auditLogAccountRefs[i]
    firstOfAccount: indexOf(auditLogAccountRefs, auditLogAccountRefs[i]) == i
  })
]

// The Bastion hosts the estate checks watch: one list, handed to the app as BASTION_HOSTS and looped over
// by every grant below, so no watched host lacks its roles. bastionHosts, or else the recording sources
// naming their host by resource id (the hosts the handler watches when BASTION_HOSTS is unset).
var recordingHostNames = [for s in recordings: s.bastionName]
var sourceHostIds = filter(recordingHostNames, b => startsWith(toLower(b), '/subscriptions/'))
var watchedHostList = empty(bastionHosts) ? sourceHostIds : bastionHosts
var watchedHosts = union(watchedHostList, watchedHostList)

// One access module per resource group (the custom role is defined once there), first appearance first.
var recordingGroups = union(recordingGroupKeys, recordingGroupKeys)
var auditLogGroups = union(auditLogGroupKeys, auditLogGroupKeys)

// One system topic per ACCOUNT (Azure allows one per storage account), whichever kinds of source it
// holds. Its name: the first systemTopicName given for the account, else evgt-<account>.
var allSources = concat(recordings, auditLogs)
var allAccountRefs = concat(recordingAccountRefs, auditLogAccountRefs)
var accountRefs = union(allAccountRefs, allAccountRefs)
var namedTopicKeys = [for s in allSources: empty(s.systemTopicName) ? '' : s.account]
var sourceAccounts = [
  for k in accountRefs: {
    key: k
    accountName: allSources[indexOf(allAccountRefs, k)].accountName
    subscriptionId: allSources[indexOf(allAccountRefs, k)].subscriptionId
    resourceGroup: allSources[indexOf(allAccountRefs, k)].resourceGroup
    topicName: indexOf(namedTopicKeys, k) < 0 ? 'evgt-${allSources[indexOf(allAccountRefs, k)].accountName}' : allSources[indexOf(namedTopicKeys, k)].systemTopicName
  }
]

// One subscription per (source, function), filtered on the source's container and delivered on its
// account's topic. Its name carries the app (the first 16 characters of its name and a hash of all of
// it): two instances of the product on one account (prod and a second region) each keep their own,
// where a shared name would let the later deployment take the other's over. The first source of each
// kind adds nothing more; the others add their container and a hash of account and container, so two
// containers of one account, or one container name in two accounts, never collide (<= 64 characters).
var subscriptionAppTag = '${take(functionAppName, 16)}-${take(uniqueString(functionAppName), 4)}'
var recordingPairs = [
  for k in range(0, length(recordings) * length(recordingSubscriptions)): {
    source: recordings[k / length(recordingSubscriptions)]
    subscription: recordingSubscriptions[k % length(recordingSubscriptions)]
    leading: k < length(recordingSubscriptions)
  }
]
var auditLogPairs = [
  for k in range(0, length(auditLogs) * length(auditLogSubscriptions)): {
    source: auditLogs[k / length(auditLogSubscriptions)]
    subscription: auditLogSubscriptions[k % length(auditLogSubscriptions)]
    leading: k < length(auditLogSubscriptions)
  }
]
var eventPairs = concat(recordingPairs, auditLogPairs)
var eventSubscriptions = [
  for p in eventPairs: union(p.subscription, {
    account: p.source.account
    container: p.source.container
    name: p.leading ? '${p.subscription.function}-${subscriptionAppTag}' : '${p.subscription.function}-${subscriptionAppTag}-${take(p.source.container, 16)}-${take(uniqueString(p.source.account, p.source.container), 6)}'
  })
]

// Bastion diagnostic settings: one per listed host.
var auditLogAccountNames = [for s in auditLogs: toLower(s.accountName)]
var diagnostics = [
  for d in bastionDiagnostics: {
    bastionName: d.bastionName
    subscriptionId: d.?subscriptionId ?? subscription().subscriptionId
    resourceGroup: d.?resourceGroup ?? resourceGroup().name
    // An account no audit-log source names fails the deployment here (index -1), never silently.
    auditLogs: auditLogs[indexOf(auditLogAccountNames, toLower(d.?auditLogsAccountName ?? auditLogs[0].accountName))]
  }
]

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    appInsightsName: 'appi-${baseNameLower}-${environment}-${suffix}'
    workspaceName: 'log-${baseNameLower}-${environment}-${suffix}'
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
    evidenceImmutabilityDays: evidenceImmutabilityDays
    evidenceImmutabilityLocked: evidenceImmutabilityLocked
    skuName: appStorageSku
    queues: queues
    softDeleteDays: softDeleteDays
    publicNetworkAccess: !enablePrivateNetworking
  }
}

// Microsoft Sentinel, in the workspace's own subscription and resource group: one conditional module.
// Resource Manager evaluates the id of a skipped module's deployment (its scope) while validating the
// template, so the scope must parse with the parameter empty too: then it names this resource group.
// Its outputs are read only where sentinelOn holds (`sentinel!.outputs`). The analytics rules, the
// parser and the workbook go in the second pass only (deployEventSubscriptions, infra/deploy.sh): a
// rule created seconds after its tables is refused ("One of the tables does not exist").
var sentinelOn = !empty(sentinelWorkspaceId)
var sentinelScopeId = sentinelOn ? sentinelWorkspaceId : resourceGroup().id

// The Microsoft tables this deployment sends to the Sentinel workspace itself: StorageBlobLogs through
// the custody diagnostic settings when the custody workspace is that workspace, and
// MicrosoftAzureBastionAuditLogs through a workspace setting of a host (diagnostics: true) to it.
var sentinelKey = toLower(sentinelWorkspaceId)
var sendsBlobLogs = sentinelOn && custodyDiagnostics && toLower(custodyWorkspace.?resourceId ?? '') == sentinelKey
var sendsAuditLogs = sentinelOn && !empty(filter(logAnalyticsWorkspaces, w => bool(w.?diagnostics ?? false) && !empty(w.?bastionName ?? '') && toLower(w.resourceId) == sentinelKey))
var sentinelPresentTables = union(sentinelWorkspaceTables, sendsBlobLogs ? ['StorageBlobLogs'] : [], sendsAuditLogs ? ['MicrosoftAzureBastionAuditLogs'] : [])

module sentinel 'modules/sentinel.bicep' = if (sentinelOn) {
  name: 'sentinel-${uniqueString(resourceGroup().id, sentinelScopeId)}'
  scope: resourceGroup(split(sentinelScopeId, '/')[2], split(sentinelScopeId, '/')[4])
  params: {
    workspaceName: last(split(sentinelScopeId, '/'))
    namePrefix: '${baseNameLower}-${environment}'
    tags: tags
    onboard: sentinelOnboard
    content: sentinelContent && deployEventSubscriptions
    rulesEnabled: sentinelRulesEnabled
    publicNetworkAccess: !enablePrivateNetworking
    presentTables: sentinelPresentTables
  }
}

// App Service authentication needs the app registration: catalogueAuth 'platform' without
// catalogueAuthClientId would deploy an identity provider with no client. Such parameters fail here,
// before any resource (index -1); infra/preflight.sh says it in words.
var catalogueAuthMode = catalogueAuth == 'platform' && empty(catalogueAuthClientId) ? [catalogueAuth][indexOf([catalogueAuth], 'catalogueAuth platform needs catalogueAuthClientId')] : catalogueAuth

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    name: functionAppName
    planName: 'asp-${baseNameLower}-${environment}-${suffix}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainer: deploymentContainer
    recordingSources: recordings
    auditLogSources: auditLogs
    logAnalyticsWorkspaces: logAnalyticsWorkspaces
    logAnalyticsEndpoint: logAnalyticsEndpoint
    custodyWorkspaceId: custodyWorkspace.?customerId ?? ''
    custodyActorWaitMinutes: custodyActorWaitMinutes
    graphEndpoint: graphEndpoint
    authzTicketPattern: authzTicketPattern
    authzEnforce: authzEnforceChecked
    authzGraceMinutes: authzGraceMinutes
    authzPimGroups: authzPimGroups
    authzSigninMfa: authzSigninMfa
    sentinelIngestionEndpoint: sentinelOn ? sentinel!.outputs.ingestionEndpoint : ''
    sentinelDcrImmutableId: sentinelOn ? sentinel!.outputs.dcrImmutableId : ''
    bastionHosts: join(watchedHosts, ',')
    bypassScopes: join(bypassScopes, ',')
    bastionDisconnect: bastionDisconnect
    holdReleaseTwoPerson: holdReleaseTwoPerson
    quarantineContainer: quarantineContainer
    tablePrefix: tablePrefix
    retentionPolicy: retentionPolicy
    appInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultName: keyVaultName
    notifyTeamsUrlSecret: notifyTeamsUrlSecret
    notifySlackUrlSecret: notifySlackUrlSecret
    notifyWebhookUrlSecret: notifyWebhookUrlSecret
    notifyWebhookSecretSecret: notifyWebhookSecretSecret
    evidenceSigningKeySecret: evidenceSigningKeySecret
    catalogueBaseUrl: catalogueBaseUrl
    catalogueDownloadLinks: catalogueDownloadLinks
    reviewWorkingHours: reviewWorkingHours
    catalogueAuth: catalogueAuthMode
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

// The tables the app's queries read in each kind of workspace (tests/e2e/permissions derives the tables
// of every query the functions send and holds them to these lists); empty: the whole workspace.
var auditWorkspaceTables = workspaceReadScope == 'tables' ? ['MicrosoftAzureBastionAuditLogs', 'AzureActivity', 'AuditLogs', 'SigninLogs'] : []
// (EstateCheck reads AzureActivity, and PIM's AuditLogs rows for the authorization verdicts with, when authzSigninMfa is on, the VM sign-ins of SigninLogs in the same query, in every workspace the app reads, the custody one too.)
var custodyWorkspaceTables = workspaceReadScope == 'tables' ? ['StorageBlobLogs', 'AzureActivity', 'AuditLogs', 'SigninLogs'] : []

// Read on every workspace source, in the workspace's own subscription and resource group.
module workspaceAccess 'modules/workspace-access.bicep' = [
  for (w, i) in logAnalyticsWorkspaces: {
    name: 'workspace-access-${uniqueString(resourceGroup().id, w.resourceId)}'
    scope: resourceGroup(split(w.resourceId, '/')[2], split(w.resourceId, '/')[4])
    params: {
      workspaceName: last(split(w.resourceId, '/'))
      principalId: functionApp.outputs.principalId
      tables: auditWorkspaceTables
      purpose: 'audit'
    }
  }
]

// Read on the custody workspace (StorageBlobLogs of the recording accounts), in its own subscription
// and resource group.
var custodyWorkspaces = empty(custodyWorkspace.?resourceId ?? '') ? [] : [custodyWorkspace.resourceId]
module custodyAccess 'modules/workspace-access.bicep' = [
  for (w, i) in custodyWorkspaces: {
    name: 'custody-workspace-access-${uniqueString(resourceGroup().id, w)}'
    scope: resourceGroup(split(w, '/')[2], split(w, '/')[4])
    params: {
      workspaceName: last(split(w, '/'))
      principalId: functionApp.outputs.principalId
      tables: custodyWorkspaceTables
      purpose: 'custody'
    }
  }
]

// With custodyDiagnostics: each recording account's blob service sends StorageRead, StorageWrite and
// StorageDelete to the custody workspace (off by default: ingestion costs, docs/cost.md).
var custodyAccounts = custodyDiagnostics && !empty(custodyWorkspaces) ? filter(recordings, r => r.firstOfAccount) : []
module custodyDiagnosticsOf 'modules/custody-diagnostics.bicep' = [
  for (r, i) in custodyAccounts: {
    name: 'custody-diagnostics-${uniqueString(resourceGroup().id, r.account)}'
    scope: resourceGroup(r.subscriptionId, r.resourceGroup)
    params: {
      accountName: r.accountName
      workspaceResourceId: custodyWorkspaces[0]
    }
  }
]

// Monitoring Metrics Publisher on the data collection rule, for the app's identity.
module sentinelAccess 'modules/sentinel-access.bicep' = if (sentinelOn) {
  name: 'sentinel-access-${uniqueString(resourceGroup().id, sentinelScopeId)}'
  scope: resourceGroup(split(sentinelScopeId, '/')[2], split(sentinelScopeId, '/')[4])
  params: {
    dcrName: sentinel!.outputs.dcrName
    principalId: functionApp.outputs.principalId
  }
}

// For a Bastion host the deployment manages: its BastionAuditLogs sent to the workspace it is read from.
// The host is a name (in bastionSubscriptionId/bastionResourceGroup, default this deployment's) or a
// resource id (which carries both).
var workspaceDiagnosticsList = [
  for w in filter(logAnalyticsWorkspaces, w => bool(w.?diagnostics ?? false) && !empty(w.?bastionName ?? '')): {
    bastionName: last(split(w.bastionName, '/'))
    subscriptionId: startsWith(w.bastionName, '/') ? split(w.bastionName, '/')[2] : (w.?bastionSubscriptionId ?? subscription().subscriptionId)
    resourceGroup: startsWith(w.bastionName, '/') ? split(w.bastionName, '/')[4] : (w.?bastionResourceGroup ?? resourceGroup().name)
    workspaceResourceId: w.resourceId
  }
]
// One such setting per host: a host listed twice (to one workspace, a sink Azure refuses to reuse
// for one category; or to two, which would share the setting's name) fails here, before any resource
// (index -1). infra/preflight.sh says it in words, and also finds settings made outside this template.
var workspaceDiagnosticsHosts = [for d in workspaceDiagnosticsList: toLower('${d.subscriptionId}/${d.resourceGroup}/${d.bastionName}')]
var workspaceDiagnosticsChecked = length(union(workspaceDiagnosticsHosts, [])) == length(workspaceDiagnosticsHosts) ? workspaceDiagnosticsList : [workspaceDiagnosticsList[indexOf(workspaceDiagnosticsHosts, 'a Bastion host is listed twice with diagnostics in logAnalyticsWorkspaces')]]

module workspaceDiagnostics 'modules/workspace-diagnostics.bicep' = [
  for (d, i) in workspaceDiagnosticsChecked: {
    name: 'workspace-diagnostics-${uniqueString(resourceGroup().id, toLower('${d.subscriptionId}/${d.resourceGroup}/${d.bastionName}'))}'
    scope: resourceGroup(d.subscriptionId, d.resourceGroup)
    params: {
      bastionName: d.bastionName
      workspaceResourceId: d.workspaceResourceId
      settingName: 'send-bastion-audit-logs-to-workspace'
    }
  }
]

// The estate checks on every watched Bastion host, in the host's own subscription and resource group.
module bastionAccess 'modules/bastion-access.bicep' = [
  for (id, i) in watchedHosts: {
    name: 'bastion-access-${uniqueString(resourceGroup().id, id)}'
    scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
    params: {
      bastionName: last(split(id, '/'))
      principalId: functionApp.outputs.principalId
      grantDisconnect: bastionDisconnect
    }
  }
]

// LiveSessions polls getActiveSessions' status and result under /subscriptions/{sub}/providers/
// Microsoft.Network/locations/…: a read at the subscription of each watched host, above every
// resource group (a role on the host cannot reach it), granted only while hosts are watched.
var bastionHostSubscriptions = [for id in watchedHosts: toLower(split(id, '/')[2])]
var bastionSubscriptions = union(bastionHostSubscriptions, bastionHostSubscriptions)

module bastionOperationsAccess 'modules/bastion-operations-access.bicep' = [
  for (sub, i) in bastionSubscriptions: {
    name: 'bastion-operations-access-${uniqueString(resourceGroup().id, resourceGroup().location, sub)}'
    scope: subscription(sub)
    params: {
      principalId: functionApp.outputs.principalId
    }
  }
]

// BYPASS_SCOPES' resource group ids (5 path segments; a subscription id has 3).
var bypassGroups = filter(bypassScopes, s => length(split(s, '/')) == 5)
// BYPASS_SCOPES' subscription ids (the id, lower-case, once each).
var bypassSubscriptionIds = [for s in filter(bypassScopes, s => length(split(s, '/')) == 3): toLower(split(s, '/')[2])]
var bypassSubscriptions = union(bypassSubscriptionIds, bypassSubscriptionIds)

// The other-doors check lists the NICs, NSGs and virtual networks of a BYPASS_SCOPES
// subscription once for the subscription: those reads at the subscription itself.
module bypassScopesAccess 'modules/bypass-scopes-access.bicep' = [
  for (sub, i) in bypassSubscriptions: {
    name: 'bypass-scopes-access-${uniqueString(resourceGroup().id, resourceGroup().location, sub)}'
    scope: subscription(sub)
    params: {
      principalId: functionApp.outputs.principalId
    }
  }
]

// The other-doors check reads, at every check, the diagnostic settings of each subscription whose
// VMs it watches (the session targets' groups and BYPASS_SCOPES): whether its Activity log still
// reaches a workspace the app reads. A subscription's settings lie above its groups: a read there.
var targetGroupSubscriptions = [for g in union(bastionSessionTargetGroups, bypassGroups): toLower(split(g, '/')[2])]
var activityLogSubscriptions = union(bypassSubscriptions, targetGroupSubscriptions)

module activityLogSettingsAccess 'modules/activity-log-settings-access.bicep' = [
  for (sub, i) in activityLogSubscriptions: {
    name: 'activity-log-settings-access-${uniqueString(resourceGroup().id, resourceGroup().location, sub)}'
    scope: subscription(sub)
    params: {
      principalId: functionApp.outputs.principalId
    }
  }
]

// The extensions of the VMs sessions reach (Entra ID sign-in for RDP), and the NICs, NSGs and
// virtual networks, in the resource groups named (and the BYPASS_SCOPES groups).
module sessionTargetsAccess 'modules/session-targets-access.bicep' = [
  for (g, i) in union(bastionSessionTargetGroups, bypassGroups): {
    name: 'session-targets-access-${uniqueString(resourceGroup().id, g)}'
    scope: resourceGroup(split(g, '/')[2], split(g, '/')[4])
    params: {
      principalId: functionApp.outputs.principalId
    }
  }
]

// The estate checks read each recording account's blob service (versioning, CORS) and container
// (immutability) settings: control-plane reads, per resource group of recording sources.
module recordingsSettingsAccess 'modules/recordings-settings-access.bicep' = [
  for (g, i) in recordingGroups: if (!empty(watchedHosts)) {
    name: 'recordings-settings-access-${uniqueString(resourceGroup().id, g)}'
    scope: resourceGroup(recordings[indexOf(recordingGroupKeys, g)].subscriptionId, recordings[indexOf(recordingGroupKeys, g)].resourceGroup)
    params: {
      sources: recordings
      group: g
      principalId: functionApp.outputs.principalId
    }
  }
]

// Container-scoped custom roles (and the per-account delegator and lifecycle policy), one module per
// resource group of sources: the role definition lives there once, whatever the number of sources.
module recordingsAccess 'modules/recordings-access.bicep' = [
  for (g, i) in recordingGroups: {
    name: 'recordings-access-${uniqueString(resourceGroup().id, g)}'
    scope: resourceGroup(recordings[indexOf(recordingGroupKeys, g)].subscriptionId, recordings[indexOf(recordingGroupKeys, g)].resourceGroup)
    params: {
      sources: recordings
      group: g
      principalId: functionApp.outputs.principalId
      applyLifecyclePolicy: applyLifecyclePolicy
      grantDelegator: catalogueDownloadLinks
    }
  }
]

module auditLogsAccess 'modules/auditlogs-access.bicep' = [
  for (g, i) in auditLogGroups: {
    name: 'auditlogs-access-${uniqueString(resourceGroup().id, g)}'
    scope: resourceGroup(auditLogs[indexOf(auditLogGroupKeys, g)].subscriptionId, auditLogs[indexOf(auditLogGroupKeys, g)].resourceGroup)
    params: {
      sources: auditLogs
      group: g
      principalId: functionApp.outputs.principalId
    }
  }
]

resource sourceAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = [
  for a in sourceAccounts: {
    name: a.accountName
    scope: resourceGroup(a.subscriptionId, a.resourceGroup)
  }
]

// One system topic per source account, carrying the subscriptions of every source in it.
module events 'modules/eventgrid.bicep' = [
  for (a, i) in sourceAccounts: {
    name: 'events-${a.accountName}-${uniqueString(resourceGroup().id)}'
    scope: resourceGroup(a.subscriptionId, a.resourceGroup)
    params: {
      topicName: a.topicName
      location: sourceAccount[i].location
      tags: tags
      sourceAccountId: sourceAccount[i].id
      forAccount: a.key
      subscriptions: eventSubscriptions
      deploySubscriptions: deployEventSubscriptions
      functionAppName: functionApp.outputs.name
      appSubscriptionId: subscription().subscriptionId
      appResourceGroup: resourceGroup().name
      appStorageAccountName: storage.outputs.name
      deadLetterContainer: deadLetterContainer
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
  }
]

// A Bastion host listed twice would get two settings sending BastionAuditLogs (Azure refuses a sink reused
// for one category, and both would share the setting name): such a list fails here, before any resource
// (index -1). infra/preflight.sh says it in words, and also finds settings made outside this template.
var diagnosticHosts = [for d in diagnostics: toLower('${d.subscriptionId}/${d.resourceGroup}/${d.bastionName}')]
var diagnosticsChecked = length(union(diagnosticHosts, [])) == length(diagnosticHosts) ? diagnostics : [diagnostics[indexOf(diagnosticHosts, 'a Bastion host is listed twice in bastionDiagnostics')]]

module bastionDiagnosticSettings 'modules/bastion-diagnostics.bicep' = [
  for (d, i) in diagnosticsChecked: {
    name: 'bastion-diagnostics-${uniqueString(resourceGroup().id, toLower('${d.subscriptionId}/${d.resourceGroup}/${d.bastionName}'))}'
    scope: resourceGroup(d.subscriptionId, d.resourceGroup)
    params: {
      bastionName: d.bastionName
      auditLogsAccountName: d.auditLogs.accountName
      auditLogsSubscriptionId: d.auditLogs.subscriptionId
      auditLogsResourceGroup: d.auditLogs.resourceGroup
      settingName: 'archive-bastion-audit-logs'
    }
  }
]

// Private endpoints: the app account's three services and the blob service of each source account.
var appEndpoints = [
  { name: 'pe-${storageAccountName}-blob', accountId: storage.outputs.id, groupId: 'blob' }
  { name: 'pe-${storageAccountName}-queue', accountId: storage.outputs.id, groupId: 'queue' }
  { name: 'pe-${storageAccountName}-table', accountId: storage.outputs.id, groupId: 'table' }
]
var sourceEndpoints = [
  for a in sourceAccounts: {
    name: 'pe-${a.accountName}-blob'
    accountId: resourceId(a.subscriptionId, a.resourceGroup, 'Microsoft.Storage/storageAccounts', a.accountName)
    groupId: 'blob'
  }
]

// Disconnecting unauthorized sessions uses the disconnect role bastionDisconnect grants; without it
// the app would refuse to start (AUTHZ_ENFORCE), so the parameters fail here, before any resource
// (index -1).
var authzEnforceChecked = authzEnforce == 'disconnect' && !bastionDisconnect ? [authzEnforce][indexOf([authzEnforce], 'authzEnforce disconnect needs bastionDisconnect true (its role disconnects sessions)')] : authzEnforce

// Private networking with Sentinel: the endpoint's public access is off, so it is reached only through
// an Azure Monitor Private Link Scope. Without one the parameters fail here, before any resource
// (index -1); infra/preflight.sh says it in words.
var privateSentinel = enablePrivateNetworking && sentinelOn
var monitorScopeChecked = privateSentinel && empty(monitorPrivateLinkScopeId) ? [monitorPrivateLinkScopeId][indexOf([monitorPrivateLinkScopeId], 'private networking with Sentinel needs monitorPrivateLinkScopeId')] : monitorPrivateLinkScopeId
var monitorScopeId = privateSentinel ? monitorScopeChecked : resourceGroup().id

module monitorPrivateLink 'modules/monitor-private-link.bicep' = if (privateSentinel) {
  name: 'monitor-private-link-${uniqueString(resourceGroup().id, monitorScopeId)}'
  scope: resourceGroup(split(monitorScopeId, '/')[2], split(monitorScopeId, '/')[4])
  params: {
    scopeName: last(split(monitorScopeId, '/'))
    linked: [
      { name: 'dce-${baseNameLower}-${environment}-sentinel', id: sentinelOn ? sentinel!.outputs.endpointId : '' }
      { name: 'log-${baseNameLower}-${environment}-${suffix}', id: monitoring.outputs.workspaceId }
    ]
  }
}

module network 'modules/network.bicep' = if (enablePrivateNetworking) {
  name: 'network'
  params: {
    location: location
    tags: tags
    subnetId: privateEndpointSubnetId
    privateDnsZoneIds: privateDnsZoneIds
    endpoints: concat(appEndpoints, sourceEndpoints)
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

@description('Event Grid system topic of the default (first) recordings account.')
output recordingsSystemTopic string = sourceAccounts[indexOf(accountRefs, recordings[0].account)].topicName

@description('Event Grid system topic of the first audit-log account.')
output auditLogsSystemTopic string = sourceAccounts[indexOf(accountRefs, auditLogs[0].account)].topicName

@description('Microsoft Sentinel analytics rules not deployed because the workspace lacks a table they read (second pass): {rule, displayName, missingTables}.')
output sentinelRulesSkipped array = sentinelOn ? sentinel!.outputs.skippedRules : []

@description('Every source account with its system topic: {key (subscription/group/account, lower case), accountName, subscriptionId, resourceGroup, topicName}.')
output sourceAccounts array = sourceAccounts
