//! The drift test (every row struct against `sentinel/tables.json`: the same columns, each of its
//! declared type) and the outbox over the in-memory tables.

use std::sync::Arc;

use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::outbox::{self, Outbox, RunEnd};
use super::rows::{DetectionRow, DisconnectRow, FindingRow, ReviewRow};
use super::table::{ExportRow, Table, declaration};
use crate::catalogue::days::{DayRow, ReviewMark, Span};
use crate::catalogue::person::Person;
use crate::catalogue::recording::Recording;
use crate::catalogue::session::SessionRecord;
use crate::reviews::model::{Context, Kind, Review, Subject, Verdict};
use crate::tables::{Entity, TableStore};
use crate::testkit::ingestion::check_record;
use crate::testkit::tables::intercept::CountingTables;
use crate::testkit::tables::memory::InMemoryTables;

const T: OffsetDateTime = datetime!(2025-03-14 09:42:17.123 UTC);

fn clock() -> Arc<dyn crate::clock::Clock> {
    Arc::new(crate::testkit::clock::FixedClock::new(T))
}

fn entity(v: Value) -> Entity {
    v.as_object().cloned().expect("object")
}

/// A session day row with every field the export reads, as the data owner writes it (its
/// review too: the row carries the session's latest review).
fn window() -> DayRow {
    let mut s = SessionRecord::new("5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f");
    s.session_start = Some(datetime!(2025-03-14 09:00 UTC));
    s.session_end = Some(datetime!(2025-03-14 09:30 UTC));
    s.bastion_host = "bas-hub-weu".into();
    s.user_name = "azureuser".into();
    s.user_email = "alice@contoso.com".into();
    s.client_ip = "203.0.113.45".into();
    s.target_vm = "vm-app-01".into();
    s.target_resource_id =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-app-01"
            .into();
    s.protocol = "ssh".into();
    s.outcome = "connected".into();
    let mut w = DayRow::of(&s).expect("row");
    w.duration_ms = Some(1_800_000);
    w.recorded = true;
    w.recording_ids = vec!["2025-03-14~cmVj".into(), "2025-03-14~cmVk".into()];
    w.pending = Some(Span::at(datetime!(2025-03-14 09:00 UTC)));
    w.review = Some(ReviewMark {
        id: "review-1".into(),
        verdict: "ok".into(),
        reviewer: "auditor@contoso.com".into(),
        at: datetime!(2025-03-14 12:00 UTC),
    });
    w.authorization = "none".into();
    w
}

/// A catalogue row with every field the export reads.
fn catalogue() -> Entity {
    entity(json!({
        "PartitionKey": "2025-03-14", "RowKey": "cmVj", "RecordingId": "2025-03-14~cmVj",
        "BastionHost": "bas-hub-weu", "SourceBastion": "bas-hub-weu", "Account": "strec",
        "Container": "recordings", "BlobName": "vm-app-01/5f0c2d7e.webm",
        "ContentLength": "5000000000", "ContentLength@odata.type": "Edm.Int64",
        "BlobCreated": "2025-03-14T09:31:00Z", "FirstSeen": "2025-03-14T09:31:00Z", "RetentionClass": "audit-1y", "RetainUntil": "2026-03-14",
        "LegalHold": true, "Sha256": "ab".repeat(32), "Status": "catalogued",
        "MatchConfidence": "exact", "TunnelId": "5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f",
        "SessionStart": "2025-03-14T09:00:00Z", "UserName": "azureuser", "TargetVm": "vm-app-01",
        "RetaggedFrom": "retainUntil=2025-03-15&retentionClass=audit-1y",
        "RetaggedAt": "2025-03-16T02:00:00Z",
    }))
}

fn recording(e: &Entity) -> Recording {
    Recording::from_entity(e).expect("catalogue row")
}

