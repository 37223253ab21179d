//! The drain over in-memory tables and the real client posting to the loopback fake over HTTP.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use serde_json::Value;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::{Report, RunError, run};
use crate::azure::http::{Auth, Client};
use crate::azure::{Policy, Timeouts};
use crate::clock::Clock as _;
use crate::export::rows::ReviewRow;
use crate::export::{Outbox, Table, declaration, outbox};
use crate::ingestion::IngestionClient;
use crate::ports::Ports;
use crate::testkit::clock::FixedClock;
use crate::testkit::ingestion::{FakeIngestion, Fault, serve};
use crate::testkit::storage::memory::InMemoryBlobStore;
use crate::testkit::tables::memory::InMemoryTables;

const DCR: &str = "dcr-00000000000000000000000000000001";
const T: OffsetDateTime = datetime!(2025-03-14 09:00 UTC);

struct Rig {
    ports: Ports,
    clock: Arc<FixedClock>,
    fake: FakeIngestion,
    client: IngestionClient,
}

async fn rig(fake: FakeIngestion) -> Rig {
    rig_on(fake, Arc::new(InMemoryTables::new())).await
}

async fn rig_on(fake: FakeIngestion, tables: Arc<dyn crate::tables::TableStore>) -> Rig {
    let clock = Arc::new(FixedClock::new(T));
    let mut ports = crate::testkit::ports(
        Arc::new(InMemoryBlobStore::new("acct")),
        tables.clone(),
        clock.clone(),
    );
    ports.outbox = Outbox::on(tables, clock.clone());
    let url = serve(fake.clone()).await.expect("serve");
    let timeouts = Timeouts {
        per_try: StdDuration::from_secs(5),
        total: StdDuration::from_secs(30),
    };
    let endpoint = url::Url::parse(&url).expect("url");
    let http = Client::new(
        "Logs Ingestion",
        Some(&endpoint),
        Auth::None,
        timeouts,
        Policy::CONTROL,
    )
    .expect("client");
    let client = IngestionClient::new(http, endpoint, DCR);
    Rig {
        ports,
        clock,
        fake,
        client,
    }
}

fn fake() -> FakeIngestion {
    FakeIngestion::new(declaration().expect("declaration").clone(), DCR)
}

fn review(i: usize, comment_bytes: usize) -> ReviewRow {
    ReviewRow {
        time_generated: T + Duration::seconds(i as i64),
        review_id: format!("r-{i:05}"),
        subject_kind: "session".into(),
        subject_id: format!("{i:08x}-0000-4000-8000-000000000001"),
        verdict: "ok".into(),
        // Varied text, so gzip cannot fold a call into nothing.
        comment: (0..comment_bytes)
            .map(|k| char::from(b'a' + ((i * 7 + k * 13 + k / 5) % 26) as u8))
            .collect(),
        ticket: String::new(),
        reviewer: "auditor@contoso.com".into(),
        bastion_host: "bas-hub-weu".into(),
        target_vm: "vm-app-01".into(),
        user_name: "azureuser".into(),
        session_id: String::new(),
        session_start: None,
        recording_deleted_at: None,
        user_email: String::new(),
    }
}

impl Rig {
    async fn record(&self, n: usize, comment_bytes: usize) -> Vec<String> {
        for i in 0..n {
            self.ports
                .outbox
                .record(&review(i, comment_bytes))
                .await
                .expect("recorded");
        }
        (0..n).map(|i| format!("r-{i:05}")).collect()
    }

    async fn drain(&self, owner: &str, budget: StdDuration) -> Report {
        run(&self.ports, &self.client, owner, Instant::now() + budget).await
    }

    async fn waiting(&self) -> usize {
        let t = self.ports.tables.as_ref();
        let buckets = outbox::buckets::buckets(t, self.clock.now())
            .await
            .expect("buckets");
        outbox::backlog(t, Table::Reviews, buckets.of(Table::Reviews), 1000)
            .await
            .expect("backlog")
            .rows
    }

