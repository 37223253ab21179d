//! What the functions did to storage and Resource Manager, as (connection, resource, operation) →
//! functions.
//!
//! Every seam of the app state is wrapped: the three blob stores (the kit's `storage::intercept`), the
//! tables (`tables::intercept`), the poison-queue depth reader and the download-link issuer. Each
//! call is mapped to its REST operations by `permissions` and filed under the function
//! running at the time ([`Ledger::run_as`]). Queue messages the host moves for the app's bindings
//! are added from `functions/*/function.json` ([`Ledger::bindings`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bastion_recordings::azure::AzureError;
use bastion_recordings::health::queues::QueueDepth;
use bastion_recordings::ingestion::LogsIngestion;
use bastion_recordings::loganalytics::{Answer, LogsQuery};
use bastion_recordings::permissions::Operation;
use bastion_recordings::storage::BlobRef;
use bastion_recordings::storage::links::{Link, LinkIssuer};
use bastion_testkit::loganalytics::FakeLogs;
use bastion_testkit::storage::intercept::{BeforeCall, Call};
use bastion_testkit::storage::memory::InMemoryBlobStore;
use bastion_testkit::tables::intercept::{BeforeTableCall, TableCall};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

/// The app's own storage connection (tables, queues, quarantine).
pub(super) const APP: &str = "AzureWebJobsStorage";
/// The Bastion recordings connection.
pub(super) const RECORDINGS: &str = "RECORDINGS_STORAGE";
/// The archived audit-log connection.
pub(super) const AUDIT_LOGS: &str = "AUDITLOGS_STORAGE";

/// The Log Analytics workspace sources (`AUDITLOGS_WORKSPACES`, the Logs Query API).
pub(super) const WORKSPACES: &str = "AUDITLOGS_WORKSPACES";

/// The Bastion hosts the estate checks watch (`BASTION_HOSTS`, Resource Manager).
pub(super) const BASTION: &str = "BASTION_HOSTS";

/// The data collection rule rows for Microsoft Sentinel go to (the Logs Ingestion API).
pub(super) const SENTINEL: &str = "SENTINEL_DCR_IMMUTABLE_ID";

/// The test's own writes (Bastion's and Azure Monitor's in production): not recorded.
pub(super) const SETUP: &str = "setup";

/// Where an operation lands inside one storage account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Resource {
    /// The whole account (Get User Delegation Key).
    Account,
    /// One blob container.
    Container(String),
    /// The table service.
    Tables,
    /// One queue.
    Queue(String),
    /// A Log Analytics workspace.
    Workspace,
    /// A Bastion host (Resource Manager).
    BastionHost,
    /// A data collection rule (the Logs Ingestion API).
    DataCollectionRule,
    /// A subscription itself (the Network provider's operation status and result URLs).
    Subscription,
    /// A VM a Bastion session reaches.
    Vm,
    /// Anything under a `BYPASS_SCOPES` subscription (its network lists, its VMs and their
    /// just-in-time policies): granted there by bypass-scopes-access.bicep alone.
    BypassSubscription,
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Account => write!(f, "the account"),
            Self::Container(c) => write!(f, "container {c}"),
            Self::Tables => write!(f, "the table service"),
            Self::Queue(q) => write!(f, "queue {q}"),
            Self::Workspace => write!(f, "the workspace"),
            Self::BastionHost => write!(f, "the host"),
            Self::DataCollectionRule => write!(f, "the data collection rule"),
            Self::Subscription => write!(f, "the subscription"),
            Self::Vm => write!(f, "a session's target VM"),
            Self::BypassSubscription => write!(f, "a BYPASS_SCOPES subscription"),
        }
    }
}

/// (connection, resource) → operation → the functions that performed it.
pub(super) type Seen = BTreeMap<(String, Resource), BTreeMap<Operation, BTreeSet<String>>>;

/// The shared record and the name of the function running now.
#[derive(Clone, Default)]
pub(super) struct Ledger {
    function: Arc<Mutex<String>>,
    seen: Arc<Mutex<Seen>>,
}

impl Ledger {
    /// Files every following call under `function`.
    pub(super) fn run_as(&self, function: &str) {
        *self.function.lock().expect("ledger") = function.to_owned();
    }

    /// Records `op` on `resource` of `connection` for the running function.
    pub(super) fn record(&self, connection: &str, resource: Resource, op: Operation) {
        let function = self.function.lock().expect("ledger").clone();
        if function == SETUP || function.is_empty() {
            return;
        }
        self.record_for(&function, connection, resource, op);
    }

    fn record_for(&self, function: &str, connection: &str, resource: Resource, op: Operation) {
        self.seen
            .lock()
            .expect("ledger")
            .entry((connection.to_owned(), resource))
            .or_default()
            .entry(op)
            .or_default()
            .insert(function.to_owned());
    }

