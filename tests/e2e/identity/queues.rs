//! A queue output consumed by `NotifyWebhook`, through devhost, on identity alone: `RecordingCreated`
//! (invoked through devhost's admin API) returns a `notifications` output; devhost sends it with
//! the system-assigned identity; its queue trigger receives it, the real handler delivers it to a
//! local webhook receiver, and devhost deletes it.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::rig::{ALICE, Rig, pairs};
use crate::devhost::Devhost;
use crate::notify::Receiver;

const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[tokio::test]
async fn a_queue_output_reaches_notify_webhook_through_devhost_with_identity() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let receiver = Receiver::start().await;
    let mut env = rig.env("devhost", None);
    let extra = [
        ("NOTIFY_WEBHOOK_URL", format!("{}/hook", receiver.base)),
        ("NOTIFY_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned()),
        ("NOTIFY_ALLOW_INSECURE_LOOPBACK", "true".to_owned()),
        ("DEVHOST_WATCH", String::new()),
        ("DEVHOST_QUEUE_POLL_MS", "100".to_owned()),
        ("LOG_FORMAT", "text".to_owned()),
    ];
    env.extend(extra.into_iter().map(|(k, v)| (k.to_owned(), v)));
    // Only the path under test: the timers stay quiet.
    for f in [
        "AuditLogTail",
        "Reconcile",
        "RetentionSweep",
        "IntegrityVerify",
    ] {
        env.push((format!("AzureWebJobs.{f}.Disabled"), "true".to_owned()));
    }
    let d = Devhost::spawn(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
        Some(env!("CARGO_BIN_EXE_handler")),
        &pairs(&env),
    )
    .await;
    d.wait_log("devhost handler ready", Duration::from_secs(30))
        .await;

    let name = format!("vm-app-01/{ALICE}.mp4");
    rig.put_blob(&rig.recordings, &name, b"recording").await;
    let inv = rig.event(
        "invocations/recording-created.invocation.json",
        &rig.recordings,
        &name,
    );
    let event = inv["Data"]["eventGridEvent"].to_string();
    let res = reqwest::Client::new()
        .post(d.url("/admin/functions/RecordingCreated"))
        .json(&json!({ "input": event }))
        .send()
        .await
        .expect("admin");
    assert_eq!(res.status().as_u16(), 202);

    let give_up_at = Instant::now() + Duration::from_secs(60);
    let hooks = loop {
        let hooks = receiver.hits("/hook");
        if !hooks.is_empty() {
            break hooks;
        }
        assert!(
            Instant::now() < give_up_at,
            "no webhook delivery; devhost log:\n{}",
            d.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let body: Value = hooks[0].json();
    assert_eq!(body["type"], "recording.catalogued", "{body}");
    assert_eq!(body["data"]["blobName"], name.as_str(), "{body}");

    // Two processes (devhost for the queues, the handler for blobs and tables), one token each,
    // both for the system-assigned identity.
    let requests = rig.idp.requests("devhost");
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(
        requests.iter().all(|r| r.client_id.is_none()),
        "{requests:?}"
    );
    assert!(
        rig.list(&rig.quarantine).await.is_empty(),
        "nothing quarantined"
    );
}
