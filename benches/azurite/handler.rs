//! The handler side of the RecordingCreated bench: one long-running `handler` process per build,
//! started as the Functions host starts it, and the Event Grid invocation it is sent per recording.

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A handler process and how to reach it.
pub(crate) struct Handler {
    pub(crate) label: String,
    pub(crate) url: String,
    pub(crate) client: reqwest::Client,
    child: Child,
}

impl Handler {
    /// Starts `bin` with `env` and the host's variables only.
    pub(crate) async fn start(label: String, bin: &str, env: &[(&str, String)]) -> Self {
        let (child, addr) = spawn(bin, env).await;
        Self {
            label,
            url: format!("http://{addr}/RecordingCreated"),
            client: reqwest::Client::new(),
            child,
        }
    }

    /// The process id, while it runs (its CPU time is sampled).
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// The RecordingCreated invocation the host would send for blob `name`.
pub(crate) fn invocation(account: &str, container: &str, name: &str, i: usize) -> Value {
    // Path-style, as Azurite's own events would name the blob.
    let url = format!("http://127.0.0.1:10000/{account}/{container}/{name}");
    let data = json!({
        "api": "PutBlockList", "contentType": "application/octet-stream", "contentLength": 15,
        "blobType": "BlockBlob", "url": url, "sequencer": format!("{i:032X}"), "eTag": "0x1",
    });
    json!({
        "Data": {"eventGridEvent": {
            "topic": format!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/{account}"),
            "subject": format!("/blobServices/default/containers/{container}/blobs/{name}"),
            "eventType": "Microsoft.Storage.BlobCreated", "eventTime": "2025-03-14T09:42:17Z",
            "id": format!("bench-{i}-{}", uuid::Uuid::new_v4()), "data": data,
            "dataVersion": "", "metadataVersion": "1"}},
        "Metadata": {"sys": {"MethodName": "RecordingCreated", "UtcNow": "2025-03-14T09:45:00Z",
            "RandGuid": uuid::Uuid::new_v4().to_string()}}
    })
}

/// Starts a handler with `env` only (as the Functions host would), returning it and its address.
async fn spawn(bin: &str, env: &[(&str, String)]) -> (Child, String) {
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", "0")
        .env("FUNCTIONS_WORKER_RUNTIME", "Custom")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {bin}: {e}"));
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next_line().await.ok().flatten().unwrap_or_default();
    let addr = first
        .strip_prefix("listening addr=")
        .unwrap_or_else(|| panic!("{bin} did not start: {first}"))
        .to_owned();
    // Drained as the Functions host does; a full pipe would stall the handler.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}