    /// The outbox's bucket tables.
    async fn buckets(&self) -> Vec<String> {
        let t = self.ports.tables.as_ref();
        let mut names = t.list_tables(outbox::OUTBOX_TABLE).await.expect("tables");
        names.retain(|n| n != outbox::OUTBOX_TABLE);
        names
    }
}

const STREAM: &str = "Custom-BastionReviews";

mod boundary;
mod buckets;

#[tokio::test]
async fn rows_leave_in_order_in_calls_of_at_most_a_megabyte_and_are_removed() {
    let r = rig(fake()).await;
    let ids = r.record(2_500, 1_500).await;
    let report = r.drain("a", StdDuration::from_secs(30)).await;
    assert_eq!(report.error, None);
    assert_eq!(report.sent, [(Table::Reviews, 2_500)]);
    assert_eq!(r.fake.ids(STREAM), ids, "every id once, in time order");
    assert_eq!(r.waiting().await, 0);
    let received = r.fake.received();
    assert!(
        received
            .iter()
            .all(|c| c.status == 204 && c.body_bytes <= 1_000_000)
    );
    // 2,500 rows of about 2 KB: 5 MB of JSON; a page of 1,000 rows is one call or two.
    assert!(received.len() <= 6, "{} calls", received.len());
    let st = outbox::state::state(r.ports.tables.as_ref(), Table::Reviews)
        .await
        .expect("state")
        .expect("row");
    assert_eq!((st.sent, st.last_error.as_str()), (2_500, ""));
    assert!(st.lease_owner.is_empty(), "released");
}

/// A comment of `n` letters that do not repeat (gzip cannot fold them).
fn noise(x: &mut u64, n: usize) -> String {
    (0..n)
        .map(|_| {
            *x ^= *x << 13;
            *x ^= *x >> 7;
            *x ^= *x << 17;
            char::from(b'a' + (*x % 26) as u8)
        })
        .collect()
}

#[tokio::test]
async fn calls_are_filled_to_a_megabyte_of_json_across_pages() {
    let r = rig(fake()).await;
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..6_000 {
        let mut row = review(i, 0);
        row.comment = noise(&mut x, 1_500);
        r.ports.outbox.record(&row).await.expect("recorded");
    }
    let report = r.drain("a", StdDuration::from_secs(60)).await;
    assert_eq!(report.error, None);
    assert_eq!(r.fake.ids(STREAM).len(), 6_000);
    let sizes: Vec<usize> = r.fake.received().iter().map(|c| c.json_bytes).collect();
    let total: usize = sizes.iter().sum();
    assert_eq!(sizes.len(), total.div_ceil(1_000_000), "{sizes:?}");
    assert!(
        sizes[..sizes.len() - 1].iter().all(|b| *b > 998_000),
        "{sizes:?}"
    );
}

/// The limit is 1 MB of JSON as well as of gzip: rows that compress well (names, ids, repeated
/// text) are packed by the JSON they expand to, so no call is ever answered too large.
#[tokio::test]
async fn calls_are_packed_by_their_json_however_well_it_compresses() {
    let r = rig(fake()).await;
    for i in 0..3_000 {
        let mut row = review(i, 0);
        row.comment = format!("reviewed session {i} on bas-hub-weu: nothing found. ").repeat(30);
        r.ports.outbox.record(&row).await.expect("recorded");
    }
    let ids: Vec<String> = (0..3_000).map(|i| format!("r-{i:05}")).collect();
    let report = r.drain("a", StdDuration::from_secs(60)).await;
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!(r.fake.ids(STREAM), ids, "all, in order, once");
    let received = r.fake.received();
    assert!(received.iter().all(|c| c.status == 204), "none refused");
    assert!(
        received.iter().all(|c| c.json_bytes <= 1_000_000),
        "{:?}",
        received.iter().map(|c| c.json_bytes).collect::<Vec<_>>()
    );
    let json: usize = received.iter().map(|c| c.json_bytes).sum();
    assert!(json > 4_000_000, "several megabytes of JSON: {json}");
}