/// A review as the review log keeps it, its subject's context all known.
fn signed_review() -> Review {
    Review {
        id: "r-1".into(),
        subject: Subject {
            kind: Kind::Recording,
            id: "2025-03-14~cmVj".into(),
        },
        verdict: Verdict::Incident,
        comment: "c".into(),
        ticket: "INC-1".into(),
        reviewer: "auditor@contoso.com".into(),
        reviewer_person: Person::new(["auditor@contoso.com"], Some("oid")),
        identity: "verified".into(),
        at: T,
        context: Context {
            subject_day: "2025-03-14".into(),
            bastion_host: "bas-hub-weu".into(),
            target_vm: "vm-app-01".into(),
            user_name: "azureuser".into(),
            user_email: "alice@contoso.com".into(),
            session_start: "2025-03-14T09:00:00.000Z".into(),
            tunnel_id: "5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f".into(),
            session_day: "2025-03-14".into(),
            deleted_at: "2025-03-20T02:00:00.000Z".into(),
            deleted_reason: "retention".into(),
        },
    }
}

/// One row of each table, every field set (the review's as the review log's export builds it).
fn every_table() -> Vec<(Table, Value)> {
    let s = |v: &str| v.to_owned();
    vec![
        (
            Table::Sessions,
            serde_json::to_value(window().session_row(T).expect("row")).expect("json"),
        ),
        (
            Table::Recordings,
            serde_json::to_value(recording(&catalogue()).export_row(T)).expect("json"),
        ),
        (
            Table::Detections,
            serde_json::to_value(DetectionRow {
                time_generated: T,
                notification_id: s("n-1"),
                detection_type: s("session.unrecorded"),
                severity: s("warning"),
                summary: s("unrecorded"),
                bastion_host: s("bas"),
                bastion_resource_id: s("/subscriptions/s/x"),
                user_name: s("u"),
                user_email: s("e"),
                client_ip: s("203.0.113.9"),
                target_vm: s("vm"),
                target_resource_id: s("/subscriptions/s/vm"),
                session_id: s("t"),
                recording_id: s("r"),
                data: json!({"a": 1}),
            })
            .expect("json"),
        ),
        (
            Table::Reviews,
            serde_json::to_value(ReviewRow::of_review(&signed_review().to_entity()).expect("row"))
                .expect("json"),
        ),
        (
            Table::Findings,
            serde_json::to_value(FindingRow {
                time_generated: T,
                finding_id: s("f-1"),
                bastion_resource_id: s("/subscriptions/s/b"),
                bastion_host: s("b"),
                finding: s("recording-off"),
                finding_severity: s("high"),
                status: s("resolved"),
                opened_at: Some(T),
                resolved_at: Some(T),
                evidence: s("enableSessionRecording is false"),
            })
            .expect("json"),
        ),
        (
            Table::Disconnects,
            serde_json::to_value(DisconnectRow {
                time_generated: T,
                disconnect_id: s("d-1"),
                bastion_resource_id: s("/subscriptions/s/b"),
                bastion_host: s("b"),
                session_id: s("s-1"),
                reason: s("r"),
                decided_by: s("responder"),
                requested_at: Some(T),
                state: s("Disconnected"),
                message: s("ok"),
            })
            .expect("json"),
        ),
    ]
}

#[test]
fn the_declaration_parses_and_declares_every_table_by_its_rules() {
    let d = declaration().expect("the shipped declaration is valid");
    let names: Vec<&str> = d.tables.iter().map(|t| t.name.as_str()).collect();
    let mut want: Vec<&str> = Table::ALL.iter().map(|t| t.as_str()).collect();
    let mut have = names.clone();
    want.sort_unstable();
    have.sort_unstable();
    assert_eq!(have, want, "one declared table per Table, and no other");
    for t in Table::ALL {
        assert_eq!(
            t.stream(),
            Some(format!("Custom-Bastion{}", t.key()).as_str())
        );
    }
}

#[test]
fn every_row_the_code_builds_has_exactly_the_declared_columns_and_types() {
    for (table, row) in every_table() {
        let decl = table.declared().expect("declared");
        let record = row.as_object().expect("object");
        let built: std::collections::BTreeSet<&str> = record.keys().map(String::as_str).collect();
        let declared: std::collections::BTreeSet<&str> =
            decl.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            built, declared,
            "{}: columns differ from the declaration",
            decl.name
        );
        assert_eq!(check_record(decl, record), Ok(()), "{}", decl.name);
        for (k, v) in record {
            assert!(
                !v.is_null(),
                "{}.{k}: the sample sets every field",
                decl.name
            );
        }
        assert!(
            record[decl.id.as_str()]
                .as_str()
                .is_some_and(|s| !s.is_empty())
        );
    }
}

