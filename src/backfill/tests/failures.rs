//! Failed items: listed, recorded in table `backfill`, reflected in the summary, retried (and
//! forgotten once they succeed) by the next run even when the pass itself is done.

use super::*;

#[tokio::test]
async fn failed_items_are_listed_recorded_and_retried() {
    let r = rig();
    let good = r.recording("a/good.mp4").await;
    let bad = r.recording("b/bad.mp4").await;
    // A row that no longer parses makes the item fail (a permanent storage error).
    let mut broken = Entity::new();
    broken.insert("PartitionKey".into(), bad.pk.clone().into());
    broken.insert("RowKey".into(), bad.rk.clone().into());
    r.tables.ensure_table("recordings").await.expect("table");
    r.tables
        .write("recordings", &broken, WriteMode::Upsert)
        .await
        .expect("write");
    let only = Options {
        kinds: vec![Kind::Recordings],
        ..opts()
    };
    let (s, _) = r.run(&only).await;
    assert_eq!((s.catalogued, s.errors), (1, 1), "{s:?}");
    const WALK: &str = "recordings.devstoreaccount1.recordings";
    assert_eq!(s.failed, [format!("{WALK}:b/bad.mp4")]);
    assert!(r.row(&good).await.is_some());
    let failed = checkpoint::BackfillRepo::new(r.state.ports.tables.clone());
    assert_eq!(
        failed.failed(WALK, 10).await.expect("failed"),
        ["b/bad.mp4"]
    );

    r.tables
        .delete("recordings", &bad.pk, &bad.rk, None)
        .await
        .expect("delete");
    let (s, out) = r.run(&only).await;
    assert_eq!(
        (s.catalogued, s.errors),
        (1, 0),
        "retried although the pass is done: {s:?}"
    );
    assert_eq!(types(&out, "notifications"), 1);
    assert!(failed.failed(WALK, 10).await.expect("failed").is_empty());
}
