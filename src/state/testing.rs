//! What tests, benchmarks and the demo build a state with (`test-support` only, never in the
//! release build): explicit seams ([`Stores`], [`AppState::assemble`]), the in-memory stores of
//! `HANDLER_IN_MEMORY`, and the clients a test replaces.

use std::sync::Arc;

use super::{AppState, Built, directory, ingestion_client, logs_client, source};
use crate::catalogue::policy::Policy;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, SourceSpec, Storage};
use crate::export::Outbox;
use crate::ingestion::LogsIngestion;
use crate::loganalytics::LogsQuery;
use crate::notify::{Notifier, config::NotifyConfig};
use crate::sources::{Source, Sources};
use crate::storage::BlobStore;
use crate::storage::links::{self, Links};
use crate::storage::testing::memory::InMemoryBlobStore;
use crate::tables::TableStore;
use crate::tables::testing::memory::InMemoryTables;

/// The blob seams a state is assembled from (test support).
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

impl Stores {
    /// Every blob seam is `blobs`.
    pub fn one(blobs: Arc<dyn BlobStore>, tables: Arc<dyn TableStore>) -> Self {
        Self {
            recordings: blobs.clone(),
            audit_logs: blobs.clone(),
            app_blobs: blobs,
            tables,
        }
    }
}

impl AppState {
    /// In-memory seams (one account named after `HANDLER_IN_MEMORY_ACCOUNT`, default `devstoreaccount1`).
    pub(super) fn in_memory(config: Config, policy: Policy) -> Self {
        let account = config.in_memory_account.clone();
        // No yield per store call: this mode serves benchmarks and demos, not race tests.
        let blobs: Arc<dyn BlobStore> =
            Arc::new(InMemoryBlobStore::new(account).without_interleaving());
        let tables = Arc::new(InMemoryTables::new().without_interleaving());
        Self::assemble(
            config,
            policy,
            Stores::one(blobs, tables),
            Arc::new(SystemClock),
        )
    }

    /// Assembles state from explicit seams (component tests, benchmarks, tools): every recording
    /// source of the configuration is reached through `stores.recordings`, every audit-log source
    /// through `stores.audit_logs`. The one constructor besides [`from_config`](Self::from_config).
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
            logs: logs_client(&config, None).map(|c| Arc::new(c) as _),
            directory: directory(&config, None),
            ingestion: ingestion_client(&config, None),
        };
        Self::build(config, policy, seams, clock)
    }

    /// Replaces the Resource Manager client (tests bring a fake).
    #[must_use]
    pub fn with_arm(mut self, arm: Arc<dyn crate::arm::ResourceManager>) -> Self {
        self.arm = Some(arm);
        self
    }

    /// Replaces the Logs Query API client (tests and benchmarks: a fake or a counting decorator).
    #[must_use]
    pub fn with_logs(mut self, logs: Arc<dyn LogsQuery>) -> Self {
        self.logs = Some(logs);
        self
    }

    /// Replaces the Logs Ingestion API client (tests and benchmarks: a counting decorator) and
    /// turns the outbox on.
    #[must_use]
    pub fn with_ingestion(mut self, ingestion: Arc<dyn LogsIngestion>) -> Self {
        self.ingestion = Some(ingestion);
        self.ports.outbox = Outbox::on(self.ports.tables.clone(), self.ports.clock.clone());
        self
    }

    /// Replaces the notification settings (no destinations by default).
    #[must_use]
    pub fn with_notify(mut self, config: NotifyConfig) -> Self {
        self.notifier = Arc::new(Notifier::new(config));
        self
    }

    /// Seeds synthetic recordings (`HANDLER_IN_MEMORY_SEED`, see
    /// [`seed`](crate::storage::testing::memory::seed)); ignored unless storage is in memory. Returns how
    /// many blobs could not be put.
    pub async fn seed_in_memory(&self, spec: &str) -> usize {
        if self.config.storage != Storage::InMemory {
            return 0;
        }
        let source = self.ports.sources.default_recordings();
        crate::storage::testing::memory::seed(source.store.as_ref(), &source.container, spec).await
    }
}