#[test]
fn a_reviews_row_names_the_sessions_person_beside_its_vm_account() {
    let row =
        serde_json::to_value(ReviewRow::of_review(&signed_review().to_entity()).expect("row"))
            .expect("json");
    assert_eq!(row["UserEmail"], "alice@contoso.com");
    assert_eq!(row["UserName"], "azureuser");
    assert_eq!(row["SessionId"], "5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f");
    assert_eq!(row["RecordingDeletedAt"], "2025-03-20T02:00:00.000Z");
}

#[test]
fn the_drift_test_fails_on_a_column_the_declaration_lacks() {
    let (table, mut row) = every_table().remove(0);
    row["SessionID"] = json!("x");
    let decl = table.declared().expect("declared");
    assert!(check_record(decl, row.as_object().expect("object")).is_err());
}

#[test]
fn session_and_recording_rows_read_the_rows_the_api_shows() {
    let s = window().session_row(T).expect("row");
    assert_eq!(s.outcome, "success");
    assert_eq!(s.recording_ids, ["2025-03-14~cmVj", "2025-03-14~cmVk"]);
    assert!(s.join_pending && s.recorded);
    assert_eq!(s.duration_ms, Some(1_800_000));
    assert_eq!(
        (
            s.review_verdict.as_str(),
            s.reviewer.as_str(),
            s.reviewed_at
        ),
        (
            "ok",
            "auditor@contoso.com",
            Some(datetime!(2025-03-14 12:00 UTC))
        ),
        "the review the day row carries"
    );
    assert_eq!(s.authorization, "none", "the verdict the day row carries");
    let mut open = window();
    (open.end, open.pending) = (None, None);
    let s = open.session_row(T).expect("row");
    assert_eq!((s.session_end, s.join_pending), (None, false));
    let r = recording(&catalogue()).export_row(T);
    assert_eq!(r.content_length, Some(5_000_000_000));
    assert_eq!(r.retain_until, Some(datetime!(2026-03-14 00:00 UTC)));
    let mut unjoined = catalogue();
    unjoined.remove("BastionHost");
    let r = recording(&unjoined).export_row(T);
    assert_eq!(r.bastion_host, "bas-hub-weu", "the source's host stands in");
    open.tunnel_id.clear();
    assert!(open.session_row(T).is_none());
}

fn review(id: &str, at: OffsetDateTime) -> ReviewRow {
    ReviewRow {
        time_generated: at,
        review_id: id.to_owned(),
        subject_kind: "session".into(),
        subject_id: "t".into(),
        verdict: "ok".into(),
        comment: String::new(),
        ticket: String::new(),
        reviewer: "auditor".into(),
        bastion_host: String::new(),
        target_vm: String::new(),
        user_name: String::new(),
        session_id: String::new(),
        session_start: None,
        recording_deleted_at: None,
        user_email: String::new(),
    }
}

#[tokio::test]
async fn an_outbox_that_is_off_writes_nothing() {
    let tables = Arc::new(CountingTables::new(InMemoryTables::new()));
    let off = Outbox::off();
    assert!(!off.enabled());
    off.record(&review("r-1", T)).await.expect("no-op");
    assert_eq!(tables.total(), 0);
    let on = Outbox::on(tables.clone(), clock());
    on.record(&review("r-1", T)).await.expect("recorded");
    assert!(tables.total() > 0);
}

