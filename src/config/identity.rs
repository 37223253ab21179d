//! The app's managed identity ([`AppIdentity`]) and the settings whose calls need it: the Logs
//! Ingestion API (`SENTINEL_INGESTION_ENDPOINT`), the Log Analytics workspaces read
//! (`AUDITLOGS_WORKSPACES`, `CUSTODY_WORKSPACE_ID`). Those services accept nothing without a
//! token, so a setting that needs one while the app has no identity (a key `AzureWebJobsStorage`
//! and no `IDENTITY_ENDPOINT`/`IDENTITY_HEADER` from the platform) stops start-up, naming it. An
//! endpoint of plain http to a loopback address (allowed only with
//! `CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK`, for local stand-ins) is not Azure: without an identity
//! its calls carry no token.

use url::Url;

use crate::azure::connection::StorageConnection;
use crate::azure::identity::{AppIdentity, PLATFORM_ENDPOINT, PLATFORM_HEADER};

/// The app's identity (see [`AppIdentity::resolve`]); a problem in `errors` for each setting in
/// `needs` (`(setting, the endpoint its calls go to)`) when there is none.
pub fn read(
    env: &dyn Fn(&str) -> Option<String>,
    app: Option<&StorageConnection>,
    needs: &[(&str, Option<&Url>)],
    errors: &mut Vec<String>,
) -> Option<AppIdentity> {
    let identity = AppIdentity::resolve(app, env);
    if identity.is_none() {
        let storage = match app {
            Some(_) => "AzureWebJobsStorage is a key connection",
            None => "AzureWebJobsStorage is not usable",
        };
        for (setting, endpoint) in needs {
            if endpoint.is_some_and(|u| u.scheme() == "http") {
                continue;
            }
            errors.push(format!(
                "{setting}: its calls need a token from the app's managed identity, and the app has none ({storage} and {PLATFORM_ENDPOINT}/{PLATFORM_HEADER} are not set: turn on the app's managed identity)"
            ));
        }
    }
    identity
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_connection() -> StorageConnection {
        StorageConnection::resolve("AzureWebJobsStorage", &|k| {
            (k == "AzureWebJobsStorage").then(|| "UseDevelopmentStorage=true".to_owned())
        })
        .expect("parses")
        .expect("set")
    }

    #[test]
    fn a_key_connection_takes_the_platforms_identity() {
        let app = key_connection();
        let env = |k: &str| match k {
            "IDENTITY_ENDPOINT" => Some("http://localhost:42356/msi/token".to_owned()),
            "IDENTITY_HEADER" => Some("secret".to_owned()),
            "AZURE_CLIENT_ID" => Some("0f9d5b3c-6a41-4e8e-9b1d-2c7e4f6a8b90".to_owned()),
            _ => None,
        };
        let url = Url::parse("https://x.westeurope-1.ingest.monitor.azure.com").expect("url");
        let mut errors = Vec::new();
        let id = read(&env, Some(&app), &[("S", Some(&url))], &mut errors).expect("an identity");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(id.setting, "IDENTITY_ENDPOINT");
        assert_eq!(id.token_endpoint, "http://localhost:42356/msi/token");
        assert_eq!(
            id.client_id.as_deref(),
            Some("0f9d5b3c-6a41-4e8e-9b1d-2c7e4f6a8b90")
        );
    }

    #[test]
    fn without_an_identity_each_setting_that_needs_one_is_named() {
        let app = key_connection();
        // The endpoint alone is not the platform's identity (no secret).
        let env = |k: &str| (k == "IDENTITY_ENDPOINT").then(|| "http://x/".to_owned());
        let https = Url::parse("https://api.loganalytics.io").expect("url");
        let loopback = Url::parse("http://127.0.0.1:9").expect("url");
        let mut errors = Vec::new();
        let needs = [("A", Some(&https)), ("B", Some(&loopback)), ("C", None)];
        assert_eq!(read(&env, Some(&app), &needs, &mut errors), None);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].starts_with("A: its calls need a token"),
            "{errors:?}"
        );
        assert!(errors[1].starts_with("C: "), "{errors:?}");
    }
}
