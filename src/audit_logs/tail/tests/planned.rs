//! A host's unit carrying what its planner knew ([`super::known`]): a listing that agrees reads no
//! cursor row; a blob grown, a new hour blob or a late one whose event was lost, after quiet
//! ticks, are read as without it, and a message planned before a read and delivered after it
//! reads nothing twice.

use crate::testkit::DefaultSources;
use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use super::session;
use crate::audit_logs::path::{Host, hosts};
use crate::audit_logs::repo::CursorRepo;
use crate::storage::BlobStore;
use crate::testkit::Domains;
use crate::testkit::audit::{Kit, NOW, PATH, Tally, kit};
use crate::testkit::tail::connected;

fn counted() -> (Kit, Arc<Tally>) {
    let mut k = kit(None);
    let tally = Arc::new(Tally::new(k.state.ports.tables.clone()));
    k.state.ports.tables = tally.clone();
    (k, tally)
}

/// The host's unit and what a planner at `at` knows of it (as `AuditLogTail`'s planning).
async fn plan(k: &Kit, at: OffsetDateTime) -> (String, String) {
    let window = k.state.audit.tail_look_back;
    let repo = CursorRepo::new(k.state.ports.tables.clone());
    let host: Host = hosts(repo.active(at, window, None).await.expect("cursors")).remove(0);
    (host.unit(), super::known::of(&host, at, window, None))
}

/// The host's unit at `at` with `known`: its report, blob and table calls.
async fn unit(
    k: &Kit,
    tally: &Tally,
    (u, known): &(String, String),
    at: OffsetDateTime,
) -> (super::TickReport, u64, u64) {
    tally.reset();
    let blobs = k.blobs.calls();
    let r = crate::audit_logs::tail::host(&k.state.tailer(), u, known, at)
        .await
        .expect("unit");
    (r, k.blobs.calls() - blobs, tally.count(None, None))
}

async fn create(k: &Kit, name: &str, text: &str) {
    let blob = k.state.ports.sources.default_audit_logs().blob(name);
    k.blobs
        .create_append(&blob, "application/json")
        .await
        .expect("create");
    if !text.is_empty() {
        k.blobs
            .append(&blob, text.as_bytes().to_vec().into())
            .await
            .expect("append");
    }
}

#[tokio::test]
async fn a_quiet_host_reads_no_row_and_growth_new_and_late_blobs_are_read_after_quiet_ticks() {
    let (k, tally) = counted();
    k.create_log().await;
    k.register().await;
    let at = |m: i64| NOW + Duration::minutes(m);
    // Quiet ticks: the listing alone, no cursor row read.
    for m in 1..=3 {
        let planned = plan(&k, at(m)).await;
        assert!(!planned.1.is_empty(), "the planner knows the host");
        let (r, blobs, table) = unit(&k, &tally, &planned, at(m)).await;
        assert_eq!((r.hosts, r.hosts_failed, r.grown, r.blobs), (1, 0, 0, 0));
        assert_eq!((blobs, table), (1, 0), "one listing, no table call");
    }
    // Planned, then the blob grows before the unit runs: read.
    let planned = plan(&k, at(4)).await;
    k.append(
        connected(
            "10000000-0000-4000-8000-000000000001",
            "2025-03-14T09:50:00Z",
        )
        .as_bytes(),
    )
    .await;
    let (r, _, table) = unit(&k, &tally, &planned, at(4)).await;
    assert_eq!((r.grown, r.blobs, r.records), (1, 1, 1), "{r:?}");
    assert!(table > 0, "the rows are read when the listing differs");
    assert!(
        session(&k, "10000000-0000-4000-8000-000000000001")
            .await
            .is_some()
    );
    // The same message delivered again after that read: nothing read twice.
    let (r, _, _) = unit(&k, &tally, &planned, at(4)).await;
    assert_eq!((r.grown, r.records), (0, 0), "{r:?}");
    // Quiet again, then a new hour's blob and a late one, both without their event.
    let planned = plan(&k, at(5)).await;
    assert_eq!(unit(&k, &tally, &planned, at(5)).await.2, 0);
    let new = PATH.replace("/h=09/", "/h=10/");
    let late = PATH.replace("/h=09/", "/h=03/");
    create(
        &k,
        &new,
        &connected(
            "10000000-0000-4000-8000-000000000002",
            "2025-03-14T10:05:00Z",
        ),
    )
    .await;
    create(
        &k,
        &late,
        &connected(
            "10000000-0000-4000-8000-000000000003",
            "2025-03-14T03:05:00Z",
        ),
    )
    .await;
    let planned = plan(&k, at(6)).await;
    let (r, _, _) = unit(&k, &tally, &planned, at(6)).await;
    assert_eq!((r.registered, r.blobs, r.records), (2, 2, 2), "{r:?}");
    for t in [
        "10000000-0000-4000-8000-000000000002",
        "10000000-0000-4000-8000-000000000003",
    ] {
        assert!(session(&k, t).await.is_some(), "{t}");
    }
    // All three known now: quiet again.
    let planned = plan(&k, at(7)).await;
    let lengths = planned.1.lines().nth(1).unwrap_or_default();
    assert_eq!(lengths.split(' ').count(), 3, "{}", planned.1);
    let (r, blobs, table) = unit(&k, &tally, &planned, at(7)).await;
    assert_eq!((r.grown, r.registered, blobs, table), (0, 0, 1, 0), "{r:?}");
}

