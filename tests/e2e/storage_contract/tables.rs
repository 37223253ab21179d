//! Table contract: insert/conflict, ETags, conditional replace and delete, filtered and paged queries, batches.

use bastion_recordings::azure::AzureError;
use bastion_recordings::tables::filter::Op;
use bastion_recordings::tables::{Entity, Filter, Stored, TableStore, WriteMode, get_i64, int64};
use serde_json::json;

use super::table_stores;
use crate::harness::unique;

pub(super) fn entity(pk: &str, rk: &str, user: &str, size: i64) -> Entity {
    let mut e = json!({"PartitionKey": pk, "RowKey": rk, "User": user, "Done": false})
        .as_object()
        .cloned()
        .expect("object");
    int64(&mut e, "Size", size);
    e
}

/// The entity as it reads back: annotations gone.
pub(super) fn plain(e: &Entity) -> Entity {
    let mut e = e.clone();
    e.retain(|k, _| !k.contains("@odata."));
    e
}

pub(super) async fn all(
    s: &dyn TableStore,
    t: &str,
    f: Option<&Filter>,
    top: Option<u32>,
) -> (Vec<Stored>, usize) {
    let (mut items, mut next, mut pages) = (Vec::new(), None, 0);
    loop {
        let page = s.query(t, f, top, next.take()).await.expect("query");
        pages += 1;
        assert!(
            top.is_none_or(|n| page.items.len() <= n as usize),
            "page larger than top"
        );
        items.extend(page.items);
        match page.next {
            Some(n) => next = Some(n),
            None => return (items, pages),
        }
    }
}

#[tokio::test]
async fn insert_conflicts_and_get_returns_entity_with_etag() {
    for (name, s) in table_stores() {
        let t = unique("cat");
        s.ensure_table(&t).await.expect("create");
        s.ensure_table(&t).await.expect("idempotent");
        let e = entity("p", "r1", "alice", 5_000_000_000);
        let etag = s.write(&t, &e, WriteMode::Insert).await.expect("insert");
        let again = s.write(&t, &e, WriteMode::Insert).await;
        assert!(
            matches!(again, Err(AzureError::Conflict)),
            "{name}: {again:?}"
        );
        let got = s.get(&t, "p", "r1").await.expect("get").expect("exists");
        assert_eq!(got.etag, etag, "{name}");
        assert_eq!(got.entity, plain(&e), "{name}");
        assert_eq!(
            get_i64(&got.entity, "Size"),
            Some(5_000_000_000),
            "{name}: Int64 round trip"
        );
        assert!(
            s.get(&t, "p", "nope").await.expect("get").is_none(),
            "{name}"
        );
        assert!(
            s.get(&unique("absent"), "p", "r1")
                .await
                .expect("missing table")
                .is_none(),
            "{name}"
        );
        let no_table = s.write(&unique("absent"), &e, WriteMode::Upsert).await;
        assert!(
            matches!(no_table, Err(AzureError::NotFound)),
            "{name}: {no_table:?}"
        );
    }
}

#[tokio::test]
async fn if_match_replaces_only_the_current_version() {
    for (name, s) in table_stores() {
        let t = unique("cat");
        s.ensure_table(&t).await.expect("create");
        let v1 = s
            .write(&t, &entity("p", "r", "a", 1), WriteMode::Upsert)
            .await
            .expect("upsert");
        let v2 = s
            .write(
                &t,
                &entity("p", "r", "b", 2),
                WriteMode::IfMatch(v1.clone()),
            )
            .await
            .expect("current etag");
        assert_ne!(v1, v2, "{name}: every write changes the etag");
        let stale = s
            .write(
                &t,
                &entity("p", "r", "c", 3),
                WriteMode::IfMatch(v1.clone()),
            )
            .await;
        assert!(
            matches!(stale, Err(AzureError::PreconditionFailed)),
            "{name}: {stale:?}"
        );
        let gone = s
            .write(
                &t,
                &entity("p", "missing", "c", 3),
                WriteMode::IfMatch(v2.clone()),
            )
            .await;
        assert!(
            matches!(gone, Err(AzureError::NotFound)),
            "{name}: {gone:?}"
        );
        // Upsert replaces the whole entity: properties not written again disappear.
        let mut slim = entity("p", "r", "d", 4);
        slim.remove("Done");
        s.write(&t, &slim, WriteMode::Upsert)
            .await
            .expect("replace");
        let got = s.get(&t, "p", "r").await.expect("get").expect("exists");
        assert_eq!(got.entity, plain(&slim), "{name}");
    }
}

