//! Index rows: keys, stale-row removal, and `vm`/`user` queries served from one index partition
//! (counted: no day-partition reads), re-checked against the catalogue row.

use std::collections::HashMap;

use serde_json::json;

use super::*;
use crate::api::query::Query;
use crate::api::search::search;
use crate::api::token::Found;
use crate::catalogue::RECORDINGS_TABLE;
use crate::tables::intercept::CountingTables;
use crate::tables::memory::InMemoryTables;

/// A joined catalogue row; `name` becomes a real (base64url) row key.
fn row(day: &str, name: &str, vm: &str, user: &str, start: &str) -> Entity {
    let rk = crate::tables::keys::key(name, crate::tables::keys::Spelling::Encoded, 1024);
    let v = json!({"PartitionKey": day, "RowKey": rk, "TargetVm": vm,
        "TargetResourceId": format!("/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/{vm}"),
        "UserName": user, "UserEmail": user, "SessionStart": start, "BlobCreated": start,
        "MatchConfidence": "exact"});
    v.as_object().cloned().unwrap_or_default()
}

fn query(pairs: &[(&str, &str)]) -> Query {
    let p: HashMap<String, String> = crate::testkit::maps::owned(pairs);
    Query::parse(&p, None, 366).expect("query")
}

/// The first page of a recordings search with `params`.
async fn first_page(t: &dyn TableStore, params: &[(&str, &str)]) -> Found {
    let q = query(params);
    search(t, RECORDINGS_TABLE, &q, None).await.expect("search")
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
    let k = keys(&e);
    // TargetVm + resource id; UserName == UserEmail collapses into one row.
    assert_eq!(k.len(), 3, "{k:?}");
    assert!(k.iter().all(|(_, rk)| *rk
        == format!(
            "2025-03-01T10:00:00.000Z~2025-03-01~{}",
            crate::tables::keys::key("cmVj", crate::tables::keys::Spelling::Encoded, 1024)
        )));
    assert!(
        k.iter()
            .any(|(pk, _)| Some(pk) == partition("vm", "vm-a").as_ref())
    );
    assert!(
        k.iter()
            .any(|(pk, _)| Some(pk) == partition("user", "ANN@contoso.COM").as_ref())
    );
    assert!(
        k.iter()
            .all(|(pk, _)| crate::tables::keys::is_valid_key(pk))
    );
    let mut unjoined = e.clone();
    for p in ["TargetVm", "TargetResourceId", "UserName", "UserEmail"] {
        unjoined.remove(p);
    }
    assert!(keys(&unjoined).is_empty());
    assert_eq!(partition("vm", "  "), None);
    assert_eq!(partition("vm", &"x".repeat(MAX_VALUE + 1)), None);
}

