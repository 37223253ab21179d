//! The queue's key order and a session's rows: the rank key sorts as the queue does for any scores,
//! starts and tunnel ids (ties by start, then tunnel id, the same every time); a score that changes
//! moves the one rank row, in one transaction, also when the answer is lost or the transaction is
//! refused; a review takes the session out for good; the overdue mark is won once.

use std::cmp::Reverse;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use proptest::prelude::*;
use time::OffsetDateTime;
use time::macros::datetime;

use super::entry::{PARTITION, QUEUE_TABLE, entry_key, mark, put, rank_key, set_reviewed};
use super::read::top;
use crate::azure::AzureError;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, is_valid_key, key};
use crate::tables::{Entity, Stored, TableStore, get_str};
use crate::testkit::tables::intercept::{BeforeTableCall, Intercepted, TableCall};
use crate::testkit::tables::memory::InMemoryTables;

const DAY: OffsetDateTime = datetime!(2025-03-09 00:00 UTC);

fn start(ms: i64) -> OffsetDateTime {
    DAY + time::Duration::milliseconds(ms)
}

/// Tunnel ids: GUID-like ones, and any text (a key the encoder must digest among them).
fn tunnel() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-f]{8}-[0-9a-f]{4}",
        "[a-z]{1,3}",
        any::<String>(),
        "x{1100}"
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn rank_keys_sort_riskiest_first_then_oldest_then_by_tunnel(
        sessions in proptest::collection::vec(
            (0u32..=9999, -86_400_000i64..86_400_000 * 400, tunnel()),
            1..40,
        ),
    ) {
        let mut by_key: Vec<(String, usize)> = sessions
            .iter()
            .enumerate()
            .map(|(i, (score, ms, t))| (rank_key(*score, start(*ms), t), i))
            .collect();
        for (k, _) in &by_key {
            prop_assert!(is_valid_key(k), "{k:?}");
        }
        by_key.sort();
        let mut expected: Vec<usize> = (0..sessions.len()).collect();
        expected.sort_by_key(|&i| {
            let (score, ms, t) = &sessions[i];
            (Reverse(*score), *ms, key(t, Spelling::Verbatim, MAX_KEY_BYTES), i)
        });
        // Equal inputs give equal keys, so both sorts fall back to the index among them.
        let order: Vec<usize> = by_key.iter().map(|(_, i)| *i).collect();
        prop_assert_eq!(order, expected);
        // One key per session: distinct inputs, distinct keys.
        let k = |t: &str| key(t, Spelling::Verbatim, MAX_KEY_BYTES);
        for (a, b) in by_key.iter().zip(by_key.iter().skip(1)) {
            let (x, y) = (&sessions[a.1], &sessions[b.1]);
            let same = x.0 == y.0 && x.1 == y.1 && k(&x.2) == k(&y.2);
            prop_assert_eq!(a.0 == b.0, same);
        }
    }

    #[test]
    fn the_store_returns_the_queue_in_score_order(
        scores in proptest::collection::vec((1u32..200, 0i64..3), 1..30),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let got = rt.block_on(async {
            let t = InMemoryTables::new();
            let all: Vec<(String, Option<Entity>)> = scores
                .iter()
                .enumerate()
                .map(|(i, (score, ms))| derived(&format!("t{i:02}"), *score, start(*ms)))
                .collect();
            put(&t, all).await.expect("put");
            top(&t, 100, None).await.expect("top")
        });
        let score = |e: &Entity| get_str(e, "Score").and_then(|s| s.parse::<u32>().ok());
        let mut expected: Vec<(Reverse<u32>, i64, String)> = scores
            .iter()
            .enumerate()
            .map(|(i, (s, ms))| (Reverse(*s), *ms, format!("t{i:02}")))
            .collect();
        expected.sort();
        let got: Vec<(Reverse<u32>, String)> = got
            .iter()
            .map(|e| (Reverse(score(e).unwrap_or_default()), get_str(e, "TunnelId").unwrap_or_default().to_owned()))
            .collect();
        let want: Vec<(Reverse<u32>, String)> = expected.into_iter().map(|(s, _, t)| (s, t)).collect();
        prop_assert_eq!(got, want);
    }
}

