// Optional (custodyDiagnostics with custodyWorkspace): a diagnostic setting on one recording
// account's blob service sending StorageRead, StorageWrite and StorageDelete to the custody
// workspace (table StorageBlobLogs), which the app queries for who deleted or replaced a recording
// and for each recording's custody trail. It costs ingestion: docs/cost.md. Deployed in the
// account's resource group.

@description('Existing recording storage account name.')
param accountName string

@description('Resource id of the Log Analytics workspace receiving StorageBlobLogs.')
param workspaceResourceId string

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: accountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: account
  name: 'default'
}

resource custody 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'bastion-recordings-custody'
  scope: blobService
  properties: {
    workspaceId: workspaceResourceId
    logs: [
      { category: 'StorageRead', enabled: true }
      { category: 'StorageWrite', enabled: true }
      { category: 'StorageDelete', enabled: true }
    ]
  }
}
