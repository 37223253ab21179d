//! A session's review and its pending join in its `BastionSessions_CL` rows, through the real
//! handler on Azurite: Alice's session tailed and joined to its recording (the catalogue's seed),
//! reviewed through `POST /api/reviews`, and its latest row, sent by `SentinelExport`, carries the
//! verdict, the reviewer and the review's time beside its joined state; a retry of the review
//! sends no other reviewed row. A session the join leaves pending (`catalogue::days::put_pending`,
//! the join pass's writer for a session it could not cover, called here on the handler's tables and
//! outbox) arrives with `JoinPending`.

use bastion_recordings::catalogue::days::{self, DayRow, Span};
use bastion_recordings::catalogue::session;
use bastion_recordings::export::Outbox;
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{drain, fake, settings};
use crate::audit_logs::support::{ALICE, Env};
use crate::catalogue_sessions::{http, principal, seed};
use crate::harness::{AzuriteEnv, HandlerProcess};

const SESSIONS: &str = "Custom-BastionSessions";

/// The handler with the export on to `url` (platform authentication: reviews need a reviewer).
async fn env(cs: &str, url: &str) -> Env {
    let mut env = AzuriteEnv::new(cs);
    for (k, v) in settings(url) {
        env.vars.insert(k.to_owned(), v);
    }
    env.vars.insert("CATALOGUE_AUTH".into(), "platform".into());
    let handler = HandlerProcess::spawn(&env.pairs()).await;
    Env::with(cs, env, handler)
}

/// Alice's Sessions rows that arrived, oldest first.
fn alice(fake: &bastion_testkit::ingestion::FakeIngestion) -> Vec<Value> {
    let mut rows: Vec<Value> = fake
        .accepted()
        .into_iter()
        .filter(|a| a.stream == SESSIONS && a.record["SessionId"] == ALICE)
        .map(|a| Value::Object(a.record))
        .collect();
    rows.sort_by_key(|r| r["TimeGenerated"].as_str().unwrap_or_default().to_owned());
    rows
}

#[tokio::test]
async fn a_reviewed_sessions_row_arrives_with_its_verdict_reviewer_and_time() {
    let Some(cs) = crate::harness::azurite() else {
        return;
    };
    let (fake, url) = fake().await;
    let e = env(&cs, &url).await;
    let recording = seed(&e).await;

    let reviewer = principal(&["Catalogue.Review"]);
    let hdr = [("x-ms-client-principal", reviewer.as_str())];
    let body = json!({"session": ALICE, "verdict": "follow-up", "comment": "ask the owner"});
    let (s, text, _) = http(&e.handler, Method::POST, "/api/reviews", Some(&body), &hdr).await;
    assert_eq!(s, 201, "{text}");
    let review: Value = serde_json::from_str(&text).expect("json");
    let (s, again, _) = http(&e.handler, Method::POST, "/api/reviews", Some(&body), &hdr).await;
    assert_eq!(s, 200, "a retry: {again}");

    let replies = drain(&e.handler, 4).await;
    assert!(replies.iter().all(|(s, _)| *s == 200), "{replies:?}");
    let rows = alice(&fake);
    let last = rows.last().expect("Alice's rows");
    assert_eq!(
        (&last["ReviewVerdict"], &last["Reviewer"]),
        (&json!("follow-up"), &json!("auditor@contoso.com")),
        "{last}"
    );
    let at = |v: &Value| {
        v.as_str()
            .and_then(bastion_recordings::dates::timestamp)
            .expect("a time")
    };
    assert_eq!(at(&last["ReviewedAt"]), at(&review["reviewedAt"]), "{last}");
    assert_eq!(last["Recorded"], true, "the joined state stays: {last}");
    assert_eq!(last["RecordingIds"], json!([recording]), "{last}");
    let reviewed = rows.iter().filter(|r| r["ReviewVerdict"] != "").count();
    assert_eq!(reviewed, 1, "the retry records no other row: {rows:?}");
}

#[tokio::test]
async fn a_pending_sessions_row_arrives_with_its_pending_state() {
    let Some(cs) = crate::harness::azurite() else {
        return;
    };
    let (fake, url) = fake().await;
    let e = env(&cs, &url).await;
    seed(&e).await;
    let replies = drain(&e.handler, 4).await;
    assert!(replies.iter().all(|(s, _)| *s == 200), "{replies:?}");
    let joined = alice(&fake);
    assert_eq!(
        joined.last().expect("Alice's rows")["JoinPending"],
        false,
        "joined: {joined:?}"
    );

    // The join leaves Alice's session pending (a recording's time it could not read).
    let tables = e.tables.as_ref();
    let s = session::get(tables, ALICE)
        .await
        .expect("read")
        .expect("Alice's session");
    let day = DayRow::of(&s).expect("a time").day();
    let stored = days::get_row(tables, &day, ALICE)
        .await
        .expect("read")
        .expect("Alice's index row");
    let w = DayRow::from_entity(&stored.entity).expect("index row");
    assert!(w.pending.is_none(), "{w:?}");
    let now = OffsetDateTime::now_utc();
    let span = Span::at(w.start + time::Duration::minutes(1));
    days::put_pending(
        tables,
        &Outbox::on(
            e.tables.clone(),
            std::sync::Arc::new(bastion_recordings::clock::SystemClock),
        ),
        &w,
        span,
        now,
    )
    .await
    .expect("pending");

    let replies = drain(&e.handler, 4).await;
    assert!(replies.iter().all(|(s, _)| *s == 200), "{replies:?}");
    let rows = alice(&fake);
    let last = rows.last().expect("Alice's rows");
    assert_eq!(rows.len(), joined.len() + 1, "{rows:?}");
    assert_eq!(last["JoinPending"], true, "{last}");
    assert_eq!(last["Recorded"], true, "{last}");
}