#[tokio::test]
async fn deletes_honour_etags_and_report_missing_entities() {
    for (name, s) in table_stores() {
        let t = unique("cat");
        s.ensure_table(&t).await.expect("create");
        let old = s
            .write(&t, &entity("p", "r", "a", 1), WriteMode::Upsert)
            .await
            .expect("v1");
        let cur = s
            .write(&t, &entity("p", "r", "a", 2), WriteMode::Upsert)
            .await
            .expect("v2");
        let stale = s.delete(&t, "p", "r", Some(&old)).await;
        assert!(
            matches!(stale, Err(AzureError::PreconditionFailed)),
            "{name}: {stale:?}"
        );
        s.delete(&t, "p", "r", Some(&cur))
            .await
            .expect("current etag");
        assert!(s.get(&t, "p", "r").await.expect("get").is_none(), "{name}");
        let missing = s.delete(&t, "p", "r", None).await;
        assert!(
            matches!(missing, Err(AzureError::NotFound)),
            "{name}: {missing:?}"
        );
        s.write(&t, &entity("p", "r2", "a", 1), WriteMode::Insert)
            .await
            .expect("insert");
        s.delete(&t, "p", "r2", None).await.expect("unconditional");
        assert!(s.get(&t, "p", "r2").await.expect("get").is_none(), "{name}");
    }
}

