// One Event Grid system topic for one source storage account (the platform allows only one per account:
// pass the existing topic's name to adopt it) and the subscriptions of every source in that account (one
// per source and Event Grid function, filtered on the source's container), delivering to the Functions
// host's Event Grid webhook. Deployed in the source account's resource group, which may be in another
// subscription than the app.

@description('System topic name: the existing topic of this account when there is one.')
param topicName string

@description('Region of the source account (a system topic must be in its source\'s region).')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Resource id of the source storage account.')
param sourceAccountId string

@description('Every subscription of the deployment: {account, name, function, container, eventTypes, subjectEndsWith, advancedFilters}; only those of `forAccount` go on this topic.')
param subscriptions array

@description('The account this topic serves, as sources name it: `<subscription id>/<resource group>/<account>`, lower case.')
param forAccount string

@description('Create the subscriptions. The webhook needs the eventgrid_extension system key, which exists only once the package is deployed and the host has started.')
param deploySubscriptions bool

@description('Function App name.')
param functionAppName string

@description('Subscription of the Function App and its storage account.')
param appSubscriptionId string

@description('Resource group of the Function App and its storage account.')
param appResourceGroup string

@description('App storage account holding the dead-letter container.')
param appStorageAccountName string

@description('Dead-letter container in the app storage account.')
param deadLetterContainer string

@description('Delivery attempts before dead-lettering (1-30).')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int

@description('Minutes an event is retried before dead-lettering (1-1440).')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
  scope: resourceGroup(appSubscriptionId, appResourceGroup)
}

resource host 'Microsoft.Web/sites/host@2024-04-01' existing = {
  parent: site
  name: 'default'
}

resource appStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: appStorageAccountName
  scope: resourceGroup(appSubscriptionId, appResourceGroup)
}

// The host creates the eventgrid_extension system key when it first loads an Event Grid trigger, i.e.
// after the package is deployed. ARM evaluates only the taken branch of `?:`, so a first deployment with
// deploySubscriptions=false never asks for a key that does not exist yet.
var webhookKey = deploySubscriptions ? host.listKeys().systemKeys.eventgrid_extension : ''

var mine = filter(subscriptions, s => s.account == forAccount)

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: topicName
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: sourceAccountId
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

// Event Grid writes dead letters with the topic identity: the app account has no keys.
module deadLetterAccess 'deadletter-access.bicep' = {
  name: 'deadletter-access-${uniqueString(topic.id)}'
  scope: resourceGroup(appSubscriptionId, appResourceGroup)
  params: {
    storageAccountName: appStorageAccountName
    containerName: deadLetterContainer
    principalId: topic.identity.principalId
  }
}

// Webhook to the host, not the `AzureFunction` endpoint type: the host's Event Grid extension answers
// the validation handshake and dispatches by functionName for every worker runtime, custom handlers
// included; the AzureFunction type resolves the function through ARM's function list, which for a
// custom handler is only as good as the last trigger sync.
resource eventSubscriptions 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = [
  for s in mine: if (deploySubscriptions) {
    parent: topic
    name: s.name
    dependsOn: [
      deadLetterAccess
    ]
    properties: {
      eventDeliverySchema: 'EventGridSchema'
      destination: {
        endpointType: 'WebHook'
        properties: {
          endpointUrl: 'https://${site.properties.defaultHostName}/runtime/webhooks/eventgrid?functionName=${s.function}&code=${webhookKey}'
          // One event per request: a batch is all-or-none, so one failure would redeliver its neighbours.
          maxEventsPerBatch: 1
          preferredBatchSizeInKilobytes: 64
        }
      }
      filter: {
        includedEventTypes: s.eventTypes
        // Trailing slash: `recordings/` must not match `recordings2/`.
        subjectBeginsWith: '/blobServices/default/containers/${s.container}/'
        subjectEndsWith: s.subjectEndsWith
        isSubjectCaseSensitive: false
        enableAdvancedFilteringOnArrays: true
        advancedFilters: s.advancedFilters
      }
      retryPolicy: {
        maxDeliveryAttempts: maxDeliveryAttempts
        eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
      }
      deadLetterWithResourceIdentity: {
        identity: {
          type: 'SystemAssigned'
        }
        deadLetterDestination: {
          endpointType: 'StorageBlob'
          properties: {
            resourceId: appStorage.id
            blobContainerName: deadLetterContainer
          }
        }
      }
    }
  }
]

@description('Name of the system topic.')
output topicName string = topic.name

@description('Object id of the system topic identity.')
output principalId string = topic.identity.principalId
