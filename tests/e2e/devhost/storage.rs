//! devhost on Azurite: BlobCreated events from watched containers (schema, append blobs,
//! redelivery), queue outputs, queue triggers with poison handling.

use std::time::Duration;

use azure_storage_queue::models::{QueueClientPeekMessagesOptions, QueueMessage};
use azure_storage_queue::{QueueClient, QueueClientOptions};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::connection::{StorageAuth, StorageConnection};
use bastion_recordings::storage::sas::SasSigner;
use bastion_recordings::storage::{BlobRef, BlobStore};
use bytes::Bytes;
use serde_json::{Value, json};

use super::{Devhost, TempApp, assert_host_headers, is_guid, is_offset_seconds, is_utc_7};
use crate::harness::{azurite, unique};

const T: Duration = Duration::from_secs(20);

fn conn(cs: &str) -> StorageConnection {
    StorageConnection::resolve("X", &|k| (k == "X").then(|| cs.to_owned())).expect("valid").expect("set")
}

fn blobs(cs: &str) -> AzureBlobStore {
    AzureBlobStore::new(&conn(cs)).expect("blob store")
}

fn queue(cs: &str, name: &str) -> QueueClient {
    let c = conn(cs);
    let StorageAuth::Key(key) = &c.auth else { panic!("key auth expected") };
    let signer = SasSigner::new(&c.account, key.clone(), "q");
    let mut url = c.queue.clone();
    url.path_segments_mut().expect("base").pop_if_empty().push(name);
    url.set_query(Some(&signer.token()));
    QueueClient::new(url, None, Some(QueueClientOptions { version: "2025-11-05".into(), ..Default::default() })).expect("queue client")
}

/// Message texts currently visible in `name` (base64-decoded), up to 32.
async fn peek(cs: &str, name: &str) -> Vec<String> {
    let q = queue(cs, name);
    let Ok(res) = q.peek_messages(Some(QueueClientPeekMessagesOptions { number_of_messages: Some(32), ..Default::default() })).await else {
        return Vec::new();
    };
    let items = res.into_model().expect("peek model").items.unwrap_or_default();
    items.iter().filter_map(|m| m.message_text.as_deref()).map(|t| String::from_utf8_lossy(&STANDARD.decode(t).expect("base64")).into_owned()).collect()
}

