//! Application state (the seams, built from configuration) and the router.
//!
//! Every function is a `POST /<FunctionName>` route running under the shared outcome policy;
//! `GET /` answers the host's readiness and health pings at once.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use crate::audit_logs;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError, Storage};
use crate::invocation::{HasQuarantine, Quarantine, invocation_route};
use crate::notify::{self, Notifier, config::NotifyConfig};
use crate::recordings;
use crate::retention;
use crate::retention::policy::Policy;
use crate::storage::BlobStore;
use crate::storage::azure::AzureBlobStore;
use crate::storage::memory::InMemoryBlobStore;
use crate::tables::TableStore;
use crate::tables::memory::InMemoryTables;
use crate::tables::rest::TableRestClient;

/// Shared state: configuration and seams behind one `Arc`, so a clone is one reference-count
/// increment. (As a struct of a dozen `Arc`s, each invocation's two clones and drops moved a dozen
/// reference counts between the worker threads' caches.) Fields read through `Deref`;
/// assigning one (tests, [`AppState::with_notify`]) copies the seams first if they are shared, so a
/// clone never sees another clone's change, as before.
#[derive(Clone)]
pub struct AppState(Arc<Seams>);

/// The configuration and seams an [`AppState`] shares.
#[derive(Clone)]
pub struct Seams {
    /// Configuration.
    pub config: Arc<Config>,
    /// The recordings account.
    pub recordings: Arc<dyn BlobStore>,
    /// The audit-log account.
    pub audit_logs: Arc<dyn BlobStore>,
    /// The app's own account (quarantine).
    pub app_blobs: Arc<dyn BlobStore>,
    /// The app's tables.
    pub tables: Arc<dyn TableStore>,
    /// Poison quarantine.
    pub quarantine: Quarantine,
    /// Retention policy.
    pub policy: Arc<Policy>,
    /// Clock.
    pub clock: Arc<dyn Clock>,
    /// Notification settings, HTTP client and pacing (NotifyWebhook).
    pub notifier: Arc<Notifier>,
    /// Audit-log tunables (`AUDIT_*` and detection settings).
    pub audit: Arc<crate::audit_logs::AuditSettings>,
    /// This instance's per-function heartbeats (recorded by the invocation route).
    pub heartbeats: Arc<crate::health::Heartbeats>,
    /// Read links for recordings (`CATALOGUE_DOWNLOAD_LINKS`): user-delegation SAS or a reason.
    pub links: Arc<dyn crate::api::links::LinkIssuer>,
    /// Poison-queue depths for the health report.
    pub queues: Arc<dyn crate::health::queues::QueueDepth>,
}

impl std::ops::Deref for AppState {
    type Target = Seams;

    fn deref(&self) -> &Seams {
        &self.0
    }
}

impl std::ops::DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut Seams {
        Arc::make_mut(&mut self.0)
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl HasQuarantine for AppState {
    fn quarantine(&self) -> &Quarantine {
        &self.quarantine
    }

    fn heartbeat(&self, function: &str, outcome: &str) {
        self.heartbeats.record(function, outcome, self.clock.now());
    }
}

impl AppState {
    /// Builds the real seams from configuration.
    ///
    /// # Errors
    /// `ConfigError` when the policy file is unreadable or invalid or a client cannot be built.
    pub fn from_config(config: Config) -> Result<Self, ConfigError> {
        let policy = crate::retention::policy::load(&config)?;
        let err = |e: &dyn std::fmt::Display| ConfigError(vec![e.to_string()]);
        match &config.storage {
            Storage::InMemory => Ok(Self::in_memory(config, policy)),
            Storage::Connected {
                app,
                recordings,
                audit_logs,
            } => {
                let app_blobs: Arc<dyn BlobStore> =
                    Arc::new(AzureBlobStore::new(app).map_err(|e| err(&e))?);
                let rec: Arc<dyn BlobStore> = if recordings == app {
                    app_blobs.clone()
                } else {
                    Arc::new(AzureBlobStore::new(recordings).map_err(|e| err(&e))?)
                };
                let logs: Arc<dyn BlobStore> = if audit_logs == app {
                    app_blobs.clone()
                } else {
                    Arc::new(AzureBlobStore::new(audit_logs).map_err(|e| err(&e))?)
                };
                let tables =
                    Arc::new(TableRestClient::new(app, &config.table_prefix).map_err(|e| err(&e))?);
                Ok(Self::assemble(
                    config,
                    policy,
                    rec,
                    logs,
                    app_blobs,
                    tables,
                    Arc::new(SystemClock),
                ))
            }
        }
    }

