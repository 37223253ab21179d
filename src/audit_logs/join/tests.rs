//! Join tests over the in-memory fakes: both arrival orders, exact/heuristic/ambiguous, re-tagging.

use time::macros::datetime;

use super::*;
use crate::audit_logs::correlate::{Confidence, Match};
use crate::audit_logs::repo::{WINDOWS_TABLE, WindowRow};
use crate::catalogue::model::RecordingKey;
use crate::retention::{TAG_CLASS, TAG_UNTIL};
use crate::storage::{BlobRef, BlobStore};
use crate::tables::get_str;
use crate::testkit::audit::{ALICE, Kit, NOW, kit, line};
use crate::testkit::tail::run;

const PCI: &str = r#"
default = "ops-30d"
[classes.ops-30d]
days = 30
[classes.pci-1y]
days = 365
[[rules]]
class = "pci-1y"
vm = "vm-app-*"
protocol = "ssh"
"#;

use crate::testkit::files::sample_auditlog as fixture;

/// A recording whose name carries Alice's tunnel id, uploaded at `at` and joined.
async fn naming_alice(k: &Kit, at: time::OffsetDateTime) -> RecordingKey {
    let key = k.recording(&format!("PLACEHOLDER-{ALICE}"), at, &[]).await;
    after_catalogue(&k.joiner(), &key).await.expect("hook");
    key
}

/// The match of the join of `key`, which must find one.
async fn joined(k: &Kit, key: &RecordingKey) -> Match {
    after_catalogue(&k.joiner(), key)
        .await
        .expect("hook")
        .expect("match")
}

/// The `sessionwindows` row of Alice's session.
async fn alice_window(k: &Kit) -> crate::tables::Entity {
    let stored = k.state.ports.tables.get(WINDOWS_TABLE, "2025-03-14", ALICE);
    stored.await.expect("get").expect("index row").entity
}

async fn feed(k: &Kit, text: &[u8]) {
    if k.blobs.content(&k.blob()).is_none() {
        k.create_log().await;
        k.register().await;
    }
    k.append(text).await;
    run(k, NOW).await;
}

#[tokio::test]
async fn recording_first_then_session_joins_exactly() {
    let k = kit(None);
    let key = naming_alice(&k, datetime!(2025-03-14 09:42 UTC)).await;
    assert_eq!(
        get_str(&k.row(&key).await, "MatchConfidence"),
        Some("awaiting"),
        "no session yet: it awaits the one it names"
    );
    feed(&k, &fixture()).await;
    let e = k.row(&key).await;
    assert_eq!(get_str(&e, "MatchConfidence"), Some("exact"));
    assert_eq!(get_str(&e, "TunnelId"), Some(ALICE));
    assert_eq!(get_str(&e, "UserEmail"), Some("alice@contoso.com"));
    assert_eq!(get_str(&e, "TargetVm"), Some("vm-app-01"));
    assert_eq!(crate::tables::get_i64(&e, "DurationMs"), Some(2_283_524));
    assert_eq!(
        get_str(&e, "RecordingId").map(str::len).map(|l| l > 10),
        Some(true),
        "catalogue fields kept"
    );
    let r = run(&k, NOW + Duration::hours(1)).await;
    assert!(
        r.notifications
            .iter()
            .all(|n| n.kind != "session.unrecorded"),
        "joined sessions are recorded"
    );
}

#[tokio::test]
async fn session_first_then_recording_joins_and_retags() {
    let k = kit(Some(PCI));
    feed(&k, &fixture()).await;
    let key = k
        .recording(
            "2025/03/14/opaque-name.bin",
            datetime!(2025-03-14 09:45 UTC),
            &[("owner", "Alice@Contoso.com")],
        )
        .await;
    let m = joined(&k, &key).await;
    // The still-open c0ffee session on the same VM is also in the window; the e-mail hint narrows.
    assert_eq!(
        m,
        Match {
            confidence: Confidence::Heuristic,
            tunnels: vec![ALICE.into()]
        }
    );
    let e = k.row(&key).await;
    assert_eq!(
        get_str(&e, "RetentionClass"),
        Some("pci-1y"),
        "rule on VM + protocol now matches"
    );
    let blob = BlobRef::new(
        k.state.ports.sources.default_recordings().container.clone(),
        "2025/03/14/opaque-name.bin",
    );
    let tags = k.blobs.get_tags(&blob).await.expect("tags");
    assert_eq!(tags[TAG_CLASS], "pci-1y");
    assert_eq!(tags[TAG_UNTIL], "2026-03-14");
    let again = after_catalogue(&k.joiner(), &key).await.expect("hook");
    assert_eq!(again, Some(m), "idempotent");
}

