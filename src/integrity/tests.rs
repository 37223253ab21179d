//! Component tests over the fakes: streaming digest, RecordingCreated → RecordingHash through the
//! queue output, idempotency, changed and vanished blobs, poison, and verification verdicts.

use crate::testkit::DefaultSources;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::macros::datetime;

use super::OUTPUT_BINDING;
use super::hash::hash_blob;
use super::verify::{Sample, Verdict, verify};
use crate::catalogue::RECORDINGS_TABLE;
use crate::invocation::Failure;
use crate::invocation::{Invocation, Outcome};
use crate::storage::{BlobRef, BlobStore};
use crate::tables::{TableStore, WriteMode, get_i64, get_str};
use crate::testkit::{Fakes, blob_created, event_invocation, fakes};

pub(super) fn content(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

pub(super) async fn put(f: &Fakes, name: &str, body: Vec<u8>) -> BlobRef {
    let blob = BlobRef::new("recordings", name);
    crate::testkit::blobs::put(&*f.blobs, &blob, body, &[]).await;
    blob
}

/// Writes catalogue row `e` as another module would (upsert).
async fn rewrite(f: &Fakes, e: &crate::tables::Entity) {
    let written = f.tables.write(RECORDINGS_TABLE, e, WriteMode::Upsert);
    written.await.expect("write");
}

fn sha(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Delivers `message` to `RecordingHash`, as the queue trigger does.
async fn hash_request(f: &Fakes, message: &Value) -> Result<Outcome, Failure> {
    crate::functions::integrity::recording_hash(f.state.clone(), queue_invocation(message)).await
}

pub(super) fn queue_invocation(message: &Value) -> Invocation {
    // The host double-encodes a queue message: Data.message is a JSON string of the JSON text.
    let body = json!({"Data": {"message": serde_json::to_string(&message.to_string()).expect("json")},
        "Metadata": {"sys": {"MethodName": "RecordingHash"}}});
    crate::testkit::invocation("RecordingHash", "inv-h", &body)
}

/// Catalogues `name` through RecordingCreated and returns its hash request output.
pub(super) async fn catalogue(f: &Fakes, name: &str, seq: &str) -> Value {
    let out = crate::functions::recordings::recording_created(
        f.state.clone(),
        event_invocation("RecordingCreated", blob_created("recordings", name, seq)),
    )
    .await
    .expect("catalogued");
    match out {
        Outcome::Processed { outputs, .. } => outputs.value(OUTPUT_BINDING).unwrap_or_default(),
        Outcome::Skipped { reason } => panic!("skipped: {reason}"),
    }
}

async fn row(f: &Fakes, id: &str) -> crate::tables::Entity {
    let k = crate::catalogue::recording::RecordingKey::parse(id).expect("id");
    f.tables
        .get(RECORDINGS_TABLE, &k.pk, &k.rk)
        .await
        .expect("get")
        .expect("row")
        .entity
}

async fn typed(f: &Fakes, id: &str) -> crate::catalogue::recording::Recording {
    crate::catalogue::recording::Recording::from_entity(&row(f, id).await).expect("typed")
}

#[tokio::test]
async fn streaming_digest_matches_for_every_chunking() {
    let f = fakes();
    for size in [0usize, 1, 7, 64, 1000] {
        let data = content(size);
        let blob = put(&f, &format!("b{size}"), data.clone()).await;
        let want = sha(&data);
        for chunk in [1u64, 3, 8, 64, 1000, 4096] {
            let h = hash_blob(f.blobs.as_ref(), &blob, chunk)
                .await
                .expect("hash");
            assert_eq!(
                (h.sha256.as_str(), h.length),
                (want.as_str(), size as u64),
                "{size}/{chunk}"
            );
        }
    }
    let gone = hash_blob(f.blobs.as_ref(), &BlobRef::new("recordings", "none"), 8).await;
    assert!(matches!(gone, Err(crate::azure::AzureError::NotFound)));
}

#[tokio::test]
async fn created_recordings_are_hashed_once_keeping_other_properties() {
    let f = fakes();
    let data = content(20_000);
    let blob = put(
        &f,
        "2025/03/14/vm/5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f.rec",
        data.clone(),
    )
    .await;
    let req = catalogue(&f, &blob.name, "01").await;
    let id = req["recordingId"].as_str().expect("id").to_owned();
    assert_eq!(req["blobName"], blob.name.as_str());
    // Another module joined a session meanwhile: its properties must survive the hash write.
    let mut e = row(&f, &id).await;
    for (k, v) in [
        ("MatchConfidence", "exact"),
        ("MatchCandidates", "t-1"),
        ("TunnelId", "t-1"),
        ("UserName", "alice"),
    ] {
        e.insert(k.into(), json!(v));
    }
    rewrite(&f, &e).await;
    let first = hash_request(&f, &req).await.expect("hash");
    assert!(matches!(first, Outcome::Processed { .. }), "{first:?}");
    let e = row(&f, &id).await;
    assert_eq!(get_str(&e, "Sha256"), Some(sha(&data).as_str()));
    assert_eq!(get_i64(&e, "HashedLength"), Some(20_000));
    assert_eq!(get_str(&e, "UserName"), Some("alice"));
    assert_eq!(get_str(&e, "Status"), Some("catalogued"));
    let again = hash_request(&f, &req).await.expect("dup");
    assert!(matches!(again, Outcome::Skipped { .. }), "{again:?}");
    // The blob changes under a stale request: the current content is hashed, with its ETag.
    let new_etag = crate::testkit::blobs::put(&*f.blobs, &blob, &b"other"[..], &[]).await;
    let third = hash_request(&f, &req).await.expect("rehash");
    assert!(matches!(third, Outcome::Processed { .. }), "{third:?}");
    let e = row(&f, &id).await;
    assert_eq!(get_str(&e, "Sha256"), Some(sha(b"other").as_str()));
    assert_eq!(get_str(&e, "HashedEtag"), Some(new_etag.as_str()));
    f.blobs
        .delete_guarded(&blob, Some(&new_etag), None)
        .await
        .expect("delete");
    let mut e2 = e.clone();
    e2.insert("HashedEtag".into(), json!("stale"));
    rewrite(&f, &e2).await;
    let gone = hash_request(&f, &req).await.expect("gone");
    assert!(matches!(gone, Outcome::Skipped { .. }), "{gone:?}");
}

#[tokio::test]
async fn unusable_messages_are_poison_and_unknown_rows_skipped() {
    let f = fakes();
    for bad in [
        json!({"x": 1}),
        json!({"recordingId": "nope", "container": "c", "blobName": "b", "etag": "e"}),
    ] {
        let r = hash_request(&f, &bad).await;
        assert!(matches!(r, Err(Failure::Poison { .. })), "{bad}");
    }
    let unknown = json!({"recordingId": "2025-03-14~YQ", "container": "recordings", "blobName": "a", "etag": "e"});
    let r = hash_request(&f, &unknown).await.expect("ok");
    assert!(matches!(r, Outcome::Skipped { .. }));
}

#[tokio::test]
async fn verification_finds_tampering_and_missing_blobs() {
    let f = fakes();
    let now = datetime!(2025-03-20 00:00 UTC);
    let (mut verdicts, mut ids) = (Vec::new(), Vec::new());
    for (name, action) in [
        ("intact", 0),
        ("tampered", 1),
        ("missing", 2),
        ("expired", 3),
        ("unhashed", 4),
    ] {
        let blob = put(&f, name, content(100)).await;
        let req = catalogue(&f, name, "01").await;
        let id = req["recordingId"].as_str().expect("id").to_owned();
        ids.push(id.clone());
        if action != 4 {
            hash_request(&f, &req).await.expect("hash");
        }
        let etag = f.blobs.properties(&blob).await.expect("props").etag;
        match action {
            1 => {
                let mut c = content(100);
                c[50] ^= 1;
                crate::testkit::blobs::put(&*f.blobs, &blob, c, &[]).await;
            }
            2 | 3 => f
                .blobs
                .delete_guarded(&blob, Some(&etag), None)
                .await
                .expect("delete"),
            _ => {}
        }
        let mut r = typed(&f, &id).await;
        if action == 3 {
            r.retain_until = "2025-03-19".into();
        }
        verdicts.push(verify(&f.state.ports, &r, now).await.expect("verify"));
    }
    let kinds: Vec<String> = verdicts
        .iter()
        .map(|v| match v {
            Verdict::Finding(n) => n.kind.name.to_owned(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "Intact",
            "recording.tampered",
            "recording.missing",
            "Expired",
            "Unhashed"
        ]
    );
    // A responder sees where the recording lives and, for tampering, both digests.
    for v in &verdicts[1..3] {
        let Verdict::Finding(n) = v else {
            panic!("{v:?}")
        };
        assert!(
            n.evidence["account"]
                .as_str()
                .is_some_and(|a| !a.is_empty()),
            "{}",
            n.evidence
        );
        assert!(n.evidence.get("bastionHost").is_some(), "{}", n.evidence);
    }
    if let Verdict::Finding(n) = &verdicts[1] {
        let (want, got) = (&n.evidence["expectedSha256"], &n.evidence["actualSha256"]);
        assert!(
            want.is_string() && got.is_string() && want != got,
            "{}",
            n.evidence
        );
        assert!(
            n.evidence.get("bastionResourceId").is_none(),
            "no id configured"
        );
    }
    // With the source's host configured by resource id, a finding carries it (the portal link).
    let host = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/b";
    let mut deps = f.state.ports.clone();
    let (rec, audit) = (
        deps.sources.default_recordings(),
        deps.sources.default_audit_logs(),
    );
    let rec = crate::sources::Source {
        bastion_id: Some(host.into()),
        ..rec.clone()
    };
    deps.sources = std::sync::Arc::new(crate::sources::Sources::single(rec, audit.clone()));
    match verify(&deps, &typed(&f, &ids[1]).await, now).await {
        Ok(Verdict::Finding(n)) => assert_eq!(n.evidence["bastionResourceId"], host),
        other => panic!("{other:?}"),
    }
}

#[test]
fn samples_are_deterministic_and_roughly_sized() {
    let s = Sample::OneIn(10, "2025-W12".into());
    let picked = (0..10_000).filter(|i| s.picks(&format!("id{i}"))).count();
    assert!((700..1300).contains(&picked), "{picked}");
    assert_eq!(s.picks("id1"), s.picks("id1"));
    assert!(Sample::All.picks("x"));
}
