//! `BastionSessions_CL` rows where a session's state changes beside its fields and its join: a
//! review of the session (or of a recording joined to it) records the session's row with the
//! review, once, and every later row of it carries the review; the join leaving a session pending
//! and the `session.unrecorded` marker record its row too. Over the in-memory tables.

use std::sync::Arc;

use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::catalogue::days::{self, DayRow, Span};
use crate::catalogue::session::{self, SessionRecord};
use crate::export::outbox::{self, OUTBOX_TABLE};
use crate::export::{Outbox, Table};
use crate::ports::Ports;
use crate::reviews::record::{ReviewRequest, record};
use crate::tables::TableStore;
use crate::testkit::clock::FixedClock;
use crate::testkit::storage::memory::InMemoryBlobStore;
use crate::testkit::tables::memory::InMemoryTables;

const T: OffsetDateTime = datetime!(2025-03-14 10:00 UTC);
const TUNNEL: &str = "5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f";

fn ports(on: bool, at: OffsetDateTime) -> (Ports, Arc<InMemoryTables>) {
    let tables = Arc::new(InMemoryTables::new());
    let mut p = crate::testkit::ports(
        Arc::new(InMemoryBlobStore::new("acct")),
        tables.clone(),
        Arc::new(FixedClock::new(at)),
    );
    if on {
        p.outbox = Outbox::on(tables.clone(), p.clock.clone());
    }
    (p, tables)
}

/// The session as the tail writes it (its `sessions` row and its day row), ended at `end`.
fn session(end: OffsetDateTime) -> SessionRecord {
    let mut s = SessionRecord::new(TUNNEL);
    s.session_start = Some(datetime!(2025-03-14 09:00 UTC));
    s.session_end = Some(end);
    s.outcome = "connected".into();
    s.bastion_host = "bas-hub-weu".into();
    s.target_vm = "vm-app-01".into();
    s.user_name = "azureuser".into();
    s
}

async fn write(p: &Ports, s: &SessionRecord, at: OffsetDateTime) {
    session::write::upsert(p.tables.as_ref(), &p.outbox, s, None, at, &|_, _| None)
        .await
        .expect("session written");
}

/// The Sessions rows waiting, oldest first.
async fn sessions(t: &dyn TableStore) -> Vec<Value> {
    outbox::recorded(t, Table::Sessions)
        .await
        .expect("read")
        .into_iter()
        .map(|p| serde_json::from_str(&p.record).expect("json"))
        .collect()
}

async fn stored(t: &dyn TableStore) -> DayRow {
    let row = days::get_row(t, "2025-03-14", TUNNEL)
        .await
        .expect("read")
        .expect("row");
    DayRow::from_entity(&row.entity).expect("day row")
}

fn review(subject: &str, id: &str, verdict: &str, key: &str) -> ReviewRequest {
    let body = json!({subject: id, "verdict": verdict, "comment": "looked at it"});
    ReviewRequest::parse(body.to_string().as_bytes(), Some(key)).expect("request")
}

#[tokio::test]
async fn a_review_records_its_sessions_row_with_the_review_once_and_later_rows_keep_it() {
    let (p, t) = ports(true, T);
    write(
        &p,
        &session(datetime!(2025-03-14 09:30 UTC)),
        T - Duration::hours(1),
    )
    .await;
    let before = sessions(t.as_ref()).await.len();
    let req = review("session", TUNNEL, "follow-up", "k-1");
    let first = record(&p, &req, "auditor@contoso.com")
        .await
        .expect("recorded");
    record(&p, &req, "auditor@contoso.com")
        .await
        .expect("retry");
    let rows = sessions(t.as_ref()).await;
    assert_eq!(
        rows.len(),
        before + 1,
        "one row for the review, none for the retry"
    );
    let r = rows.last().expect("row");
    assert_eq!(r["SessionId"], TUNNEL);
    assert_eq!(r["TimeGenerated"], "2025-03-14T10:00:00.000Z");
    assert_eq!(
        (&r["ReviewVerdict"], &r["Reviewer"], &r["ReviewedAt"]),
        (
            &json!("follow-up"),
            &json!("auditor@contoso.com"),
            &json!("2025-03-14T10:00:00.000Z")
        )
    );
    assert_eq!(r["Outcome"], "success", "the session's own fields: {r}");
    assert_eq!(
        stored(t.as_ref()).await.review.map(|m| m.id),
        Some(first.review.id)
    );

    // A later change of the session's fields records a row that still carries the review.
    let later = T + Duration::minutes(5);
    write(&p, &session(datetime!(2025-03-14 09:45 UTC)), later).await;
    let rows = sessions(t.as_ref()).await;
    let r = rows.last().expect("row");
    assert_eq!(r["TimeGenerated"], "2025-03-14T10:05:00.000Z");
    assert_eq!(r["SessionEnd"], "2025-03-14T09:45:00.000Z");
    assert_eq!(
        (&r["ReviewVerdict"], &r["Reviewer"]),
        (&json!("follow-up"), &json!("auditor@contoso.com"))
    );
}

