//! One notification of every emitted type, shaped like its producer's, with hostile and very long
//! outside values (markdown, Slack markup, bare URLs, an id with no break opportunity).

use bastion_recordings::spine::stable_id;
use serde_json::{Value, json};

/// A user name that is markdown emphasis and a phishing link.
pub const USER: &str = "**root** [reset your password](https://evil.example/login)";
/// A VM name with Slack link markup and a bare host name.
pub const VM: &str = "vm_01_ <https://evil.example|click> www.evil.example";
/// The start of a blob name that goes on with 2,500 `&`.
pub const BLOB_START: &str = "rec/__b__ [x](https://evil.example) <!channel> `c` # h";
/// What must never reach Slack unescaped.
pub const SLACK_MARKUP: &[&str] = &["<!channel>", "<https://evil.example|click>"];
const BASTION: &str = "bas-weu-01";
const BASTION_ID: &str = "/subscriptions/0000-1111/resourceGroups/rg-hub/providers/Microsoft.Network/bastionHosts/bas-weu-01";

fn blob() -> String {
    format!("{BLOB_START}{}", "&".repeat(2500))
}

/// A recording id of about 100 characters without a break opportunity.
pub fn recording_id() -> String {
    format!("2025-03-14~{}", "QmFzdGlvblJlY29yZGluZw".repeat(4))
}

fn n(kind: &str, severity: &str, title: String, data: Value) -> Value {
    json!({"type": kind, "notificationId": stable_id(kind, &data.to_string()), "time": "2025-03-14T09:42:17Z",
        "severity": severity, "title": title, "data": data})
}

/// The catalogue row of recording [`recording_id`] with blob name `blob` and `extra` properties.
fn row(blob: &str, extra: &[(&str, &str)]) -> bastion_recordings::catalogue::recording::Recording {
    let id = recording_id();
    let (pk, rk) = id.split_once('~').expect("id");
    let mut row = json!({"PartitionKey": pk, "RowKey": rk, "BlobCreated": "2025-03-14T09:42:17Z",
        "FirstSeen": "2025-03-14T09:42:17Z", "Account": "strecweu", "SourceBastion": BASTION,
        "Container": "recordings", "BlobName": blob,
        "BlobUrl": format!("https://strecweu.blob.core.windows.net/recordings/{BLOB_START}"),
        "RetentionClass": "sox-7y", "RetainUntil": "2032-03-14"});
    for (k, v) in extra {
        row[*k] = json!(v);
    }
    let Value::Object(row) = row else {
        unreachable!("an object")
    };
    bastion_recordings::catalogue::recording::Recording::from_entity(&row).expect("a row")
}

