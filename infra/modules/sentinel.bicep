// Microsoft Sentinel as a destination, in the resource group of an EXISTING Log Analytics workspace
// (deployed only with sentinelWorkspaceId): the custom tables, the data collection endpoint and
// rule the handler sends through (Logs Ingestion API), and, unless content is off, the scheduled
// analytics rules, the ASIM Authentication parser for MicrosoftAzureBastionAuditLogs and the
// workbook. Onboarding the workspace to Sentinel is optional (an onboarded workspace is left as it is).
//
// One declaration, ../../sentinel/tables.json, gives the tables' schemas, the rule's stream
// declarations and its data flows; the handler reads the same file (src/export). Column types are
// written as a DCR stream declaration spells them; the tables spell datetime `dateTime`.

@description('Name of the existing Log Analytics workspace (in this resource group).')
param workspaceName string

@description('Prefix of the data collection endpoint and rule names.')
param namePrefix string

@description('Tags applied to every resource.')
param tags object

@description('Onboard the workspace to Microsoft Sentinel (onboardingStates/default); leave false for a workspace already onboarded.')
param onboard bool = false

@description('Deploy the analytics rules, the ASIM parser and the workbook (the rules need an onboarded workspace and tables that exist: main.bicep sets it in the second pass only).')
param content bool = true

@description('Create the analytics rules enabled.')
param rulesEnabled bool = true

@description('Whether the data collection endpoint accepts public traffic (false with private networking: reach it through an Azure Monitor Private Link Scope).')
param publicNetworkAccess bool = true

@description('Days the custom tables keep rows (-1: the workspace default).')
param retentionDays int = -1

@description('Tables of the workspace outside this product\'s own that exist (or this deployment sends there): a rule is deployed only when each table of its requiresTables (sentinel/rules/rules.json) is listed.')
param presentTables array = []

var declaration = loadJsonContent('../../sentinel/tables.json')
var rules = loadJsonContent('../../sentinel/rules/rules.json').rules
var ruleQueries = {
  'unrecorded-session': loadTextContent('../../sentinel/rules/unrecorded-session.kql')
  'failed-login-burst': loadTextContent('../../sentinel/rules/failed-login-burst.kql')
  'recording-deleted': loadTextContent('../../sentinel/rules/recording-deleted.kql')
  'recording-changed-in-logs': loadTextContent('../../sentinel/rules/recording-changed-in-logs.kql')
  'review-overdue': loadTextContent('../../sentinel/rules/review-overdue.kql')
  'estate-finding': loadTextContent('../../sentinel/rules/estate-finding.kql')
  disconnect: loadTextContent('../../sentinel/rules/disconnect.kql')
  'other-door': loadTextContent('../../sentinel/rules/other-door.kql')
  'session-unauthorized': loadTextContent('../../sentinel/rules/session-unauthorized.kql')
}
// Sentinel refuses a scheduled rule whose query names a table the workspace does not have: a rule
// reading a Microsoft table (StorageBlobLogs, which only a storage diagnostic setting sending there
// creates) goes only where that table is present; the others are named in `skippedRules`.
var missingTables = [for r in rules: filter(r.requiresTables, t => !contains(presentTables, t))]
var parsers = loadJsonContent('../../sentinel/parser/parsers.json').parsers
var parserQueries = {
  vimAuthenticationAzureBastion: loadTextContent('../../sentinel/parser/vimAuthenticationAzureBastion.kql')
  ASimAuthenticationAzureBastion: loadTextContent('../../sentinel/parser/ASimAuthenticationAzureBastion.kql')
}

// The rule's stream declarations, an object keyed by stream name: built as JSON text, since the
// offline Bicep parser of the checks (pycep, which checkov uses) knows no toObject or map. The
// declaration's columns are already in the stream declaration's shape ({name, type}).
var streamDeclarations = [for t in declaration.tables: '"${t.stream}":${string({ columns: t.columns })}']

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-07-01' existing = {
  name: workspaceName
}

resource tables 'Microsoft.OperationalInsights/workspaces/tables@2025-07-01' = [
  for t in declaration.tables: {
    parent: workspace
    name: t.name
    properties: {
      plan: 'Analytics'
      retentionInDays: retentionDays
      schema: {
        name: t.name
        description: t.description
        columns: [
          for c in t.columns: {
            name: c.name
            type: c.type == 'datetime' ? 'dateTime' : c.type
            description: t.descriptions[c.name]
          }
        ]
      }
    }
  }
]