#[tokio::test]
async fn a_review_of_a_joined_recording_is_the_sessions_and_an_older_one_never_replaces_it() {
    let (p, t) = ports(true, T);
    write(
        &p,
        &session(datetime!(2025-03-14 09:30 UTC)),
        T - Duration::hours(1),
    )
    .await;
    crate::testkit::upsert(
        t.as_ref(),
        crate::catalogue::RECORDINGS_TABLE,
        json!({"PartitionKey": "2025-03-14", "RowKey": "cmVj", "RecordingId": "2025-03-14~cmVj",
            "BastionHost": "bas-hub-weu", "TargetVm": "vm-app-01", "UserName": "azureuser",
            "TunnelId": TUNNEL, "SessionStart": "2025-03-14T09:00:00Z",
            "BlobCreated": "2025-03-14T09:31:00Z", "Status": "catalogued"}),
    )
    .await;
    let later = Ports {
        clock: Arc::new(FixedClock::new(T + Duration::hours(1))),
        ..p.clone()
    };
    record(
        &later,
        &review("recording", "2025-03-14~cmVj", "incident", "k-2"),
        "lead@contoso.com",
    )
    .await
    .expect("recorded");
    // An earlier review arriving after it (a slow request) leaves the session's review alone.
    record(
        &p,
        &review("session", TUNNEL, "ok", "k-3"),
        "auditor@contoso.com",
    )
    .await
    .expect("recorded");
    let kept = stored(t.as_ref()).await.review.expect("review");
    assert_eq!(
        (kept.verdict.as_str(), kept.reviewer.as_str()),
        ("incident", "lead@contoso.com")
    );
    let rows = sessions(t.as_ref()).await;
    let reviewed: Vec<&Value> = rows.iter().filter(|r| r["ReviewVerdict"] != "").collect();
    assert_eq!(reviewed.len(), 1, "{rows:?}");
    assert_eq!(reviewed[0]["ReviewedAt"], "2025-03-14T11:00:00.000Z");
}

#[tokio::test]
async fn a_pending_join_and_the_unrecorded_marker_record_the_sessions_row() {
    for on in [true, false] {
        let (p, t) = ports(on, T);
        let tables = t.as_ref();
        write(
            &p,
            &session(datetime!(2025-03-14 09:30 UTC)),
            T - Duration::hours(1),
        )
        .await;
        let w = stored(tables).await;
        assert!(w.pending.is_none(), "no pending range to begin with: {w:?}");
        let before = sessions(tables).await.len();

        // The join could not derive its state: pending, recorded; the same range again writes
        // nothing and records nothing.
        let span = Span::at(datetime!(2025-03-14 09:31 UTC));
        for _ in 0..2 {
            days::put_pending(tables, &p.outbox, &w, span, T)
                .await
                .expect("pending");
        }
        assert_eq!(stored(tables).await.pending, Some(span));
        if on {
            let rows = sessions(tables).await;
            assert_eq!(rows.len(), before + 1, "{rows:?}");
            let r = rows.last().expect("row");
            assert_eq!(r["JoinPending"], true, "{r}");
            assert_eq!(r["TimeGenerated"], "2025-03-14T10:00:00.000Z");
        }

        // The unrecorded marker: recorded when set, not when no longer due.
        let at = T + Duration::minutes(10);
        let mut seen = false;
        let w = stored(tables).await;
        days::mark_unrecorded(
            tables,
            &p.outbox,
            &w,
            |r| !r.unrecorded_notified,
            &mut seen,
            at,
        )
        .await
        .expect("marked");
        let mut again = false;
        days::mark_unrecorded(
            tables,
            &p.outbox,
            &w,
            |r| !r.unrecorded_notified,
            &mut again,
            at,
        )
        .await
        .expect("not due");
        assert!(seen && !again && stored(tables).await.unrecorded_notified);
        if !on {
            assert!(
                t.list_tables(OUTBOX_TABLE)
                    .await
                    .expect("tables")
                    .is_empty(),
                "export off: no outbox row"
            );
            continue;
        }
        let rows = sessions(tables).await;
        assert_eq!(rows.len(), before + 2, "{rows:?}");
        let r = rows.last().expect("row");
        assert_eq!(r["TimeGenerated"], "2025-03-14T10:10:00.000Z");
        assert_eq!(
            (&r["JoinPending"], &r["Recorded"]),
            (&json!(true), &json!(false))
        );
    }
}