#[tokio::test]
async fn a_unit_knowing_nothing_or_another_host_reads_its_rows() {
    let (k, tally) = counted();
    k.create_log().await;
    k.register().await;
    let (u, known) = plan(&k, NOW).await;
    for known in [String::new(), known.replace("BAS-HUB-WEU", "BAS-HUB-NEU")] {
        let (r, blobs, table) = unit(&k, &tally, &(u.clone(), known), NOW).await;
        assert_eq!((r.hosts, blobs), (1, 1));
        assert!(table > 0, "the host's cursor rows are read");
    }
}

/// The host's unit and what a planner at `at` that listed it knows of it, with its listing
/// (as `AuditLogTail`'s planning: [`super::unchanged`], then [`super::known::of`]).
async fn plan_listed(k: &Kit, at: OffsetDateTime) -> (String, String) {
    let window = k.state.audit.tail_look_back;
    let repo = CursorRepo::new(k.state.ports.tables.clone());
    let host: Host = hosts(repo.active(at, window, None).await.expect("cursors")).remove(0);
    let (quiet, lists) = super::unchanged(&k.state.tailer(), std::slice::from_ref(&host), at).await;
    assert!(quiet.is_empty(), "the host grew");
    let list = lists.get(&host.unit()).map(Vec::as_slice);
    assert!(list.is_some(), "the planner listed the host");
    (host.unit(), super::known::of(&host, at, window, list))
}

#[tokio::test]
async fn a_host_planned_with_its_listing_is_listed_once_and_growth_after_planning_is_read() {
    let (k, tally) = counted();
    let tail = k.state.tailer();
    let source = k.state.ports.sources.default_audit_logs();
    let hour8 = PATH.replace("/h=09/", "/h=08/");
    for name in [PATH, hour8.as_str()] {
        create(&k, name, "").await;
        crate::audit_logs::created::register(&tail, source, name, NOW, NOW, false)
            .await
            .expect("register")
            .expect("a PT1H.json path");
    }
    let at = |m: i64| NOW + Duration::minutes(m);
    let tunnel = |n: u32| format!("30000000-0000-4000-8000-{n:012}");
    let append = |name: &str, n: u32| {
        let blob = source.blob(name);
        let hour = if name == PATH { "09" } else { "08" };
        let text = connected(&tunnel(n), &format!("2025-03-14T{hour}:10:{n:02}Z"));
        let blobs = k.blobs.clone();
        async move {
            blobs
                .append(&blob, text.into_bytes().into())
                .await
                .expect("append");
        }
    };
    // Hour 9 grew: planned with the planner's listing. Then, before the unit runs, hour 9 grows
    // again and hour 8 (unchanged in that listing) grows.
    append(PATH, 1).await;
    let planned = plan_listed(&k, at(1)).await;
    assert!(planned.1.lines().nth(2) == Some("listed"), "{}", planned.1);
    append(PATH, 2).await;
    append(&hour8, 3).await;
    // This period: hour 9 read to its end (both appends); hour 8 is not seen yet.
    let (r, _, _) = unit(&k, &tally, &planned, at(1)).await;
    assert_eq!((r.grown, r.blobs, r.records), (1, 1, 2), "{r:?}");
    for n in [1, 2] {
        assert!(session(&k, &tunnel(n)).await.is_some(), "{n}");
    }
    assert!(session(&k, &tunnel(3)).await.is_none());
    // The next period's planner lists hour 8 grown: its unit reads it.
    let planned = plan_listed(&k, at(2)).await;
    let (r, _, _) = unit(&k, &tally, &planned, at(2)).await;
    assert_eq!((r.grown, r.records), (1, 1), "{r:?}");
    assert!(session(&k, &tunnel(3)).await.is_some());
    // The same growth with and without the planner's listing: one storage call apart, the
    // unit's own listing.
    append(PATH, 4).await;
    let planned = plan_listed(&k, at(3)).await;
    let (r, with, _) = unit(&k, &tally, &planned, at(3)).await;
    assert_eq!(r.records, 1, "{r:?}");
    append(PATH, 5).await;
    let (u, known) = plan_listed(&k, at(4)).await;
    let unlisted: Vec<&str> = known.lines().take(2).collect();
    let (r, without, _) = unit(&k, &tally, &(u, unlisted.join("\n")), at(4)).await;
    assert_eq!(r.records, 1, "{r:?}");
    assert_eq!(without, with + 1, "the unit's own listing");
}
