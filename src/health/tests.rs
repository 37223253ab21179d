//! Heartbeat merging, flushing (cost and cross-instance ordering), the route hook, status
//! classification, and the report over the fakes.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tower::ServiceExt as _;

use super::report::{Facts, Thresholds, classify};
use super::{Beat, HEARTBEATS_TABLE, Heartbeats, flush};
use crate::tables::counting::CountingTables;
use crate::tables::memory::InMemoryTables;
use crate::tables::{TableStore, WriteMode};
use crate::testing::{blob_created, fakes};

const T0: OffsetDateTime = datetime!(2025-03-14 10:00 UTC);

#[test]
fn merge_keeps_the_newest_ending_and_both_histories_in_any_order() {
    let a = Beat::new("failed", T0);
    let b = Beat::new("processed", T0 + Duration::seconds(5));
    let c = Beat::new("skipped", T0 - Duration::seconds(5));
    for m in [
        a.merge(&b).merge(&c),
        c.merge(&b).merge(&a),
        b.merge(&c).merge(&a),
    ] {
        assert_eq!(m.at, T0 + Duration::seconds(5));
        assert_eq!(m.outcome, "processed");
        assert_eq!(m.last_success, Some(T0 + Duration::seconds(5)));
        assert_eq!(m.last_failure, Some(T0));
    }
    let back = Beat::from_entity(&a.merge(&b).to_entity()).expect("round trip");
    assert_eq!(back, a.merge(&b));
    assert_eq!(Beat::from_entity(&crate::tables::Entity::new()), None);
}

#[test]
fn interval_setting_is_bounded() {
    let hb = |v: &str| {
        let v = v.to_owned();
        Heartbeats::from_lookup(&move |_| Some(v.clone())).interval()
    };
    assert_eq!(hb("5"), Duration::seconds(5));
    for bad in ["0", "-1", "3601", "x", ""] {
        assert_eq!(hb(bad), Duration::seconds(60), "{bad}");
    }
}

#[tokio::test]
async fn flush_writes_one_row_per_function_and_nothing_when_idle() {
    let tables = Arc::new(CountingTables::new(InMemoryTables::new()));
    let dyn_tables: Arc<dyn TableStore> = tables.clone();
    let hb = Heartbeats::default();
    for i in 0..50 {
        hb.record("RecordingCreated", "processed", T0 + Duration::seconds(i));
    }
    hb.record("AuditLogTail", "failed", T0);
    assert_eq!(tables.total(), 0, "recording does no I/O");
    assert_eq!(flush::flush(&hb, &dyn_tables).await.expect("flush"), 2);
    let before = tables.total();
    assert_eq!(flush::flush(&hb, &dyn_tables).await.expect("idle"), 0);
    assert_eq!(tables.total(), before, "an idle flush costs nothing");
    let stored = flush::stored(&dyn_tables).await.expect("read");
    assert_eq!(stored["RecordingCreated"].at, T0 + Duration::seconds(49));
    assert_eq!(stored["AuditLogTail"].outcome, "failed");
}

#[tokio::test]
async fn an_older_instance_never_overwrites_a_newer_ending() {
    let tables: Arc<dyn TableStore> = Arc::new(InMemoryTables::new());
    let (new, old) = (Heartbeats::default(), Heartbeats::default());
    new.record("AuditLogTail", "failed", T0 + Duration::minutes(1));
    old.record("AuditLogTail", "processed", T0);
    flush::flush(&new, &tables).await.expect("new");
    flush::flush(&old, &tables).await.expect("old");
    let s = &flush::stored(&tables).await.expect("read")["AuditLogTail"];
    assert_eq!(
        (s.at, s.outcome.as_str()),
        (T0 + Duration::minutes(1), "failed")
    );
    assert_eq!(
        s.last_success,
        Some(T0),
        "the older success is still merged in"
    );
}

#[tokio::test]
async fn a_failed_flush_keeps_the_beats_for_the_next_one() {
    let f: Arc<dyn TableStore> = Arc::new(crate::testing::DownTables);
    let hb = Heartbeats::default();
    hb.record("Reconcile", "processed", T0);
    assert!(flush::flush(&hb, &f).await.is_err());
    assert_eq!(hb.take_dirty().len(), 1, "restored");
}

#[tokio::test]
async fn the_route_records_every_ending_without_storage_calls() {
    let mut f = fakes();
    let tables = Arc::new(CountingTables::new(InMemoryTables::new()));
    f.state.tables = tables.clone();
    let app = crate::app::router(f.state.clone());
    let body = json!({"Data": {"eventGridEvent": blob_created("other", "x.mp4", "01")},
        "Metadata": {"sys": {"MethodName": "RecordingCreated"}}});
    let send = |b: String| {
        app.clone().oneshot(
            Request::post("/RecordingCreated")
                .body(Body::from(b))
                .expect("req"),
        )
    };
    let before = tables.total();
    send(body.to_string()).await.expect("skipped");
    assert_eq!(
        tables.total(),
        before,
        "a skipped event costs no table call"
    );
    send("{not json".into()).await.expect("poisoned");
    let beats = f.state.heartbeats.snapshot();
    let b = &beats["RecordingCreated"];
    assert_eq!(b.outcome, "poisoned");
    assert!(
        b.last_success.is_some() && b.last_failure.is_some(),
        "{b:?}"
    );
    assert_eq!(
        tables.total(),
        before,
        "heartbeats are flushed later, not per invocation"
    );
}

