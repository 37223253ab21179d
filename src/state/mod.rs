//! Application state: the seams built once from configuration, shared by every invocation.
//!
//! Only the entry points ([`crate::functions`], [`crate::api`], [`crate::cli`], [`crate::backfill`])
//! take an [`AppState`]. Each hands a domain `state.ports` (tables, sources, clock) and the plain
//! settings values it reads, so domain code never sees the whole state and a component test builds
//! only what it exercises.

mod app_state;
mod domains;

use std::sync::Arc;

use azure_core::credentials::TokenCredential;

use crate::azure::connection::StorageConnection;
use crate::azure::http::{Auth, Client};
use crate::azure::{Policy as Retries, Timeouts};
use crate::catalogue::policy::Policy;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError, SourceSpec};
use crate::export::Outbox;
use crate::health::Heartbeats;
use crate::health::queues::QueueDepth;
use crate::ingestion::{IngestionClient, LogsIngestion};
use crate::invocation::{HasQuarantine, Quarantine};
use crate::loganalytics::LogsClient;
use crate::notify::Notifier;
use crate::ports::Ports;
use crate::sources::{Source, Sources};
use crate::storage::BlobStore;
use crate::storage::azure::AzureBlobStore;
use crate::storage::links::{self, Links};
use crate::tables::TableStore;
use crate::tables::rest::TableRestClient;

/// How a binary builds its state: the `handler`'s from its settings
/// (`cli::state_from_env`), the test kit's `handler-in-memory` over in-memory stores.
pub type Start = fn() -> Result<AppState, ConfigError>;

pub use app_state::AppState;
pub use domains::{
    LiveSessions, Raised, health, join, recordings, stalled, sweeper, tailer, workspace_query,
};

impl HasQuarantine for AppState {
    fn quarantine(&self) -> &Quarantine {
        &self.quarantine
    }

    fn heartbeat(&self, function: &str, outcome: &str) {
        self.heartbeats
            .record(function, outcome, self.ports.clock.now());
    }
}

impl AppState {
    /// Builds the real seams from configuration.
    ///
    /// # Errors
    /// `ConfigError` when a client cannot be built.
    pub fn from_config(config: Config) -> Result<Self, ConfigError> {
        let policy = config.policy.clone();
        let app = &config.storage.app;
        let mut clients = Clients::default();
        let app_blobs = clients.blobs(app)?;
        let sources = Sources::new(
            sources_of(&config.sources.recordings, &mut clients)?,
            sources_of(&config.sources.audit_logs, &mut clients)?,
        )
        .ok_or_else(|| ConfigError(vec!["no recording or audit-log source".into()]))?;
        // Links are signed by the account that holds the blob: one issuer per recordings account.
        let links = Links::per_account(
            config
                .sources
                .recordings
                .iter()
                .filter_map(|s| s.conn.as_ref())
                .map(|c| (c.account.clone(), links::for_connection(Some(c))))
                .collect(),
        );
        let tables = TableRestClient::new(app, &config.table_prefix)
            .map_err(|e| ConfigError(vec![e.to_string()]))?;
        let queues = crate::health::queues::for_connection(Some(app));
        // The app's identity, whatever the storage connection (start-up stopped where a setting
        // needs one and there is none).
        let credential = app_credential(&config, app);
        let seams = Built {
            sources,
            app_blobs,
            tables: Arc::new(tables),
            links,
            queues,
            credential,
        };
        let pauses = crate::fanout::pauses::Pauses::new(seams.tables.clone());
        let arm = resource_manager(&config, app_credential(&config, app), Arc::new(pauses));
        let mut state = Self::build(config, policy, seams, Arc::new(SystemClock));
        state.arm = arm;
        Ok(state)
    }

    /// Assembles state from explicit seams (component tests, benchmarks, tools): every recording
    /// source of the configuration is reached through `stores.recordings`, every audit-log source
    /// through `stores.audit_logs`, whatever connection the configuration names. The one
    /// constructor besides [`from_config`](Self::from_config).
    pub fn assemble(config: Config, policy: Policy, stores: Stores, clock: Arc<dyn Clock>) -> Self {
        let over = |specs: &[SourceSpec], store: &Arc<dyn BlobStore>| -> Vec<Source> {
            specs.iter().map(|s| source(s, store.clone())).collect()
        };
        let recordings = over(&config.sources.recordings, &stores.recordings);
        let audit_logs = over(&config.sources.audit_logs, &stores.audit_logs);
        let seams = Built {
            sources: Sources::new(recordings, audit_logs).unwrap_or_else(|| {
                Sources::single(
                    Source::new(stores.recordings.clone(), "recordings"),
                    Source::new(stores.audit_logs.clone(), "insights-logs-bastionauditlogs"),
                )
            }),
            app_blobs: stores.app_blobs,
            tables: stores.tables,
            links: Links::one(links::for_connection(None)),
            queues: crate::health::queues::for_connection(None),
            credential: None,
        };
        Self::build(config, policy, seams, clock)
    }

