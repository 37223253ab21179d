//! The queue's batched writes: what a first indexing costs in round trips, a run delivered again,
//! two instances indexing the same day at once, and a batch that loses a race redone row by row.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use time::OffsetDateTime;
use time::macros::{date, datetime};

use super::index::refresh;
use super::tests::{S, carol_loses_her_recording, ok, put, queue_of, seed, settings, unrecorded};
use super::{INDEX_TABLE, PAIRS_TABLE, QUEUE_TABLE, SHARDS, partition_of};
use crate::azure::AzureError;
use crate::ports::Ports;
use crate::tables::intercept::{BeforeTableCall, CountingTables, Intercepted, TableCall};
use crate::tables::memory::InMemoryTables;
use crate::tables::{Entity, Filter, TableStore, WriteMode};
use crate::testkit::fakes;

/// Round trips per (method, table), a batch one: the counting decorator over the in-memory store.
type Trips = CountingTables<InMemoryTables>;

fn new_trips() -> Arc<Trips> {
    Arc::new(CountingTables::new(InMemoryTables::new()))
}

/// Calls of `op` on `table` so far (`None`: any).
fn calls(trips: &Trips, op: Option<&str>, table: Option<&str>) -> usize {
    usize::try_from(trips.count(table, op)).expect("a count")
}

fn ports_over(tables: Arc<dyn TableStore>) -> Ports {
    let f = fakes();
    Ports {
        tables,
        ..f.state.ports.clone()
    }
}

/// `n` sessions on 2025-03-14, of 50 users to 25 VMs, every third outside working hours, one in
/// five unrecorded.
pub(super) async fn day_of(t: &dyn TableStore, n: usize) {
    for i in 0..n {
        let (tunnel, user, vm) = (
            format!("t{i:04}"),
            format!("u{}", i % 50),
            format!("vm{}", i % 25),
        );
        let hour = if i % 3 == 0 { 21 } else { 10 };
        let minute = i64::try_from(i % 60).expect("minute");
        let start = datetime!(2025-03-14 00:00 UTC) + time::Duration::minutes(hour * 60 + minute);
        put(
            t,
            &S {
                recorded: i % 5 != 0,
                ..ok(&tunnel, &user, &vm, start, 10)
            },
        )
        .await;
    }
}

/// The queue as (tunnel, rank key) pairs, and the index as (tunnel, queue key).
async fn rows(t: &dyn TableStore) -> (Vec<(String, String)>, Vec<(String, String)>) {
    let all = |table: &'static str| async move {
        let every = Filter::str("RowKey", crate::tables::filter::Op::Ge, "");
        crate::tables::ops::query_all(t, table, &every, usize::MAX)
            .await
            .expect("rows")
    };
    let s = |e: &Entity, k: &str| crate::tables::get_str(e, k).unwrap_or_default().to_owned();
    let mut queue: Vec<_> = all(QUEUE_TABLE)
        .await
        .iter()
        .map(|r| (s(&r.entity, "TunnelId"), s(&r.entity, "RowKey")))
        .collect();
    let mut index: Vec<_> = all(INDEX_TABLE)
        .await
        .iter()
        .map(|r| (s(&r.entity, "RowKey"), s(&r.entity, "QueueRk")))
        .collect();
    queue.sort();
    index.sort();
    (queue, index)
}

const NOW: OffsetDateTime = datetime!(2025-03-14 23:30 UTC);

#[tokio::test]
async fn a_first_indexing_writes_a_hundred_rows_a_round_trip() {
    let trips = new_trips();
    let ports = ports_over(trips.clone());
    day_of(trips.as_ref(), 1000).await;
    let before = calls(&trips, None, None);
    let done = refresh(&ports, &settings(), &[date!(2025 - 03 - 14)], NOW)
        .await
        .expect("refresh");
    assert_eq!((done.sessions, done.changed), (1000, 1000));
    assert!(done.queued > 300, "{done:?}");
    let total = calls(&trips, None, None) - before;
    // 10 batches of index rows, queued rows in batches of one partition each as well, never row
    // by row; each table is created on the way (the first batch answers "no table": created, then
    // that batch again).
    let n = |op, t| calls(&trips, Some(op), Some(t));
    let (queue, _) = rows(trips.as_ref()).await;
    let mut per_partition = std::collections::BTreeMap::<String, usize>::new();
    for (tunnel, _) in &queue {
        *per_partition.entry(partition_of(tunnel)).or_default() += 1;
    }
    assert_eq!(queue.len(), done.queued);
    assert!(per_partition.len() > SHARDS / 2, "{per_partition:?}");
    let queue_batches: usize = per_partition.values().map(|n| n.div_ceil(100)).sum();
    for (table, batches) in [(INDEX_TABLE, 10), (QUEUE_TABLE, queue_batches)] {
        assert_eq!(n("write", table) + n("delete", table), 0, "{table}");
        assert_eq!(n("ensure", table), 1, "{table}");
        assert_eq!(n("batch", table), batches + 1, "{table}");
    }
    // A row per (user, VM); the first writes (16 at once) find no table and write again.
    let pairs = calls(&trips, Some("write"), Some(PAIRS_TABLE));
    assert!((50..=50 + 16).contains(&pairs), "{pairs}");
    // The old row-by-row writes alone were a call per session and one per queued session.
    assert!(total * 4 < done.sessions, "{total} calls for 1000 sessions");
    // Nothing changed: the next tick only reads.
    let writes = || {
        ["write", "batch", "delete", "ensure"]
            .iter()
            .map(|op| calls(&trips, Some(op), None))
            .sum::<usize>()
    };
    let before = writes();
    let again = refresh(&ports, &settings(), &[date!(2025 - 03 - 14)], NOW)
        .await
        .expect("again");
    assert_eq!((again.changed, writes()), (0, before));
}

