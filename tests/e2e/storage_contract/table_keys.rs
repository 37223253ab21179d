//! Table contract, keys and names: quotes, spaces, unicode and reserved characters in keys, and
//! table-prefix isolation between deployments sharing an account; tables listed by prefix and
//! deleted whole.

use bastion_recordings::azure::AzureError;
use bastion_recordings::tables::rest::TableRestClient;
use bastion_recordings::tables::{Filter, TableStore, WriteMode};

use super::tables::{all, entity, plain};
use super::{azurite_connection, table_stores};
use crate::harness::unique;

#[tokio::test]
async fn keys_with_quotes_spaces_and_unicode_round_trip() {
    for (name, s) in table_stores() {
        let t = unique("keys");
        s.ensure_table(&t).await.expect("create");
        for (pk, rk) in [
            ("o'brien", "it''s"),
            ("東京 ü", "a+b%20c&d=e"),
            ("(x,y)", "'"),
            ("", "empty-pk"),
        ] {
            let e = entity(pk, rk, "u", 1);
            let etag = s
                .write(&t, &e, WriteMode::Insert)
                .await
                .unwrap_or_else(|err| panic!("{name} {pk:?}/{rk:?}: {err:?}"));
            let got = s
                .get(&t, pk, rk)
                .await
                .expect("get")
                .unwrap_or_else(|| panic!("{name}: {pk:?}/{rk:?} readable"));
            assert_eq!(got.entity, plain(&e), "{name}");
            let found = all(s.as_ref(), &t, Some(&Filter::partition(pk)), None)
                .await
                .0;
            assert_eq!(found.len(), 1, "{name}: filter on {pk:?}");
            s.delete(&t, pk, rk, Some(&etag))
                .await
                .unwrap_or_else(|err| panic!("{name} delete {pk:?}: {err:?}"));
        }
        let bad = s
            .write(&t, &entity("a/b", "r", "u", 1), WriteMode::Upsert)
            .await;
        assert!(
            matches!(bad, Err(AzureError::Rejected { .. })),
            "{name}: '/' is not allowed in keys: {bad:?}"
        );
    }
}

#[tokio::test]
async fn table_prefixes_isolate_deployments() {
    let Some(conn) = azurite_connection() else {
        return;
    };
    let (a, b) = (
        TableRestClient::new(&conn, &unique("pa")).expect("a"),
        TableRestClient::new(&conn, &unique("pb")).expect("b"),
    );
    for s in [&a, &b] {
        s.ensure_table("shared").await.expect("create");
    }
    a.write("shared", &entity("p", "r", "only-a", 1), WriteMode::Insert)
        .await
        .expect("write a");
    assert!(b.get("shared", "p", "r").await.expect("get b").is_none());
    assert!(
        b.query("shared", None, None, None)
            .await
            .expect("query b")
            .items
            .is_empty()
    );
    b.write("shared", &entity("p", "r", "only-b", 1), WriteMode::Insert)
        .await
        .expect("same key, other prefix");
    let got = a
        .get("shared", "p", "r")
        .await
        .expect("get a")
        .expect("exists");
    assert_eq!(got.entity["User"], "only-a");
    let invalid = a.ensure_table("has-dash").await;
    assert!(
        matches!(invalid, Err(AzureError::Permanent(_))),
        "{invalid:?}"
    );
}

/// Query Tables by prefix lists this deployment's tables of that prefix only, in order; Delete
/// Table removes a table with its rows in one call, and a second delete is `NotFound`.
#[tokio::test]
async fn tables_list_by_prefix_and_delete_whole() {
    for (label, s) in super::table_stores() {
        for t in [
            "bucketb202611271645",
            "bucketb202611271630",
            "bucketc1",
            "bucket",
        ] {
            s.ensure_table(t).await.expect("create");
        }
        for rk in ["r1", "r2", "r3"] {
            s.write(
                "bucketb202611271630",
                &entity("p", rk, "u", 1),
                WriteMode::Upsert,
            )
            .await
            .expect("write");
        }
        let listed = s.list_tables("bucketb").await.expect("list");
        assert_eq!(
            listed,
            ["bucketb202611271630", "bucketb202611271645"],
            "{label}"
        );
        s.delete_table("bucketb202611271630").await.expect("delete");
        let listed = s.list_tables("bucketb").await.expect("list");
        assert_eq!(listed, ["bucketb202611271645"], "{label}");
        let again = s.delete_table("bucketb202611271630").await;
        assert!(
            matches!(again, Err(AzureError::NotFound)),
            "{label}: {again:?}"
        );
        assert_eq!(
            s.list_tables("bucket").await.expect("list").len(),
            3,
            "{label}"
        );
    }
}
