//! Heartbeat merging, flushing (cost and cross-instance ordering), the route hook, and the
//! function list.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tower::ServiceExt as _;

use super::beats::{Beat, Heartbeats};
use super::flush;
use crate::tables::TableStore;
use crate::testkit::tables::intercept::CountingTables;
use crate::testkit::tables::memory::InMemoryTables;
use crate::testkit::{blob_created, fakes};

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
fn absorbing_an_ending_in_place_is_merging_it() {
    let outcomes = ["processed", "failed", "skipped", "poisoned"];
    // Every order of endings, earlier and later ones and ties, as merge would fold them.
    for seed in 0..256_u32 {
        let endings: Vec<_> = (0..6_u32)
            .map(|i| {
                let x = seed.wrapping_mul(2_654_435_761).rotate_left(i * 5) ^ i;
                let at = T0 + Duration::seconds(i64::from(x % 7) - 3);
                (outcomes[(x / 7 % 4) as usize], at)
            })
            .collect();
        let (first, rest) = endings.split_first().expect("six endings");
        let mut merged = Beat::new(first.0, first.1);
        let mut absorbed = merged.clone();
        for &(outcome, at) in rest {
            merged = merged.merge(&Beat::new(outcome, at));
            absorbed.absorb(outcome, at);
        }
        assert_eq!(absorbed, merged, "{endings:?}");
    }
}

#[test]
fn interval_setting_is_bounded() {
    let hb = |v: &str| {
        crate::setting::read_pairs(
            &[("HEALTH_HEARTBEAT_SECONDS", v)],
            crate::config::heartbeat_interval,
        )
    };
    assert_eq!(hb("5"), (Duration::seconds(5), vec![]));
    assert_eq!(hb(""), (Duration::seconds(60), vec![]), "blank is unset");
    for bad in ["0", "-1", "3601", "x"] {
        let (interval, errors) = hb(bad);
        assert_eq!(interval, Duration::seconds(60), "{bad}");
        assert_eq!(
            errors,
            ["HEALTH_HEARTBEAT_SECONDS: expected a whole number from 1 to 3600"],
            "{bad}"
        );
    }
}

#[tokio::test]
async fn flush_writes_one_row_per_function_and_nothing_when_idle() {
    let tables = Arc::new(CountingTables::new(InMemoryTables::new()));
    let dyn_tables: Arc<dyn TableStore> = tables.clone();
    let hb = Heartbeats::new(time::Duration::minutes(1));
    for i in 0..50 {
        hb.record("RecordingCreated", "processed", T0 + Duration::seconds(i));
    }
    hb.record("AuditLogTail", "failed", T0);
    assert_eq!(tables.total(), 0, "recording does no I/O");
    assert_eq!(flush::flush(&hb, &*dyn_tables).await.expect("flush"), 2);
    let before = tables.total();
    assert_eq!(flush::flush(&hb, &*dyn_tables).await.expect("idle"), 0);
    assert_eq!(tables.total(), before, "an idle flush costs nothing");
    let stored = flush::stored(&*dyn_tables).await.expect("read");
    assert_eq!(stored["RecordingCreated"].at, T0 + Duration::seconds(49));
    assert_eq!(stored["AuditLogTail"].outcome, "failed");
}

#[tokio::test]
async fn an_older_instance_never_overwrites_a_newer_ending() {
    let tables: Arc<dyn TableStore> = Arc::new(InMemoryTables::new());
    let (new, old) = (
        Heartbeats::new(time::Duration::minutes(1)),
        Heartbeats::new(time::Duration::minutes(1)),
    );
    new.record("AuditLogTail", "failed", T0 + Duration::minutes(1));
    old.record("AuditLogTail", "processed", T0);
    flush::flush(&new, &*tables).await.expect("new");
    flush::flush(&old, &*tables).await.expect("old");
    let s = &flush::stored(&*tables).await.expect("read")["AuditLogTail"];
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
    let f: Arc<dyn TableStore> = Arc::new(crate::testkit::down_tables());
    let hb = Heartbeats::new(time::Duration::minutes(1));
    hb.record("Reconcile", "processed", T0);
    assert!(flush::flush(&hb, &*f).await.is_err());
    assert_eq!(hb.take_dirty().len(), 1, "restored");
}

#[tokio::test]
async fn the_route_records_every_ending_without_storage_calls() {
    let mut f = fakes();
    let tables = Arc::new(CountingTables::new(InMemoryTables::new()));
    f.state.ports.tables = tables.clone();
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
fn every_invocation_function_is_listed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("functions");
    let mut folders: Vec<String> = std::fs::read_dir(dir)
        .expect("functions/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n != "CatalogueApi") // forwarded HTTP: no invocation route
        .collect();
    folders.sort();
    let mut listed: Vec<String> = super::report::FUNCTIONS
        .iter()
        .map(|f| (*f).to_owned())
        .collect();
    listed.sort();
    assert_eq!(folders, listed);
}