#[tokio::test]
async fn rows_wait_in_time_order_once_each_and_leave_only_unchanged() {
    let mem = Arc::new(InMemoryTables::new());
    let outbox = Outbox::on(mem.clone(), clock());
    let bucket = outbox::bucket_table(Table::Reviews, T);
    for (id, at) in [
        ("b", T + Duration::minutes(2)),
        ("a", T),
        ("c", T + Duration::minutes(1)),
    ] {
        outbox.record(&review(id, at)).await.expect("recorded");
    }
    outbox.record(&review("a", T)).await.expect("again");
    let tables: &dyn TableStore = mem.as_ref();
    let rows = outbox::unsent(tables, &bucket, Table::Reviews, None, 1000)
        .await
        .expect("read");
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["a", "c", "b"], "time order, a once");
    let first: Value = serde_json::from_str(&rows[0].record).expect("json");
    assert_eq!(first["ReviewId"], "a");
    assert_eq!(first["TimeGenerated"], "2025-03-14T09:42:17.123Z");
    let after = outbox::unsent(
        tables,
        &bucket,
        Table::Reviews,
        Some(&rows[0].row_key),
        1000,
    )
    .await
    .expect("read");
    assert_eq!(after.len(), 2, "the cursor moves past a");
    // A row re-recorded after it was read stays.
    let mut changed = review("c", T + Duration::minutes(1));
    changed.comment = "second thoughts".into();
    outbox.record(&changed).await.expect("changed");
    assert!(
        outbox::remove(tables, &bucket, Table::Reviews, &rows[0])
            .await
            .expect("removed")
    );
    assert!(
        !outbox::remove(tables, &bucket, Table::Reviews, &rows[1])
            .await
            .expect("kept")
    );
    let left = outbox::unsent(tables, &bucket, Table::Reviews, None, 1000)
        .await
        .expect("read");
    assert_eq!(left.len(), 2);
    assert!(left.iter().any(|r| r.record.contains("second thoughts")));
    let buckets = outbox::buckets::buckets(tables, T).await.expect("buckets");
    assert_eq!(
        buckets.of(Table::Reviews).open,
        std::slice::from_ref(&bucket)
    );
    assert_eq!(buckets.of(Table::Detections), &outbox::Buckets::default());
    let b = outbox::backlog(tables, Table::Reviews, buckets.of(Table::Reviews), 1)
        .await
        .expect("backlog");
    assert_eq!((b.rows, b.more), (1, true));
    assert_eq!(b.oldest.as_deref(), Some("2025-03-14T09:43:17.123Z"));
}

#[tokio::test]
async fn a_large_record_is_cut_and_stored_in_parts() {
    let mem = Arc::new(InMemoryTables::new());
    let mut r = review("big", T);
    r.comment = "x".repeat(200_000);
    r.ticket = "é".repeat(30_000);
    Outbox::on(mem.clone(), clock())
        .record(&r)
        .await
        .expect("recorded");
    let rows = outbox::recorded(mem.as_ref(), Table::Reviews)
        .await
        .expect("read");
    let v: Value = serde_json::from_str(&rows[0].record).expect("whole JSON");
    let comment = v["Comment"].as_str().expect("text");
    assert!(comment.len() <= crate::ingestion::pack::MAX_FIELD_BYTES);
    assert!(comment.ends_with(crate::ingestion::pack::CUT_MARKER));
    assert_eq!(v["Ticket"].as_str().expect("text").chars().count(), 30_000);
    let stored = mem.dump(&outbox::bucket_table(Table::Reviews, T));
    assert!(
        stored[0]
            .entity
            .keys()
            .filter(|k| k.starts_with('R') && k.len() <= 3)
            .count()
            > 2
    );
}

