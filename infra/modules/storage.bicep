// The app's own storage account: host state (AzureWebJobsStorage), catalogue tables, the notification
// queues, the quarantine container, the Event Grid dead-letter container and the Flex Consumption
// deployment container. Identity-only: shared-key access is off, so no key or connection string exists
// anywhere in the deployment.

@description('Storage account name (3-24 lower-case letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Container for poison payloads (QUARANTINE_CONTAINER).')
param quarantineContainer string

@description('Container Event Grid writes undeliverable events to. Never covered by an event subscription.')
param deadLetterContainer string

@description('Container the Flex Consumption plan deploys the app package from.')
param deploymentContainer string

@description('Days each evidence blob is write-protected after creation (time-based immutability; auditors keep 12 months).')
@minValue(1)
@maxValue(146000)
param evidenceImmutabilityDays int

@description('The evidence container\'s immutability policy has been locked: the template then leaves it alone (the API writes unlocked policies only, so every later deployment would fail on it).')
param evidenceImmutabilityLocked bool

@description('Redundancy of the app account: Standard_GZRS where the region has availability zones (infra/preflight.sh checks), else Standard_GRS, Standard_ZRS or Standard_LRS.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_RAGRS'
  'Standard_GZRS'
  'Standard_RAGZRS'
])
param skuName string = 'Standard_GZRS'

@description('Queues the functions use (queue triggers and outputs).')
param queues array

@description('Days to keep deleted blobs and containers (soft delete).')
@minValue(1)
@maxValue(365)
param softDeleteDays int

@description('When false, the account is reachable only through private endpoints.')
param publicNetworkAccess bool

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  // checkov:skip=CKV_AZURE_35:The firewall defaults to Deny with enablePrivateNetworking; without VNet integration the Flex app has no fixed outbound addresses to allow. Access is Entra-only (shared keys off).
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: publicNetworkAccess ? 'Enabled' : 'Disabled'
    networkAcls: {
      // Event Grid dead-lettering and Azure Monitor are trusted services.
      bypass: 'AzureServices'
      defaultAction: publicNetworkAccess ? 'Allow' : 'Deny'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: { enabled: true, keyType: 'Account' }
        file: { enabled: true, keyType: 'Account' }
        queue: { enabled: true, keyType: 'Account' }
        table: { enabled: true, keyType: 'Account' }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for c in [quarantineContainer, deadLetterContainer, deploymentContainer]: {
    parent: blobService
    name: c
    properties: {
      publicAccess: 'None'
    }
  }
]

// The product's own evidence, in the container the handler writes (`evidence`, src/functions/evidence.rs):
// a time-based immutability policy. Blobs can be created but neither overwritten nor deleted until the
// period ends. The template writes it UNLOCKED (the only state its API creates): an unlocked policy can
// still be shortened or deleted by whoever may change the container, so it is no compliance-grade
// protection until an operator locks it (infra/README.md, Evidence container). Once locked, the API
// refuses every write of it, so evidenceImmutabilityLocked=true makes the template leave it alone.
// Writing needs only the Storage Blob Data Owner role the app already holds on this account (app-access.bicep).
resource evidence 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'evidence'
  properties: {
    publicAccess: 'None'
  }
}

resource evidenceImmutability 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (!evidenceImmutabilityLocked) {
  parent: evidence
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: evidenceImmutabilityDays
    allowProtectedAppendWrites: false
  }
}

// The catalogue (tables), the evidence container and the dead letters live here: a delete lock on the
// account (inherited by its containers, Resource Manager's locks apply to child resources) makes any
// deletion through Resource Manager fail loudly, whether by hand, a renamed baseName's cleanup or a
// resource group deletion. Data-plane reads and writes are not affected by a CanNotDelete lock.
// Removing the product on purpose: delete the lock first (infra/README.md, Turning a feature off).
resource keep 'Microsoft.Authorization/locks@2020-05-01' = {
  scope: account
  name: 'keep-catalogue-and-evidence'
  properties: {
    level: 'CanNotDelete'
    notes: 'The Bastion recordings catalogue, evidence packs and dead letters: delete this lock only to remove the product on purpose.'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource queueResources 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for q in queues: {
    parent: queueService
    name: q
  }
]

// Tables are created by the handler on first use (names carry TABLE_PREFIX); the service must exist.
resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

@description('Resource id of the account.')
output id string = account.id

@description('Name of the account.')
output name string = account.name

@description('Blob service endpoint, with trailing slash.')
output blobEndpoint string = account.properties.primaryEndpoints.blob

@description('Queue service endpoint, with trailing slash.')
output queueEndpoint string = account.properties.primaryEndpoints.queue

@description('Table service endpoint, with trailing slash.')
output tableEndpoint string = account.properties.primaryEndpoints.table