async fn wait_peek(cs: &str, name: &str, n: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + T;
    loop {
        let got = peek(cs, name).await;
        if got.len() >= n || std::time::Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

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
    vec![("AzureWebJobsStorage", cs), ("DEVHOST_WATCH", watch), ("DEVHOST_POLL_MS", "100"), ("DEVHOST_EVENTGRID_RETRY", "100ms")]
}

fn subject_calls(app: &TempApp, suffix: &str) -> Vec<Value> {
    app.calls("/BlobIn").into_iter().filter(|c| c["json"]["Data"]["eventGridEvent"]["subject"].as_str().is_some_and(|s| s.ends_with(suffix))).collect()
}

async fn wait_subject(app: &TempApp, suffix: &str, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + T;
    loop {
        let calls = subject_calls(app, suffix);
        if calls.len() >= n || std::time::Instant::now() > deadline {
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
    let etag = store.put(&blob, Bytes::from_static(b"0123456789"), "video/mp4", &Default::default()).await.expect("put");

    let calls = wait_subject(&app, "/rec 1.mp4", 1).await;
    assert_eq!(calls.len(), 1, "{}", d.log_text());
    assert_host_headers(&calls[0]);
    let body = &calls[0]["json"];
    let e = &body["Data"]["eventGridEvent"];
    assert!(e["topic"].as_str().is_some_and(|t| t.starts_with("/subscriptions/") && t.ends_with("/providers/Microsoft.Storage/storageAccounts/devstoreaccount1")), "{e}");
    assert_eq!(e["subject"], format!("/blobServices/default/containers/{container}/blobs/a/rec 1.mp4"));
    assert_eq!(e["eventType"], "Microsoft.Storage.BlobCreated");
    assert!(is_utc_7(&e["eventTime"]) && is_guid(&e["id"]), "{e}");
    assert_eq!((e["dataVersion"].as_str(), e["metadataVersion"].as_str()), (Some(""), Some("1")));
    let data = &e["data"];
    assert_eq!(data["api"], "PutBlob");
    assert_eq!(data["contentLength"], 10);
    assert_eq!(data["contentType"], "video/mp4");
    assert_eq!(data["blobType"], "BlockBlob");
    assert_eq!(data["eTag"], bastion_recordings::storage::normalize_etag(&etag));
    assert!(data["url"].as_str().is_some_and(|u| u.ends_with(&format!("/devstoreaccount1/{container}/a/rec%201.mp4"))), "{data}");
    let seq = data["sequencer"].as_str().expect("sequencer");
    assert!(seq.len() == 48 && seq.chars().all(|c| c.is_ascii_hexdigit()), "{seq}");
    assert!(is_guid(&data["clientRequestId"]) && is_guid(&data["requestId"]) && is_guid(&data["storageDiagnostics"]["batchId"]));
    assert_eq!(body["Metadata"]["data"], *data);
    assert_eq!(body["Metadata"]["sys"]["MethodName"], "BlobIn");

    let messages = wait_peek(&cs, &out, 2).await;
    assert_eq!(messages, vec!["{\n  \"n\": 1\n}".to_owned(), "plain text".to_owned()], "{}", d.log_text());

    // An overwrite is a new BlobCreated with a larger sequencer; nothing else is raised meanwhile.
    store.put(&blob, Bytes::from_static(b"01234567890"), "video/mp4", &Default::default()).await.expect("overwrite");
    let calls = wait_subject(&app, "/rec 1.mp4", 2).await;
    assert_eq!(calls.len(), 2, "{}", d.log_text());
    let seq2 = calls[1]["json"]["Data"]["eventGridEvent"]["data"]["sequencer"].as_str().expect("seq").to_owned();
    assert!(seq2.as_str() > seq, "{seq2} > {seq}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(subject_calls(&app, "/rec 1.mp4").len(), 2, "exactly one event per write");
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
    store.create_append(&blob, "application/json").await.expect("create");
    let calls = wait_subject(&app, "/PT1H.json", 1).await;
    assert_eq!(calls.len(), 1, "{}", d.log_text());
    for i in 0..3 {
        store.append(&blob, Bytes::from(format!("{{\"record\":{i}}}\n"))).await.expect("append");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    let calls = subject_calls(&app, "/PT1H.json");
    assert_eq!(calls.len(), 1, "appends raise nothing");
    let data = &calls[0]["json"]["Data"]["eventGridEvent"]["data"];
    assert_eq!((data["api"].as_str(), data["blobType"].as_str(), data["contentLength"].as_u64()), (Some("PutBlob"), Some("AppendBlob"), Some(0)));
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
    blobs(&cs).put(&BlobRef::new(&container, "r.bin"), Bytes::from_static(b"x"), "application/octet-stream", &Default::default()).await.expect("put");
    let calls = wait_subject(&app, "/r.bin", 2).await;
    app.script(json!({"BlobIn": {"fail": 99, "status": 200, "fail_content_type": "text/plain"}}));
    blobs(&cs).put(&BlobRef::new(&container, "s.bin"), Bytes::from_static(b"y"), "application/octet-stream", &Default::default()).await.expect("put");
    let text_calls = wait_subject(&app, "/s.bin", 2).await;
    assert_eq!(calls.len(), 2, "{}", d.log_text());
    let ids: Vec<_> = calls.iter().map(|c| c["json"]["Data"]["eventGridEvent"]["id"].clone()).collect();
    assert_eq!(ids[0], ids[1], "a redelivery carries the same event");
    assert_ne!(calls[0]["json"]["Metadata"]["sys"]["RandGuid"], calls[1]["json"]["Metadata"]["sys"]["RandGuid"]);
    assert!(text_calls.len() >= 2, "a text/plain reply fails the invocation; {}", d.log_text());
    d.wait_log("delivered function=BlobIn subject=/blobServices/default/containers", T).await;
}

fn queue_app(ok: &str, bad: &str) -> TempApp {
    let trigger = |q: &str| json!({"bindings": [{"type": "queueTrigger", "direction": "in", "name": "message", "queueName": q, "connection": "AzureWebJobsStorage"}]});
    TempApp::new(json!({"maxDequeueCount": 5, "visibilityTimeout": "00:00:00"}), &[("Consume", trigger(ok)), ("Poisoned", trigger(bad))])
}

async fn send(cs: &str, name: &str, text: &str) {
    let q = queue(cs, name);
    let _ = q.create(None).await;
    let msg = QueueMessage { message_text: Some(STANDARD.encode(text)) };
    q.send_message(msg.try_into().expect("xml"), None).await.expect("send");
}

#[tokio::test]
async fn queue_triggers_get_host_encoding_and_failures_end_in_poison() {
    let Some(cs) = azurite() else { return };
    let (ok, bad) = (unique("dhok"), unique("dhbad"));
    let app = queue_app(&ok, &bad);
    app.script(json!({"Poisoned": {"fail": -1, "status": 500}}));
    let d = Devhost::spawn(&app.root, None, &[("AzureWebJobsStorage", cs.as_str()), ("DEVHOST_WATCH", ""), ("DEVHOST_QUEUE_POLL_MS", "100")]).await;
    d.wait_log("devhost handler ready", T).await;
    let text = r#"{"type":"x","n":5,"o":{"a":1},"list":[1]}"#;
    send(&cs, &ok, text).await;
    let calls = app.wait_calls("/Consume", 1, T).await;
    assert_eq!(calls.len(), 1, "{}", d.log_text());
    assert_host_headers(&calls[0]);
    let body = &calls[0]["json"];
    assert_eq!(body["Data"]["message"], Value::String(Value::String(text.into()).to_string()), "double-encoded");
    let m = &body["Metadata"];
    assert_eq!(m["DequeueCount"], "1");
    for k in ["InsertionTime", "ExpirationTime", "NextVisibleTime"] {
        assert!(is_offset_seconds(&m[k]), "{k}: {m}");
    }
    for k in ["Id", "PopReceipt"] {
        let inner: String = serde_json::from_str(m[k].as_str().expect("string")).expect("double-encoded");
        assert!(!inner.is_empty());
    }
    assert_eq!((m["type"].as_str(), m["n"].as_str()), (Some("\"x\""), Some("\"5\"")));
    assert_eq!(m["o"], json!({"a": 1}));
    assert!(m.get("list").is_none());
    assert_eq!(m["sys"]["MethodName"], "Consume");

    send(&cs, &bad, "poison me").await;
    let poisoned = wait_peek(&cs, &format!("{bad}-poison"), 1).await;
    assert_eq!(poisoned, vec!["poison me".to_owned()], "{}", d.log_text());
    let calls = app.calls("/Poisoned");
    let counts: Vec<_> = calls.iter().map(|c| c["json"]["Metadata"]["DequeueCount"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(counts, ["1", "2", "3", "4", "5"]);
    assert!(calls.iter().all(|c| c["json"]["Data"]["message"] == "\"poison me\""));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(peek(&cs, &bad).await.is_empty() && peek(&cs, &ok).await.is_empty(), "handled messages are deleted");
}

#[tokio::test]
async fn real_handler_catalogues_a_recording_uploaded_to_azurite() {
    use bastion_recordings::catalogue::RECORDINGS_TABLE;
    use bastion_recordings::catalogue::model::RecordingKey;
    use bastion_recordings::tables::TableStore;
    use bastion_recordings::tables::rest::TableRestClient;

    let Some(cs) = azurite() else { return };
    let az = crate::harness::AzuriteEnv::new(&cs);
    let mut env = az.pairs();
    env.extend([("DEVHOST_POLL_MS", "100"), ("DEVHOST_QUEUE_POLL_MS", "100"), ("LOG_FORMAT", "text")]);
    // Only the Event Grid path is under test: keep the scheduled and queue-triggered functions quiet.
    for f in ["AuditLogTail", "Reconcile", "RetentionSweep", "NotifyWebhook"] {
        env.push((Box::leak(format!("AzureWebJobs.{f}.Disabled").into_boxed_str()), "true"));
    }
    let d = Devhost::spawn(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), Some(env!("CARGO_BIN_EXE_handler")), &env).await;
    d.wait_log("devhost watching function=RecordingCreated", T).await;
    let container = az.get("RECORDINGS_CONTAINER");
    let name = "vm-app-01/5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f.mp4";
    blobs(&cs).put(&BlobRef::new(container, name), Bytes::from_static(b"recording"), "video/mp4", &Default::default()).await.expect("upload");
    d.wait_log("devhost delivered function=RecordingCreated", T).await;
    let tables = TableRestClient::new(&conn(&cs), az.get("TABLE_PREFIX")).expect("tables");
    let page = tables.query(RECORDINGS_TABLE, None, None, None).await.expect("query");
    let keys: Vec<_> = page
        .items
        .iter()
        .filter_map(|s| Some(RecordingKey { pk: s.entity.get("PartitionKey")?.as_str()?.to_owned(), rk: s.entity.get("RowKey")?.as_str()?.to_owned() }))
        .filter_map(|k| k.blob())
        .collect();
    assert_eq!(keys, vec![(container.to_owned(), name.to_owned())], "{}", d.log_text());
}
