//! The queue spread over partitions: a read returns exactly the riskiest `limit` of the whole
//! queue (of one host, too), and rows written when the queue was one partition (`open`, index rows
//! naming no partition) are still listed, moved when re-derived, and withdrawn by a review.

use std::collections::BTreeSet;

use serde_json::Value;
use time::macros::{date, datetime};

use super::batched_tests::day_of;
use super::index::{refresh, withdraw};
use super::overdue::{MARKER, overdue};
use super::read::top;
use super::tests::settings;
use super::{INDEX_TABLE, OPEN, QUEUE_TABLE, SHARDS, partition_of};
use crate::tables::memory::InMemoryTables;
use crate::tables::ops::query_all;
use crate::tables::{Entity, Filter, TableStore, WriteMode, get_str};
use crate::testkit::fakes;

/// `n` sessions of 2025-03-14 (as the batched tests seed them) on hosts `bas-0` … `bas-2`.
async fn day(t: &dyn TableStore, n: usize) {
    day_of(t, n).await;
    for (i, row) in query_all(t, "sessionwindows", &Filter::partition("2025-03-14"), n)
        .await
        .expect("sessions")
        .into_iter()
        .enumerate()
    {
        let mut e = row.entity;
        e.insert("BastionHost".into(), format!("bas-{}", i % 3).into());
        t.write("sessionwindows", &e, WriteMode::Upsert)
            .await
            .expect("host");
    }
}

fn keys(rows: &[Entity]) -> Vec<String> {
    rows.iter()
        .map(|e| get_str(e, "RowKey").unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_read_merges_the_partitions_into_the_riskiest_of_the_whole_queue() {
    let f = fakes();
    let ports = &f.state.ports;
    let now = datetime!(2025-03-14 23:30 UTC);
    day(ports.tables.as_ref(), 300).await;
    refresh(ports, &settings(), &[date!(2025 - 03 - 14)], now)
        .await
        .expect("refresh");
    let all = top(ports.tables.as_ref(), usize::MAX, None)
        .await
        .expect("all");
    let used: BTreeSet<_> = all
        .iter()
        .map(|e| get_str(e, "PartitionKey").unwrap_or_default().to_owned())
        .collect();
    assert!(used.len() > SHARDS / 2, "{used:?}");
    let mut sorted = keys(&all);
    sorted.sort();
    assert_eq!(keys(&all), sorted, "merged in row-key order");
    assert!(all.len() > 100, "{}", all.len());
    for limit in [1, 7, 50, all.len() - 1] {
        let got = top(ports.tables.as_ref(), limit, None).await.expect("top");
        assert_eq!(keys(&got), sorted[..limit], "limit {limit}");
        let of_host: Vec<String> = all
            .iter()
            .filter(|e| get_str(e, "BastionHost") == Some("bas-2"))
            .take(limit)
            .map(|e| get_str(e, "RowKey").unwrap_or_default().to_owned())
            .collect();
        let got = top(ports.tables.as_ref(), limit, Some("BAS-2"))
            .await
            .expect("host");
        assert_eq!(keys(&got), of_host, "limit {limit}, one host");
    }
}

/// Moves every queue row into `open`, without the marker copy, and drops `QueuePk` from the
/// index: the layout before the queue was split.
async fn as_one_partition(t: &InMemoryTables) {
    for row in t.dump(QUEUE_TABLE) {
        let e = &row.entity;
        let (pk, rk) = (get_str(e, "PartitionKey"), get_str(e, "RowKey"));
        t.delete(QUEUE_TABLE, pk.expect("pk"), rk.expect("rk"), None)
            .await
            .expect("delete");
        let mut moved = e.clone();
        moved.insert("PartitionKey".into(), OPEN.into());
        // Rows of that time carried no copy of the overdue marker.
        moved.remove(MARKER);
        t.write(QUEUE_TABLE, &moved, WriteMode::Upsert)
            .await
            .expect("move");
    }
    for row in t.dump(INDEX_TABLE) {
        let mut e = row.entity.clone();
        e.remove("QueuePk");
        t.write(INDEX_TABLE, &e, WriteMode::Upsert)
            .await
            .expect("index");
    }
}

#[tokio::test]
async fn rows_of_the_one_partition_layout_are_read_moved_and_withdrawn() {
    let f = fakes();
    let ports = &f.state.ports;
    let t = ports.tables.as_ref();
    let now = datetime!(2025-03-14 23:30 UTC);
    day(t, 60).await;
    let s = settings();
    refresh(ports, &s, &[date!(2025 - 03 - 14)], now)
        .await
        .expect("refresh");
    let before = keys(&top(t, usize::MAX, None).await.expect("before"));
    as_one_partition(&f.tables).await;
    assert!(
        f.tables
            .dump(QUEUE_TABLE)
            .iter()
            .all(|r| get_str(&r.entity, "PartitionKey") == Some(OPEN))
    );
    assert_eq!(keys(&top(t, usize::MAX, None).await.expect("old")), before);

    // A changed session moves to its own partition; nothing is left behind in `open`.
    let queued: Vec<String> = f
        .tables
        .dump(QUEUE_TABLE)
        .iter()
        .map(|r| {
            get_str(&r.entity, "TunnelId")
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let moved = queued
        .iter()
        .find(|t| partition_of(t) != OPEN)
        .expect("a session of another partition")
        .clone();
    let mut window = t
        .get("sessionwindows", "2025-03-14", &moved)
        .await
        .expect("read")
        .expect("session")
        .entity;
    // Seven hours long now: one more reason, so it stays queued with another score.
    let start = crate::dates::timestamp(window["Start"].as_str().expect("start")).expect("time");
    let end = crate::dates::format_utc_millis(start + time::Duration::hours(7));
    window.insert("End".into(), end.into());
    t.write("sessionwindows", &window, WriteMode::Upsert)
        .await
        .expect("changed");
    refresh(ports, &s, &[date!(2025 - 03 - 14)], now)
        .await
        .expect("again");
    let rows_of = |tunnel: &str| -> Vec<String> {
        f.tables
            .dump(QUEUE_TABLE)
            .iter()
            .filter(|r| get_str(&r.entity, "TunnelId") == Some(tunnel))
            .map(|r| {
                get_str(&r.entity, "PartitionKey")
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(rows_of(&moved), [partition_of(&moved)]);

    // A review of a session still in `open` (its index row names no partition) withdraws it.
    let stays = queued
        .iter()
        .find(|t| **t != moved && rows_of(t) == [OPEN])
        .expect("a row left in open")
        .clone();
    withdraw(t, "2025-03-14", &stays).await.expect("withdraw");
    assert!(rows_of(&stays).is_empty());
    let index = t
        .get(INDEX_TABLE, "2025-03-14", &stays)
        .await
        .expect("read")
        .expect("index row");
    assert_eq!(index.entity.get("QueuePk"), None::<&Value>);

    // Every queued session, old layout or new, is announced once when due.
    let mut queued = f.tables.dump(QUEUE_TABLE).len();
    let later = now + time::Duration::days(3);
    while queued > 0 {
        let sent = overdue(t, 24, later).await.expect("overdue");
        assert!(
            !sent.is_empty() && sent.len() <= queued,
            "{} of {queued}",
            sent.len()
        );
        queued -= sent.len();
    }
    assert!(overdue(t, 24, later).await.expect("again").is_empty());
}
