//! The estate check records each host's recording identity and judges the writes waiting for it
//! again once per watched container, not once per host; a host whose read, or the write of its
//! identity, fails keeps its history open, so the next check covers the time between.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use serde_json::json;
use time::macros::datetime;

use super::Canned;
use crate::azure::AzureError;
use crate::catalogue::identity;
use crate::tables::memory::InMemoryTables;
use crate::tables::{Entity, Filter, QueryPage, Stored, TableStore, WriteMode};

const PRINCIPAL: &str = "0b5e0000-0000-4000-8000-000000000001";

#[tokio::test]
async fn three_hosts_on_one_container_cost_one_listing_query_per_check() {
    let f = crate::testkit::fakes();
    let ports = &f.state.ports;
    // Every host records into the watched container with its system-assigned identity.
    let arm = Canned {
        host: Some(json!({
            "identity": {"type": "SystemAssigned", "principalId": PRINCIPAL},
            "properties": {"enableSessionRecording": true, "sessionRecordingConfiguration": {
                "blobContainerUri": "https://acct.blob.core.windows.net/recordings",
                "identity": {"type": "SystemAssigned"}}}
        })),
        ..Canned::default()
    };
    let hosts: Vec<String> = (1..=3)
        .map(|i| {
            format!(
                "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/bastionHosts/b{i}"
            )
        })
        .collect();
    let window = crate::estate::trail::Window {
        silence: time::Duration::hours(24),
        wait: time::Duration::minutes(120),
    };
    let sinks = crate::estate::check::sinks(ports, &[], None);
    let now = datetime!(2025-03-14 10:00 UTC);
    let settings = crate::estate::settings::EstateSettings::of_hosts(hosts.clone());
    let before = f.tables.queries(crate::catalogue::rejudge::TABLE);
    crate::estate::check::run(ports, &arm, &settings, &sinks, window, now).await;
    assert_eq!(
        f.tables.queries(crate::catalogue::rejudge::TABLE) - before,
        1,
        "one listing query for the container, not one per host"
    );
    let observed = identity::of(f.tables.as_ref(), "acct", "recordings")
        .await
        .expect("identities");
    let at = observed.at(Some(now));
    assert_eq!(at.principals, [PRINCIPAL]);
    assert!(!at.unknown, "{at:?}");
    // A host dropped from the configuration stops counting from the next check on.
    let later = now + time::Duration::minutes(15);
    let two = settings_of(&hosts[..2]);
    crate::estate::check::run(ports, &arm, &two, &sinks, window, later).await;
    let observed = identity::of(f.tables.as_ref(), "acct", "recordings")
        .await
        .expect("identities");
    let after = observed.at(Some(later + time::Duration::minutes(5)));
    assert_eq!(
        after.unknown_hosts.len(),
        2,
        "b3 no longer writes here: {after:?}"
    );
}

fn settings_of(hosts: &[String]) -> crate::estate::settings::EstateSettings {
    crate::estate::settings::EstateSettings::of_hosts(hosts.to_vec())
}

/// The in-memory tables, whose next `failing` writes to `recordingidentities` fail (a transient
/// fault); the writes after them succeed.
struct IdentityWritesFail {
    inner: Arc<InMemoryTables>,
    failing: AtomicUsize,
}

