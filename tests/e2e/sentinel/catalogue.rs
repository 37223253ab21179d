//! Sessions and recordings rows from the real pipeline: audit records tailed by `AuditLogTail`
//! (sessions and their `sessionwindows` rows), a recording catalogued by `RecordingCreated` and
//! joined exactly to Alice's session by the next tick's join pass. Each write of a session's row
//! and of the catalogue row is recorded where it is written; `SentinelExport` sends them.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{drain, fake, ids, settings};
use crate::audit_logs::support::{ALICE, Env};
use crate::catalogue_sessions::{http, seed};
use crate::harness::{AzuriteEnv, HandlerProcess};

const SESSIONS: &str = "Custom-BastionSessions";
const RECORDINGS: &str = "Custom-BastionRecordings";

/// The latest record of `id` on `stream`.
fn latest(
    fake: &bastion_testkit::ingestion::FakeIngestion,
    stream: &str,
    col: &str,
    id: &str,
) -> Value {
    let rows: Vec<_> = fake
        .accepted()
        .into_iter()
        .filter(|a| a.stream == stream && a.record[col] == id)
        .collect();
    let last = rows
        .iter()
        .max_by_key(|a| {
            a.record["TimeGenerated"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .unwrap_or_else(|| panic!("{id} on {stream}"));
    Value::Object(last.record.clone())
}

#[tokio::test]
async fn sessions_and_recordings_arrive_with_exactly_the_ids_the_catalogue_shows() {
    let Some(cs) = crate::harness::azurite() else {
        return;
    };
    let (fake, url) = fake().await;
    let mut env = AzuriteEnv::new(&cs);
    for (k, v) in settings(&url) {
        env.vars.insert(k.to_owned(), v);
    }
    let handler = HandlerProcess::spawn(&env.pairs()).await;
    let e = Env::with(&cs, env, handler);
    let recording = seed(&e).await;

    // The sessions `/api/sessions` shows, and the catalogue's one recording.
    let path = format!(
        "/api/sessions?from={}&to={}&code=fnkey",
        crate::harness::sample_date(-1),
        crate::harness::sample_date(0)
    );
    let (s, body, _) = http(&e.handler, reqwest::Method::GET, &path, None, &[]).await;
    assert_eq!(s, 200, "{body}");
    let listed: Value = serde_json::from_str(&body).expect("json");
    let shown: BTreeSet<String> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["sessionId"].as_str().expect("id").to_owned())
        .collect();
    assert!(shown.contains(ALICE), "{shown:?}");

    let replies = drain(&e.handler, 4).await;
    assert!(replies.iter().all(|(s, _)| *s == 200), "{replies:?}");
    assert_eq!(ids(&fake, SESSIONS), shown);
    assert_eq!(ids(&fake, RECORDINGS), BTreeSet::from([recording.clone()]));

    // The latest rows are the joined state: Alice's session recorded by the recording, the
    // recording matched exactly to her session.
    let alice = latest(&fake, SESSIONS, "SessionId", ALICE);
    assert_eq!(alice["Recorded"], true, "{alice}");
    assert_eq!(
        alice["RecordingIds"],
        serde_json::json!([recording]),
        "{alice}"
    );
    assert_eq!(alice["Outcome"], "success", "{alice}");
    let rec = latest(&fake, RECORDINGS, "RecordingId", &recording);
    assert_eq!(rec["SessionId"], ALICE, "{rec}");
    assert_eq!(rec["MatchConfidence"], "exact", "{rec}");
    assert_eq!(rec["Status"], "catalogued", "{rec}");
}

#[tokio::test]
async fn unset_the_catalogue_and_the_sessions_record_nothing() {
    let Some(cs) = crate::harness::azurite() else {
        return;
    };
    let env = AzuriteEnv::new(&cs);
    let handler = HandlerProcess::spawn(&env.pairs()).await;
    let e = Env::with(&cs, env, handler);
    seed(&e).await;
    let outbox = e
        .tables
        .list_tables(bastion_recordings::export::outbox::OUTBOX_TABLE)
        .await
        .expect("tables");
    assert!(outbox.is_empty(), "no outbox table: {outbox:?}");
}