/// `recording.retagged` as its producer finds it and the one pipeline makes it, for a hostile blob name whose tags were
/// changed to a hostile class and an earlier date.
fn retagged(blob: &str) -> Value {
    use bastion_recordings::retention::retagged::finding;
    use bastion_recordings::retention::{TAG_CLASS, TAG_UNTIL};
    let row = row(blob, &[("Status", "catalogued")]);
    let found = [
        (TAG_CLASS, "ops-30d [x](https://evil.example)"),
        (TAG_UNTIL, "2025-03-15"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .into();
    let at = time::macros::datetime!(2025-03-14 09:42:17 UTC);
    let f = finding(&row, &found, true, at, Some(BASTION_ID));
    bastion_recordings::spine::messages([f]).remove(0)
}

/// `recording.actor` as its producer finds it and the one pipeline makes it: a hostile blob name deleted by a requester whose
/// UPN is markdown and a link, and whose user agent is Slack markup.
fn actor(blob: &str) -> Value {
    use bastion_recordings::catalogue::writer::{ACTOR_FOUND, Actor};
    use bastion_recordings::custody::actor::finding;
    use bastion_recordings::custody::awaited::Change;
    let row = row(
        blob,
        &[
            ("Status", "deleted-outside-retention"),
            ("DeletedAt", "2025-03-15T10:00:00Z"),
        ],
    );
    let who = Actor {
        status: ACTOR_FOUND.into(),
        operation: "DeleteBlob".into(),
        authentication: "OAuth".into(),
        upn: USER.into(),
        object_id: "3f1d2c4b-0000-4000-8000-000000000001".into(),
        caller_ip: "203.0.113.7:50412".into(),
        user_agent: VM.into(),
        at: "2025-03-15T10:00:01Z".into(),
        reason: "the request of the event".into(),
        alert_id: stable_id("recording.deleted", &recording_id()),
        ..Actor::default()
    };
    bastion_recordings::spine::messages([finding(&row, Change::Deleted, &who)]).remove(0)
}

/// Every type, and the hostile values each card must show literally.
pub fn all() -> Vec<(Value, Vec<&'static str>)> {
    let (rec, blob) = (recording_id(), blob());
    let sha = |c: char| c.to_string().repeat(64);
    vec![
        (retagged(&blob), vec![BLOB_START]),
        (actor(&blob), vec![BLOB_START, VM]),
        (
            n(
                "recording.catalogued",
                "info",
                "New Bastion session recording catalogued (1234567 bytes)".into(),
                json!({
                    "recordingId": rec, "account": "strecweu", "bastionHost": BASTION, "bastionResourceId": BASTION_ID,
                    "container": "recordings", "blobName": blob, "blobUrl": "https://strecweu.blob.core.windows.net/recordings/x",
                    "contentLength": 1_234_567, "retentionClass": "standard", "retainUntil": "2025-06-12", "candidateKeys": ["a"],
                }),
            ),
            vec![BLOB_START],
        ),
        (
            n(
                "session.unrecorded",
                "warning",
                format!("Bastion session to {VM} ended without a recording"),
                json!({
                    "tunnelId": "tun-1", "bastionHost": BASTION, "targetVm": VM, "userName": USER, "userEmail": "a@example.com",
                    "protocol": "ssh", "sessionStart": "2025-03-14T09:00:00Z", "sessionEnd": "2025-03-14T09:40:00Z",
                }),
            ),
            vec![USER, VM],
        ),
        (
            n(
                "recordings.stalled",
                "critical",
                format!(
                    "Bastion {BASTION}: no recording for 6 h in strecweu/recordings although 3 sessions ended"
                ),
                json!({
                    "noRecordingSince": "2025-03-14T03:00:00Z", "endedSessions": 3, "hours": 6,
                    "account": "strecweu", "container": "recordings", "bastionHost": BASTION,
                }),
            ),
            vec![],
        ),
        (
            n(
                "login.failed.burst",
                "warning",
                format!("7 failed Bastion logins by one user to {VM} within 10 min"),
                json!({
                        "dimension": "user", "value": USER, "userName": USER, "targetVm": VM, "bastionHost": BASTION,
                "clientIps": ["198.51.100.2", "203.0.113.7"],
                        "windowStart": "2025-03-14T09:30:00Z", "windowEnd": "2025-03-14T09:40:00Z", "count": 7, "tunnelIds": ["t1", "t2"],
                    }),
            ),
            vec![USER, VM],
        ),
        (
            n(
                "retention.deleted",
                "info",
                "Retention sweep 2025-03-14 (dry run): 2 blobs would be deleted".into(),
                json!({
                    "dryRun": true, "today": "2025-03-14", "invocationId": "inv-1",
                    "counts": {"candidates": 3, "deleted": 0, "wouldDelete": 2, "held": 1, "failed": 0},
                    "boundReached": false, "moreItems": 0,
                    "items": [{"blob": format!("recordings/{BLOB_START}"), "class": "short", "retainUntil": "2025-03-13"},
                        {"blob": "recordings/b.mp4", "class": "short", "retainUntil": "2025-03-13"}],
                }),
            ),
            vec![BLOB_START],
        ),
        (
            n(
                "recording.tampered",
                "critical",
                "A recording's content no longer matches its recorded SHA-256".into(),
                json!({
                    "recordingId": rec, "account": "strecweu", "bastionHost": BASTION, "bastionResourceId": BASTION_ID,
                    "container": "recordings", "blobName": blob, "expectedSha256": sha('a'), "expectedLength": 100,
                    "actualSha256": sha('b'), "actualLength": 100, "etag": "\"0x1\"",
                }),
            ),
            vec![BLOB_START],
        ),
        (
            n(
                "recording.missing",
                "critical",
                "A catalogued recording is gone before its retain-until date".into(),
                json!({
                    "recordingId": rec, "account": "strecweu", "bastionHost": BASTION, "container": "recordings",
                    "blobName": blob, "retainUntil": "2025-06-12", "sha256": sha('c'),
                }),
            ),
            vec![BLOB_START],
        ),
        (
            n(
                "recording.deleted",
                "critical",
                "Recording deleted outside retention while under legal hold".into(),
                json!({
                    "recordingId": rec, "account": "strecweu", "bastionHost": BASTION, "bastionResourceId": BASTION_ID,
                    "container": "recordings", "blobName": blob, "blobUrl": format!("https://strecweu.blob.core.windows.net/recordings/{BLOB_START}"),
                    "retentionClass": "sox-7y", "retainUntil": "2032-03-14", "legalHold": true,
                    "deletedAt": "2025-03-14T09:42:17Z", "requestId": "0b5c2a4e-001e-0055-5f1c-8ea4e6000000", "sha256": sha('d'),
                }),
            ),
            vec![BLOB_START],
        ),
        (
            n(
                "recording.replaced",
                "critical",
                "A catalogued recording was overwritten with other content".into(),
                json!({
                    "recordingId": rec, "account": "strecweu", "bastionHost": BASTION, "bastionResourceId": BASTION_ID,
                    "container": "recordings", "blobName": blob, "blobUrl": format!("https://strecweu.blob.core.windows.net/recordings/{BLOB_START}"),
                    "expectedSha256": sha('e'), "expectedLength": 100, "previousEtag": "\"0x1\"",
                    "actualLength": 90, "etag": "\"0x2\"", "retentionClass": "sox-7y", "retainUntil": "2032-03-14",
                }),
            ),
            vec![BLOB_START],
        ),
    ]
}
