//! `handler backfill` over a workspace's retained history: the rows ingested from `--from` on are
//! read once through the backfill's own cursor (a rerun resumes and sends nothing), rows before
//! `--from` are left alone, the live cursor is untouched, and history read after the timer already
//! stored the same rows changes none of them.

use super::*;
use crate::audit_logs::query::history;
use crate::backfill::progress::Progress;
use crate::backfill::{self, Kind, Options};
use crate::testkit::state::Replace as _;

/// A backfill run ten days after the records.
const LATER_RUN: OffsetDateTime = NOW.saturating_add(Duration::days(10));

/// An extra session ingested two days before `--from`.
fn before_from() -> Rec {
    Rec {
        tunnel: "eeeeeeee-0000-4000-8000-000000000009".into(),
        time: crate::dates::format_utc_millis(NOW - Duration::days(3)),
        message: "Successfully Connected.",
        user: "eve",
        vm: "VM-OLD-01",
        ended: None,
    }
}

fn with_old(recs: &[Rec]) -> FakeLogs {
    let fake = workspace_with(recs);
    fake.ingest(WS, row(&before_from(), NOW - Duration::days(3)));
    fake
}

#[tokio::test]
async fn the_history_from_the_bound_is_read_once_and_the_live_cursor_stays() {
    let recs = records();
    let k = kit(None);
    let fake = with_old(&recs);
    let q = query(&k, &fake, 10_000);
    let (from, to) = (NOW - Duration::days(1), NOW + Duration::days(1));
    let h = history::read(&q, from, to, LATER_RUN, false).await;
    assert!(h.failed.is_empty(), "{:?}", h.failed);
    assert_eq!(
        (h.workspaces, h.queries, h.stored),
        (1, 1, recs.len() as u64)
    );
    let archive: Vec<String> = via_storage(&kit(None), &recs)
        .await
        .into_iter()
        .filter(|n| n.starts_with("login.failed.burst"))
        .collect();
    assert!(!archive.is_empty());
    assert_eq!(
        ids(&h.findings),
        archive,
        "the archive's burst digests, same ids"
    );
    let tables = &*k.state.ports.tables;
    for r in &recs {
        let s = crate::catalogue::session::get(tables, &r.tunnel).await;
        assert!(matches!(s, Ok(Some(_))), "{} stored", r.tunnel);
    }
    let old = crate::catalogue::session::get(tables, &before_from().tunnel).await;
    assert!(matches!(old, Ok(None)), "before --from: not read");
    let live = crate::tables::ops::get(tables, store::TABLE, WS, store::CURSOR_ROW).await;
    assert!(
        matches!(live, Ok(None)),
        "the live cursor is not the backfill's"
    );

    let again = history::read(&q, from, to, LATER_RUN, false).await;
    assert_eq!(
        (again.queries, again.stored),
        (0, 0),
        "a rerun resumes at its end"
    );
    let before = rows(&k).await;
    let restarted = history::read(&q, from, to, LATER_RUN, true).await;
    assert_eq!(restarted.queries, 1, "--restart reads the range again");
    assert_eq!(rows(&k).await, before, "read again, every row the same");
}

#[tokio::test]
async fn history_after_the_timer_changes_no_row_and_repeats_the_same_ids() {
    let recs = records();
    let k = kit(None);
    let fake = workspace_with(&recs);
    let (_, live) = workspace_tick(&k, &fake, 10_000, NOW).await;
    let before = rows(&k).await;
    let q = query(&k, &fake, 3);
    let h = history::read(&q, NOW - Duration::days(1), NOW, NOW, false).await;
    assert_eq!(h.queries, 3, "8 rows by pages of 3");
    assert_eq!(rows(&k).await, before, "same rows, none doubled");
    let burst: Vec<String> = ids(&h.findings);
    assert!(
        burst.iter().all(|b| live.contains(b)),
        "a repeated digest has the live one's id (delivered once): {burst:?} {live:?}"
    );
}

#[tokio::test]
async fn backfill_reads_the_configured_workspaces_and_counts_them() {
    let recs = records();
    let clock = Arc::new(crate::testkit::clock::FixedClock::new(LATER_RUN));
    let state = crate::testkit::state(
        Arc::new(crate::testkit::storage::memory::InMemoryBlobStore::new(
            "devstoreaccount1",
        )),
        Arc::new(crate::testkit::tables::memory::InMemoryTables::new()),
        clock,
        crate::catalogue::policy::Policy::builtin(),
        &[("AUDITLOGS_WORKSPACES", WS)],
    )
    .with_logs(Arc::new(with_old(&recs)));
    let opts = Options {
        from: NOW - Duration::days(1),
        to: NOW + Duration::days(1),
        concurrency: 1,
        kinds: vec![Kind::AuditLogs],
        dry_run: false,
        restart: false,
        limit: None,
        hash: false,
    };
    let mut emitted = Vec::new();
    let s = backfill::run(&state, &opts, &mut Progress::hidden(), &mut |b, m| {
        emitted.push((b.to_owned(), m));
    })
    .await
    .expect("backfill");
    let w = s.workspaces.clone().expect("workspace totals");
    assert_eq!((w.read, w.queries, w.stored), (1, 1, recs.len() as u64));
    assert_eq!((s.errors, s.complete), (0, true));
    assert!(
        emitted
            .iter()
            .any(|(b, m)| b == "notifications" && m.to_string().contains("login.failed.burst")),
        "{emitted:?}"
    );
    let again = backfill::run(&state, &opts, &mut Progress::hidden(), &mut |_, _| {})
        .await
        .expect("rerun");
    assert_eq!(again.workspaces.map(|w| w.stored), Some(0));
}