    fn build(config: Config, policy: Policy, seams: Built, clock: Arc<dyn Clock>) -> Self {
        let (app_blobs, credential) = (seams.app_blobs, seams.credential);
        let quarantine = Quarantine::new(app_blobs.clone(), config.quarantine_container.clone());
        // Rows are recorded only when they can be sent: unset, nothing changes.
        let outbox = match config.sentinel {
            Some(_) => Outbox::on(seams.tables.clone(), clock.clone()),
            None => Outbox::off(),
        };
        Self {
            ports: Ports {
                tables: seams.tables,
                sources: Arc::new(seams.sources),
                clock,
                outbox,
            },
            app_blobs,
            quarantine,
            policy: Arc::new(policy),
            notifier: Arc::new(Notifier::new(config.notify.clone())),
            audit: Arc::new(config.audit.clone()),
            heartbeats: Arc::new(Heartbeats::new(config.heartbeat_interval)),
            endings: Arc::default(),
            estate_reads: Arc::default(),
            links: seams.links,
            queues: seams.queues,
            arm: None,
            logs: logs_client(&config, credential.clone()).map(|c| Arc::new(c) as _),
            directory: directory(&config, credential.clone()),
            ingestion: ingestion_client(&config, credential),
            config: Arc::new(config),
        }
    }
}

/// The blob and table seams [`AppState::assemble`] takes.
#[derive(Clone)]
pub struct Stores {
    /// The recordings account.
    pub recordings: Arc<dyn BlobStore>,
    /// The audit-log account.
    pub audit_logs: Arc<dyn BlobStore>,
    /// The app's own account (quarantine).
    pub app_blobs: Arc<dyn BlobStore>,
    /// The app's tables.
    pub tables: Arc<dyn TableStore>,
}

/// The app's managed identity's credential ([`Config::identity`]), its token requests bounded by
/// the app connection's timeouts; none without one.
fn app_credential(config: &Config, app: &StorageConnection) -> Option<Arc<dyn TokenCredential>> {
    let identity = config.identity.as_ref()?;
    match identity.credential(app.timeouts) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(error = %e, "the app's managed identity: no credential");
            None
        }
    }
}

/// Resource Manager for the estate checks, when a Bastion host is configured: tokens from the
/// app's managed identity (none without one, e.g. Azurite with a loopback fake that checks none),
/// a 429's pause shared with the app's other instances through `pauses`.
fn resource_manager(
    config: &Config,
    credential: Option<Arc<dyn TokenCredential>>,
    pauses: Arc<dyn crate::azure::pace::SharedPauses>,
) -> Option<Arc<dyn crate::arm::ResourceManager>> {
    let estate = &config.estate;
    if estate.hosts.is_empty() {
        return None;
    }
    if credential.is_none() {
        tracing::warn!(
            "estate checks: the app has no managed identity; Resource Manager calls carry no token"
        );
    }
    let endpoint = url::Url::parse(&estate.arm_endpoint).ok()?;
    let auth = bearer(credential, estate.scope());
    let http = client("Resource Manager", &endpoint, auth, Timeouts::CONTROL)?
        .paced(crate::arm::MAX_IN_FLIGHT, Some(pauses));
    let arm = crate::arm::client::ArmClient::new(http, &estate.arm_endpoint).ok()?;
    Some(Arc::new(arm))
}

/// Microsoft Graph for the people of the sessions, when `GRAPH_ENDPOINT` is set: tokens from the
/// app's managed identity (none without one: a loopback fake that checks none).
fn directory(
    config: &Config,
    credential: Option<Arc<dyn TokenCredential>>,
) -> Option<Arc<dyn crate::graph::Directory>> {
    let endpoint = config.graph.as_ref()?;
    let auth = bearer(credential, crate::graph::settings::scope(endpoint));
    let http = client("Microsoft Graph", endpoint, auth, Timeouts::CONTROL)?;
    Some(Arc::new(crate::graph::GraphClient::new(http, endpoint)))
}

/// A bearer token for `scope` from `credential`, or nothing without one.
fn bearer(credential: Option<Arc<dyn TokenCredential>>, scope: impl Into<String>) -> Auth {
    credential.map_or(Auth::None, |c| Auth::Bearer(c, scope.into()))
}

/// The seams [`AppState::build`] takes.
struct Built {
    sources: Sources,
    app_blobs: Arc<dyn BlobStore>,
    tables: Arc<dyn TableStore>,
    links: Links,
    queues: Arc<dyn QueueDepth>,
    /// The app's identity, for the monitoring and Graph clients' tokens.
    credential: Option<Arc<dyn TokenCredential>>,
}

