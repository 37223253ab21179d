//! Detections under lost answers: a marker whose insert was stored but not acknowledged still gets
//! its digest (or notice, or alert), and once settled it is not emitted again.

use crate::azure::AzureError;
use crate::testkit::DefaultSources;
use crate::testkit::Domains;
use std::sync::Arc;

use time::Duration;
use time::macros::datetime;

use super::failed::{FailedLogin, store};
use super::unchecked::check;
use crate::audit_logs::repo::FAILED_TABLE;
use crate::tables::TableStore;
use crate::testkit::tables::memory::InMemoryTables;
use crate::testkit::{LostAnswer, losing};

async fn burst(tables: &dyn TableStore, n: usize) -> String {
    let mut parts = Vec::new();
    for i in 0..n {
        let f = FailedLogin {
            tunnel_id: format!("t{i}"),
            window: datetime!(2025-03-14 09:30 UTC),
            day: String::new(),
            user: "root".into(),
            client_ip: String::new(),
            vm: "vm9".into(),
            host: String::new(),
        };
        store(tables, &[&f]).await.expect("store");
        parts = f.partitions();
    }
    parts.into_iter().next().expect("a partition")
}

#[tokio::test]
async fn a_lost_marker_answer_still_emits_the_digest_once_settled() {
    let window = Duration::minutes(15);
    for answer in [
        (|| AzureError::Transient("reset".into())) as fn() -> AzureError,
        || AzureError::Conflict,
    ] {
        let memory: Arc<dyn TableStore> = Arc::new(InMemoryTables::new());
        let pk = burst(&*memory, 5).await;
        let lossy: Arc<dyn TableStore> =
            Arc::new(LostAnswer::new(memory.clone(), FAILED_TABLE, answer));
        let first = check(&*lossy, &pk, 5, window).await;
        let digest = match first {
            Ok(Some(n)) => n,
            // The dropped connection fails this check; the partition stays unchecked.
            Err(AzureError::Transient(_)) => check(&*lossy, &pk, 5, window)
                .await
                .expect("checked")
                .expect("the next check emits what the lost answer withheld"),
            other => panic!("{other:?}"),
        };
        assert_eq!(digest.kind.name, "login.failed.burst");
        assert!(
            check(&*lossy, &pk, 5, window)
                .await
                .expect("checked")
                .is_none(),
            "settled: not emitted again"
        );
    }
}

#[tokio::test]
async fn a_lost_answer_to_the_unrecorded_mark_still_notifies() {
    use crate::catalogue::days::DAYS_TABLE;
    use crate::testkit::audit::{NOW, kit};
    use crate::testkit::files::sample_auditlog as fixture;
    use crate::testkit::tail::ticked;
    let k = kit(None);
    k.create_log().await;
    k.register().await;
    k.append(fixture().as_slice()).await;
    ticked(&k.state, NOW).await;
    // The mark is stored, its answer lost; the update's retry then meets it (412).
    let lossy = LostAnswer::new(k.state.ports.tables.clone(), DAYS_TABLE, || {
        AzureError::PreconditionFailed
    })
    .on_replace();
    let state = losing(&k.state, lossy);
    let later = NOW + Duration::minutes(31);
    let r = ticked(&state, later).await;
    let kinds: Vec<&str> = r.findings.iter().map(|n| n.kind.name).collect();
    assert_eq!(
        kinds,
        ["session.unrecorded"],
        "the mark's lost answer must not lose the notice"
    );
    let r = ticked(&state, later + Duration::minutes(5)).await;
    assert!(r.findings.is_empty(), "marked: not notified again");
}

/// The `recordings.stalled` episode mark is stored but its answer lost: the client's retry meets it
/// (409, and the update's re-read sees the episode already marked), or every attempt failed. The
/// alert still leaves, once.
#[tokio::test]
async fn a_lost_answer_to_the_stalled_mark_still_raises_the_alert() {
    use serde_json::json;

    use super::stalled;
    use crate::audit_logs::repo::STATE_TABLE;
    use crate::catalogue::days::DAYS_TABLE;
    use crate::testkit::audit::{NOW, kit};
    let answers: [fn() -> AzureError; 2] = [
        || AzureError::Conflict,
        || AzureError::Transient("reset".into()),
    ];
    for answer in answers {
        let k = kit(None);
        for tunnel in ["t-1", "t-2"] {
            let row = json!({"PartitionKey": "2025-03-14", "RowKey": tunnel, "Outcome": "connected",
                "Start": "2025-03-14T07:00:00.000Z", "End": "2025-03-14T08:00:00.000Z"});
            let serde_json::Value::Object(row) = row else {
                unreachable!()
            };
            crate::tables::ops::write_creating_table(
                k.state.ports.tables.as_ref(),
                DAYS_TABLE,
                &row,
                crate::tables::WriteMode::Upsert,
            )
            .await
            .expect("window");
        }
        let lossy = losing(
            &k.state,
            LostAnswer::new(k.state.ports.tables.clone(), STATE_TABLE, answer),
        );
        let source = k.state.ports.sources.default_recordings();
        let alert = stalled::check(&lossy.stalled(), source, NOW)
            .await
            .expect("checked");
        assert_eq!(
            alert.iter().map(|n| n.kind.name).collect::<Vec<_>>(),
            ["recordings.stalled"],
            "the mark's lost answer must not lose the alert"
        );
        let again = stalled::check(&k.state.stalled(), source, NOW)
            .await
            .expect("checked");
        assert!(again.is_none(), "marked: one alert per episode");
    }
}