#[tokio::test]
async fn queries_filter_strings_and_int64_and_page_with_small_top() {
    for (name, s) in table_stores() {
        let t = unique("q");
        s.ensure_table(&t).await.expect("create");
        let rows = [
            ("a", "1", "alice", 10),
            ("a", "2", "bob", 3_000_000_000),
            ("a", "3", "o'hara", 7),
            ("b", "1", "alice", 5_000_000_000),
            ("b", "2", "carol", 1),
            ("c", "1", "dave", 2),
        ];
        for (pk, rk, user, size) in rows {
            s.write(&t, &entity(pk, rk, user, size), WriteMode::Insert)
                .await
                .expect("insert");
        }
        let keys = |v: &[Stored]| {
            v.iter()
                .map(|x| {
                    format!(
                        "{}/{}",
                        x.entity["PartitionKey"].as_str().unwrap_or(""),
                        x.entity["RowKey"].as_str().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
        };
        let (every, pages) = all(s.as_ref(), &t, None, Some(2)).await;
        assert_eq!(
            keys(&every),
            ["a/1", "a/2", "a/3", "b/1", "b/2", "c/1"],
            "{name}: key order"
        );
        assert!(pages >= 3, "{name}: {pages} pages");
        assert!(
            every.iter().all(|x| !x.etag.is_empty()),
            "{name}: query results carry etags"
        );
        let big = Filter::int("Size", Op::Gt, i64::from(i32::MAX));
        assert_eq!(
            keys(&all(s.as_ref(), &t, Some(&big), None).await.0),
            ["a/2", "b/1"],
            "{name}: Int64 comparison"
        );
        let alice_or_quote = Filter::Or(vec![
            Filter::str("User", Op::Eq, "alice"),
            Filter::str("User", Op::Eq, "o'hara"),
        ]);
        assert_eq!(
            keys(&all(s.as_ref(), &t, Some(&alice_or_quote), Some(1)).await.0),
            ["a/1", "a/3", "b/1"],
            "{name}: or + quotes"
        );
        let and = Filter::And(vec![
            Filter::partition("a"),
            Filter::int("Size", Op::Le, 10),
            Filter::str("User", Op::Ge, "b"),
        ]);
        assert_eq!(
            keys(&all(s.as_ref(), &t, Some(&and), None).await.0),
            ["a/3"],
            "{name}: and"
        );
        let none = Filter::str("User", Op::Eq, "nobody");
        assert!(
            all(s.as_ref(), &t, Some(&none), Some(2)).await.0.is_empty(),
            "{name}"
        );
        // A query result's etag is usable for a conditional replace.
        let first = &every[0];
        let mut e = first.entity.clone();
        e.insert("Done".into(), json!(true));
        s.write(&t, &e, WriteMode::IfMatch(first.etag.clone()))
            .await
            .expect("etag from query works");
        let bad = s.query(&t, None, None, Some("not-a-token!".into())).await;
        assert!(
            matches!(bad, Err(AzureError::Permanent(_))),
            "{name}: {bad:?}"
        );
        let missing = s.query(&unique("absent"), None, None, None).await;
        assert!(
            matches!(missing, Err(AzureError::NotFound)),
            "{name}: {missing:?}"
        );
    }
}

#[tokio::test]
async fn batch_writes_one_partition_at_once_and_refuses_a_stale_row() {
    for (name, s) in table_stores() {
        let t = unique("batch");
        s.ensure_table(&t).await.expect("create");
        let old = entity("p", "r0", "old", 1);
        let etag = s.write(&t, &old, WriteMode::Insert).await.expect("insert");
        let writes: Vec<(Entity, WriteMode)> = (1..=3)
            .map(|i| (entity("p", &format!("r{i}"), "new", i), WriteMode::Insert))
            .chain([(
                entity("p", "r0", "changed", 0),
                WriteMode::IfMatch(etag.clone()),
            )])
            .chain([(entity("p", "r9", "up", 9), WriteMode::Upsert)])
            .collect();
        let etags = s.batch(&t, &writes).await.expect("batch");
        assert_eq!(etags.len(), 5, "{name}");
        for ((e, _), etag) in writes.iter().zip(&etags) {
            let rk = e["RowKey"].as_str().expect("rk");
            let got = s.get(&t, "p", rk).await.expect("get").expect("written");
            assert_eq!((&got.entity, &got.etag), (&plain(e), etag), "{name}: {rk}");
        }
        // A stale ETag fails the whole transaction.
        let stale = vec![
            (entity("p", "r4", "x", 4), WriteMode::Insert),
            (entity("p", "r2", "gone", 2), WriteMode::Delete("*".into())),
            (entity("p", "r0", "late", 0), WriteMode::IfMatch(etag)),
        ];
        let lost = s.batch(&t, &stale).await;
        assert!(
            matches!(lost, Err(AzureError::PreconditionFailed)),
            "{name}: {lost:?}"
        );
        assert!(s.get(&t, "p", "r4").await.expect("get").is_none(), "{name}");
        assert!(s.get(&t, "p", "r2").await.expect("get").is_some(), "{name}");
        // A row moves within a transaction: one removed (by its ETag), another written.
        let r2 = s.get(&t, "p", "r2").await.expect("get").expect("r2");
        let moved = vec![
            (entity("p", "r2", "", 2), WriteMode::Delete(r2.etag.clone())),
            (entity("p", "r5", "moved", 5), WriteMode::Insert),
        ];
        let etags = s.batch(&t, &moved).await.expect("move");
        assert_eq!(etags.len(), 2, "{name}");
        assert!(s.get(&t, "p", "r2").await.expect("get").is_none(), "{name}");
        assert!(s.get(&t, "p", "r5").await.expect("get").is_some(), "{name}");
        let twice = s.batch(&t, &moved[..1]).await;
        assert!(
            matches!(twice, Err(AzureError::NotFound)),
            "{name}: removing a removed row: {twice:?}"
        );
        let again = s.batch(&t, &writes[..1]).await;
        assert!(
            matches!(again, Err(AzureError::Conflict)),
            "{name}: {again:?}"
        );
    }
}

#[tokio::test]
async fn a_batch_of_deletes_removes_unchanged_rows_at_once_and_refuses_a_changed_one() {
    let deletes = |rows: &[(String, String)]| -> Vec<(Entity, WriteMode)> {
        rows.iter()
            .map(|(rk, etag)| (entity("p", rk, "", 0), WriteMode::Delete(etag.clone())))
            .collect()
    };
    for (name, s) in table_stores() {
        let t = unique("delbatch");
        s.ensure_table(&t).await.expect("create");
        let mut rows = Vec::new();
        for i in 0..3 {
            let rk = format!("r{i}");
            let etag = s
                .write(&t, &entity("p", &rk, "x", i), WriteMode::Insert)
                .await
                .expect("insert");
            rows.push((rk, etag));
        }
        s.batch(&t, &deletes(&rows)).await.expect("deleted");
        for (rk, _) in &rows {
            assert!(
                s.get(&t, "p", rk).await.expect("get").is_none(),
                "{name}: {rk}"
            );
        }
        // A row changed since it was read fails the whole transaction on the service.
        let a = s
            .write(&t, &entity("p", "a", "x", 1), WriteMode::Insert)
            .await
            .expect("a");
        let b = s
            .write(&t, &entity("p", "b", "x", 2), WriteMode::Insert)
            .await
            .expect("b");
        s.write(
            &t,
            &entity("p", "b", "changed", 2),
            WriteMode::IfMatch(b.clone()),
        )
        .await
        .expect("change b");
        let stale = [("a".to_owned(), a), ("b".to_owned(), b)];
        let refused = s.batch(&t, &deletes(&stale)).await;
        assert!(
            matches!(refused, Err(AzureError::PreconditionFailed)),
            "{name}: {refused:?}"
        );
        if name != "memory" {
            assert!(
                s.get(&t, "p", "a").await.expect("get").is_some(),
                "{name}: all or nothing"
            );
        }
        assert!(s.get(&t, "p", "b").await.expect("get").is_some(), "{name}");
        let gone = s
            .batch(&t, &deletes(&[("nope".to_owned(), "W/\"x\"".to_owned())]))
            .await;
        assert!(
            matches!(gone, Err(AzureError::NotFound)),
            "{name}: {gone:?}"
        );
    }
}
