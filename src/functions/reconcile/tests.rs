//! Reconcile tests: missed recordings and audit blobs go through the normal paths; stalled episodes.

use crate::testkit::DefaultSources;
use time::Duration;

use super::*;
use crate::catalogue::recording::RecordingKey;
use crate::testkit::audit::{ALICE, NOW, PATH, kit, line};

/// Every unit of a run at `now`, in plan order (as one instance would): the summaries joined and
/// the notifications' kinds.
async fn run(state: &crate::state::AppState, now: time::OffsetDateTime) -> (String, Vec<String>) {
    let (mut summaries, mut kinds) = (Vec::new(), Vec::new());
    for u in units(state) {
        let Outcome::Processed { summary, outputs } = unit(state, &u, now).await.expect("unit")
        else {
            continue;
        };
        summaries.push(summary);
        let sent = outputs
            .value(crate::spine::QUEUE)
            .map_or_else(Vec::new, |v| match v {
                serde_json::Value::Array(all) => all,
                one => vec![one],
            });
        kinds.extend(
            sent.iter()
                .map(|n| n["type"].as_str().unwrap_or_default().to_owned()),
        );
    }
    (summaries.join("; "), kinds)
}

/// A run's summary at [`NOW`].
async fn summary_of(state: &crate::state::AppState) -> String {
    run(state, NOW).await.0
}

#[tokio::test]
async fn missed_recordings_and_audit_blobs_are_picked_up_once() {
    let k = kit(None);
    let recordings = k.state.ports.sources.default_recordings();
    let rec = recordings.blob(format!("PLACEHOLDER-{ALICE}"));
    crate::testkit::blobs::put(k.blobs.as_ref(), &rec, &b"r"[..], &[]).await;
    k.create_log().await;
    k.append(
        &std::fs::read(format!(
            "{}/tests/fixtures/auditlogs/PT1H.sample.jsonl",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("fixture"),
    )
    .await;
    let summary = summary_of(&k.state).await;
    assert!(
        summary.contains("1 recordings catalogued") && summary.contains("1 audit blobs registered"),
        "{summary}"
    );
    assert!(
        CursorRepo::new(k.state.ports.tables.clone())
            .get(
                k.state
                    .ports
                    .sources
                    .cursor_source(k.state.ports.sources.default_audit_logs()),
                PATH,
                NOW - Duration::hours(1)
            )
            .await
            .expect("get")
            .is_some()
    );
    let created = k
        .blobs
        .properties(&rec)
        .await
        .expect("props")
        .created
        .expect("created");
    let key = RecordingKey::for_source_blob(created, k.blobs.account(), &rec.container, &rec.name);
    assert!(!k.row(&key).await.is_empty(), "catalogued");
    crate::testkit::tail::ticked(&k.state, NOW).await;
    assert_eq!(
        k.row(&key)
            .await
            .get("MatchConfidence")
            .and_then(|v| v.as_str()),
        Some("exact"),
        "the tail joined it"
    );
    let summary = summary_of(&k.state).await;
    assert!(
        summary.contains("0 recordings catalogued") && summary.contains("0 audit blobs registered"),
        "{summary}"
    );
}

#[tokio::test]
async fn stalled_recordings_are_reported_once_per_episode() {
    let k = kit(None);
    k.create_log().await;
    k.register().await;
    let end = |s: &str, e: &str| format!(r#","sessionStartTime":"{s}","sessionEndTime":"{e}""#);
    let text = line(
        "s1",
        "2025-03-14T09:00:00Z",
        "Successfully Connected.",
        "VM-A",
        "ann",
        &end("2025-03-14T08:00:00Z", "2025-03-14T08:30:00Z"),
    ) + &line(
        "s2",
        "2025-03-14T09:00:00Z",
        "Successfully Connected.",
        "VM-B",
        "ben",
        &end("2025-03-14T08:10:00Z", "2025-03-14T08:40:00Z"),
    );
    k.append(text.as_bytes()).await;
    crate::testkit::tail::ticked(&k.state, NOW).await;
    assert_eq!(run(&k.state, NOW).await.1, ["recordings.stalled"]);
    assert!(
        run(&k.state, NOW + Duration::hours(1)).await.1.is_empty(),
        "same episode"
    );
    assert!(stalled::is_stalled(2, 0) && !stalled::is_stalled(1, 0) && !stalled::is_stalled(5, 1));
}