    /// Adds what the host does for `function`'s queue bindings: get and delete for a queue trigger
    /// (and a put to `<queue>-poison` when a message keeps failing), a put per output value.
    pub(super) fn bindings(&self, function: &str, bindings: &[Value], outputs: &Value) {
        for b in bindings {
            let (Some(kind), Some(queue)) = (b["type"].as_str(), b["queueName"].as_str()) else {
                continue;
            };
            let conn = b["connection"].as_str().unwrap_or(APP);
            let q = |name: &str| Resource::Queue(name.to_owned());
            match kind {
                "queueTrigger" => {
                    self.record_for(function, conn, q(queue), Operation::GetMessages);
                    self.record_for(function, conn, q(queue), Operation::DeleteMessage);
                    let poison = format!("{queue}-poison");
                    self.record_for(function, conn, q(&poison), Operation::PutMessage);
                }
                "queue" if !outputs[b["name"].as_str().unwrap_or_default()].is_null() => {
                    self.record_for(function, conn, q(queue), Operation::PutMessage);
                }
                _ => {}
            }
        }
    }

    /// Everything recorded so far.
    pub(super) fn seen(&self) -> Seen {
        self.seen.lock().expect("ledger").clone()
    }
}

/// Records the blob calls on one connection.
pub(super) struct Blobs {
    pub(super) ledger: Ledger,
    pub(super) connection: &'static str,
}

#[async_trait]
impl BeforeCall<InMemoryBlobStore> for Blobs {
    async fn before(&self, call: Call<'_>, _: &InMemoryBlobStore) -> Result<(), AzureError> {
        for op in call.operations() {
            let res = Resource::Container(call.container().to_owned());
            self.ledger.record(self.connection, res, *op);
        }
        Ok(())
    }
}

/// Records the table calls (all on the app connection).
pub(super) struct Tables(pub Ledger);

#[async_trait]
impl BeforeTableCall for Tables {
    async fn before(&self, call: TableCall<'_>) -> Result<(), AzureError> {
        for op in call.operations() {
            self.0.record(APP, Resource::Tables, op);
        }
        Ok(())
    }
}

/// Records the poison-queue depth reads; every queue is empty.
pub(super) struct Queues(pub Ledger);

#[async_trait]
impl QueueDepth for Queues {
    async fn depth(&self, queue: &str) -> Result<u64, AzureError> {
        let res = Resource::Queue(queue.to_owned());
        self.0.record(APP, res, Operation::GetQueueMetadata);
        Ok(0)
    }
}

/// Records a user delegation key request per link (the real issuer caches keys; a first link
/// always needs one) and signs nothing.
pub(super) struct Links(pub Ledger);

#[async_trait]
impl LinkIssuer for Links {
    async fn issue(&self, blob: &BlobRef, now: OffsetDateTime, lifetime: Duration) -> Link {
        self.0.record(
            RECORDINGS,
            Resource::Account,
            Operation::GetUserDelegationKey,
        );
        Link::Issued {
            url: format!("https://example.invalid/{blob}?sig=recorded"),
            expires: now + lifetime,
        }
    }
}

/// A query the functions sent: (function, workspace, query text).
pub(super) type Query = (String, String, String);

/// Records every Logs Query API query (and its text, for the tables it reads), answering from the
/// loopback fake.
pub(super) struct Logs {
    pub(super) ledger: Ledger,
    pub(super) fake: FakeLogs,
    pub(super) queries: Arc<Mutex<Vec<Query>>>,
}

#[async_trait]
impl LogsQuery for Logs {
    async fn query(
        &self,
        workspace: &str,
        query: &str,
        timespan: &str,
        wait: std::time::Duration,
    ) -> Result<Answer, AzureError> {
        self.ledger
            .record(WORKSPACES, Resource::Workspace, Operation::QueryWorkspace);
        let function = self.ledger.function.lock().expect("ledger").clone();
        if function != SETUP && !function.is_empty() {
            let q = (function, workspace.to_owned(), query.to_owned());
            self.queries.lock().expect("queries").push(q);
        }
        self.fake.query(workspace, query, timespan, wait).await
    }
}

/// Records every Logs Ingestion API upload, accepting each (the fake's checks have tests of their own).
pub(super) struct Ingest(pub Ledger);

#[async_trait]
impl LogsIngestion for Ingest {
    async fn upload(
        &self,
        _stream: &str,
        _gzip: &[u8],
        _until: std::time::Instant,
    ) -> Result<(), AzureError> {
        let op = Operation::UploadLogs;
        self.0.record(SENTINEL, Resource::DataCollectionRule, op);
        Ok(())
    }
}