#[test]
fn status_thresholds() {
    let t = Thresholds::default();
    assert_eq!(classify(&Facts::default(), &t), ("ok", vec![]));
    let lag = |m| Facts {
        tail_lag: Some(Duration::minutes(m)),
        ..Facts::default()
    };
    assert_eq!(classify(&lag(30), &t).0, "ok", "at the threshold");
    assert_eq!(classify(&lag(31), &t).0, "degraded");
    let failing = Facts {
        failing: vec!["AuditLogTail".into()],
        ..Facts::default()
    };
    let (s, r) = classify(&failing, &t);
    assert_eq!(
        (s, r[0].as_str()),
        ("degraded", "AuditLogTail: last invocation failed")
    );
    let q = Facts {
        recent_quarantined: 2,
        ..Facts::default()
    };
    assert_eq!(classify(&q, &t).0, "degraded");
    let stalled = Facts {
        stalled: true,
        ..failing
    };
    let (s, r) = classify(&stalled, &t);
    assert_eq!((s, r.len()), ("stalled", 2));
    let custom = Thresholds::from_lookup(&|_| Some("5".into()));
    assert_eq!(classify(&lag(6), &custom).0, "degraded");
    assert_eq!(Thresholds::from_lookup(&|_| Some("0".into())), t);
}

async fn report(f: &crate::testing::Fakes) -> Value {
    let now = f.state.clock.now();
    super::report::build(&f.state, now, &Thresholds::default())
        .await
        .expect("report")
}

#[tokio::test]
async fn report_shows_beats_quarantine_cursor_lag_and_stalled_episode() {
    // The quarantine names its folders by the wall clock, so this test's "now" is the real one.
    let mut f = fakes();
    let now = OffsetDateTime::now_utc();
    f.state.clock = Arc::new(crate::clock::FixedClock::new(now));
    let empty = report(&f).await;
    assert_eq!(empty["status"], "ok", "{empty}");
    assert_eq!(empty["functions"]["IntegrityVerify"], Value::Null);
    assert_eq!(empty["quarantine"]["total"], 0);
    assert_eq!(empty["auditLogTail"]["activeCursors"], 0);
    // A poisoned invocation: quarantined today, and the function's last ending failed.
    let app = crate::app::router(f.state.clone());
    app.oneshot(
        Request::post("/AuditLogCreated")
            .body(Body::from("{"))
            .expect("req"),
    )
    .await
    .expect("poison");
    // Another instance flushed an older success of the tail.
    let other = Heartbeats::default();
    other.record("AuditLogTail", "processed", now - Duration::minutes(3));
    flush::flush(&other, &f.state.tables).await.expect("flush");
    // An active cursor registered 45 minutes ago and never read.
    let repo = crate::audit_logs::repo::CursorRepo::new(f.state.tables.clone());
    let hour = now - Duration::hours(1);
    let c =
        crate::audit_logs::repo::Cursor::new("y/PT1H.json", hour, now - Duration::minutes(45), "b");
    repo.register(&c).await.expect("cursor");
    let r = report(&f).await;
    assert_eq!(r["status"], "degraded", "{r}");
    assert_eq!(r["functions"]["AuditLogCreated"]["outcome"], "poisoned");
    assert_eq!(r["functions"]["AuditLogTail"]["outcome"], "processed");
    assert_eq!(r["quarantine"]["total"], 1);
    assert_eq!(r["quarantine"]["sinceYesterday"], 1);
    assert_eq!(r["quarantine"]["byFunction"]["AuditLogCreated"], 1);
    assert_eq!(r["auditLogTail"]["activeCursors"], 1);
    assert_eq!(r["auditLogTail"]["stalestReadLagMinutes"], 45);
    assert_eq!(r["auditLogTail"]["newestHourLagMinutes"], 0);
    let reasons = r["reasons"].to_string();
    assert!(
        reasons.contains("tail is 45 min behind") && reasons.contains("quarantined"),
        "{reasons}"
    );
    // The stalled detector's open episode makes it `stalled`.
    let marker = json!({"PartitionKey": "state", "RowKey": "recordings.stalled", "Active": true,
        "Since": "2025-03-13T22:00:00Z"});
    f.tables.ensure_table("auditstate").await.expect("t");
    f.tables
        .write(
            "auditstate",
            marker.as_object().expect("obj"),
            WriteMode::Upsert,
        )
        .await
        .expect("marker");
    let r = report(&f).await;
    assert_eq!(r["status"], "stalled", "{r}");
    assert_eq!(r["stalledRecordings"]["since"], "2025-03-13T22:00:00Z");
    assert!(
        f.tables
            .get(HEARTBEATS_TABLE, "function", "AuditLogTail")
            .await
            .is_ok()
    );
}

#[test]
fn every_invocation_function_is_listed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("functions");
    let mut folders: Vec<String> = std::fs::read_dir(dir)
        .expect("functions/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n != crate::catalogue::api::FUNCTION) // forwarded HTTP: no invocation route
        .collect();
    folders.sort();
    let mut listed: Vec<String> = super::report::FUNCTIONS
        .iter()
        .map(|f| (*f).to_owned())
        .collect();
    listed.sort();
    assert_eq!(folders, listed);
}
