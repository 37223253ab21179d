//! A catalogued recording overwritten with other content (a second `BlobCreated` on its name, with
//! another ETag and length), end to end on Azurite: `recording.replaced` once, the old digest kept
//! beside the new one.

use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bytes::Bytes;
use serde_json::{Value, json};

use super::{Rig, SEQ1};
use crate::harness::{azurite, first_log};

const SEQ3: &str = "0000000000000000000000000001A2B30000000000e00000";

async fn hash(rig: &Rig, created: &Value) -> Value {
    let req = created["Outputs"]["hashRequests"].clone();
    assert!(req.is_object(), "hash request: {created}");
    let message = json!({"Data": {"message": serde_json::to_string(&req.to_string()).expect("json")},
        "Metadata": {"DequeueCount": 1, "sys": {"MethodName": "RecordingHash"}}});
    let (s, out) = rig.handler.invoke("RecordingHash", &message).await;
    assert_eq!(s, 200, "{out}");
    out
}

#[tokio::test]
async fn a_replacement_alerts_once_and_keeps_both_hashes() {
    let Some(cs) = azurite() else { return };
    let rig = Rig::new(&cs).await;
    let name = "replaced.rec";
    rig.upload(name, &[]).await;
    let (_, first) = rig
        .handler
        .invoke("RecordingCreated", &rig.invocation(name, SEQ1))
        .await;
    assert!(first_log(&first).starts_with("catalogued"), "{first}");
    hash(&rig, &first).await;
    let id = first["Outputs"]["notifications"]["data"]["recordingId"]
        .as_str()
        .expect("id")
        .to_owned();
    let (pk, rk) = id.split_once('~').expect("id");
    let row = |rig: &Rig| {
        let (pk, rk) = (pk.to_owned(), rk.to_owned());
        let tables = rig.tables();
        async move {
            use bastion_recordings::tables::TableStore;
            tables
                .get("recordings", &pk, &rk)
                .await
                .expect("get")
                .expect("row")
                .entity
        }
    };
    let old = row(&rig).await;
    let old_sha = old["Sha256"].as_str().expect("hashed").to_owned();

    // Someone overwrites it with other bytes.
    let blob = BlobRef::new(rig.container(), name);
    rig.blobs()
        .put(
            &blob,
            Bytes::from_static(b"forged bytes, other length"),
            "application/octet-stream",
            &Metadata::new(),
        )
        .await
        .expect("overwrite");
    let inv = rig.invocation(name, SEQ3);
    let runs =
        futures::future::join_all((0..2).map(|_| rig.handler.invoke("RecordingCreated", &inv)))
            .await;
    let mut ids: Vec<&str> = runs
        .iter()
        .filter_map(|(s, v)| {
            assert_eq!(*s, 200, "{v}");
            let n = &v["Outputs"]["notifications"];
            n.get("type").map(|t| {
                assert_eq!(
                    (t.as_str(), n["severity"].as_str()),
                    (Some("recording.replaced"), Some("critical")),
                    "{v}"
                );
                assert_eq!(n["data"]["expectedSha256"], old_sha.as_str());
                n["notificationId"].as_str().expect("id")
            })
        })
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 1, "one replacement, one id: {runs:?}");
    let replaced = &runs
        .iter()
        .find(|(_, v)| first_log(v).starts_with("replaced"))
        .expect("a replacing run")
        .1;
    hash(&rig, replaced).await;
    let now = row(&rig).await;
    assert_eq!(
        now["ReplacedSha256"],
        old_sha.as_str(),
        "the old digest kept"
    );
    assert_eq!(now["ReplacedEtag"], old["ETag"]);
    assert_eq!(now["ReplacedLength"], "15");
    let new_sha = now["Sha256"].as_str().expect("new digest");
    assert_ne!(new_sha, old_sha, "the new content's digest beside it");
    assert_eq!(now["HashedEtag"], now["ETag"]);
    assert_eq!(now["Status"], "catalogued");
}
