// Optional: private endpoints for storage accounts whose public network access is disabled. The Function
// App reaches them through VNet integration (its subnet is set in functionapp.bicep). NOTE: Bastion
// writes recordings and the portal's recording player fetches them from the viewer's BROWSER, so a
// recordings account without public access also needs the viewers' network to reach its private
// endpoint (VPN/ExpressRoute + private DNS); see infra/README.md.

@description('Azure region of the endpoints (the VNet\'s region).')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Subnet for the private endpoints.')
param subnetId string

@description('Endpoints to create: {name, accountId, groupId (blob|queue|table)}.')
param endpoints array

@description('Private DNS zone ids by service: {blob, queue, table} (privatelink.<svc>.core.windows.net).')
param privateDnsZoneIds object

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [
  for e in endpoints: {
    name: e.name
    location: location
    tags: tags
    properties: {
      subnet: {
        id: subnetId
      }
      privateLinkServiceConnections: [
        {
          name: e.name
          properties: {
            privateLinkServiceId: e.accountId
            groupIds: [
              e.groupId
            ]
          }
        }
      ]
    }
  }
]

resource dnsGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [
  for (e, i) in endpoints: {
    parent: privateEndpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: e.groupId
          properties: {
            privateDnsZoneId: privateDnsZoneIds[e.groupId]
          }
        }
      ]
    }
  }
]
