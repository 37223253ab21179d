//! What is kept: first and last sight, a window closed at its end, an instance gone from a
//! whole list closed then, and the pacing row apart from the evidence.

use std::collections::BTreeSet;

use time::Duration;
use time::macros::datetime;

use super::evidence::{Evidence, Kind, Source};
use super::store::{close_gone, keep, load, mark_read, read_at};
use crate::testkit::tables::memory::InMemoryTables;

fn instance(id: &str, end_hours: i64) -> Evidence {
    let t = datetime!(2026-11-20 10:00 UTC);
    Evidence {
        id: id.into(),
        source: Some(Source::Instances),
        kind: Some(Kind::Pim),
        principal: "oid-1".into(),
        names: vec!["alice@contoso.com".into(), "alice@fabrikam.com".into()],
        scope: "/subscriptions/s1/resourcegroups/rg".into(),
        seen_under: "s1".into(),
        role: "r".into(),
        start: Some(t),
        end: Some(t + Duration::hours(end_hours)),
        justification: "why".into(),
        ..Evidence::default()
    }
}

#[tokio::test]
async fn a_window_keeps_its_first_sight_and_a_gone_instance_is_closed_when_missed() {
    let tables = InMemoryTables::new();
    let t1 = datetime!(2026-11-20 10:05 UTC);
    let t2 = t1 + Duration::minutes(15);
    let seen = [instance("a", 8), instance("b", 8), instance("c", 1)];
    keep(
        &tables,
        &load(&tables, datetime!(2026-11-01 0:00 UTC))
            .await
            .expect("load"),
        &seen,
        t1,
    )
    .await
    .expect("keep");
    mark_read(&tables, "s1", t1).await.expect("mark");
    let kept = load(&tables, datetime!(2026-11-01 0:00 UTC))
        .await
        .expect("load");
    assert_eq!(kept.evidence.len(), 3, "the pacing row is no evidence");
    assert_eq!(
        kept.evidence.iter().find(|e| e.id == "a"),
        Some(&seen[0]),
        "read back whole"
    );
    // Later, only `a` is listed: `b` was deactivated before its end.
    keep(&tables, &kept, &seen[..1], t2).await.expect("keep");
    let listed: BTreeSet<String> = ["a".to_owned()].into();
    let closed = close_gone(&tables, &kept, (Source::Instances, "s1"), &listed, t2)
        .await
        .expect("close");
    assert_eq!(closed, 2, "b, and c whose end had not come by then");
    let later = t1 + Duration::hours(3);
    let kept = load(&tables, datetime!(2026-11-01 0:00 UTC))
        .await
        .expect("load");
    let b = kept.evidence.iter().find(|e| e.id == "b").expect("b kept");
    assert_eq!(b.end, Some(t2), "closed when missed");
    let a = &kept.rows["a"];
    assert_eq!(
        a.get("FirstSeen").and_then(|v| v.as_str()),
        Some("2026-11-20T10:05:00.000Z")
    );
    assert_eq!(
        a.get("LastSeen").and_then(|v| v.as_str()),
        Some("2026-11-20T10:20:00.000Z")
    );
    // Seen again, the gone mark stays; past its end a row is closed.
    keep(&tables, &kept, &[instance("b", 8), instance("a", 1)], later)
        .await
        .expect("keep");
    let kept = load(&tables, datetime!(2026-11-01 0:00 UTC))
        .await
        .expect("load");
    assert_eq!(
        kept.evidence
            .iter()
            .find(|e| e.id == "b")
            .and_then(|e| e.end),
        Some(t2)
    );
    assert_eq!(
        kept.rows["a"].get("Closed").and_then(|v| v.as_bool()),
        Some(true)
    );
    assert_eq!(read_at(&tables, "s1").await.expect("read at"), Some(t1));
    assert_eq!(read_at(&tables, "s2").await.expect("read at"), None);
}

