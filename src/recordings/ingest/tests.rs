//! Tests for the pure ingestion decisions.

use serde_json::json;
use time::macros::datetime;

use super::*;
use crate::recordings::created::{is_newer, not_a_source, not_created};

fn event(seq: Option<&str>, etag: &str) -> BlobEvent {
    let mut v = json!({
        "topic": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct",
        "subject": "/blobServices/default/containers/recordings/blobs/x",
        "eventType": "Microsoft.Storage.BlobCreated", "eventTime": "2025-03-14T09:42:17Z", "id": "e",
        "data": {"api": "PutBlob", "eTag": etag, "url": "https://acct.blob.core.windows.net/recordings/x"}
    });
    if let Some(s) = seq {
        v["data"]["sequencer"] = json!(s);
    }
    BlobEvent::from_value(&v).expect("event")
}

fn props(meta: &[(&str, &str)]) -> BlobProps {
    BlobProps {
        content_length: 10,
        content_type: None,
        etag: "0x1".into(),
        last_modified: None,
        created: None,
        kind: None,
        metadata: crate::testkit::maps::owned(meta),
        tag_count: Some(0),
    }
}

fn row(seq: &str, etag: &str) -> Recording {
    let e = event(Some(seq), etag);
    let b = BlobRef::new("recordings", "x");
    let p = props(&[]);
    derive_entry(EntryInput {
        min_bytes: 0,
        announced: Announced {
            key: RecordingKey::for_source_blob(e.time, "acct", "recordings", "x"),
            event: &e,
            account: "acct",
            bastion: None,
            now: e.time,
        },
        blob: &b,
        props: &p,
        retention: Retention {
            class: "ops-30d".into(),
            until: "2025-04-13".into(),
        },
    })
}

#[test]
fn only_creations_are_catalogued_and_foreign_containers_are_named() {
    let e = event(None, "1");
    assert_eq!(not_created(&e), None);
    assert!(not_a_source(&e).contains("recordings") && not_a_source(&e).contains("acct"));
    let mut deleted = e;
    deleted.event_type = "Microsoft.Storage.BlobDeleted".into();
    assert!(not_created(&deleted).is_some_and(|r| r.contains("event type")));
}

#[test]
fn hierarchical_namespace_writes_count_once_committed() {
    let mut e = event(None, "1");
    for api in ["PutBlob", "PutBlockList", "CopyBlob", "FlushWithClose", ""] {
        e.data.api = api.into();
        assert_eq!(not_created(&e), None, "{api}");
    }
    e.data.api = "CreateFile".into();
    assert!(
        not_created(&e).is_some_and(|r| r.contains("CreateFile") && r.contains("FlushWithClose"))
    );
}

#[test]
fn newer_is_decided_by_sequencer_then_etag_and_time() {
    let stored = row("0000000000000000000000000001A2B30000000000c0ffee", "0x1");
    assert!(is_newer(
        &event(
            Some("0000000000000000000000000001A2B30000000000d00d00"),
            "0x2"
        ),
        &stored
    ));
    assert!(
        !is_newer(
            &event(
                Some("0000000000000000000000000001A2B30000000000c0ffee"),
                "0x1"
            ),
            &stored
        ),
        "duplicate"
    );
    assert!(
        !is_newer(
            &event(
                Some("0000000000000000000000000001A2B30000000000000001"),
                "0x0"
            ),
            &stored
        ),
        "older"
    );
    let mut no_seq = stored.clone();
    no_seq.sequencer.clear();
    no_seq.blob_created = datetime!(2025-03-14 09:00 UTC);
    assert!(is_newer(&event(None, "0x9"), &no_seq));
    assert!(!is_newer(
        &event(None, "0x1"),
        &Recording {
            etag: "0x1".into(),
            ..no_seq
        }
    ));
}

#[test]
fn guids_are_found_in_names_and_metadata() {
    let p = props(&[
        ("sessionid", "AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE"),
        ("note", "none"),
    ]);
    let keys = candidate_keys(
        "2025/03/14/vm-app-01/5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f.mp4",
        &p,
    );
    assert_eq!(
        keys,
        vec![
            "5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f",
            "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
        ]
    );
    assert!(find_guids("PLACEHOLDER-5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f").len() == 1);
    assert!(
        find_guids("x5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1fa").is_empty(),
        "must be delimited"
    );
    assert!(
        find_guids("5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1").is_empty(),
        "too short"
    );
    assert!(find_guids("").is_empty());
    assert!(find_guids("ünïcødé-5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f-ü").len() == 1);
}

#[test]
fn notification_is_thin_and_stable() {
    let r = row("01", "0x1");
    let id = r.key.id();
    let a = catalogued_finding(&r, &id, None).told().to_output();
    let newer = Recording {
        sequencer: "02".into(),
        ..r.clone()
    };
    let b = catalogued_finding(&newer, &id, None).told();
    assert_eq!(
        a["notificationId"], b.notification_id,
        "one id per recording, whatever the event"
    );
    assert_eq!(a["type"], "recording.catalogued");
    assert_eq!(a["data"]["recordingId"], id);
    assert_eq!(a["data"]["contentLength"], r.content_length);
    assert_eq!(a["data"]["candidateKeys"], json!(r.candidate_keys));
    assert_eq!(
        a["data"].as_object().map(|o| o.len()),
        Some(9),
        "{a}: exactly the documented fields"
    );
    let host = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/b";
    let c = catalogued_finding(&r, &id, Some(host)).told().to_output();
    assert_eq!(
        c["data"]["bastionResourceId"], host,
        "the portal link's input"
    );
}
