//! devhost on Azurite: BlobCreated events from watched containers (schema, exactly one event per
//! write, append blobs, redelivery) and queue outputs.

use std::time::Duration;

use bastion_recordings::storage::{BlobRef, BlobStore};
use bytes::Bytes;
use serde_json::{Value, json};

use super::azure::{T, blobs, wait_peek};
use super::{Devhost, TempApp, assert_host_headers, is_guid, is_utc_7};
use crate::harness::{azurite, unique};

fn eventgrid_app(out_queue: &str) -> TempApp {
    TempApp::new(
        json!({}),
        &[(
            "BlobIn",
            json!({"bindings": [{"type": "eventGridTrigger", "direction": "in", "name": "eventGridEvent"},
                                {"type": "queue", "direction": "out", "name": "out", "queueName": out_queue, "connection": "AzureWebJobsStorage"}]}),
        )],
    )
}

fn env_for<'a>(cs: &'a str, watch: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("AzureWebJobsStorage", cs),
        ("DEVHOST_WATCH", watch),
        ("DEVHOST_POLL_MS", "100"),
        ("DEVHOST_EVENTGRID_RETRY", "100ms"),
    ]
}

fn subject_calls(app: &TempApp, suffix: &str) -> Vec<Value> {
    app.calls("/BlobIn")
        .into_iter()
        .filter(|c| {
            c["json"]["Data"]["eventGridEvent"]["subject"]
                .as_str()
                .is_some_and(|s| s.ends_with(suffix))
        })
        .collect()
}

