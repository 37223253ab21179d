//! Blob index tags changed outside the product, end to end on Azurite: a catalogued recording
//! whose `retainUntil` is moved earlier is refused by `RetentionSweep` (the blob stays), its tags
//! are restored from the catalogue row and one `recording.retagged` is raised, whether two
//! instances sweep at once or a later sweep comes; `IntegrityVerify` and `RecordingHash` catch
//! the same change under the same id.

use std::collections::BTreeSet;

use bastion_recordings::retention::{TAG_CLASS, TAG_UNTIL};
use bastion_recordings::storage::{BlobStore, Tags};
use bastion_recordings::tables::TableStore;
use serde_json::{Value, json};

use super::{Rig, SEQ1};
use crate::harness::{HandlerProcess, azurite, first_log, fixture};

/// The `recording.retagged` notifications of an invocation's answer.
fn retagged(answer: &Value) -> Vec<Value> {
    let items = match &answer["Outputs"]["notifications"] {
        Value::Array(a) => a.clone(),
        Value::Null => vec![],
        one => vec![one.clone()],
    };
    items
        .into_iter()
        .filter(|n| n["type"] == "recording.retagged")
        .collect()
}

fn timer() -> Value {
    let mut inv = fixture("invocations/timer.invocation.json");
    let now = bastion_recordings::dates::format_utc(time::OffsetDateTime::now_utc());
    inv["Metadata"]["sys"]["UtcNow"] = json!(now);
    inv
}

async fn invoke(h: &HandlerProcess, function: &str, inv: &Value) -> Value {
    let (status, answer) = h.invoke(function, inv).await;
    assert_eq!(status, 200, "{function}: {answer}\n{}", h.log_text());
    answer
}

#[tokio::test]
async fn a_retain_until_moved_earlier_is_refused_restored_and_alerted_once() {
    let Some(cs) = azurite() else { return };
    let rig = Rig::new(&cs).await;
    let name = "retagged.rec";
    let blob = rig.upload(name, &[]).await;
    let created = invoke(
        &rig.handler,
        "RecordingCreated",
        &rig.invocation(name, SEQ1),
    )
    .await;
    assert!(first_log(&created).starts_with("catalogued"), "{created}");
    let req = created["Outputs"]["hashRequests"].clone();
    let hash_message = json!({"Data": {"message": serde_json::to_string(&req.to_string()).expect("json")},
        "Metadata": {"DequeueCount": 1, "sys": {"MethodName": "RecordingHash"}}});
    let hashed = invoke(&rig.handler, "RecordingHash", &hash_message).await;
    assert!(
        retagged(&hashed).is_empty(),
        "the product's own tags agree: {hashed}"
    );
    let id = created["Outputs"]["notifications"]["data"]["recordingId"]
        .as_str()
        .expect("id")
        .to_owned();
    let (pk, rk) = id.split_once('~').expect("id");
    let store = rig.blobs();
    let good: Tags = store.get_tags(&blob).await.expect("tags");
    let mut moved = good.clone();
    moved.insert(TAG_UNTIL.into(), "2000-01-01".into());
    let outside = || async {
        store
            .set_tags(&blob, &moved, None)
            .await
            .expect("outside write")
    };
    outside().await;

    // Two instances sweep at once, then a third run: the blob stays, one fact, one id.
    let second = HandlerProcess::spawn(&rig.env.pairs()).await;
    let inv = timer();
    let (a, b) = futures::join!(
        invoke(&rig.handler, "RetentionSweep", &inv),
        invoke(&second, "RetentionSweep", &inv)
    );
    let third = invoke(&rig.handler, "RetentionSweep", &timer()).await;
    assert!(
        retagged(&third).is_empty(),
        "restored: nothing to find {third}"
    );
    let alerts: Vec<Value> = [&a, &b].iter().flat_map(|x| retagged(x)).collect();
    let ids: BTreeSet<&str> = alerts
        .iter()
        .map(|n| n["notificationId"].as_str().expect("id"))
        .collect();
    assert_eq!(ids.len(), 1, "one alert id: {a}\n{b}");
    let sweep_id = ids.into_iter().next().expect("id").to_owned();
    let n = &alerts[0];
    assert_eq!(
        (
            n["severity"].as_str(),
            n["data"]["foundRetainUntil"].as_str()
        ),
        (Some("critical"), Some("2000-01-01"))
    );
    assert!(
        n["title"].as_str().is_some_and(|t| t.contains("earlier")),
        "{n}"
    );
    assert!(
        store.properties(&blob).await.is_ok(),
        "the sweep refused the delete"
    );
    assert_eq!(store.get_tags(&blob).await.expect("tags"), good, "restored");
    let row = rig
        .tables()
        .get("recordings", pk, rk)
        .await
        .expect("get")
        .expect("row")
        .entity;
    assert_eq!(
        row["RetaggedFrom"],
        format!("retainUntil=2000-01-01&retentionClass={}", good[TAG_CLASS])
    );
    assert_eq!(row["Status"], "catalogued");

    // The integrity run and the hash job find the same change under the same id.
    outside().await;
    let verified = invoke(&rig.handler, "IntegrityVerify", &timer()).await;
    let by_run = retagged(&verified);
    assert_eq!(by_run.len(), 1, "{verified}");
    assert_eq!(by_run[0]["notificationId"], sweep_id.as_str());
    assert_eq!(store.get_tags(&blob).await.expect("tags"), good, "restored");
    outside().await;
    let by_hash = retagged(&invoke(&rig.handler, "RecordingHash", &hash_message).await);
    assert_eq!(by_hash.len(), 1);
    assert_eq!(by_hash[0]["notificationId"], sweep_id.as_str());
    assert_eq!(store.get_tags(&blob).await.expect("tags"), good, "restored");
}
