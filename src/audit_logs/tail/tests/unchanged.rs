//! The planner's look at each host ([`super::unchanged`]): a quiet host costs its listing alone
//! and is not planned; a blob grown in an hour already read (a late append), a blob whose event
//! was lost and a blob gone each make the host planned, and the host's unit then reads the late
//! append.

use crate::testkit::DefaultSources;
use std::sync::Arc;

use bytes::Bytes;
use time::{Duration, OffsetDateTime};

use super::session;
use crate::audit_logs::path::hosts;
use crate::audit_logs::repo::CursorRepo;
use crate::storage::BlobStore;
use crate::testkit::Domains;
use crate::testkit::audit::{Kit, NOW, PATH, Tally, kit};
use crate::testkit::tail::connected;

/// The hosts' units the planner at `at` leaves out: with its blob and table calls.
async fn unchanged_at(k: &Kit, tally: &Tally, at: OffsetDateTime) -> (Vec<String>, u64, u64) {
    let window = k.state.audit.tail_look_back;
    let cursors = CursorRepo::new(k.state.ports.tables.clone())
        .active(at, window, None)
        .await
        .expect("cursors");
    tally.reset();
    let blobs = k.blobs.calls();
    let (quiet, lists) = super::unchanged(&k.state.tailer(), &hosts(cursors), at).await;
    assert_eq!(quiet.len() + lists.len(), 1, "the one host listed");
    let calls = (k.blobs.calls() - blobs, tally.count(None, None));
    (quiet.into_iter().collect(), calls.0, calls.1)
}

async fn append(k: &Kit, name: &str, text: &str) {
    let blob = k.state.ports.sources.default_audit_logs().blob(name);
    (k.blobs.append(&blob, Bytes::from(text.to_owned())))
        .await
        .expect("append");
}

#[tokio::test]
async fn a_quiet_host_is_left_out_and_a_late_append_a_lost_event_or_a_gone_blob_is_planned() {
    let mut k = kit(None);
    let tally = Arc::new(Tally::new(k.state.ports.tables.clone()));
    k.state.ports.tables = tally.clone();
    let tail = k.state.tailer();
    let source = k.state.ports.sources.default_audit_logs();
    let hour10 = PATH.replace("/h=09/", "/h=10/");
    for name in [PATH, hour10.as_str()] {
        let blob = source.blob(name);
        k.blobs
            .create_append(&blob, "application/json")
            .await
            .expect("create");
        crate::audit_logs::created::register(&tail, source, name, NOW, NOW, false)
            .await
            .expect("register")
            .expect("a PT1H.json path");
    }
    append(
        &k,
        PATH,
        &connected(
            "20000000-0000-4000-8000-000000000001",
            "2025-03-14T09:10:00Z",
        ),
    )
    .await;
    append(
        &k,
        &hour10,
        &connected(
            "20000000-0000-4000-8000-000000000002",
            "2025-03-14T10:01:00Z",
        ),
    )
    .await;
    let at = |m: i64| NOW + Duration::minutes(m);
    // Not read yet: planned.
    assert!(unchanged_at(&k, &tally, at(1)).await.0.is_empty());
    let r = crate::testkit::tail::tick(&tail, at(1))
        .await
        .expect("tick");
    assert_eq!(r.records, 2, "{r:?}");
    // Quiet: left out, for its one listing and no table call.
    let unit = hosts(
        CursorRepo::new(k.state.ports.tables.clone())
            .active(at(2), k.state.audit.tail_look_back, None)
            .await
            .expect("cursors"),
    )
    .remove(0)
    .unit();
    assert_eq!(
        unchanged_at(&k, &tally, at(2)).await,
        (vec![unit.clone()], 1, 0)
    );
    // A late append to hour 9, read already and no longer the current hour: planned, then read.
    let late = "20000000-0000-4000-8000-000000000003";
    append(&k, PATH, &connected(late, "2025-03-14T09:59:00Z")).await;
    assert!(
        unchanged_at(&k, &tally, at(3)).await.0.is_empty(),
        "a late append is work"
    );
    let r = super::host(&tail, &unit, "", at(3)).await.expect("unit");
    assert_eq!((r.grown, r.records), (1, 1), "{r:?}");
    assert!(session(&k, late).await.is_some());
    assert_eq!(unchanged_at(&k, &tally, at(4)).await.0, vec![unit.clone()]);
    // An hour blob whose event was lost: planned.
    let lost = PATH.replace("/h=09/", "/h=05/");
    k.blobs
        .create_append(&source.blob(&lost), "application/json")
        .await
        .expect("create");
    assert!(
        unchanged_at(&k, &tally, at(5)).await.0.is_empty(),
        "a blob without a cursor"
    );
    super::host(&tail, &unit, "", at(5)).await.expect("unit");
    assert_eq!(unchanged_at(&k, &tally, at(6)).await.0, vec![unit.clone()]);
    // A watched blob gone: planned.
    (k.blobs.delete_guarded(&source.blob(&lost), None, None))
        .await
        .expect("delete");
    assert!(
        unchanged_at(&k, &tally, at(7)).await.0.is_empty(),
        "a blob gone"
    );
}