async fn wait_subject(app: &TempApp, suffix: &str, n: usize) -> Vec<Value> {
    let give_up_at = std::time::Instant::now() + T;
    loop {
        let calls = subject_calls(app, suffix);
        if calls.len() >= n || std::time::Instant::now() > give_up_at {
            return calls;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn blob_uploads_become_one_blobcreated_invocation_each_and_outputs_are_enqueued() {
    let Some(cs) = azurite() else { return };
    let (container, out) = (unique("dhc"), unique("dhq"));
    let app = eventgrid_app(&out);
    app.script(json!({"BlobIn": {"reply": {"Outputs": {"out": [{"n": 1}, "plain text"], "undeclared": {"x": 1}}, "Logs": []}}}));
    let watch = format!("BlobIn=AzureWebJobsStorage:{container}");
    let d = Devhost::spawn(&app.root, None, &env_for(&cs, &watch)).await;
    d.wait_log("devhost watching function=BlobIn", T).await;
    let store = blobs(&cs);
    let blob = BlobRef::new(&container, "a/rec 1.mp4");
    let etag = store
        .put(
            &blob,
            Bytes::from_static(b"0123456789"),
            "video/mp4",
            &Default::default(),
        )
        .await
        .expect("put");

    let calls = wait_subject(&app, "/rec 1.mp4", 1).await;
    assert_eq!(calls.len(), 1, "{}", d.log_text());
    assert_host_headers(&calls[0]);
    let body = &calls[0]["json"];
    let e = &body["Data"]["eventGridEvent"];
    assert!(
        e["topic"]
            .as_str()
            .is_some_and(|t| t.starts_with("/subscriptions/")
                && t.ends_with("/providers/Microsoft.Storage/storageAccounts/devstoreaccount1")),
        "{e}"
    );
    assert_eq!(
        e["subject"],
        format!("/blobServices/default/containers/{container}/blobs/a/rec 1.mp4")
    );
    assert_eq!(e["eventType"], "Microsoft.Storage.BlobCreated");
    assert!(is_utc_7(&e["eventTime"]) && is_guid(&e["id"]), "{e}");
    assert_eq!(
        (e["dataVersion"].as_str(), e["metadataVersion"].as_str()),
        (Some(""), Some("1"))
    );
    let data = &e["data"];
    assert_eq!(data["api"], "PutBlob");
    assert_eq!(data["contentLength"], 10);
    assert_eq!(data["contentType"], "video/mp4");
    assert_eq!(data["blobType"], "BlockBlob");
    assert_eq!(
        data["eTag"],
        bastion_recordings::storage::normalize_etag(&etag)
    );
    assert!(
        data["url"]
            .as_str()
            .is_some_and(|u| u.ends_with(&format!("/devstoreaccount1/{container}/a/rec%201.mp4"))),
        "{data}"
    );
    let seq = data["sequencer"].as_str().expect("sequencer");
    assert!(
        seq.len() == 48 && seq.chars().all(|c| c.is_ascii_hexdigit()),
        "{seq}"
    );
    assert!(
        is_guid(&data["clientRequestId"])
            && is_guid(&data["requestId"])
            && is_guid(&data["storageDiagnostics"]["batchId"])
    );
    assert_eq!(body["Metadata"]["data"], *data);
    assert_eq!(body["Metadata"]["sys"]["MethodName"], "BlobIn");

    let messages = wait_peek(&cs, &out, 2).await;
    assert_eq!(
        messages,
        vec!["{\n  \"n\": 1\n}".to_owned(), "plain text".to_owned()],
        "{}",
        d.log_text()
    );

    // An overwrite is a new BlobCreated with a larger sequencer; nothing else is raised meanwhile.
    store
        .put(
            &blob,
            Bytes::from_static(b"01234567890"),
            "video/mp4",
            &Default::default(),
        )
        .await
        .expect("overwrite");
    let calls = wait_subject(&app, "/rec 1.mp4", 2).await;
    assert_eq!(calls.len(), 2, "{}", d.log_text());
    let seq2 = calls[1]["json"]["Data"]["eventGridEvent"]["data"]["sequencer"]
        .as_str()
        .expect("seq")
        .to_owned();
    assert!(seq2.as_str() > seq, "{seq2} > {seq}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        subject_calls(&app, "/rec 1.mp4").len(),
        2,
        "exactly one event per write"
    );
}

#[tokio::test]
async fn append_blobs_raise_one_event_at_creation_only() {
    let Some(cs) = azurite() else { return };
    let container = unique("dha");
    let app = eventgrid_app(&unique("dhq"));
    let watch = format!("BlobIn=AzureWebJobsStorage:{container}");
    let d = Devhost::spawn(&app.root, None, &env_for(&cs, &watch)).await;
    d.wait_log("devhost watching function=BlobIn", T).await;
    let store = blobs(&cs);
    let blob = BlobRef::new(&container, "y=2025/m=03/PT1H.json");
    store
        .create_append(&blob, "application/json")
        .await
        .expect("create");
    let calls = wait_subject(&app, "/PT1H.json", 1).await;
    assert_eq!(calls.len(), 1, "{}", d.log_text());
    for i in 0..3 {
        store
            .append(&blob, Bytes::from(format!("{{\"record\":{i}}}\n")))
            .await
            .expect("append");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    let calls = subject_calls(&app, "/PT1H.json");
    assert_eq!(calls.len(), 1, "appends raise nothing");
    let data = &calls[0]["json"]["Data"]["eventGridEvent"]["data"];
    assert_eq!(
        (
            data["api"].as_str(),
            data["blobType"].as_str(),
            data["contentLength"].as_u64()
        ),
        (Some("PutBlob"), Some("AppendBlob"), Some(0))
    );
}

#[tokio::test]
async fn failed_event_invocations_are_redelivered() {
    let Some(cs) = azurite() else { return };
    let container = unique("dhr");
    let app = eventgrid_app(&unique("dhq"));
    // First a 500, then a 200 with a non-JSON content type: both are failures; the third succeeds.
    app.script(json!({"BlobIn": {"fail": 1, "status": 500}}));
    let watch = format!("BlobIn=AzureWebJobsStorage:{container}");
    let d = Devhost::spawn(&app.root, None, &env_for(&cs, &watch)).await;
    d.wait_log("devhost watching function=BlobIn", T).await;
    blobs(&cs)
        .put(
            &BlobRef::new(&container, "r.bin"),
            Bytes::from_static(b"x"),
            "application/octet-stream",
            &Default::default(),
        )
        .await
        .expect("put");
    let calls = wait_subject(&app, "/r.bin", 2).await;
    app.script(json!({"BlobIn": {"fail": 99, "status": 200, "fail_content_type": "text/plain"}}));
    blobs(&cs)
        .put(
            &BlobRef::new(&container, "s.bin"),
            Bytes::from_static(b"y"),
            "application/octet-stream",
            &Default::default(),
        )
        .await
        .expect("put");
    let text_calls = wait_subject(&app, "/s.bin", 2).await;
    assert_eq!(calls.len(), 2, "{}", d.log_text());
    let ids: Vec<_> = calls
        .iter()
        .map(|c| c["json"]["Data"]["eventGridEvent"]["id"].clone())
        .collect();
    assert_eq!(ids[0], ids[1], "a redelivery carries the same event");
    assert_ne!(
        calls[0]["json"]["Metadata"]["sys"]["RandGuid"],
        calls[1]["json"]["Metadata"]["sys"]["RandGuid"]
    );
    assert!(
        text_calls.len() >= 2,
        "a text/plain reply fails the invocation; {}",
        d.log_text()
    );
    d.wait_log(
        "delivered function=BlobIn subject=/blobServices/default/containers",
        T,
    )
    .await;
}

#[tokio::test]
async fn slow_invocations_time_out_and_are_redelivered() {
    let Some(cs) = azurite() else { return };
    let container = unique("dht");
    let app = eventgrid_app(&unique("dhq"));
    app.script(json!({"BlobIn": {"slow": 1}}));
    let watch = format!("BlobIn=AzureWebJobsStorage:{container}");
    let mut env = env_for(&cs, &watch);
    env.push(("DEVHOST_EVENTGRID_TIMEOUT_MS", "500"));
    let d = Devhost::spawn(&app.root, None, &env).await;
    d.wait_log("devhost watching function=BlobIn", T).await;
    let blob = BlobRef::new(&container, "slow.bin");
    blobs(&cs)
        .put(
            &blob,
            Bytes::from_static(b"z"),
            "application/octet-stream",
            &Default::default(),
        )
        .await
        .expect("put");
    d.wait_log("subject=/blobServices/default/containers", T)
        .await;
    d.wait_log("attempt=2", T).await;
    let calls = wait_subject(&app, "/slow.bin", 2).await;
    assert_eq!(calls.len(), 2, "{}", d.log_text());
    d.wait_log("timed out", T).await;
}