#[tokio::test]
async fn a_run_delivered_again_or_run_by_two_instances_leaves_one_row_per_session() {
    let alone = fakes();
    day_of(alone.state.ports.tables.as_ref(), 300).await;
    let s = settings();
    let days = [date!(2025 - 03 - 14)];
    refresh(&alone.state.ports, &s, &days, NOW)
        .await
        .expect("alone");
    let expected = rows(alone.state.ports.tables.as_ref()).await;
    assert!(!expected.0.is_empty());

    let shared = fakes();
    let a = shared.state.ports.clone();
    let b = ports_over(shared.state.ports.tables.clone());
    day_of(a.tables.as_ref(), 300).await;
    let (x, y) = tokio::join!(refresh(&a, &s, &days, NOW), refresh(&b, &s, &days, NOW));
    x.expect("a");
    y.expect("b");
    assert_eq!(rows(a.tables.as_ref()).await, expected, "two instances");
    // Delivered again: nothing to re-derive, the same rows.
    let again = refresh(&a, &s, &days, NOW).await.expect("again");
    assert_eq!(again.changed, 0);
    assert_eq!(rows(a.tables.as_ref()).await, expected, "redelivery");
}

/// Rewrites the first index row a batch replaces just before the batch is sent, as another
/// instance would.
struct Overtake {
    inner: Arc<InMemoryTables>,
    done: AtomicBool,
}

#[async_trait]
impl BeforeTableCall for Overtake {
    async fn before(&self, call: TableCall<'_>) -> Result<(), AzureError> {
        let replaced = match call {
            TableCall::Batch(INDEX_TABLE, writes) => writes
                .iter()
                .find(|(_, mode)| matches!(mode, WriteMode::IfMatch(_)))
                .map(|(e, _)| e),
            _ => None,
        };
        if let Some(e) = replaced
            && !self.done.swap(true, Ordering::SeqCst)
        {
            self.inner.write(INDEX_TABLE, e, WriteMode::Upsert).await?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_batch_that_loses_a_race_is_redone_row_by_row_and_moves_the_row_once() {
    let inner = Arc::new(InMemoryTables::new());
    let hook = Overtake {
        inner: inner.clone(),
        done: AtomicBool::new(true),
    };
    let tables = Arc::new(Intercepted::with(inner.clone(), hook));
    let ports = ports_over(tables.clone());
    seed(&ports).await;
    let s = settings();
    let days = [date!(2025 - 03 - 10), date!(2025 - 03 - 14)];
    refresh(&ports, &s, &days, NOW).await.expect("first");
    // Carol's session loses its recording; its index row is rewritten under the batch.
    carol_loses_her_recording(tables.as_ref()).await;
    tables.hook().done.store(false, Ordering::SeqCst);
    let done = refresh(&ports, &s, &days, NOW).await.expect("raced");
    assert!(
        tables.hook().done.load(Ordering::SeqCst),
        "the race happened"
    );
    assert_eq!(done.changed, 1);
    let q = queue_of(&ports, NOW).await;
    let carol: Vec<_> = q.iter().filter(|(t, _, _)| t == "c").collect();
    assert_eq!(carol.len(), 1, "{q:?}");
    assert_eq!(
        carol[0].1, 50,
        "re-ranked: unrecorded and outside working hours"
    );
    let (queue, index) = rows(inner.as_ref()).await;
    let queued: Vec<_> = index
        .iter()
        .filter(|(_, rk)| !rk.is_empty())
        .cloned()
        .collect();
    let mut by_queue: Vec<_> = queue
        .iter()
        .map(|(t, rk)| (t.clone(), rk.clone()))
        .collect();
    by_queue.sort();
    assert_eq!(
        by_queue, queued,
        "every queue row is the one its index row names"
    );
}

#[tokio::test]
async fn announced_sessions_cost_later_overdue_runs_no_read_of_their_index_rows() {
    let trips = new_trips();
    let ports = ports_over(trips.clone());
    day_of(trips.as_ref(), 600).await;
    let days = [date!(2025 - 03 - 14)];
    refresh(&ports, &settings(), &days, NOW)
        .await
        .expect("refresh");
    let later = datetime!(2025-03-16 12:00 UTC);
    let first = super::overdue::overdue(trips.as_ref(), 24, later)
        .await
        .expect("first");
    assert_eq!(first.len(), super::overdue::MAX_PER_RUN);
    let gets = || calls(&trips, Some("get"), Some(INDEX_TABLE));
    let before = gets();
    let second = super::overdue::overdue(trips.as_ref(), 24, later)
        .await
        .expect("second");
    assert!(!second.is_empty(), "the rest of the due sessions");
    assert_eq!(
        gets() - before,
        second.len(),
        "only the newly announced sessions' index rows are read"
    );
    // A re-derivation keeps the copy of the marker on the queue row.
    let start = datetime!(2025-03-14 10:01 UTC);
    put(
        trips.as_ref(),
        &unrecorded(ok("t0001", "u1", "vm1", start, 10)),
    )
    .await;
    refresh(&ports, &settings(), &days, NOW)
        .await
        .expect("again");
    let before = gets();
    let third = super::overdue::overdue(trips.as_ref(), 24, later)
        .await
        .expect("third");
    assert_eq!(
        (third.len(), gets() - before),
        (0, 0),
        "nothing new, nothing read"
    );
    let announced = first.len() + second.len() + third.len();
    let queued = rows(trips.as_ref()).await.0.len();
    assert_eq!(announced, queued, "every queued session once");
}