#[tokio::test]
async fn the_lease_goes_to_one_owner_until_released_or_expired() {
    let mem = InMemoryTables::new();
    let lease = Duration::minutes(2);
    // Each owner with the state row as it last saw it (the other's writes make it stale).
    let (mut a, mut b) = (outbox::Held::default(), outbox::Held::default());
    assert!(
        outbox::claim(&mem, Table::Detections, &mut a, "a", T, lease)
            .await
            .expect("claim")
    );
    assert!(
        !outbox::claim(&mem, Table::Detections, &mut b, "b", T, lease)
            .await
            .expect("held")
    );
    assert!(
        outbox::claim(&mem, Table::Detections, &mut a, "a", T, lease)
            .await
            .expect("mine")
    );
    let later = T + Duration::minutes(3);
    assert!(
        outbox::claim(&mem, Table::Detections, &mut b, "b", later, lease)
            .await
            .expect("expired")
    );
    let end = RunEnd {
        sent: 7,
        error: Some("429".into()),
        cursor: None,
    };
    outbox::release(&mem, Table::Detections, &mut b, "b", later, &end)
        .await
        .expect("release");
    let st = outbox::state::state(&mem, Table::Detections)
        .await
        .expect("read")
        .expect("state");
    assert_eq!((st.sent, st.last_error.as_str()), (7, "429"));
    assert!(st.lease_owner.is_empty());
    assert!(
        outbox::claim(&mem, Table::Detections, &mut a, "a", later, lease)
            .await
            .expect("free")
    );
}

#[test]
fn row_keys_sort_by_time_and_hold_any_id() {
    let a = outbox::row_key(T, "/subscriptions/x/providers/y|finding|t");
    let b = outbox::row_key(T + Duration::milliseconds(1), "a");
    assert!(a < b);
    assert!(crate::tables::keys::is_valid_key(&a));
    assert_eq!(Table::Reviews.key(), review("x", T).table().key());
}

#[test]
fn buckets_are_quarter_hours_closed_once_no_write_can_land() {
    use outbox::buckets::{bucket_of, closed, cursor_at, cursor_done, resume};
    let b = outbox::bucket_table(Table::Reviews, T);
    assert_eq!(b, "sentineloutboxreviews202503140930");
    assert!(crate::tables::keys::is_valid_table_name(&b));
    let start = datetime!(2025-03-14 09:30 UTC);
    assert_eq!(bucket_of(&b), Some((Table::Reviews, start)));
    assert_eq!(
        bucket_of("SentinelOutboxReviews202503140930"),
        Some((Table::Reviews, start)),
        "table names are case-insensitive"
    );
    for t in Table::ALL {
        assert_eq!(bucket_of(&outbox::bucket_table(t, T)), Some((t, start)));
    }
    assert_eq!(bucket_of(outbox::OUTBOX_TABLE), None);
    assert_eq!(bucket_of("sentineloutboxreviews202513140930"), None);
    assert_eq!(bucket_of("sentineloutbox202503140930"), None);
    assert_eq!(bucket_of("sentineloutboxnotes202503140930"), None);
    // Writes until 09:45 (within the storage timeout: until 10:00); closed from 10:00.
    assert!(!closed(&b, datetime!(2025-03-14 09:59:59.999 UTC)));
    assert!(closed(&b, datetime!(2025-03-14 10:00 UTC)));
    let next = outbox::bucket_table(Table::Reviews, T + Duration::minutes(15));
    assert!(b < next, "names sort by time");
    // The cursor: before a bucket, in it, past it.
    let key = outbox::row_key(T, "a");
    assert_eq!(resume("", &b), Some(None));
    assert_eq!(resume(&cursor_at(&b, &key), &b), Some(Some(key.as_str())));
    assert_eq!(resume(&cursor_at(&b, &key), &next), Some(None));
    assert_eq!(resume(&cursor_done(&b), &b), None);
    assert!(cursor_at(&b, &key) < cursor_done(&b));
    assert!(cursor_done(&b) < cursor_at(&next, &key));
    assert_eq!(resume(&cursor_at(&next, &key), &b), None);
}

#[tokio::test]
async fn the_cursor_never_moves_back() {
    let mem = InMemoryTables::new();
    let b = outbox::bucket_table(Table::Reviews, T);
    let (k1, k2) = (outbox::row_key(T, "a"), outbox::row_key(T, "b"));
    let at = |k: &str| outbox::buckets::cursor_at(&b, k);
    let mut held = outbox::Held::default();
    outbox::advance(&mem, Table::Reviews, &mut held, &at(&k2))
        .await
        .expect("moved");
    outbox::advance(&mem, Table::Reviews, &mut held, &at(&k1))
        .await
        .expect("kept");
    let st = outbox::state::state(&mem, Table::Reviews)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(st.cursor, at(&k2));
}