    /// In-memory seams (one account named after `HANDLER_IN_MEMORY_ACCOUNT`, default `devstoreaccount1`).
    pub fn in_memory(config: Config, policy: Policy) -> Self {
        let account = config.in_memory_account.clone();
        // No yield per store call: this mode serves benchmarks and demos, not race tests.
        let blobs: Arc<dyn BlobStore> =
            Arc::new(InMemoryBlobStore::new(account).without_interleaving());
        Self::assemble(
            config,
            policy,
            blobs.clone(),
            blobs.clone(),
            blobs,
            Arc::new(InMemoryTables::new().without_interleaving()),
            Arc::new(SystemClock),
        )
    }

    /// Assembles state from explicit seams (component tests).
    pub fn assemble(
        config: Config,
        policy: Policy,
        recordings: Arc<dyn BlobStore>,
        audit_logs: Arc<dyn BlobStore>,
        app_blobs: Arc<dyn BlobStore>,
        tables: Arc<dyn TableStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let quarantine = Quarantine::new(app_blobs.clone(), config.quarantine_container.clone());
        let notifier = Arc::new(Notifier::new(config.notify.clone()));
        let audit = Arc::new(config.audit.clone());
        let heartbeats = Arc::new(crate::health::Heartbeats::new(config.heartbeat_interval));
        let links = crate::api::links::for_storage(&config.storage);
        let queues = crate::health::queues::for_storage(&config.storage);
        Self(Arc::new(Seams {
            config: Arc::new(config),
            recordings,
            audit_logs,
            app_blobs,
            tables,
            quarantine,
            policy: Arc::new(policy),
            clock,
            notifier,
            audit,
            heartbeats,
            links,
            queues,
        }))
    }

    /// State whose every blob seam is `store` and whose tables are `tables`, with the given
    /// containers and defaults otherwise: for benchmarks, tests and tools that bring their own stores.
    ///
    /// # Errors
    /// `ConfigError` for invalid container names.
    pub fn over_stores(
        store: Arc<dyn BlobStore>,
        tables: Arc<dyn TableStore>,
        recordings_container: &str,
        auditlogs_container: &str,
    ) -> Result<Self, ConfigError> {
        let env = [
            ("HANDLER_IN_MEMORY", "true"),
            ("RECORDINGS_CONTAINER", recordings_container),
            ("AUDITLOGS_CONTAINER", auditlogs_container),
        ];
        let config = Config::from_lookup(&|k| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })?;
        Ok(Self::assemble(
            config,
            Policy::builtin(),
            store.clone(),
            store.clone(),
            store,
            tables,
            Arc::new(SystemClock),
        ))
    }

    /// Replaces the notification settings (no destinations by default).
    #[must_use]
    pub fn with_notify(mut self, config: NotifyConfig) -> Self {
        self.notifier = Arc::new(Notifier::new(config));
        self
    }

    /// Seeds synthetic recordings (`HANDLER_IN_MEMORY_SEED`, see
    /// [`seed`](crate::storage::memory::seed)); ignored unless storage is in memory. Returns how
    /// many blobs could not be put.
    pub async fn seed_in_memory(&self, spec: &str) -> usize {
        if self.config.storage != Storage::InMemory {
            return 0;
        }
        let container = &self.config.recordings_container;
        crate::storage::memory::seed(self.recordings.as_ref(), container, spec).await
    }
}

/// The router: readiness plus one route per function.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .route(
            &format!("/{}", recordings::FUNCTION),
            invocation_route(recordings::FUNCTION, recordings::handler::handle),
        )
        .route(
            &format!("/{}", notify::FUNCTION),
            invocation_route(notify::FUNCTION, notify::handler::handle),
        )
        .route(
            &format!("/{}", audit_logs::CREATED_FUNCTION),
            invocation_route(audit_logs::CREATED_FUNCTION, audit_logs::created::handle),
        )
        .route(
            &format!("/{}", audit_logs::TAIL_FUNCTION),
            invocation_route(audit_logs::TAIL_FUNCTION, audit_logs::tail::handle),
        )
        .route(
            &format!("/{}", audit_logs::RECONCILE_FUNCTION),
            invocation_route(
                audit_logs::RECONCILE_FUNCTION,
                audit_logs::reconcile::handle,
            ),
        )
        .route(
            &format!("/{}", retention::sweep::FUNCTION),
            invocation_route(retention::sweep::FUNCTION, retention::handler::handle),
        )
        .route(
            &format!("/{}", crate::integrity::FUNCTION),
            invocation_route(
                crate::integrity::FUNCTION,
                crate::integrity::handler::handle,
            ),
        )
        .with_state(state.clone())
        .merge(crate::integrity::timer::routes(state.clone()))
        .merge(crate::api::routes(state))
}