#[tokio::test]
async fn a_wait_past_the_run_ends_it_at_once_and_the_next_run_sends() {
    let r = rig(fake()).await;
    let ids = r.record(10, 100).await;
    r.fake.faults([Fault::Throttle(120)]);
    let started = Instant::now();
    let report = r.drain("a", StdDuration::from_secs(10)).await;
    assert!(started.elapsed() < StdDuration::from_secs(3), "not waited");
    assert!(
        matches!(report.error, Some(RunError::Throttled(_))),
        "{report:?}"
    );
    assert_eq!(r.waiting().await, 10, "nothing removed");
    let st = outbox::state::state(r.ports.tables.as_ref(), Table::Reviews)
        .await
        .expect("state")
        .expect("row");
    assert!(st.last_error.contains("throttled"), "{st:?}");
    let report = r.drain("b", StdDuration::from_secs(10)).await;
    assert_eq!(report.error, None);
    assert_eq!(r.fake.ids(STREAM), ids);
}

#[tokio::test]
async fn throttling_and_server_errors_within_the_run_are_ridden_out() {
    let r = rig(fake()).await;
    let ids = r.record(10, 100).await;
    // Waits of 1 s (Retry-After), then the policy's back-offs of 2-4 and 8-16 s: within the run.
    r.fake
        .faults([Fault::Throttle(1), Fault::ThrottleBare, Fault::Status(503)]);
    let report = r.drain("a", StdDuration::from_secs(40)).await;
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!(r.fake.ids(STREAM), ids);
    assert_eq!(r.fake.received().len(), 4);
}

#[tokio::test]
async fn a_missing_role_names_monitoring_metrics_publisher_on_the_rule() {
    let r = rig(fake()).await;
    r.record(3, 10).await;
    r.fake.faults([Fault::Status(403)]);
    let report = r.drain("a", StdDuration::from_secs(10)).await;
    let Some(RunError::Failed(why)) = report.error else {
        panic!("{report:?}")
    };
    assert!(
        why.contains("Monitoring Metrics Publisher") && why.contains(DCR),
        "{why}"
    );
    assert_eq!(r.waiting().await, 3);
}

#[tokio::test]
async fn a_lost_answer_sends_the_same_ids_again_and_loses_none() {
    let r = rig(fake()).await;
    let ids = r.record(20, 100).await;
    r.fake.faults([Fault::LoseAnswer]);
    let report = r.drain("a", StdDuration::from_secs(30)).await;
    assert_eq!(report.error, None, "{report:?}");
    let got = r.fake.ids(STREAM);
    assert_eq!(got.len(), 40, "the batch arrived twice");
    assert_eq!(got[..20], ids[..]);
    assert_eq!(got[20..], ids[..]);
    assert_eq!(r.waiting().await, 0);
}

/// Rows of about 1.5 KB of JSON each that do not compress much.
async fn record_noisy(r: &Rig, n: usize) -> Vec<String> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..n {
        let mut row = review(i, 0);
        row.comment = noise(&mut x, 1_500);
        r.ports.outbox.record(&row).await.expect("recorded");
    }
    (0..n).map(|i| format!("r-{i:05}")).collect()
}

#[tokio::test]
async fn a_413_halves_the_call_and_everything_arrives() {
    let r = rig(fake().with_limit(300_000)).await;
    let ids = record_noisy(&r, 1_200).await;
    let report = r.drain("a", StdDuration::from_secs(60)).await;
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!(r.fake.ids(STREAM), ids, "all, in order, once");
    let received = r.fake.received();
    assert!(received.iter().any(|c| c.status == 413));
    assert!(
        received
            .iter()
            .filter(|c| c.status == 204)
            .all(|c| c.json_bytes <= 300_000)
    );
}

