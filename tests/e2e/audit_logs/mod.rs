//! Audit logs end to end on Azurite with real append blobs, through the real `handler` process:
//! empty `PT1H.json` → `AuditLogCreated` → appends (incl. a partial line) → `AuditLogTail` ticks →
//! `sessions` rows; late records in a later hour's blob; duplicates; racing ticks;
//! corrupt lines; the recording join from `RecordingCreated`; quiet ticks and a lost event.

mod datalake;
mod fanout;
mod growing;
mod identity;
mod identity_learnt;
mod one_session;
pub(crate) mod order;
mod planted;
mod quiet_units;
mod replaced_session;
pub(crate) mod support;
mod writer;

use bastion_recordings::tables::get_str;

use crate::harness::fixture_bytes;
use support::{ALICE, count, count_all, record, start};

#[tokio::test]
async fn append_blob_tailing_builds_sessions() {
    let Some(e) = start().await else { return };
    let reply = e.create(9).await;
    assert_eq!(count(&reply, "records"), 0, "empty at creation: {reply}");
    let sample = fixture_bytes("auditlogs/PT1H.sample.jsonl");
    e.append(9, &sample).await;
    let reply = e.tick().await;
    assert_eq!(
        count(&reply, "records"),
        4,
        "the partial 5th line waits: {reply}"
    );
    let alice = e.session(ALICE).await.expect("alice");
    assert_eq!(get_str(&alice, "TargetVm"), Some("vm-app-01"));
    assert_eq!(get_str(&alice, "Outcome"), Some("connected"));
    assert!(get_str(&alice, "SessionEnd").is_some_and(|v| v.starts_with("2025-03-14T09:41:58")));
    assert_eq!(count(&e.tick().await, "records"), 0, "416: nothing new");
    e.append(9, br#"EU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU","properties":{"tunnelId":"d0d0d0d0-0000-4000-8000-000000000005","message":"Successfully Connected."}}"#).await;
    e.append(9, b"\n{corrupt line\n").await;
    let reply = e.tick().await;
    assert_eq!(
        (count(&reply, "records"), count(&reply, "corrupt")),
        (1, 1),
        "{reply}"
    );
    let quarantined = e
        .blobs
        .list(
            e.env.get("QUARANTINE_CONTAINER"),
            Some("AuditLogTail/"),
            None,
        )
        .await
        .expect("list")
        .items;
    assert_eq!(quarantined.len(), 1, "corrupt line quarantined once");
    assert_eq!(count(&e.tick().await, "corrupt"), 0, "and skipped for good");

    // Duplicate creation event: the cursor keeps its offset (no re-read of the whole blob).
    assert_eq!(count(&e.create_again(9).await, "records"), 0);
    // Late end record for the 08:59 session arrives in the next hour's blob.
    e.create(10).await;
    e.append(
        10,
        record(
            "c0ffee00-1111-4222-8333-444455556666",
            "2025-03-14T10:20:00Z",
            "x",
            r#","sessionEndTime":"2025-03-14T10:19:00Z","duration":1140100"#,
        )
        .as_bytes(),
    )
    .await;
    e.tick().await;
    let late = e
        .session("c0ffee00-1111-4222-8333-444455556666")
        .await
        .expect("session");
    assert!(
        get_str(&late, "SessionEnd").is_some_and(|v| v.starts_with("2025-03-14T10:19:00")),
        "{late:?}"
    );
    assert_eq!(
        get_str(&late, "UserName"),
        Some("azureuser"),
        "fields from both blobs merged"
    );
}

/// The tail finds growth by listing each host's hour blobs: a tick with nothing appended reads
/// no blob, and an hour blob whose `BlobCreated` was lost is registered (and tagged) and read by
/// the next tick, not an hour later by `Reconcile`.
#[tokio::test]
async fn quiet_ticks_read_nothing_and_a_blob_whose_event_was_lost_is_found_by_the_next_tick() {
    let Some(e) = start().await else { return };
    e.create(9).await;
    let first = "e1e1e1e1-0000-4000-8000-000000000001";
    let line = record(first, "2025-03-14T09:10:00Z", "Successfully Connected.", "");
    e.append(9, line.as_bytes()).await;
    let reply = e.tick().await;
    assert_eq!(
        (count(&reply, "blobs"), count(&reply, "records")),
        (1, 1),
        "{reply}"
    );
    let quiet = e.tick().await;
    assert_eq!(
        (
            count(&quiet, "blobs"),
            count(&quiet, "hosts"),
            count(&quiet, "grown")
        ),
        (0, 1, 0),
        "one listing, no read: {quiet}"
    );
    // Hour 10's blob is created and written, but its event never arrives.
    let lost = bastion_recordings::storage::BlobRef::new(e.logs(), support::hour_path(10));
    e.blobs
        .create_append(&lost, "application/json")
        .await
        .expect("create");
    let tunnel = "e1e1e1e1-0000-4000-8000-000000000002";
    let line = record(
        tunnel,
        "2025-03-14T10:05:00Z",
        "Successfully Connected.",
        "",
    );
    e.append(10, line.as_bytes()).await;
    let reply = e.tick().await;
    assert_eq!(
        (count(&reply, "registered"), count(&reply, "records")),
        (1, 1),
        "{reply}"
    );
    assert!(e.session(tunnel).await.is_some());
    let tags = e.blobs.get_tags(&lost).await.expect("tags");
    assert_eq!(
        tags.get("retentionClass").map(String::as_str),
        Some("audit-1y")
    );
    assert_eq!(count(&e.tick().await, "blobs"), 0, "quiet again");
}

#[tokio::test]
async fn racing_ticks_and_duplicates() {
    let Some(e) = start().await else { return };
    e.create(9).await;
    let lines: String = (0..40)
        .map(|i| {
            record(
                &format!("00000000-0000-4000-8000-{i:012}"),
                "2025-03-14T09:10:00Z",
                "Successfully Connected.",
                "",
            )
        })
        .collect();
    e.append(9, lines.as_bytes()).await;
    e.append(9, lines.as_bytes()).await; // every record twice
    let (a, b) = tokio::join!(e.tick(), e.tick());
    assert_eq!(
        count_all(&[&a, &b], "records"),
        80,
        "each record read by exactly one tick: {a} {b}"
    );
    assert_eq!(count(&e.tick().await, "records"), 0);
    assert!(
        e.session("00000000-0000-4000-8000-000000000039")
            .await
            .is_some()
    );
}

#[tokio::test]
async fn recording_arriving_after_its_session_is_joined() {
    let Some(e) = start().await else { return };
    e.create(9).await;
    e.append(
        9,
        &crate::harness::fixture_on_sample_day("auditlogs/PT1H.sample.jsonl"),
    )
    .await;
    e.tick().await;
    e.catalogue(&format!("PLACEHOLDER-{ALICE}")).await;
    let rows = e
        .tables
        .query("recordings", None, None, None)
        .await
        .expect("query")
        .items;
    assert_eq!(rows.len(), 1);
    let row = &rows[0].entity;
    assert_eq!(get_str(row, "MatchConfidence"), Some("exact"), "{row:?}");
    assert_eq!(get_str(row, "UserEmail"), Some("alice@contoso.com"));
    assert_eq!(get_str(row, "TunnelId"), Some(ALICE));
}
