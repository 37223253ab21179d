//! The test kit: the ports' test doubles and the one kit of the component tests. Unit tests in
//! `src/` compile this source as `crate::testkit`; `tests/`, `benches/` and `examples/` use it as
//! the `bastion-testkit` crate (the same paths without `testkit::`). It reaches the product only
//! through its public API, written `bastion_recordings::…`.
//!
//! The doubles: [`tables`] and [`storage`] (in-memory fakes, intercepting and counting
//! decorators, over the one [`intercept`] decorator), [`loganalytics`] and [`ingestion`]
//! (loopback fakes of the Logs Query and Logs Ingestion APIs), [`arm`] (a Resource Manager fake),
//! [`clock`] (a pinned clock), [`mod@state`] (the configuration of a state over in-memory seams,
//! the `handler-in-memory` binary's state, the clients a test replaces).
//!
//! The component tests' kit: the ports over in-memory seams without configuration
//! ([`ports`]), state over them ([`state()`], [`fakes`]),
//! invocation builders, failing and answer-losing tables, and the domains built as the entry points
//! build them ([`Domains`]); [`audit`], [`tail`] and [`retention`] add their areas' fixtures over the
//! same builder, [`blobs`], [`files`] and [`maps`] uploaded blobs, the recorded fixture files and
//! string maps written as pairs.
//! `tests/e2e/layers.rs` checks it names nothing of the product above the state layer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

pub mod arm;
pub mod audit;
pub mod blobs;
pub mod clock;
pub mod estate;
pub mod files;
mod hooked;
pub mod ingestion;
pub mod intercept;
pub mod loganalytics;
pub mod maps;
pub mod retention;
pub mod state;
pub mod storage;
pub mod tables;
pub mod tail;

use std::sync::Arc;

use axum::body::Bytes;
use serde_json::{Value, json};
use time::macros::datetime;

use crate::testkit::clock::FixedClock;
use crate::testkit::storage::memory::InMemoryBlobStore;
use crate::testkit::tables::intercept::{BeforeTableCall, Intercepted, TableCall};
use crate::testkit::tables::memory::InMemoryTables;
use bastion_recordings::azure::AzureError;
use bastion_recordings::catalogue::policy::Policy;
use bastion_recordings::clock::Clock;
use bastion_recordings::invocation::{Invocation, InvokeRequest};
use bastion_recordings::permissions::Operation;
use bastion_recordings::sources::{Source, Sources};
use bastion_recordings::state::AppState;
use bastion_recordings::storage::BlobStore;
use bastion_recordings::tables::TableStore;

/// In-memory seams, kept typed so tests can inspect them.
pub struct Fakes {
    pub state: AppState,
    pub blobs: Arc<InMemoryBlobStore>,
    pub tables: Arc<InMemoryTables>,
}

/// State over in-memory stores for account `acct`, fixed clock, built-in policy.
pub fn fakes() -> Fakes {
    fakes_over(
        InMemoryBlobStore::new("acct"),
        datetime!(2025-03-14 10:00 UTC),
    )
}

/// State over `blobs` (for every blob connection) and fresh in-memory tables, the clock fixed at
/// `now`, built-in policy.
pub fn fakes_over(blobs: InMemoryBlobStore, now: time::OffsetDateTime) -> Fakes {
    let blobs = Arc::new(blobs);
    let tables = Arc::new(InMemoryTables::new());
    Fakes {
        state: state_over(blobs.clone(), tables.clone(), now),
        blobs,
        tables,
    }
}

/// State over `blobs` (for every blob connection) and `tables` (a decorated store, e.g. one that
/// counts), the clock fixed at `now`, built-in policy.
pub fn state_over(
    blobs: Arc<InMemoryBlobStore>,
    tables: Arc<dyn TableStore>,
    now: time::OffsetDateTime,
) -> AppState {
    state(
        blobs,
        tables,
        Arc::new(FixedClock::new(now)),
        Policy::builtin(),
        &[],
    )
}

/// The default sources (the first of each list), which tests name most.
pub trait DefaultSources {
    /// The default recording source.
    fn default_recordings(&self) -> &Source;
    /// The default audit-log source.
    fn default_audit_logs(&self) -> &Source;
}

impl DefaultSources for Sources {
    fn default_recordings(&self) -> &Source {
        &self.recordings()[0]
    }

    fn default_audit_logs(&self) -> &Source {
        &self.audit_logs()[0]
    }
}

/// The ports over `blobs` (one recordings and one audit-log container, under the default names)
/// and `tables`, with `clock`: what a domain test needs, without configuration.
pub fn ports(
    blobs: Arc<dyn BlobStore>,
    tables: Arc<dyn TableStore>,
    clock: Arc<dyn Clock>,
) -> bastion_recordings::ports::Ports {
    let source = |container| bastion_recordings::sources::Source::new(blobs.clone(), container);
    bastion_recordings::ports::Ports {
        tables,
        sources: Arc::new(bastion_recordings::sources::Sources::single(
            source("recordings"),
            source("insights-logs-bastionauditlogs"),
        )),
        clock,
        outbox: bastion_recordings::export::Outbox::off(),
    }
}