#[tokio::test]
async fn a_changed_join_moves_its_index_rows() {
    let t = InMemoryTables::new();
    let old = row("2025-03-01", "cmVj", "vm-a", "ann", "2025-03-01T10:00:00Z");
    let new = row("2025-03-01", "cmVj", "vm-b", "ann", "2025-03-01T10:00:00Z");
    upsert(&t, &old).await.expect("upsert");
    let before = t.calls();
    upsert_added(&t, &old, &new).await.expect("upsert");
    assert_eq!(
        t.calls() - before,
        2,
        "only the new VM's rows (name and resource id): the user's are there"
    );
    upsert_added(&t, &new, &new).await.expect("upsert");
    assert_eq!(t.calls() - before, 2, "an unchanged row writes none");
    remove_stale(&t, &old, &new).await.expect("remove");
    remove_stale(&t, &old, &new)
        .await
        .expect("already gone is fine");
    let rows = t.dump(INDEX_TABLE);
    let want: Vec<_> = keys(&new);
    let have: Vec<_> = rows
        .iter()
        .map(|s| {
            (
                s.entity["PartitionKey"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                s.entity["RowKey"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(have, want);
    assert_eq!(
        ensure(&t, &new).await.expect("ensure"),
        0,
        "nothing missing"
    );
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
            t.write(RECORDINGS_TABLE, &e, WriteMode::Upsert)
                .await
                .expect("row");
            upsert(&t, &e).await.expect("index");
        }
    }
    let moved = row(
        "2025-03-05",
        "rvm-b5",
        "vm-a",
        "ben",
        "2025-03-05T11:00:00Z",
    );
    upsert(&t, &moved).await.expect("stale");
    let before = t.count(None, Some("query"));
    let q = query(&[
        ("from", "2025-03-01"),
        ("to", "2025-03-31"),
        ("vm", "VM-A"),
        ("limit", "20"),
    ]);
    let first = search(&t, RECORDINGS_TABLE, &q, None)
        .await
        .expect("search");
    let spent = t.count(None, Some("query"));
    assert_eq!(spent - before, 1, "one index query, no day partitions");
    assert_eq!(first.rows.len(), 20);
    assert!(
        first.rows.iter().all(|r| r["TargetVm"] == "vm-a"),
        "stale row re-checked"
    );
    let second = search(&t, RECORDINGS_TABLE, &q, first.next.clone())
        .await
        .expect("page 2");
    assert_eq!(second.rows.len(), 10);
    assert!(second.next.is_none(), "the last page carries no token");
    let starts: Vec<&str> = first
        .rows
        .iter()
        .chain(&second.rows)
        .filter_map(|r| r["SessionStart"].as_str())
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
    t.write(RECORDINGS_TABLE, &e, WriteMode::Upsert)
        .await
        .expect("row");
    let q = [("from", "2025-03-01"), ("to", "2025-03-03"), ("vm", "vm-a")];
    assert_eq!(first_page(&t, &q).await.rows.len(), 1);
}

/// Held-back index rows are written 100 to a call per partition (creating the table on first use),
/// each once, and a second flush has nothing left to write.
#[tokio::test]
async fn deferred_rows_are_written_in_batches_per_partition() {
    let t = CountingTables::new(InMemoryTables::new());
    let held = Deferred::default();
    let rows: Vec<Entity> = (0..150)
        .map(|i| {
            let start = format!("2025-03-14T09:{:02}:{:02}.000Z", i / 60, i % 60);
            row("2025-03-14", &format!("c/{i}.mp4"), "vm1", "alice", &start)
        })
        .collect();
    for r in &rows {
        held.add(keys(r));
        held.add(keys(r)); // a row held twice is written once
    }
    let other = row(
        "2025-03-14",
        "c/x.mp4",
        "vm2",
        "bob",
        "2025-03-14T10:00:00.000Z",
    );
    held.add(keys(&other));
    let expected = rows
        .iter()
        .chain([&other])
        .flat_map(keys)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert_eq!(expected, 150 * 3 + 3, "name and e-mail alike share a row");
    assert_eq!(held.flush(&t).await.expect("flush"), expected);
    let stored = t
        .inner()
        .query(INDEX_TABLE, None, None, None)
        .await
        .expect("index rows");
    assert_eq!(stored.items.len(), expected);
    for r in rows.iter().chain([&other]) {
        for (pk, rk) in keys(r) {
            assert!(
                t.inner()
                    .get(INDEX_TABLE, &pk, &rk)
                    .await
                    .expect("get")
                    .is_some(),
                "{pk} {rk}"
            );
        }
    }
    // vm1's two partitions and alice's: 2 calls each for 150 rows (the first finds no table and is
    // redone row by row); vm2's two and bob's one call each.
    let batches = t.count(Some(INDEX_TABLE), Some("batch"));
    assert_eq!(batches, 3 * 2 + 3, "{:?}", t.by_table());
    t.reset();
    assert_eq!(held.flush(&t).await.expect("flush"), 0);
    assert_eq!(t.count(None, None), 0);
}