/// One blob client per account: connections to the same endpoint with the same credentials share
/// it (and its token cache).
#[derive(Default)]
struct Clients(Vec<(StorageConnection, Arc<dyn BlobStore>)>);

impl Clients {
    fn blobs(&mut self, conn: &StorageConnection) -> Result<Arc<dyn BlobStore>, ConfigError> {
        let same = |c: &StorageConnection| c.blob == conn.blob && c.auth == conn.auth;
        if let Some((_, store)) = self.0.iter().find(|(c, _)| same(c)) {
            return Ok(store.clone());
        }
        let store: Arc<dyn BlobStore> =
            Arc::new(AzureBlobStore::new(conn).map_err(|e| ConfigError(vec![e.to_string()]))?);
        self.0.push((conn.clone(), store.clone()));
        Ok(store)
    }
}

/// The sources of `specs`, each over its account's client.
fn sources_of(specs: &[SourceSpec], clients: &mut Clients) -> Result<Vec<Source>, ConfigError> {
    specs
        .iter()
        .map(|s| {
            let conn = s.conn.as_ref().ok_or_else(|| {
                ConfigError(vec![format!("{}: connection not resolved", s.connection)])
            })?;
            Ok(source(s, clients.blobs(conn)?))
        })
        .collect()
}

/// The source `spec` configures, over `store`.
fn source(spec: &SourceSpec, store: Arc<dyn BlobStore>) -> Source {
    Source {
        container: spec.container.clone(),
        bastion: spec.bastion.clone(),
        bastion_id: spec.bastion_id.clone(),
        store,
    }
}

/// The Logs Query API client, when a workspace is configured (an audit-log source or the custody
/// workspace); each query asks the service to stop within the reading budget (`Prefer: wait`).
fn logs_client(
    config: &Config,
    credential: Option<Arc<dyn TokenCredential>>,
) -> Option<LogsClient> {
    let endpoint = config.workspaces.endpoint.clone()?;
    if config.workspaces.query.workspaces.is_empty() && config.custody.workspace.is_none() {
        return None;
    }
    let auth = bearer(credential, crate::loganalytics::scope_for(&endpoint));
    let http = client("Log Analytics", &endpoint, auth, MONITORING)?;
    Some(LogsClient::new(http, endpoint))
}

/// A monitoring service's bounds: 20 s a try, 40 s with retries and `Retry-After` waits.
const MONITORING: Timeouts = Timeouts {
    per_try: std::time::Duration::from_secs(20),
    total: std::time::Duration::from_secs(40),
};

/// The client of service `name` at `endpoint`, within `timeouts`, retried as a control call.
fn client(name: &str, endpoint: &url::Url, auth: Auth, timeouts: Timeouts) -> Option<Client> {
    Client::new(name, Some(endpoint), auth, timeouts, Retries::CONTROL).ok()
}

/// The Logs Ingestion API client of the Sentinel settings, when set; a call's tries end with the
/// drain's run.
fn ingestion_client(
    config: &Config,
    credential: Option<Arc<dyn TokenCredential>>,
) -> Option<Arc<dyn LogsIngestion>> {
    let s = config.sentinel.as_ref()?;
    let auth = bearer(credential, s.scope());
    let http = client("Logs Ingestion", &s.endpoint, auth, MONITORING)?;
    let client = IngestionClient::new(http, s.endpoint.clone(), &s.dcr);
    Some(Arc::new(client))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The token is asked for the audience of the configured endpoint's cloud, not the public
    /// cloud's whatever the endpoint.
    #[test]
    fn the_logs_client_asks_tokens_for_its_endpoints_cloud() {
        for (endpoint, scope) in [
            (
                "https://api.loganalytics.us",
                "https://api.loganalytics.us/.default",
            ),
            (
                "https://api.loganalytics.azure.cn",
                "https://api.loganalytics.azure.cn/.default",
            ),
            (
                "https://api.loganalytics.azure.com",
                "https://api.loganalytics.io/.default",
            ),
        ] {
            let config = crate::testkit::state::config(&[
                (
                    "AUDITLOGS_WORKSPACES",
                    "a1b2c3d4-0000-4000-8000-000000000001",
                ),
                ("LOGANALYTICS_ENDPOINT", endpoint),
            ])
            .expect("config");
            let identity = |k: &str| (k == "X__accountName").then(|| "a".to_owned());
            let conn = StorageConnection::resolve("X", &identity)
                .expect("ok")
                .expect("set");
            let credential = crate::azure::identity::credential(&conn).ok();
            let client = logs_client(&config, credential).expect("a client");
            let shown = format!("{client:?}");
            assert!(
                shown.contains(&format!("scope: \"{scope}\"")),
                "{endpoint}: {shown}"
            );
        }
    }
}