/// State over `blobs` (every blob connection) and `tables`, with `clock`, `policy` and the
/// in-memory configuration with `env` set: the builder every kit uses.
pub fn state(
    blobs: Arc<dyn BlobStore>,
    tables: Arc<dyn TableStore>,
    clock: Arc<dyn Clock>,
    policy: Policy,
    env: &[(&str, &str)],
) -> AppState {
    // The kits' recordings are a few bytes, not videos: only an empty blob is too small to vouch
    // for a session here unless a test sets the minimum.
    let mut env = env.to_vec();
    if !env.iter().any(|(k, _)| *k == "RECORDING_MIN_BYTES") {
        env.push(("RECORDING_MIN_BYTES", "1"));
    }
    let config = crate::testkit::state::config(&env).expect("config");
    AppState::assemble(
        config,
        policy,
        crate::testkit::state::stores(blobs, tables),
        clock,
    )
}

/// A BlobCreated event (Event Grid schema) for `container/blob` in account `acct`.
pub fn blob_created(container: &str, blob: &str, sequencer: &str) -> Value {
    json!({
        "topic": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct",
        "subject": format!("/blobServices/default/containers/{container}/blobs/{blob}"),
        "eventType": "Microsoft.Storage.BlobCreated",
        "eventTime": "2025-03-14T09:42:17.1234567Z",
        "id": format!("evt-{sequencer}"),
        "data": {"api": "PutBlockList", "eTag": "0x1", "contentLength": 4, "blobType": "BlockBlob",
                 "url": format!("https://acct.blob.core.windows.net/{container}/{blob}"), "sequencer": sequencer},
        "dataVersion": "", "metadataVersion": "1"
    })
}

/// Upserts `row` (a JSON object carrying its keys) into `table`, creating the table.
pub async fn upsert(tables: &dyn TableStore, table: &str, row: Value) {
    let Value::Object(entity) = row else {
        panic!("not an object: {row}")
    };
    bastion_recordings::tables::ops::write_creating_table(
        tables,
        table,
        &entity,
        bastion_recordings::tables::WriteMode::Upsert,
    )
    .await
    .expect("upsert");
}

/// An invocation `id` of `function` whose envelope (`{"Data": …, "Metadata": …}`) is `body`.
pub fn invocation(function: &'static str, id: &str, body: &Value) -> Invocation {
    let raw = Bytes::from(body.to_string());
    Invocation {
        function,
        id: id.into(),
        host_version: None,
        request: InvokeRequest::parse(&raw).expect("envelope"),
        raw,
    }
}

/// An Event Grid invocation carrying `event`.
pub fn event_invocation(function: &'static str, event: Value) -> Invocation {
    let body = json!({"Data": {"eventGridEvent": event}, "Metadata": {"sys": {"MethodName": function, "UtcNow": "2025-03-14T10:00:00.0000000Z"}}});
    invocation(function, "inv-1", &body)
}

/// A timer invocation `id` of `function` whose host clock (`sys.UtcNow`) reads `now`.
pub fn timer_invocation(function: &'static str, id: &str, now: &str) -> Invocation {
    let body = json!({"Data": {"timer": {"Schedule": {"AdjustForDST": true}, "IsPastDue": false}},
        "Metadata": {"sys": {"MethodName": function, "UtcNow": now}}});
    invocation(function, id, &body)
}

/// The error of the failed call `r` and its texts (`Display`, then `Debug`), checked to show no
/// SAS signature.
pub fn failure_without_sas<T: std::fmt::Debug, E: std::fmt::Display + std::fmt::Debug>(
    r: Result<T, E>,
) -> (E, String) {
    let e = r.expect_err("must fail");
    let text = format!("{e} {e:?}");
    assert!(
        !text.contains("sig=") || text.contains("sig=REDACTED"),
        "{text}"
    );
    (e, text)
}

/// Makes every call fail with a transient error whose text carries a fake secret.
pub struct AlwaysDown;

#[async_trait::async_trait]
impl BeforeTableCall for AlwaysDown {
    async fn before(&self, _: TableCall<'_>) -> Result<(), AzureError> {
        Err(tables_down())
    }
}

/// Tables that always fail with [`tables_down`].
pub fn down_tables() -> impl TableStore {
    Intercepted::with(InMemoryTables::new(), AlwaysDown)
}

/// The error [`down_tables`] returns.
pub fn tables_down() -> AzureError {
    AzureError::Transient("connect to https://acct.table.core.windows.net?sig=SECRET failed".into())
}

/// Tables whose next `Insert` into one table is committed and then answered with `answer`: the
/// connection dropped after the service stored the entity (`Transient`), or the client's own retry
/// of it met the stored entity (`Conflict`).
pub type LostAnswer = Intercepted<Arc<dyn TableStore>, Loses>;

/// The hook of [`LostAnswer`]: which operation on which table loses its answer, once.
pub struct Loses {
    table: &'static str,
    answer: fn() -> AzureError,
    armed: std::sync::atomic::AtomicBool,
    operation: Operation,
}

