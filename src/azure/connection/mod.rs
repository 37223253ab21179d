//! Storage connections resolved the way the Functions host resolves them: a connection string in
//! `NAME`, or identity-based `NAME__*` settings. Keys are [`Secret`]s, never printed; a
//! half-configured identity connection is an error naming the setting, never a fall-back.

use secrecy::{ExposeSecret as _, SecretString};
use url::Url;

use super::retry::Policy;
use super::timeouts::{Guard, Timeouts};

/// Azurite's published development account.
pub const DEV_ACCOUNT: &str = "devstoreaccount1";
/// Azurite's published development key (public, documented by Microsoft; not a secret).
pub const DEV_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A secret string (never in `Debug`, zeroed when dropped); equal values let connections share a
/// client.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(SecretString::from(s.into()))
    }

    /// The value, for signing only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for Secret {}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// How requests are authorised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageAuth {
    /// Account key: requests carry a locally signed account SAS.
    Key(Secret),
    /// Managed identity (system-assigned when `client_id` is `None`).
    ManagedIdentity {
        /// Client id of a user-assigned identity.
        client_id: Option<String>,
        /// The identity endpoint the SDK will ask (for log lines naming it).
        token_endpoint: String,
    },
}

/// The keys of an Azure Storage connection string, lower-cased.
const KNOWN_KEYS: &[&str] = &[
    "defaultendpointsprotocol",
    "accountname",
    "accountkey",
    "endpointsuffix",
    "blobendpoint",
    "queueendpoint",
    "tableendpoint",
    "fileendpoint",
    "sharedaccesssignature",
    "usedevelopmentstorage",
    "developmentstorageproxyuri",
];

/// Whether `key` is within two edits of `want` (ignoring case): a misspelling of it.
fn near_miss(key: &str, want: &str) -> bool {
    strsim::levenshtein(&key.to_ascii_lowercase(), &want.to_ascii_lowercase()) <= 2
}

/// One resolved storage connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageConnection {
    /// The setting name it was resolved from.
    pub setting: String,
    /// Account name.
    pub account: String,
    /// Blob service endpoint (path-style on Azurite: `http://127.0.0.1:10000/devstoreaccount1`).
    pub blob: Url,
    /// Queue service endpoint.
    pub queue: Url,
    /// Table service endpoint.
    pub table: Url,
    /// Authorisation.
    pub auth: StorageAuth,
    /// How long each call on this connection may take (the defaults until configuration sets them).
    pub timeouts: Timeouts,
}

impl StorageConnection {
    /// The same connection with other timeouts.
    #[must_use]
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The guard of this connection's storage calls to `endpoint`, one of its services.
    pub fn guard(&self, endpoint: &Url) -> Guard {
        Guard::new(
            &self.setting,
            Some(endpoint),
            self.timeouts,
            Policy::STORAGE,
        )
    }

