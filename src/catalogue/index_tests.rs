//! Index rows: keys, stale-row removal, and `vm`/`user` queries served from one index partition
//! (counted: no day-partition reads), re-checked against the catalogue row.

use std::collections::{BTreeSet, HashMap};

use super::*;
use crate::catalogue::RECORDINGS_TABLE;
use crate::catalogue::query::page::{Page, page};
use crate::catalogue::query::{Listed, Query};
use crate::catalogue::recording::Recording;
use crate::catalogue::recording::{Confidence, Joined, Match, SessionView};
use crate::tables::WriteMode;
use crate::testkit::tables::intercept::CountingTables;
use crate::testkit::tables::memory::InMemoryTables;

/// A recording created on `day` (`name` its blob) joined to a session of `vm` and `user`.
fn row(day: &str, name: &str, vm: &str, user: &str, start: &str) -> Recording {
    let created = crate::dates::timestamp(&format!("{day}T00:00:00Z")).expect("day");
    let start = crate::dates::timestamp(start).expect("start");
    let mut r = crate::testkit::audit::recording_row(name, created);
    r.blob_created = start;
    r.joined = Some(Joined {
        m: Match {
            confidence: Confidence::Exact,
            tunnels: vec!["t".into()],
        },
        session: Some(SessionView {
            tunnel_id: "t".into(),
            target_vm: vm.into(),
            target_resource_id: format!(
                "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/{vm}"
            ),
            user_name: user.into(),
            user_email: user.into(),
            start: Some(start),
            ..SessionView::default()
        }),
    });
    r
}

fn vm(r: &Recording) -> &str {
    r.session().map_or("", |s| s.target_vm.as_str())
}

fn query(pairs: &[(&str, &str)]) -> Query {
    let p: HashMap<String, String> = crate::testkit::maps::owned(pairs);
    Query::parse(&p, 366, Recording::FILTERS, &[]).expect("query")
}

/// The first page of a recordings search with `params`.
async fn first_page(t: &dyn TableStore, params: &[(&str, &str)]) -> Page<Recording> {
    page(t, &query(params))
        .await
        .expect("search")
        .expect("valid")
}

#[test]
fn keys_cover_vm_and_user_case_insensitively_and_skip_unjoined_rows() {
    let e = row(
        "2025-03-01",
        "cmVj",
        "VM-A",
        "Ann@Contoso.com",
        "2025-03-01T10:00:00Z",
    );
    let k = index_keys(&e.key, &e);
    // TargetVm + resource id; UserName == UserEmail collapses into one row.
    assert_eq!(k.len(), 3, "{k:?}");
    assert!(
        k.iter()
            .all(|(_, rk)| *rk == format!("2025-03-01T10:00:00.000Z~{}", e.id()))
    );
    assert!(
        k.iter()
            .any(|(pk, _)| Some(pk) == index_partition("vm", "vm-a").as_ref())
    );
    assert!(
        k.iter()
            .any(|(pk, _)| Some(pk) == index_partition("user", "ANN@contoso.COM").as_ref())
    );
    assert!(
        k.iter()
            .all(|(pk, _)| crate::tables::keys::is_valid_key(pk))
    );
    let mut unjoined = e.clone();
    unjoined.joined = None;
    assert!(index_keys(&unjoined.key, &unjoined).is_empty());
    assert_eq!(index_partition("vm", "  "), None);
    assert_eq!(
        index_partition("vm", &"x".repeat(MAX_INDEXED_VALUE + 1)),
        None
    );
}

#[tokio::test]
async fn index_rows_are_written_in_batches_and_removed() {
    let t = CountingTables::new(InMemoryTables::new());
    let old = row("2025-03-01", "cmVj", "vm-a", "ann", "2025-03-01T10:00:00Z");
    let new = row("2025-03-01", "cmVj", "vm-b", "ann", "2025-03-01T10:00:00Z");
    let set = |e: &Recording| index_keys(&e.key, e).into_iter().collect::<BTreeSet<_>>();
    put_index(&t, &set(&old)).await.expect("write");
    put_index(&t, &set(&new)).await.expect("write");
    let stale: BTreeSet<_> = set(&old).difference(&set(&new)).cloned().collect();
    assert_eq!(stale.len(), 2, "the old VM's name and resource id");
    remove_index(&t, &stale).await.expect("remove");
    remove_index(&t, &stale)
        .await
        .expect("already gone is fine");
    let have: Vec<_> = t
        .inner()
        .dump(INDEX_TABLE)
        .iter()
        .map(|s| {
            let k = |p: &str| s.entity[p].as_str().unwrap_or_default().to_owned();
            (k("PartitionKey"), k("RowKey"))
        })
        .collect();
    assert_eq!(have, index_keys(&new.key, &new));
    let before = t.total();
    let many: BTreeSet<_> = (0..150)
        .map(|i| {
            (
                index_partition("vm", "busy").expect("pk"),
                format!("t~{i:03}"),
            )
        })
        .collect();
    put_index(&t, &many).await.expect("write");
    assert_eq!(t.total() - before, 2, "one partition, 100 rows a batch");
}