/// A session's derivation with `score` (its rank row as the run builds it, shortened).
fn derived(tunnel: &str, score: u32, start: OffsetDateTime) -> (String, Option<Entity>) {
    let rank = (score > 0).then(|| {
        let mut e = Entity::new();
        e.insert("PartitionKey".into(), PARTITION.into());
        e.insert("RowKey".into(), rank_key(score, start, tunnel).into());
        e.insert("TunnelId".into(), tunnel.into());
        e.insert("Score".into(), score.to_string().into());
        e.insert("DueAt".into(), "2025-03-10T00:00:00.000Z".into());
        e
    });
    (tunnel.into(), rank)
}

/// Every row of the queue partition: (row key, tunnel id).
fn rows(t: &InMemoryTables) -> Vec<(String, String)> {
    t.dump(QUEUE_TABLE)
        .iter()
        .map(|r| {
            let s = |k: &str| get_str(&r.entity, k).unwrap_or_default().to_owned();
            (s("RowKey"), s("TunnelId"))
        })
        .collect()
}

fn ranks_of(t: &InMemoryTables, tunnel: &str) -> Vec<String> {
    rows(t)
        .into_iter()
        .filter(|(rk, id)| id == tunnel && rk.starts_with("r~"))
        .map(|(rk, _)| rk)
        .collect()
}

#[tokio::test]
async fn a_changed_score_moves_the_one_rank_row_and_the_entry_names_it() {
    let t = InMemoryTables::new();
    let at = start(0);
    assert_eq!(put(&t, vec![derived("a", 30, at)]).await.expect("put"), 1);
    put(&t, vec![derived("a", 50, at)]).await.expect("again");
    assert_eq!(ranks_of(&t, "a"), [rank_key(50, at, "a")]);
    let entry = t
        .get(QUEUE_TABLE, PARTITION, &entry_key("a"))
        .await
        .expect("get");
    let entry = entry.expect("entry").entity;
    assert_eq!(
        get_str(&entry, "Rank"),
        Some(rank_key(50, at, "a").as_str())
    );
    // Nothing to review any more: out of the queue, the entry kept (with its marker).
    put(&t, vec![derived("a", 0, at)]).await.expect("out");
    assert!(ranks_of(&t, "a").is_empty());
    // Never queued, nothing to review: nothing written.
    put(&t, vec![derived("b", 0, at)]).await.expect("nothing");
    assert!(rows(&t).iter().all(|(_, id)| id != "b"));
}

/// Before the first transaction on the queue: `Refuse` fails it unmade; `Lose` makes it and
/// loses the answer.
enum Fault {
    Refuse,
    Lose,
}

struct Once(Fault, AtomicUsize);

#[async_trait]
impl BeforeTableCall for Once {
    async fn before(&self, call: TableCall<'_>) -> Result<(), AzureError> {
        let first = matches!(call, TableCall::Batch(QUEUE_TABLE, _))
            && self.1.fetch_add(1, Ordering::SeqCst) == 0;
        match self.0 {
            Fault::Refuse if first => Err(AzureError::Transient("refused".into())),
            _ => Ok(()),
        }
    }

    fn after(&self, call: TableCall<'_>) -> Result<(), AzureError> {
        let first =
            matches!(call, TableCall::Batch(QUEUE_TABLE, _)) && self.1.load(Ordering::SeqCst) == 1;
        match self.0 {
            Fault::Lose if first => Err(AzureError::PreconditionFailed),
            _ => Ok(()),
        }
    }
}