// The endpoint the handler posts to (private link needs one); the rule lives in the workspace's region.
// Public access follows the app's networking mode.
resource endpoint 'Microsoft.Insights/dataCollectionEndpoints@2024-03-11' = {
  name: 'dce-${namePrefix}-sentinel'
  location: workspace.location
  tags: tags
  properties: {
    networkAcls: {
      publicNetworkAccess: publicNetworkAccess ? 'Enabled' : 'Disabled'
    }
  }
}

resource rule 'Microsoft.Insights/dataCollectionRules@2024-03-11' = {
  name: 'dcr-${namePrefix}-sentinel'
  location: workspace.location
  tags: tags
  properties: {
    dataCollectionEndpointId: endpoint.id
    streamDeclarations: json('{${join(streamDeclarations, ',')}}')
    destinations: {
      logAnalytics: [
        {
          name: 'workspace'
          workspaceResourceId: workspace.id
        }
      ]
    }
    dataFlows: [
      for t in declaration.tables: {
        streams: [
          t.stream
        ]
        destinations: [
          'workspace'
        ]
        transformKql: 'source'
        outputStream: 'Custom-${t.name}'
      }
    ]
  }
  dependsOn: [
    tables
  ]
}

resource onboarding 'Microsoft.SecurityInsights/onboardingStates@2025-09-01' = if (onboard) {
  scope: workspace
  name: 'default'
  properties: {
    customerManagedKey: false
  }
}

// Scheduled rules: extension resources on the workspace, named by a GUID stable per rule.
resource analyticsRules 'Microsoft.SecurityInsights/alertRules@2025-09-01' = [
  for (r, i) in rules: if (content && empty(missingTables[i])) {
    scope: workspace
    name: guid(workspace.id, 'bastion-recordings', r.name)
    kind: 'Scheduled'
    properties: {
      displayName: r.displayName
      description: r.description
      enabled: rulesEnabled
      severity: r.severity
      query: ruleQueries[r.name]
      queryFrequency: r.queryFrequency
      queryPeriod: r.queryPeriod
      triggerOperator: r.triggerOperator
      triggerThreshold: r.triggerThreshold
      suppressionEnabled: false
      suppressionDuration: 'PT1H'
      tactics: r.tactics
      techniques: r.techniques
      entityMappings: r.entityMappings
      eventGroupingSettings: {
        aggregationKind: 'AlertPerResult'
      }
      incidentConfiguration: {
        createIncident: true
        groupingConfiguration: {
          enabled: false
          reopenClosedIncident: false
          lookbackDuration: 'PT5H'
          matchingMethod: 'AllEntities'
        }
      }
    }
    dependsOn: [
      tables
      onboarding
    ]
  }
]

// The ASIM Authentication parser: workspace functions. The service refuses a PUT over an existing saved
// search (409 Conflict) unless its properties carry the current etag or '*': every deployment after
// the first rewrites them, so '*'.
resource asimParsers 'Microsoft.OperationalInsights/workspaces/savedSearches@2025-07-01' = [
  for p in parsers: if (content) {
    parent: workspace
    name: p.name
    properties: {
      etag: '*'
      category: 'ASIM'
      displayName: p.displayName
      functionAlias: p.name
      functionParameters: p.parameters
      query: parserQueries[p.name]
      version: 2
    }
  }
]

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = if (content) {
  name: guid(workspace.id, 'bastion-recordings-workbook')
  location: workspace.location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Azure Bastion sessions and recordings'
    category: 'sentinel'
    serializedData: loadTextContent('../../sentinel/workbook.json')
    sourceId: workspace.id
    version: 'Notebook/1.0'
  }
  dependsOn: [
    tables
  ]
}

@description('The logs ingestion endpoint the handler posts to (SENTINEL_INGESTION_ENDPOINT).')
output ingestionEndpoint string = endpoint.properties.logsIngestion.endpoint

@description('The data collection rule\'s immutable id (SENTINEL_DCR_IMMUTABLE_ID).')
output dcrImmutableId string = rule.properties.immutableId

@description('Resource id of the data collection endpoint (linked to the Azure Monitor Private Link Scope with private networking).')
output endpointId string = endpoint.id

@description('Name of the data collection rule (the app\'s identity gets Monitoring Metrics Publisher on it).')
output dcrName string = rule.name

// One entry per rule, empty for a rule deployed (a for-expression cannot sit inside filter()).
var skipped = [
  for (r, i) in rules: content && !empty(missingTables[i]) ? { rule: r.name, displayName: r.displayName, missingTables: missingTables[i] } : {}
]

@description('The analytics rules not deployed because the workspace lacks a table they read: {rule, displayName, missingTables}.')
output skippedRules array = filter(skipped, x => !empty(x))
