// App Service authentication (Easy Auth) in front of the Function App, deployed only when
// catalogueAuth = platform (main.bicep); the app setting CATALOGUE_AUTH=platform then tells the handler
// to trust x-ms-client-principal, which only this platform layer sets (tests/e2e/settings_drift/auth.rs
// ties the two together).
//
// Unauthenticated requests get 401: the platform has one action for every path (no per-path sign-in
// redirect), and a redirect would answer API clients with an HTML page; a browser signs in at
// /.auth/login/aad?post_login_redirect_uri=/api/ui. Excluded: /api/health (probes) and the Event Grid
// webhook, whose deliveries carry the eventgrid_extension system key, never a bearer token (requiring
// authentication there would refuse every event).

@description('Name of the Function App.')
param functionAppName string

@description('Microsoft Entra tenant of the catalogue API app registration.')
param tenantId string

@description('Client (application) id of the catalogue API app registration.')
param clientId string

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  // checkov:skip=CKV_AZURE_13:Checks the v1 authsettings shape (properties.enabled); this is authsettingsV2, enabled through platform.enabled and requireAuthentication.
  // checkov:skip=CKV_AZURE_63:An HTTP-logging check for the web config of the site; checkov applies it to every sites/config child, and this one holds only authentication.
  // checkov:skip=CKV_AZURE_65:A detailed-errors check for the web config of the site; checkov applies it to every sites/config child, and this one holds only authentication.
  name: 'authsettingsV2'
  // checkov:skip=CKV_AZURE_66:A failed-request-tracing check for the web config of the site; checkov applies it to every sites/config child, and this one holds only authentication.
  // checkov:skip=CKV_AZURE_80:A dotNET version check for the web config of the site; the app is a custom handler and this child holds only authentication.
  // checkov:skip=CKV_AZURE_88:An Azure Files check for the web config of the site; Flex Consumption deploys from a blob container and this child holds only authentication.
  // checkov:skip=CKV_AZURE_222:Public network access is a site property (suppressed there with its reason); this child holds only authentication.
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: [
        '/api/health'
        '/runtime/webhooks/eventgrid'
      ]
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: clientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            clientId
            'api://${clientId}'
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
    httpSettings: {
      requireHttps: true
    }
  }
}
