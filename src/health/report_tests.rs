//! The health report over the fakes: status thresholds, beats from memory and table, quarantine,
//! cursor lag, the stalled episode, poison-queue depths, and outages answered without detail.

use crate::testkit::DefaultSources;
use crate::testkit::Domains;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use tower::ServiceExt as _;

use super::beats::{HEARTBEATS_TABLE, Heartbeats};
use super::flush;
use super::report::{Facts, classify};
use crate::config::api::Thresholds;
use crate::tables::TableStore;
use crate::testkit::fakes;

#[test]
fn status_thresholds() {
    let t = Thresholds::default().tail_lag;
    assert_eq!(classify(&Facts::default(), t), ("ok", vec![]));
    let lag = |m| Facts {
        tail_lag: Some((Duration::minutes(m), "bas-a".to_owned())),
        ..Facts::default()
    };
    assert_eq!(classify(&lag(30), t).0, "ok", "at the threshold");
    assert_eq!(
        classify(&lag(31), t),
        (
            "degraded",
            vec!["audit-log tail is 31 min behind on bas-a (threshold 30)".to_owned()]
        )
    );
    let failing = Facts {
        failing: vec!["AuditLogTail".into()],
        ..Facts::default()
    };
    let (s, r) = classify(&failing, t);
    assert_eq!(
        (s, r[0].as_str()),
        ("degraded", "AuditLogTail: last invocation failed")
    );
    let q = Facts {
        recent_quarantined: 2,
        ..Facts::default()
    };
    assert_eq!(classify(&q, t).0, "degraded");
    let stalled = Facts {
        stalled: true,
        ..failing
    };
    let (s, r) = classify(&stalled, t);
    assert_eq!((s, r.len()), ("stalled", 2));
    let poison = Facts {
        poison_messages: 1,
        ..Facts::default()
    };
    assert_eq!(
        classify(&poison, t),
        ("degraded", vec!["1 message(s) in poison queues".to_owned()])
    );
    let unit = Facts {
        poisoned_units: vec!["LiveSessions: /subscriptions/s/b2".into()],
        ..Facts::default()
    };
    assert_eq!(
        classify(&unit, t),
        (
            "degraded",
            vec!["work unit poisoned: LiveSessions: /subscriptions/s/b2".to_owned()]
        )
    );
    let estate = Facts {
        estate_high: vec!["b1: recording-off".into()],
        ..Facts::default()
    };
    assert_eq!(
        classify(&estate, t),
        (
            "degraded",
            vec!["Bastion estate finding open: b1: recording-off".to_owned()]
        )
    );
    let read = |v: &str| {
        crate::setting::read_pairs(&[("HEALTH_TAIL_LAG_MINUTES", v)], Thresholds::from_reader)
    };
    let (custom, errors) = read("5");
    assert!(errors.is_empty());
    assert_eq!(classify(&lag(6), custom.tail_lag).0, "degraded");
    assert_eq!(
        read("0"),
        (
            Thresholds::default(),
            vec!["HEALTH_TAIL_LAG_MINUTES: expected a whole number from 1 to 10080".to_owned()]
        )
    );
}

async fn report(f: &crate::testkit::Fakes) -> Value {
    let now = f.state.ports.clock.now();
    super::report::build(&f.state.health(), now, Thresholds::default().tail_lag)
        .await
        .expect("report")
}