    /// Resolves `name` through `env`. `Ok(None)` when nothing is configured under that name.
    ///
    /// # Errors
    /// One message per problem, naming the setting but never its value.
    pub fn resolve(
        name: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, Vec<String>> {
        match env(name).filter(|v| !v.trim().is_empty()) {
            Some(cs) => Self::from_connection_string(name, &cs).map(Some),
            None => Self::from_identity_settings(name, env),
        }
    }

    fn from_connection_string(name: &str, cs: &str) -> Result<Self, Vec<String>> {
        let parts: Vec<(String, String)> = cs
            .split(';')
            .filter_map(|p| {
                p.split_once('=')
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            })
            .collect();
        let get = |k: &str| {
            parts
                .iter()
                .find(|(pk, _)| pk == k)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        if get("usedevelopmentstorage").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            let ep = |port: u16| {
                Url::parse(&format!("http://127.0.0.1:{port}/{DEV_ACCOUNT}"))
                    .map_err(|e| vec![e.to_string()])
            };
            return Ok(Self {
                setting: name.to_owned(),
                account: DEV_ACCOUNT.to_owned(),
                blob: ep(10000)?,
                queue: ep(10001)?,
                table: ep(10002)?,
                auth: StorageAuth::Key(Secret::new(DEV_KEY)),
                timeouts: Timeouts::default(),
            });
        }
        let mut errors = Vec::new();
        let missing: Vec<&str> = [("accountname", "AccountName"), ("accountkey", "AccountKey")]
            .into_iter()
            .filter(|(k, _)| get(k).is_none())
            .map(|(_, name)| name)
            .collect();
        if !missing.is_empty() {
            errors.push(Self::missing_parts(name, &missing, cs));
        }
        let (account, key) = (
            get("accountname").unwrap_or_default(),
            get("accountkey").unwrap_or_default(),
        );
        let protocol = get("defaultendpointsprotocol").unwrap_or_else(|| "https".into());
        let suffix = get("endpointsuffix").unwrap_or_else(|| "core.windows.net".into());
        let mut endpoint = |svc: &str| -> Option<Url> {
            let explicit = get(&format!("{svc}endpoint"));
            let text = explicit.unwrap_or_else(|| format!("{protocol}://{account}.{svc}.{suffix}"));
            let parsed = Url::parse(&text).ok();
            if parsed.is_none() {
                errors.push(format!("{name}: {svc} endpoint is not a valid URL"));
            }
            parsed
        };
        let (blob, queue, table) = (endpoint("blob"), endpoint("queue"), endpoint("table"));
        match (blob, queue, table) {
            (Some(blob), Some(queue), Some(table)) if errors.is_empty() => Ok(Self {
                setting: name.to_owned(),
                account,
                blob,
                queue,
                table,
                auth: StorageAuth::Key(Secret::new(key)),
                timeouts: Timeouts::default(),
            }),
            _ => Err(errors),
        }
    }

    /// One sentence: the parts `missing` from the connection string `cs` in `name`, naming a key
    /// of it that is a misspelling of one (keys only, and only near-misses: a fragment of a
    /// value never is one).
    fn missing_parts(name: &str, missing: &[&str], cs: &str) -> String {
        let keys: Vec<&str> = cs
            .split(';')
            .filter_map(|p| p.split_once('=').map(|(k, _)| k.trim()))
            .filter(|k| !KNOWN_KEYS.contains(&k.to_ascii_lowercase().as_str()))
            .collect();
        let typos: Vec<String> = missing
            .iter()
            .filter_map(|want| {
                let near = keys.iter().find(|k| near_miss(k, want))?;
                Some(format!("{near} for {want}"))
            })
            .collect();
        let mut text = format!(
            "{name}: the connection string has no {}",
            missing.join(" and ")
        );
        if !typos.is_empty() {
            text.push_str(&format!(" (a misspelt key? it has {})", typos.join(", ")));
        } else if missing.contains(&"AccountKey") {
            text.push_str(" (SAS-only connection strings are not supported)");
        }
        text
    }

    fn from_identity_settings(
        name: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, Vec<String>> {
        let get = |k: &str| {
            env(&format!("{name}__{k}"))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let account = get("accountName");
        let explicit = ["blobServiceUri", "queueServiceUri", "tableServiceUri"].map(&get);
        let (credential, client_id) = (get("credential"), get("clientId"));
        let mut errors = Vec::new();
        if credential
            .as_deref()
            .is_some_and(|c| !c.eq_ignore_ascii_case("managedidentity"))
        {
            errors.push(format!(
                "{name}__credential: only managedidentity is supported"
            ));
        }
        if account.is_none() && explicit.iter().all(Option::is_none) {
            let half: Vec<String> = [("credential", &credential), ("clientId", &client_id)]
                .iter()
                .filter(|(_, v)| v.is_some())
                .map(|(k, _)| format!("{name}__{k}"))
                .collect();
            if half.is_empty() {
                return Ok(None);
            }
            errors.push(format!(
                "{}: set, but neither {name}__accountName nor {name}__blobServiceUri/__queueServiceUri/__tableServiceUri is (a half-configured identity connection)",
                half.join(" and ")
            ));
            return Err(errors);
        }
        let mut service = |i: usize, svc: &str| -> Option<Url> {
            let key = ["blobServiceUri", "queueServiceUri", "tableServiceUri"][i];
            let text = explicit[i].clone().or_else(|| {
                account
                    .as_ref()
                    .map(|a| format!("https://{a}.{svc}.core.windows.net"))
            })?;
            let why = match Url::parse(&text) {
                // A token credential is refused over http by the SDK; say so at start-up.
                Ok(u) if u.scheme() == "https" => return Some(u),
                Ok(_) => "identity-based connections must use https",
                Err(_) => "not a valid URL",
            };
            errors.push(format!("{name}__{key}: {why}"));
            None
        };
        let (blob, queue, table) = (service(0, "blob"), service(1, "queue"), service(2, "table"));
        let account = account.or_else(|| {
            blob.as_ref()
                .and_then(|u| u.host_str())
                .and_then(|h| h.split('.').next())
                .map(str::to_owned)
        });
        match (blob, queue, table, account) {
            (Some(blob), Some(queue), Some(table), Some(account)) if errors.is_empty() => {
                Ok(Some(Self {
                    setting: name.to_owned(),
                    account,
                    blob,
                    queue,
                    table,
                    auth: StorageAuth::ManagedIdentity {
                        client_id,
                        token_endpoint: token_endpoint(env),
                    },
                    timeouts: Timeouts::default(),
                }))
            }
            _ => {
                if errors.is_empty() {
                    errors.push(format!("{name}: set {name}__accountName, or all of {name}__blobServiceUri/__queueServiceUri/__tableServiceUri"));
                }
                Err(errors)
            }
        }
    }
}

/// Where the SDK asks for tokens outside App Service / Functions (the VM metadata service).
pub(crate) const IMDS_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// The identity endpoint the SDK will call, without its query: `IDENTITY_ENDPOINT` when it and
/// `IDENTITY_HEADER` are set, the VM metadata service otherwise.
pub fn token_endpoint(env: &dyn Fn(&str) -> Option<String>) -> String {
    match (env("IDENTITY_ENDPOINT"), env("IDENTITY_HEADER")) {
        (Some(e), Some(_)) => e.split('?').next().unwrap_or_default().to_owned(),
        _ => IMDS_ENDPOINT.to_owned(),
    }
}

#[cfg(test)]
mod tests;
