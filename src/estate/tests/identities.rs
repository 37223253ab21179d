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
use crate::tables::TableStore;
use crate::testkit::tables::intercept::{BeforeTableCall, Intercepted, TableCall};
use crate::testkit::tables::memory::InMemoryTables;

const PRINCIPAL: &str = "0b5e0000-0000-4000-8000-000000000001";

#[tokio::test]
async fn three_hosts_on_one_container_cost_one_listing_query_per_check() {
    let f = crate::testkit::fakes();
    let ports = &f.state.ports;
    // Every host records into the watched container with its system-assigned identity.
    let arm = recording_here();
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
    crate::testkit::estate::run(ports, &arm, &settings, &sinks, window, now).await;
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
    crate::testkit::estate::run(ports, &arm, &two, &sinks, window, later).await;
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

/// Every host records into the watched container with its system-assigned identity.
fn recording_here() -> Canned {
    Canned {
        host: Some(json!({
            "identity": {"type": "SystemAssigned", "principalId": PRINCIPAL},
            "properties": {"enableSessionRecording": true, "sessionRecordingConfiguration": {
                "blobContainerUri": "https://acct.blob.core.windows.net/recordings",
                "identity": {"type": "SystemAssigned"}}}
        })),
        ..Canned::default()
    }
}

/// Refuses the next `failing` writes (or transactions) to `recordingidentities` with a transient
/// fault; the writes after them go through.
#[derive(Default)]
struct IdentityWritesFail {
    failing: AtomicUsize,
}

#[async_trait]
impl BeforeTableCall for IdentityWritesFail {
    async fn before(&self, call: TableCall<'_>) -> Result<(), AzureError> {
        let (TableCall::Write(table, ..) | TableCall::Batch(table, _)) = call else {
            return Ok(());
        };
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

#[tokio::test]
async fn a_host_whose_identity_was_not_stored_or_not_read_keeps_its_history_open() {
    let f = crate::testkit::fakes();
    let tables = Arc::new(Intercepted::with(
        f.tables.clone(),
        IdentityWritesFail::default(),
    ));
    let mut ports = f.state.ports.clone();
    let shared: Arc<dyn TableStore> = tables.clone();
    ports.tables = shared;
    let ports = &ports;
    let arm = recording_here();
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
    crate::testkit::estate::run(ports, &arm, &settings, &sinks, window, check(0)).await;
    // The host is read, the write of its identity fails (once; the table answers again at
    // once): its run stays open, not closed.
    tables.hook().failing.store(1, Ordering::SeqCst);
    crate::testkit::estate::run(ports, &arm, &settings, &sinks, window, check(1)).await;
    assert_eq!(
        tables.hook().failing.load(Ordering::SeqCst),
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
    crate::testkit::estate::run(ports, &unread, &settings, &sinks, window, check(2)).await;
    assert_eq!(at(&f.tables, between).await.provisional, [PRINCIPAL]);
    // The next check reads the same identity: the whole time since the first is covered.
    crate::testkit::estate::run(ports, &arm, &settings, &sinks, window, check(3)).await;
    let covered = at(&f.tables, between).await;
    assert_eq!(covered.principals, [PRINCIPAL], "no gap: {covered:?}");
    assert!(covered.unobserved_hosts.is_empty() && !covered.pending);
}

/// Who records into the watched container at `t`, as stored.
async fn at(tables: &InMemoryTables, t: time::OffsetDateTime) -> identity::Identities {
    let observed = identity::of(tables, "acct", "recordings").await;
    observed.expect("identities").at(Some(t))
}

#[tokio::test]
async fn a_hosts_unit_closes_its_own_identity_alone() {
    let f = crate::testkit::fakes();
    let ports = &f.state.ports;
    let b = |i: u8| {
        format!("/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/bastionHosts/b{i}")
    };
    let settings = settings_of(&[b(1), b(2)]);
    let window = crate::estate::trail::Window {
        silence: time::Duration::hours(24),
        wait: time::Duration::minutes(120),
    };
    let sinks = crate::estate::check::sinks(ports, &[], None);
    let t0 = datetime!(2025-03-14 10:00 UTC);
    let t1 = t0 + time::Duration::minutes(15);
    let t2 = t1 + time::Duration::minutes(15);
    crate::testkit::estate::run(ports, &recording_here(), &settings, &sinks, window, t0).await;
    // Both hosts now record into another container; b1's unit runs first.
    let mut elsewhere = recording_here();
    if let Some(h) = elsewhere.host.as_mut() {
        h["properties"]["sessionRecordingConfiguration"]["blobContainerUri"] =
            json!("https://other.blob.core.windows.net/recordings");
    }
    let unit = |host: String, t| {
        let e = &elsewhere;
        let s = &settings;
        let k = &sinks;
        async move {
            let shared = crate::estate::shared::Reads::default();
            let arm = (e as &dyn crate::arm::ResourceManager, &shared);
            crate::estate::check::host(ports, arm, s, &host, k, window, t).await
        }
    };
    let r = unit(b(1), t1).await;
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    let after = at(&f.tables, t1 + time::Duration::minutes(5)).await;
    assert_eq!(
        after.unknown_hosts,
        [b(2).to_ascii_lowercase()],
        "b1 left the container, b2 (not read yet this period) still open: {after:?}"
    );
    assert_eq!(
        after.provisional,
        [PRINCIPAL],
        "b2's identity still vouches"
    );
    // b2's unit, on its own: now it leaves too.
    unit(b(2), t2).await;
    let after = at(&f.tables, t2 + time::Duration::minutes(5)).await;
    assert!(
        after.unknown_hosts.is_empty() && after.provisional.is_empty(),
        "{after:?}"
    );
}