impl IdentityWritesFail {
    fn refused(&self, table: &str) -> Result<(), AzureError> {
        let take = |n: usize| n.checked_sub(1);
        if table == identity::TABLE
            && self
                .failing
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, take)
                .is_ok()
        {
            return Err(AzureError::Transient("503 ServerBusy".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl TableStore for IdentityWritesFail {
    async fn ensure_table(&self, table: &str) -> Result<(), AzureError> {
        self.inner.ensure_table(table).await
    }
    async fn get(&self, table: &str, pk: &str, rk: &str) -> Result<Option<Stored>, AzureError> {
        self.inner.get(table, pk, rk).await
    }
    async fn write(&self, table: &str, e: &Entity, mode: WriteMode) -> Result<String, AzureError> {
        self.refused(table)?;
        self.inner.write(table, e, mode).await
    }
    async fn delete(
        &self,
        table: &str,
        pk: &str,
        rk: &str,
        etag: Option<&str>,
    ) -> Result<(), AzureError> {
        self.inner.delete(table, pk, rk, etag).await
    }
    async fn list_tables(&self, prefix: &str) -> Result<Vec<String>, AzureError> {
        self.inner.list_tables(prefix).await
    }
    async fn delete_table(&self, table: &str) -> Result<(), AzureError> {
        self.inner.delete_table(table).await
    }
    async fn query(
        &self,
        table: &str,
        filter: Option<&Filter>,
        top: Option<u32>,
        continuation: Option<String>,
    ) -> Result<QueryPage, AzureError> {
        self.inner.query(table, filter, top, continuation).await
    }
    async fn batch(
        &self,
        table: &str,
        writes: &[(Entity, WriteMode)],
    ) -> Result<Vec<String>, AzureError> {
        self.refused(table)?;
        self.inner.batch(table, writes).await
    }
}

#[tokio::test]
async fn a_host_whose_identity_was_not_stored_or_not_read_keeps_its_history_open() {
    let f = crate::testkit::fakes();
    let tables = Arc::new(IdentityWritesFail {
        inner: f.tables.clone(),
        failing: AtomicUsize::new(0),
    });
    let mut ports = f.state.ports.clone();
    let shared: Arc<dyn TableStore> = tables.clone();
    ports.tables = shared;
    let ports = &ports;
    let arm = Canned {
        host: Some(json!({
            "identity": {"type": "SystemAssigned", "principalId": PRINCIPAL},
            "properties": {"enableSessionRecording": true, "sessionRecordingConfiguration": {
                "blobContainerUri": "https://acct.blob.core.windows.net/recordings",
                "identity": {"type": "SystemAssigned"}}}
        })),
        ..Canned::default()
    };
    // The host's read fails (`host: None`).
    let unread = Canned::default();
    let host = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/bastionHosts/b1";
    let settings = settings_of(&[host.to_owned()]);
    let window = crate::estate::trail::Window {
        silence: time::Duration::hours(24),
        wait: time::Duration::minutes(120),
    };
    let sinks = crate::estate::check::sinks(ports, &[], None);
    let t0 = datetime!(2025-03-14 10:00 UTC);
    let check = |n: i64| t0 + time::Duration::minutes(15 * n);
    let between = t0 + time::Duration::minutes(20);
    crate::estate::check::run(ports, &arm, &settings, &sinks, window, check(0)).await;
    // The host is read, the write of its identity fails (once; the table answers again at
    // once): its run stays open, not closed.
    tables.failing.store(1, Ordering::SeqCst);
    crate::estate::check::run(ports, &arm, &settings, &sinks, window, check(1)).await;
    assert_eq!(
        tables.failing.load(Ordering::SeqCst),
        0,
        "the write was tried"
    );
    let open = at(&f.tables, between).await;
    assert_eq!(
        open.provisional,
        [PRINCIPAL],
        "still recording here: {open:?}"
    );
    assert_eq!(open.unknown_hosts, [host.to_ascii_lowercase()]);
    // The host's read fails: the same.
    crate::estate::check::run(ports, &unread, &settings, &sinks, window, check(2)).await;
    assert_eq!(at(&f.tables, between).await.provisional, [PRINCIPAL]);
    // The next check reads the same identity: the whole time since the first is covered.
    crate::estate::check::run(ports, &arm, &settings, &sinks, window, check(3)).await;
    let covered = at(&f.tables, between).await;
    assert_eq!(covered.principals, [PRINCIPAL], "no gap: {covered:?}");
    assert!(covered.unobserved_hosts.is_empty() && !covered.pending);
}

/// Who records into the watched container at `t`, as stored.
async fn at(tables: &InMemoryTables, t: time::OffsetDateTime) -> identity::Identities {
    let observed = identity::of(tables, "acct", "recordings").await;
    observed.expect("identities").at(Some(t))
}