impl LostAnswer {
    pub fn new(
        inner: Arc<dyn TableStore>,
        table: &'static str,
        answer: fn() -> AzureError,
    ) -> Self {
        Self::with(inner, Loses::new(table, answer, Operation::InsertEntity))
    }

    /// The same for the next conditional replace (`IfMatch`) instead of an insert.
    pub fn on_replace(self) -> Self {
        let Loses { table, answer, .. } = *self.hook();
        Self::with(
            self.inner().clone(),
            Loses::new(table, answer, Operation::UpdateEntity),
        )
    }
}

impl Loses {
    fn new(table: &'static str, answer: fn() -> AzureError, operation: Operation) -> Self {
        let armed = std::sync::atomic::AtomicBool::new(true);
        Self {
            table,
            answer,
            armed,
            operation,
        }
    }
}

#[async_trait::async_trait]
impl BeforeTableCall for Loses {
    fn after(&self, call: TableCall<'_>) -> Result<(), AzureError> {
        if call.operations().contains(&self.operation)
            && call.table().ends_with(self.table)
            && self.armed.swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Err((self.answer)());
        }
        Ok(())
    }
}

/// Fakes whose first insert into `table` loses its answer as `answer`.
pub fn fakes_losing(table: &'static str, answer: fn() -> AzureError) -> Fakes {
    let mut f = fakes();
    f.state = losing(&f.state, LostAnswer::new(f.tables.clone(), table, answer));
    f
}

/// `state` with its tables behind `lossy` (same stores, settings, policy and clock).
pub fn losing(state: &AppState, lossy: LostAnswer) -> AppState {
    let mut state = state.clone();
    state.ports.tables = Arc::new(lossy);
    state.endings = Arc::default();
    state
}

/// A loopback address that accepts connections and never answers (a frozen service), and how
/// many connections it accepted. Lives as long as the test's runtime.
pub async fn frozen_service() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(sock);
        }
    });
    (format!("http://{addr}/devstoreaccount1"), accepted)
}

/// A loopback HTTP server answering `responses` in order, one per connection, and the first line
/// of each request it read (a scripted storage service).
pub async fn scripted_service(
    responses: Vec<String>,
) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        for response in responses {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = vec![0u8; 16 * 1024];
            let n = sock.read(&mut buf).await.unwrap_or(0);
            let text = String::from_utf8_lossy(&buf[..n]);
            let line = text.lines().next().unwrap_or_default().to_owned();
            log.lock().expect("log").push(line);
            let _ = sock.write_all(response.as_bytes()).await;
            let _ = sock.shutdown().await;
        }
    });
    (format!("http://{addr}/devstoreaccount1"), seen)
}

/// The address of a loopback port nothing listens on (an unreachable service).
pub fn closed_service() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    format!("http://127.0.0.1:{port}/devstoreaccount1")
}

/// A key-based connection to the development account whose every endpoint is `url` (a loopback
/// service), under `timeouts`.
pub fn loopback_connection(
    url: &str,
    timeouts: bastion_recordings::azure::Timeouts,
) -> bastion_recordings::azure::connection::StorageConnection {
    use bastion_recordings::azure::connection::{DEV_KEY, Secret, StorageAuth, StorageConnection};
    let url = url::Url::parse(url).expect("url");
    StorageConnection {
        setting: "LOOPBACK_STORAGE".into(),
        account: "devstoreaccount1".into(),
        blob: url.clone(),
        queue: url.clone(),
        table: url,
        auth: StorageAuth::Key(Secret::new(DEV_KEY)),
        timeouts,
    }
}

/// Short timeouts for tests of what happens when they pass.
pub fn short_timeouts() -> bastion_recordings::azure::Timeouts {
    bastion_recordings::azure::Timeouts {
        per_try: std::time::Duration::from_millis(200),
        total: std::time::Duration::from_millis(700),
    }
}

/// The domains built from a state as the entry points build them, for component tests.
pub trait Domains {
    fn recordings(&self) -> bastion_recordings::recordings::Recordings;
    fn sweeper(&self) -> bastion_recordings::retention::sweep::Sweeper;
    fn join(&self) -> bastion_recordings::join::Join;
    fn tailer(&self) -> bastion_recordings::audit_logs::tail::Tailer;
    fn stalled(&self) -> bastion_recordings::audit_logs::detect::stalled::Stalled;
    fn health(&self) -> bastion_recordings::health::report::Health;
}

impl Domains for AppState {
    fn recordings(&self) -> bastion_recordings::recordings::Recordings {
        bastion_recordings::state::recordings(self)
    }

    fn sweeper(&self) -> bastion_recordings::retention::sweep::Sweeper {
        bastion_recordings::state::sweeper(self)
    }

    fn join(&self) -> bastion_recordings::join::Join {
        bastion_recordings::state::join(self)
    }

    fn tailer(&self) -> bastion_recordings::audit_logs::tail::Tailer {
        bastion_recordings::state::tailer(self)
    }

    fn stalled(&self) -> bastion_recordings::audit_logs::detect::stalled::Stalled {
        bastion_recordings::state::stalled(self)
    }

    fn health(&self) -> bastion_recordings::health::report::Health {
        bastion_recordings::state::health(self)
    }
}
