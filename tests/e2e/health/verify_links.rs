//! `IntegrityVerify` (tampered and missing recordings → notifications) and download links over an
//! account-key connection (an explicit reason, audited; no `download` member when off), on Azurite.

use bastion_recordings::storage::{BlobStore, Metadata};
use bastion_recordings::tables::TableStore;
use bytes::Bytes;
use serde_json::{Value, json};

use super::{Rig, now};
use crate::harness::{HandlerProcess, azurite, fixture};

fn timer_invocation() -> Value {
    let mut inv = fixture("invocations/timer.invocation.json");
    inv["Metadata"]["sys"]["MethodName"] = json!("IntegrityVerify");
    inv["Metadata"]["sys"]["UtcNow"] = json!(now());
    inv
}

#[tokio::test]
async fn integrity_verify_reports_tampered_and_missing_recordings() {
    let Some(cs) = azurite() else { return };
    let rig = Rig::new(&cs, &[]).await;
    let mut ids = Vec::new();
    for (name, body) in [
        ("ok.rec", &b"intact"[..]),
        ("edit.rec", b"original"),
        ("gone.rec", b"soon gone"),
    ] {
        ids.push(rig.record(name, body).await);
    }
    let (s, out) = rig
        .handler
        .invoke("IntegrityVerify", &timer_invocation())
        .await;
    assert_eq!(s, 200, "{out}");
    assert!(
        out["Outputs"]["notifications"].is_null(),
        "nothing to report yet: {out}"
    );
    let blobs = rig.blobs();
    blobs
        .put(
            &rig.blob("edit.rec"),
            Bytes::from_static(b"0riginal"),
            "application/octet-stream",
            &Metadata::new(),
        )
        .await
        .expect("tamper");
    let gone = rig.blob("gone.rec");
    let etag = blobs.properties(&gone).await.expect("props").etag;
    blobs
        .delete_guarded(&gone, Some(&etag), None)
        .await
        .expect("delete");
    let (s, out) = rig
        .handler
        .invoke("IntegrityVerify", &timer_invocation())
        .await;
    assert_eq!(s, 200, "{out}");
    let notes = match &out["Outputs"]["notifications"] {
        Value::Array(a) => a.clone(),
        one => vec![one.clone()],
    };
    let mut found: Vec<(String, String)> = notes
        .iter()
        .map(|n| {
            (
                n["type"].as_str().unwrap_or_default().to_owned(),
                n["data"]["recordingId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    found.sort();
    // The overwrite also dropped edit.rec's index tags (a Put Blob replaces them): restored from
    // its row and reported.
    assert_eq!(
        found,
        [
            ("recording.missing".to_owned(), ids[2].clone()),
            ("recording.retagged".to_owned(), ids[1].clone()),
            ("recording.tampered".to_owned(), ids[1].clone())
        ],
        "{out}"
    );
    assert!(
        out["Logs"][0]
            .as_str()
            .unwrap_or_default()
            .contains("1 intact"),
        "{out}"
    );
}

#[tokio::test]
async fn download_links_over_an_account_key_connection_explain_instead_of_signing() {
    let Some(cs) = azurite() else { return };
    let rig = Rig::new(&cs, &[("CATALOGUE_DOWNLOAD_LINKS", "true")]).await;
    let id = rig.record("linked.rec", b"content").await;
    let (s, doc) = rig.get_json(&format!("/api/recordings/{id}")).await;
    assert_eq!(s, 200, "{doc}");
    assert_eq!(doc["download"]["available"], false, "{doc}");
    assert!(
        doc["download"]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("account key"),
        "{doc}"
    );
    assert!(
        !doc.to_string().contains("sig="),
        "no SAS of any kind: {doc}"
    );
    let audit = rig
        .tables()
        .query("accessaudit", None, None, None)
        .await
        .expect("audit")
        .items;
    assert_eq!(audit.len(), 1);
    assert!(
        audit[0].entity["Link"]
            .as_str()
            .unwrap_or_default()
            .starts_with("unavailable: ")
    );
    // Off by default: no `download` member at all.
    let plain = HandlerProcess::spawn(&rig.env.pairs()).await;
    let (_, doc) = plain.get_json(&format!("/api/recordings/{id}")).await;
    assert!(doc.get("download").is_none(), "{doc}");
}
