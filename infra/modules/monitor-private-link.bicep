// With private networking and Microsoft Sentinel: the data collection endpoint the app posts to (public
// access off) and the Log Analytics workspace this deployment owns, linked to an EXISTING Azure Monitor
// Private Link Scope (AMPLS) whose private endpoint and privatelink DNS zones serve the app's virtual
// network. Deployed in the scope's resource group. Microsoft documents one AMPLS per network (its DNS
// zones are shared by every Azure Monitor resource reached from that network), so the template links
// to the network's scope instead of creating a second one beside it.

@description('Name of the existing Azure Monitor Private Link Scope (in this resource group).')
param scopeName string

@description('Resource ids to link to the scope: {name (of the scoped resource), id}.')
param linked array

resource scope 'Microsoft.Insights/privateLinkScopes@2021-09-01' existing = {
  name: scopeName
}

resource scoped 'Microsoft.Insights/privateLinkScopes/scopedResources@2021-09-01' = [
  for l in linked: {
    parent: scope
    name: l.name
    properties: {
      linkedResourceId: l.id
    }
  }
]