/// The service's other answers to a call too large, an aborted connection or an error
/// `TimeoutExpired` / `ReadyBody_ClientConnectionAbort` in the body (whatever its status), halve
/// the call as a 413 does (the same body is not sent again), so the rows leave in the same run.
#[tokio::test]
async fn an_aborted_connection_halves_the_call_like_a_413() {
    too_large_answered_otherwise(fake().with_limit(300_000).aborting_when_too_large(), 0).await;
}

#[tokio::test]
async fn a_timeout_expired_answer_halves_the_call_like_a_413() {
    too_large_answered_otherwise(fake().with_limit(300_000).timing_out_when_too_large(), 500).await;
}

/// Drains 1,200 rows through `fake`, which answers a call too large with `status` (0: no answer).
async fn too_large_answered_otherwise(fake: FakeIngestion, status: u16) {
    let r = rig(fake).await;
    let ids = record_noisy(&r, 1_200).await;
    let started = Instant::now();
    let report = r.drain("a", StdDuration::from_secs(60)).await;
    assert_eq!(report.error, None, "{report:?}");
    assert!(
        started.elapsed() < StdDuration::from_secs(20),
        "no back-offs"
    );
    assert_eq!(r.fake.ids(STREAM), ids, "all, in order, once");
    let received = r.fake.received();
    let sizes: Vec<(u16, usize)> = received.iter().map(|c| (c.status, c.json_bytes)).collect();
    let aborted: Vec<usize> = (0..sizes.len()).filter(|i| sizes[*i].0 == status).collect();
    assert!(!aborted.is_empty(), "calls were aborted: {sizes:?}");
    for i in aborted {
        assert!(sizes[i].1 > 300_000, "{sizes:?}");
        // The next call is its first half, not the same body again.
        assert!(
            sizes
                .get(i + 1)
                .is_some_and(|next| next.1 <= sizes[i].1 / 2 + 1),
            "{sizes:?}"
        );
    }
    assert_eq!(r.waiting().await, 0);
}

#[tokio::test]
async fn a_table_drained_by_another_instance_is_left_alone() {
    let r = rig(fake()).await;
    r.record(3, 10).await;
    let t = r.ports.tables.as_ref();
    assert!(
        outbox::claim(
            t,
            Table::Reviews,
            &mut outbox::Held::default(),
            "other",
            T,
            Duration::minutes(5)
        )
        .await
        .expect("claim")
    );
    let report = r.drain("me", StdDuration::from_secs(10)).await;
    assert_eq!(report.leased_elsewhere, [Table::Reviews]);
    assert!(r.fake.received().is_empty());
}

/// The service does not refuse a call for a record its stream does not declare: it accepts the
/// call (204) and the record shows in the rule's error log, not in the table. The fake does the
/// same, so the drain removes the row; what keeps such rows from being built is the drift test.
#[tokio::test]
async fn a_record_the_stream_does_not_declare_is_accepted_and_lands_in_the_error_log() {
    let r = rig(fake()).await;
    let ids = r.record(2, 10).await;
    // A row recorded by code that drifted from the declaration.
    let mut e = outbox::entity_of(&review(9, 1)).expect("entity");
    let bad: Value = serde_json::json!({"TimeGenerated": "2025-03-14T09:00:00Z", "ReviewID": "x"});
    e.insert("R0".into(), bad.to_string().into());
    crate::tables::ops::write_creating_table(
        r.ports.tables.as_ref(),
        &outbox::bucket_table(Table::Reviews, T),
        &e,
        crate::tables::WriteMode::Upsert,
    )
    .await
    .expect("write");
    let report = r.drain("a", StdDuration::from_secs(10)).await;
    assert_eq!(report.error, None, "{report:?}");
    assert!(r.fake.received().iter().all(|c| c.status == 204));
    assert_eq!(r.fake.ids(STREAM), ids, "the declared rows reach the table");
    let errors = r.fake.dcr_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].message.contains("ReviewID"), "{errors:?}");
    assert_eq!(r.waiting().await, 0);
}