/// `session.unrecorded` carries its host's resource id (the portal link) when a source names the
/// host by one, whatever the case of the name in the audit record.
#[test]
fn an_unrecorded_session_links_its_hosts_portal_page_when_a_source_names_it() {
    use crate::sources::{Source, Sources};
    use crate::testkit::storage::memory::InMemoryBlobStore;
    let id =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/bas-hub-weu";
    let store = Arc::new(InMemoryBlobStore::new("a"));
    let sources = Sources::single(
        Source {
            bastion: Some("bas-hub-weu".into()),
            bastion_id: Some(id.into()),
            ..Source::new(store.clone(), "recordings")
        },
        Source::new(store, "logs"),
    );
    let mut s = crate::catalogue::session::SessionRecord::new("t");
    s.session_start = Some(time::macros::datetime!(2025-03-14 09:00 UTC));
    s.session_end = Some(time::macros::datetime!(2025-03-14 09:30 UTC));
    s.bastion_host = "BAS-HUB-WEU".into();
    s.target_vm = "vm".into();
    s.user_name = "u".into();
    s.protocol = "ssh".into();
    s.outcome = crate::audit_logs::sessions::outcome::CONNECTED.into();
    let row = crate::catalogue::days::DayRow::of(&s).expect("a row");
    let n =
        crate::join::findings::unrecorded::unrecorded_finding(&row, sources.bastion_id(&row.host));
    assert_eq!(n.evidence["bastionResourceId"], id);
    let other = crate::join::findings::unrecorded::unrecorded_finding(
        &row,
        sources.bastion_id("bas-other"),
    );
    assert!(other.evidence.get("bastionResourceId").is_none());
}

/// Marks `partitions` as needing a burst check alone (a test's race: a mark written again).
async fn mark_unchecked<'p>(
    tables: &dyn TableStore,
    partitions: impl IntoIterator<Item = &'p String>,
) -> Result<(), AzureError> {
    let rows: Vec<crate::tables::Entity> = partitions
        .into_iter()
        .map(|pk| crate::tables::keyed(super::failed::UNCHECKED, pk.clone()))
        .collect();
    crate::tables::ops::upsert_batched(tables, FAILED_TABLE, &rows)
        .await
        .map(drop)
}

/// Re-marks one unchecked partition just before the first transaction that settles unchecked rows
/// (an attempt stored by another tick between the read and the removal).
struct MarkedAgain(Arc<dyn TableStore>, String, std::sync::atomic::AtomicBool);

#[async_trait::async_trait]
impl crate::testkit::tables::intercept::BeforeTableCall for MarkedAgain {
    async fn before(
        &self,
        call: crate::testkit::tables::intercept::TableCall<'_>,
    ) -> Result<(), AzureError> {
        use std::sync::atomic::Ordering;
        if matches!(
            call,
            crate::testkit::tables::intercept::TableCall::Batch(FAILED_TABLE, _)
        ) && !self.2.swap(true, Ordering::SeqCst)
        {
            mark_unchecked(self.0.as_ref(), [&self.1]).await?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn checked_partitions_are_settled_in_one_transaction_and_one_marked_again_stays_unchecked() {
    use crate::tables::Filter;
    use crate::tables::ops::query_all;
    use crate::testkit::tables::intercept::{CountingTables, Intercepted};
    let sources = crate::testkit::ports(
        Arc::new(crate::testkit::storage::memory::InMemoryBlobStore::new("a")),
        Arc::new(InMemoryTables::new()),
        Arc::new(crate::clock::SystemClock),
    )
    .sources;
    let window = Duration::minutes(15);
    let unchecked = Filter::partition(super::failed::UNCHECKED);
    let attempt = |i: usize| FailedLogin {
        tunnel_id: format!("t{i}"),
        window: datetime!(2025-03-14 09:30 UTC),
        day: String::new(),
        user: format!("user{i}"),
        client_ip: String::new(),
        vm: "vm9".into(),
        host: String::new(),
    };
    // Three partitions unchecked, nothing changing meanwhile: one query lists them, one per
    // partition counts it, one transaction settles all three.
    let tables = CountingTables::new(InMemoryTables::new());
    let attempts: Vec<_> = (0..3).map(attempt).collect();
    let stored: Vec<_> = attempts.iter().collect();
    store(&tables, &stored).await.expect("store");
    let before = tables.total();
    super::unchecked::run_unchecked(&tables, &sources, 5, window).await;
    assert_eq!(
        (
            tables.count(Some(FAILED_TABLE), Some("batch")),
            tables.count(Some(FAILED_TABLE), Some("delete")),
            tables.total() - before,
        ),
        (2, 0, 5),
        "the marks' transaction, then 1 list + 3 checks + 1 settling transaction"
    );
    let left = query_all(&tables, FAILED_TABLE, &unchecked, 10).await;
    assert!(left.expect("unchecked").is_empty(), "all settled");
    // One partition marked again between the read and the removal: the transaction is refused,
    // the other two are removed row by row and the one marked again stays unchecked.
    let memory: Arc<dyn TableStore> = Arc::new(InMemoryTables::new());
    let attempts: Vec<_> = (0..3).map(attempt).collect();
    let stored: Vec<_> = attempts.iter().collect();
    store(memory.as_ref(), &stored).await.expect("store");
    let parts: Vec<_> = attempts.iter().flat_map(FailedLogin::partitions).collect();
    let again = parts[1].clone();
    let hooked = Intercepted::with(
        memory.clone(),
        MarkedAgain(memory.clone(), again.clone(), Default::default()),
    );
    super::unchecked::run_unchecked(&hooked, &sources, 5, window).await;
    let left = query_all(&*memory, FAILED_TABLE, &unchecked, 10)
        .await
        .expect("unchecked");
    let keys: Vec<_> = left
        .iter()
        .filter_map(|s| crate::tables::get_str(&s.entity, "RowKey"))
        .collect();
    assert_eq!(keys, [again.as_str()], "only the partition marked again");
}