/// A pass reads only the kept windows that may cover a session of its span: not one that ended
/// before it (less the skew), nor an endless one gone before it, nor an approval given more than
/// a day before it; and what it reads decides as the whole table did.
#[tokio::test]
async fn a_load_reads_only_the_windows_that_may_cover_the_span() {
    let tables = InMemoryTables::new();
    let t1 = datetime!(2026-11-20 10:05 UTC);
    let from = datetime!(2026-11-28 10:00 UTC);
    let mut old = instance("old", 8);
    old.id = "ended-before".into();
    let mut edge = instance("edge", 8);
    edge.end = Some(from - Duration::minutes(4));
    let mut current = instance("current", 8);
    current.end = Some(from + Duration::hours(1));
    let mut standing = instance("standing", 0);
    (standing.kind, standing.end) = (Some(Kind::Standing), None);
    let mut gone = instance("gone-standing", 0);
    (gone.kind, gone.end) = (Some(Kind::Standing), None);
    let mut approval = instance("approval-recent", 0);
    (approval.kind, approval.end) = (Some(Kind::Approval), None);
    approval.start = Some(from - Duration::hours(20));
    let mut stale = approval.clone();
    (stale.id, stale.start) = ("approval-old".into(), Some(from - Duration::hours(30)));
    let all = [old, edge, current, standing, gone, approval, stale];
    let everything = datetime!(2026-01-01 0:00 UTC);
    keep(
        &tables,
        &load(&tables, everything).await.expect("load"),
        &all,
        t1,
    )
    .await
    .expect("keep");
    let kept = load(&tables, everything).await.expect("load");
    let listed: BTreeSet<String> = (all.iter().map(|e| e.id.clone()))
        .filter(|id| id != "gone-standing")
        .collect();
    close_gone(&tables, &kept, (Source::Instances, "s1"), &listed, t1)
        .await
        .expect("close");
    assert_eq!(
        load(&tables, everything)
            .await
            .expect("load")
            .evidence
            .len(),
        7
    );
    let kept = load(&tables, from).await.expect("load");
    let mut ids: Vec<&str> = kept.evidence.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["approval-recent", "current", "edge", "standing"]);
    for e in &all {
        assert_eq!(
            super::store::may_cover(e, from) && e.id != "gone-standing",
            ids.contains(&e.id.as_str()),
            "{}: the filter and may_cover agree",
            e.id
        );
    }
}

/// A subscription's definitions are kept with the version of what their grants tell; a row kept
/// before versions were written reads as version 1 (its grants without the network's read), so
/// it is listed again.
#[tokio::test]
async fn kept_definitions_carry_their_version_and_an_older_row_reads_as_version_one() {
    use super::roles::{Definitions, GRANTS_VERSION, Grants};
    use super::store::{ROLES_PARTITION, WINDOWS_TABLE, definitions, keep_definitions};
    use crate::tables::{TableStore, WriteMode};
    let tables = InMemoryTables::new();
    let t = datetime!(2026-11-20 10:00 UTC);
    let defs = Definitions {
        grants: [("acdd72a7".to_owned(), Grants::parse("vhn"))].into(),
        read_at: Some(t),
        failed: None,
        version: GRANTS_VERSION,
    };
    keep_definitions(&tables, "s1", &defs).await.expect("kept");
    let back = definitions(&tables, "s1").await.expect("read");
    assert_eq!(back.as_ref(), Some(&defs));
    let old = crate::tables::entity(serde_json::json!({
        "PartitionKey": ROLES_PARTITION, "RowKey": "s2", "ReadAt": "2026-11-20T10:00:00.000Z",
        "Roles0": "{\"acdd72a7\":\"vh\"}",
    }));
    tables
        .write(WINDOWS_TABLE, &old, WriteMode::Upsert)
        .await
        .expect("an older row");
    let back = definitions(&tables, "s2")
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(back.version, 1);
    assert!(back.due(t + Duration::minutes(1)));
}