#[tokio::test]
async fn vm_and_user_queries_read_the_index_not_every_day() {
    let t = CountingTables::new(InMemoryTables::new());
    t.ensure_table(RECORDINGS_TABLE).await.expect("table");
    // 30 days, two VMs a day; one stale index row pointing at a row that moved to another VM.
    for d in 1..=30 {
        for (vm, user, h) in [("vm-a", "ann", 9), ("vm-b", "ben", 11)] {
            let day = format!("2025-03-{d:02}");
            let e = row(
                &day,
                &format!("r{vm}{d}"),
                vm,
                user,
                &format!("{day}T{h:02}:00:00Z"),
            );
            t.write(RECORDINGS_TABLE, &e.to_entity(), WriteMode::Upsert)
                .await
                .expect("row");
            put_index(&t, &index_keys(&e.key, &e).into_iter().collect())
                .await
                .expect("index");
        }
    }
    let moved = row(
        "2025-03-05",
        "rvm-b5",
        "vm-a",
        "ben",
        "2025-03-05T11:00:00Z",
    );
    put_index(&t, &index_keys(&moved.key, &moved).into_iter().collect())
        .await
        .expect("stale");
    let before = t.count(None, Some("query"));
    let q = query(&[
        ("from", "2025-03-01"),
        ("to", "2025-03-31"),
        ("vm", "VM-A"),
        ("limit", "20"),
    ]);
    let mut q = q;
    let first: Page<Recording> = page(&t, &q).await.expect("search").expect("valid");
    let spent = t.count(None, Some("query"));
    assert_eq!(spent - before, 1, "one index query, no day partitions");
    assert_eq!(first.rows.len(), 20);
    assert!(
        first.rows.iter().all(|r| vm(r) == "vm-a"),
        "stale row re-checked"
    );
    q.continuation = first.next.clone();
    let second: Page<Recording> = page(&t, &q).await.expect("page 2").expect("valid");
    assert_eq!(second.rows.len(), 10);
    assert!(second.next.is_none(), "the last page carries no token");
    let starts: Vec<time::OffsetDateTime> = first
        .rows
        .iter()
        .chain(&second.rows)
        .map(Listed::time)
        .collect();
    let mut sorted = starts.clone();
    sorted.sort_unstable();
    assert_eq!(starts, sorted, "session-start order across pages");
    sorted.dedup();
    assert_eq!(sorted.len(), 30, "every row once");

    let days = [("from", "2025-03-10"), ("to", "2025-03-12")];
    let none = first_page(&t, &[days[0], days[1], ("user", "BEN"), ("vm", "nope")]).await;
    assert!(none.rows.is_empty(), "all filters still apply");
    let by_user = first_page(&t, &[days[0], days[1], ("user", "BEN")]).await;
    assert_eq!(by_user.rows.len(), 3);
    let page = first_page(&t, &[days[0], days[1], ("user", "ben"), ("limit", "3")]).await;
    assert_eq!(
        (page.rows.len(), page.next),
        (3, None),
        "full page at the end"
    );
}

#[tokio::test]
async fn without_an_index_table_the_days_are_read() {
    let t = InMemoryTables::new();
    t.ensure_table(RECORDINGS_TABLE).await.expect("table");
    let e = row("2025-03-02", "r1", "vm-a", "ann", "2025-03-02T09:00:00Z");
    t.write(RECORDINGS_TABLE, &e.to_entity(), WriteMode::Upsert)
        .await
        .expect("row");
    let q = [("from", "2025-03-01"), ("to", "2025-03-03"), ("vm", "vm-a")];
    assert_eq!(first_page(&t, &q).await.rows.len(), 1);
}

/// Counts the calls in flight at once, holding each batch and delete a moment.
#[derive(Default)]
struct InFlight {
    now: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl crate::testkit::tables::intercept::BeforeTableCall for InFlight {
    async fn before(
        &self,
        call: crate::testkit::tables::intercept::TableCall<'_>,
    ) -> Result<(), crate::azure::AzureError> {
        use std::sync::atomic::Ordering::SeqCst;
        if matches!(call.op(), "batch" | "delete") {
            let n = self.now.fetch_add(1, SeqCst) + 1;
            self.most.fetch_max(n, SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            self.now.fetch_sub(1, SeqCst);
        }
        Ok(())
    }
}

#[tokio::test]
async fn index_partitions_are_written_and_removed_many_at_once_creating_the_table_once() {
    use crate::testkit::tables::intercept::Intercepted;
    let tables = Intercepted::with(
        CountingTables::new(InMemoryTables::new()),
        InFlight::default(),
    );
    let keys: BTreeSet<(String, String)> = (0..60)
        .flat_map(|p| (0..3).map(move |r| (format!("vm|host-{p:02}"), format!("row-{r}"))))
        .collect();
    put_index(&tables, &keys).await.expect("put");
    let counted = tables.inner();
    assert_eq!(
        counted.count(Some(INDEX_TABLE), Some("ensure")),
        1,
        "created once"
    );
    assert_eq!(
        counted.count(Some(INDEX_TABLE), Some("batch")),
        61,
        "the first batch refused, then one per partition"
    );
    // The most calls in flight since the last look, and the index rows left.
    let look = || async {
        let most = tables
            .hook()
            .most
            .swap(0, std::sync::atomic::Ordering::SeqCst);
        let rows = tables.query(INDEX_TABLE, None, None, None).await;
        (most, rows.expect("rows").items.len())
    };
    assert_eq!(
        look().await,
        (crate::tables::IN_FLIGHT, 180),
        "partitions at once"
    );
    remove_index(&tables, &keys).await.expect("remove");
    remove_index(&tables, &keys)
        .await
        .expect("already gone is fine");
    assert_eq!(
        look().await,
        (crate::tables::IN_FLIGHT, 0),
        "deletes at once"
    );
}