#[tokio::test]
async fn retag_never_shortens_an_existing_retain_until() {
    let k = kit(Some(PCI));
    feed(&k, &fixture()).await;
    let name = format!("x-{ALICE}");
    let blob = BlobRef::new(
        k.state.ports.sources.default_recordings().container.clone(),
        name.clone(),
    );
    let key = k
        .recording(&name, datetime!(2025-03-14 09:45 UTC), &[])
        .await;
    let mut tags = k.blobs.get_tags(&blob).await.expect("tags");
    tags.insert(TAG_UNTIL.into(), "2030-01-01".into());
    k.blobs.set_tags(&blob, &tags, None).await.expect("set");
    after_catalogue(&k.joiner(), &key).await.expect("hook");
    let tags = k.blobs.get_tags(&blob).await.expect("tags");
    assert_eq!(tags[TAG_UNTIL], "2030-01-01");
}

#[tokio::test]
async fn overlapping_sessions_stay_ambiguous_with_candidates() {
    let k = kit(None);
    let end =
        r#","sessionStartTime":"2025-03-14T09:00:00Z","sessionEndTime":"2025-03-14T09:30:00Z""#;
    let at = "2025-03-14T09:00:00Z";
    let text = line("s1", at, "Successfully Connected.", "VM-A", "ann", end)
        + &line("s2", at, "Successfully Connected.", "VM-B", "ben", end);
    feed(&k, text.as_bytes()).await;
    let key = k
        .recording("rec-1", datetime!(2025-03-14 09:35 UTC), &[])
        .await;
    let m = joined(&k, &key).await;
    assert_eq!(
        m,
        Match {
            confidence: Confidence::Ambiguous,
            tunnels: vec!["s1".into(), "s2".into()]
        }
    );
    let e = k.row(&key).await;
    assert_eq!(get_str(&e, "MatchCandidates"), Some("s1,s2"));
    assert!(!e.contains_key("TunnelId"), "never forced 1:1");
    let key2 = k
        .recording("rec-2", datetime!(2025-03-14 09:35 UTC), &[("vm", "VM-B")])
        .await;
    let m = joined(&k, &key2).await;
    assert_eq!(m.tunnels, ["s2"], "metadata hint narrows");
}

#[tokio::test]
async fn an_exact_join_marks_the_sessions_own_index_row_however_late_the_upload() {
    let k = kit(None);
    feed(&k, &fixture()).await;
    // Uploaded a week after the session: outside the heuristic window around the upload.
    let key = naming_alice(&k, datetime!(2025-03-21 09:42 UTC)).await;
    let index_row =
        || async { WindowRow::from_entity(&alice_window(&k).await).expect("window row") };
    let w = index_row().await;
    assert!(w.pending.is_some(), "marked for the session side: {w:?}");
    run(&k, NOW).await;
    let w = index_row().await;
    assert!(w.recorded && w.pending.is_none(), "{w:?}");
    assert_eq!(w.recording_ids, vec![key.id()]);
}

#[tokio::test]
async fn the_index_row_follows_fields_only_the_sessions_api_shows() {
    let k = kit(None);
    let rec = |time: &str, props: &str| {
        format!(
            r#"{{"time":"{time}","operationName":"Microsoft.Network/BastionHost/connect","properties":{{"tunnelId":"{ALICE}","userName":"u","message":"Successfully Connected."{props}}}}}"#
        ) + "\n"
    };
    let target = r#","targetResourceId":"/S/x/virtualMachines/vm-z""#;
    feed(&k, rec("2025-03-14T09:00:00Z", target).as_bytes()).await;
    // Only the client IP arrives later: nothing the join looks at changes.
    let later = rec(
        "2025-03-14T09:01:00Z",
        r#","clientIpAddress":"203.0.113.77""#,
    );
    feed(&k, later.as_bytes()).await;
    let stored = alice_window(&k).await;
    assert_eq!(get_str(&stored, "ClientIp"), Some("203.0.113.77"));
    assert_eq!(
        get_str(&stored, "TargetResourceId"),
        Some("/S/x/virtualMachines/vm-z")
    );
}