#[tokio::test]
async fn report_shows_beats_quarantine_cursor_lag_and_stalled_episode() {
    // The quarantine names its folders by the wall clock, so this test's "now" is the real one.
    let mut f = fakes();
    let now = OffsetDateTime::now_utc();
    f.state.ports.clock = Arc::new(crate::testkit::clock::FixedClock::new(now));
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
    let other = Heartbeats::new(time::Duration::minutes(1));
    other.record("AuditLogTail", "processed", now - Duration::minutes(3));
    flush::flush(&other, &*f.state.ports.tables)
        .await
        .expect("flush");
    // Host b: growth a tick left unread 45 minutes ago; host c: read (up to the tail's last tick).
    let repo = crate::audit_logs::repo::CursorRepo::new(f.state.ports.tables.clone());
    let hour = now - Duration::hours(1);
    let c = crate::audit_logs::repo::Cursor::new("y/PT1H.json", hour, hour, "b");
    let c = repo.register(&c).await.expect("cursor").expect("new");
    let mut grown = c.clone();
    grown.grown_at = Some(now - Duration::minutes(45));
    repo.save(&grown).await.expect("mark");
    let read = crate::audit_logs::repo::Cursor::new("z/PT1H.json", hour, hour, "c");
    repo.register(&read).await.expect("cursor");
    let r = report(&f).await;
    assert_eq!(r["status"], "degraded", "{r}");
    assert_eq!(r["functions"]["AuditLogCreated"]["outcome"], "poisoned");
    assert_eq!(r["functions"]["AuditLogTail"]["outcome"], "processed");
    assert_eq!(r["quarantine"]["total"], 1);
    assert_eq!(r["quarantine"]["sinceYesterday"], 1);
    assert_eq!(r["quarantine"]["byFunction"]["AuditLogCreated"], 1);
    assert_eq!(r["auditLogTail"]["activeCursors"], 2);
    assert_eq!(r["auditLogTail"]["behindSeconds"], 45 * 60);
    let hosts = &r["auditLogTail"]["hosts"];
    assert_eq!(
        (
            &hosts[0]["host"],
            &hosts[0]["behindSeconds"],
            &hosts[0]["unreadBlobs"]
        ),
        (&json!("b"), &json!(45 * 60), &json!(1)),
        "{hosts}"
    );
    assert_eq!(
        (
            &hosts[1]["host"],
            &hosts[1]["behindSeconds"],
            &hosts[1]["unreadBlobs"]
        ),
        (&json!("c"), &json!(3 * 60), &json!(0)),
        "read up to the tail's last tick: {hosts}"
    );
    assert_eq!(r["auditLogTail"]["newestHourLagMinutes"], 0);
    let reasons = r["reasons"].to_string();
    assert!(
        reasons.contains("tail is 45 min behind on b") && reasons.contains("quarantined"),
        "{reasons}"
    );
    // The stalled detector's open episode makes it `stalled`.
    let rk =
        crate::audit_logs::detect::stalled::marker_key(f.state.ports.sources.default_recordings());
    let marker = json!({"PartitionKey": "state", "RowKey": rk, "Active": true,
        "Since": "2025-03-13T22:00:00Z"});
    crate::testkit::upsert(f.tables.as_ref(), "auditstate", marker).await;
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

struct Depths(bool);

#[async_trait::async_trait]
impl super::queues::QueueDepth for Depths {
    async fn depth(&self, queue: &str) -> Result<u64, crate::azure::AzureError> {
        match queue {
            "hashrequests-poison" if self.0 => Err(crate::azure::AzureError::Transient(
                "https://acct.queue.core.windows.net?sig=SECRET".into(),
            )),
            "notifications-poison" => Ok(3),
            _ => Ok(0),
        }
    }
}

#[tokio::test]
async fn poison_queue_depths_are_reported_and_their_failure_is_unavailable() {
    let mut f = fakes();
    let none = report(&f).await;
    assert_eq!(
        none["poisonQueues"],
        json!({"hashrequests-poison": 0, "notifications-poison": 0, "workunits-poison": 0})
    );
    f.state.queues = Arc::new(Depths(false));
    let r = report(&f).await;
    assert_eq!(r["poisonQueues"]["notifications-poison"], 3, "{r}");
    assert_eq!(r["status"], "degraded");
    f.state.queues = Arc::new(Depths(true));
    let res = crate::api::routes(f.state.clone())
        .oneshot(
            Request::get("/api/health")
                .body(Body::empty())
                .expect("req"),
        )
        .await
        .expect("response");
    assert_eq!(res.status(), 503);
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .expect("body");
    let body = String::from_utf8_lossy(&body);
    assert!(
        !body.contains("SECRET") && !body.contains("windows.net"),
        "{body}"
    );
}

/// A tail that stopped ticking leaves every host behind by as long, though no growth was marked:
/// nobody looked.
#[tokio::test]
async fn hosts_fall_behind_while_the_tail_does_not_tick() {
    let f = fakes();
    let now = f.state.ports.clock.now();
    let beats = Heartbeats::new(time::Duration::minutes(1));
    beats.record("AuditLogTail", "processed", now - Duration::minutes(40));
    flush::flush(&beats, &*f.state.ports.tables)
        .await
        .expect("flush");
    let repo = crate::audit_logs::repo::CursorRepo::new(f.state.ports.tables.clone());
    let hour = now - Duration::hours(1);
    let c =
        crate::audit_logs::repo::Cursor::new("y/PT1H.json", hour, now - Duration::minutes(1), "b");
    repo.register(&c).await.expect("cursor");
    let r = report(&f).await;
    assert_eq!(
        r["auditLogTail"]["hosts"][0]["behindSeconds"],
        40 * 60,
        "{r}"
    );
    assert_eq!(r["status"], "degraded");
    assert!(
        r["reasons"].to_string().contains("40 min behind on b"),
        "{}",
        r["reasons"]
    );
}
