//! What tests, benchmarks and the demo build a state with: the configuration of a state over
//! in-memory seams ([`config`]), the state of the `handler-in-memory` binary ([`in_memory`], its
//! recordings seeded by [`seed_in_memory`]), and the clients a test replaces ([`Replace`]).

use std::sync::Arc;

use bastion_recordings::clock::SystemClock;
use bastion_recordings::config::{Config, ConfigError};
use bastion_recordings::export::Outbox;
use bastion_recordings::ingestion::LogsIngestion;
use bastion_recordings::loganalytics::LogsQuery;
use bastion_recordings::notify::{Notifier, config::NotifyConfig};
use bastion_recordings::state::{AppState, Stores};
use bastion_recordings::storage::BlobStore;
use bastion_recordings::tables::TableStore;

use crate::testkit::storage::memory::InMemoryBlobStore;
use crate::testkit::tables::memory::InMemoryTables;

/// The account of the connections [`config`] supplies, and of the in-memory stores when
/// `HANDLER_IN_MEMORY_ACCOUNT` is unset.
pub const ACCOUNT: &str = "devstoreaccount1";

/// The source lists whose entries name connection settings.
const LISTS: [&str; 2] = ["RECORDINGS_SOURCES", "AUDITLOGS_SOURCES"];

/// The configuration of a state over in-memory seams, `pairs` set, read by the product's
/// [`Config::from_lookup`]. `AzureWebJobsStorage` and every connection the source lists name are
/// set to an identity connection of [`ACCOUNT`] unless `pairs` sets them: the product requires
/// them, and a state assembled over in-memory stores ([`AppState::assemble`]) never uses them.
///
/// # Errors
/// The product's, for a bad setting in `pairs`.
pub fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    };
    let mut connections = vec!["AzureWebJobsStorage".to_owned()];
    for list in LISTS.into_iter().filter_map(get) {
        connections.extend(list.split(',').map(connection_of));
    }
    // A connection `pairs` sets in any form is left as it is.
    let set = |c: &str| {
        pairs
            .iter()
            .any(|(n, _)| *n == c || n.starts_with(&format!("{c}__")))
    };
    Config::from_lookup(&|k| {
        get(k).or_else(|| {
            let name = k.strip_suffix("__accountName")?;
            (connections.iter().any(|c| c == name) && !set(name)).then(|| ACCOUNT.to_owned())
        })
    })
}

/// The connection setting one source-list entry (`<connection>[:<container>][@<bastion>]`) names.
fn connection_of(entry: &str) -> String {
    let head = entry.split('@').next().unwrap_or_default();
    head.split(':').next().unwrap_or_default().trim().to_owned()
}

/// The `handler-in-memory` binary's state: `config` over one in-memory account named `account`
/// (blobs and tables), the system clock. No yield per store call: this mode serves benchmarks
/// and demos, not race tests.
pub fn in_memory(config: Config, account: &str) -> AppState {
    let blobs: Arc<dyn BlobStore> =
        Arc::new(InMemoryBlobStore::new(account).without_interleaving());
    let tables = Arc::new(InMemoryTables::new().without_interleaving());
    let policy = config.policy.clone();
    AppState::assemble(config, policy, stores(blobs, tables), Arc::new(SystemClock))
}

/// The seams of one account: every blob seam is `blobs`, beside `tables`.
pub fn stores(blobs: Arc<dyn BlobStore>, tables: Arc<dyn TableStore>) -> Stores {
    Stores {
        recordings: blobs.clone(),
        audit_logs: blobs.clone(),
        app_blobs: blobs,
        tables,
    }
}

/// Seeds synthetic recordings into `state`'s default recordings container (`spec`: see
/// [`seed`](crate::testkit::storage::memory::seed)). Returns how many blobs could not be put.
pub async fn seed_in_memory(state: &AppState, spec: &str) -> usize {
    let Some(source) = state.ports.sources.recordings().first() else {
        return 0;
    };
    crate::testkit::storage::memory::seed(source.store.as_ref(), &source.container, spec).await
}

/// The clients a test replaces in a state it built.
pub trait Replace {
    /// Replaces the Resource Manager client (tests bring a fake).
    #[must_use]
    fn with_arm(self, arm: Arc<dyn bastion_recordings::arm::ResourceManager>) -> Self;

    /// Replaces the Logs Query API client (tests and benchmarks: a fake or a counting decorator).
    #[must_use]
    fn with_logs(self, logs: Arc<dyn LogsQuery>) -> Self;

    /// Replaces the Logs Ingestion API client (tests and benchmarks: a counting decorator) and
    /// turns the outbox on.
    #[must_use]
    fn with_ingestion(self, ingestion: Arc<dyn LogsIngestion>) -> Self;

    /// Replaces the notification settings (no destinations by default).
    #[must_use]
    fn with_notify(self, config: NotifyConfig) -> Self;
}

impl Replace for AppState {
    fn with_arm(mut self, arm: Arc<dyn bastion_recordings::arm::ResourceManager>) -> Self {
        self.arm = Some(arm);
        self
    }

    fn with_logs(mut self, logs: Arc<dyn LogsQuery>) -> Self {
        self.logs = Some(logs);
        self
    }

    fn with_ingestion(mut self, ingestion: Arc<dyn LogsIngestion>) -> Self {
        self.ingestion = Some(ingestion);
        self.ports.outbox = Outbox::on(self.ports.tables.clone(), self.ports.clock.clone());
        self
    }

    fn with_notify(mut self, config: NotifyConfig) -> Self {
        self.notifier = Arc::new(Notifier::new(config));
        self
    }
}