#[tokio::test]
async fn a_move_is_whole_when_its_answer_is_lost_and_absent_when_refused() {
    for fault in [Fault::Lose, Fault::Refuse] {
        let inner = Arc::new(InMemoryTables::new());
        let lose = matches!(fault, Fault::Lose);
        let t = Intercepted::with(inner.clone(), Once(fault, AtomicUsize::new(0)));
        let at = start(0);
        put(inner.as_ref(), vec![derived("a", 30, at)])
            .await
            .expect("put");
        let moved = put(&t, vec![derived("a", 55, at)]).await;
        if lose {
            // Read again: the entry names the new row, which is there.
            moved.expect("moved");
            assert_eq!(ranks_of(&inner, "a"), [rank_key(55, at, "a")]);
        } else {
            // Refused: nothing written; the old row stays named until the run is made again.
            assert!(moved.is_err());
            assert_eq!(ranks_of(&inner, "a"), [rank_key(30, at, "a")]);
            put(&t, vec![derived("a", 55, at)]).await.expect("again");
            assert_eq!(ranks_of(&inner, "a"), [rank_key(55, at, "a")]);
        }
        let entry = inner.get(QUEUE_TABLE, PARTITION, &entry_key("a")).await;
        let entry = entry.expect("get").expect("entry").entity;
        assert_eq!(
            get_str(&entry, "Rank"),
            Some(rank_key(55, at, "a").as_str())
        );
    }
}

#[tokio::test]
async fn a_reviewed_session_leaves_and_is_not_queued_again() {
    let t = InMemoryTables::new();
    let at = start(0);
    put(&t, vec![derived("a", 30, at)]).await.expect("put");
    set_reviewed(&t, "a", "verified", true)
        .await
        .expect("withdraw");
    assert!(ranks_of(&t, "a").is_empty());
    assert_eq!(put(&t, vec![derived("a", 70, at)]).await.expect("again"), 0);
    assert!(
        ranks_of(&t, "a").is_empty(),
        "a derivation after the review"
    );
    // A review before the queue ever saw the session.
    set_reviewed(&t, "c", "verified", true)
        .await
        .expect("withdraw");
    put(&t, vec![derived("c", 40, at)]).await.expect("later");
    assert!(ranks_of(&t, "c").is_empty());
}

/// The rank row of `tunnel`, as a query reads it.
async fn due_row(t: &dyn TableStore, tunnel: &str) -> Stored {
    let rows = crate::tables::ops::query_all(
        t,
        QUEUE_TABLE,
        &crate::tables::Filter::partition(PARTITION),
        usize::MAX,
    )
    .await
    .expect("rows");
    rows.into_iter()
        .find(|r| {
            get_str(&r.entity, "TunnelId") == Some(tunnel) && get_str(&r.entity, "Score").is_some()
        })
        .expect("queued")
}

#[tokio::test]
async fn the_overdue_mark_is_won_once_and_kept_through_a_new_score() {
    let t = InMemoryTables::new();
    let at = start(0);
    put(&t, vec![derived("a", 30, at)]).await.expect("put");
    let row = due_row(&t, "a").await;
    let (x, y) = tokio::join!(mark(&t, &row, "run-x"), mark(&t, &row, "run-y"));
    let won = [x.expect("x"), y.expect("y")];
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
    assert!(!mark(&t, &due_row(&t, "a").await, "run-z").await.expect("z"));
    put(&t, vec![derived("a", 45, at)])
        .await
        .expect("new score");
    let moved = due_row(&t, "a").await;
    assert_eq!(
        moved.entity.get("OverdueNotified"),
        Some(&true.into()),
        "the copy follows"
    );
    // A mark on a row re-derived since it was read waits for the next run.
    put(&t, vec![derived("b", 30, at)]).await.expect("b");
    let stale = due_row(&t, "b").await;
    put(&t, vec![derived("b", 35, at)]).await.expect("b again");
    assert!(!mark(&t, &stale, "run-x").await.expect("stale"));
    assert!(
        mark(&t, &due_row(&t, "b").await, "run-x")
            .await
            .expect("fresh")
    );
}

#[tokio::test]
async fn a_mark_whose_answer_was_lost_is_still_this_run_s() {
    let inner = Arc::new(InMemoryTables::new());
    let at = start(0);
    put(inner.as_ref(), vec![derived("a", 30, at)])
        .await
        .expect("put");
    let t = Intercepted::with(inner.clone(), Once(Fault::Lose, AtomicUsize::new(0)));
    let row = due_row(&t, "a").await;
    t.hook().1.store(0, Ordering::SeqCst);
    assert!(mark(&t, &row, "run-x").await.expect("mark"));
}
