//! Hostile input on Azurite: a `NotifyWebhook` message of about 1 MiB that is one long string
//! (bare, as a JSON string, of quotes — escaped twice, 4 MiB on the wire, past axum's 2 MB
//! default — or as a notification's title) is never refused unread nor a 500 with storage up.
//! What is no notification is Poison: 200, the payload kept in the quarantine container with the
//! reason; a body past the handler's own limit is Poison too, its head kept.

use bastion_recordings::azure::connection::StorageConnection;
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::{BlobRef, BlobStore};

use super::*;
use crate::harness::{AzuriteEnv, azurite};

/// About 1 MiB of one character.
fn long() -> String {
    "A".repeat(1024 * 1024)
}

/// A queue invocation whose `Data.message` is `text` as the host sends it (double-encoded).
fn message(text: &str) -> Value {
    let mut inv = invocation(&notification("hostile", "critical"), 1);
    inv["Data"]["message"] = json!(serde_json::to_string(text).expect("json"));
    inv
}

#[tokio::test]
async fn a_one_mebibyte_string_is_poison_kept_in_quarantine() {
    let Some(cs) = azurite() else { return };
    let rx = Receiver::start().await;
    let azurite_env = AzuriteEnv::new(&cs);
    let mut vars = env(&rx, &[]);
    vars.extend(
        azurite_env
            .pairs()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let h = spawn_connected(&vars).await;
    let conn = StorageConnection::resolve("T", &|k| (k == "T").then(|| cs.clone()))
        .expect("parses")
        .expect("set");
    let blobs = AzureBlobStore::new(&conn).expect("blob client");
    let quarantine = azurite_env.get("QUARANTINE_CONTAINER").to_owned();

    let bare = long();
    let quoted = serde_json::to_string(&long()).expect("json");
    // Quotes: escaped in the message, then again in the envelope, 4 MiB on the wire.
    let quotes = "\"".repeat(1024 * 1024);
    let cases = [
        ("bare", message(&bare)),
        ("json string", message(&quoted)),
        ("quotes", message(&quotes)),
    ];
    for (label, inv) in cases {
        let (status, body) = h.invoke("NotifyWebhook", &inv).await;
        assert_eq!(status, 200, "{label}: {body}\n{}", h.log_text());
        let log = body["Logs"][0].as_str().unwrap_or_default();
        assert!(
            log.starts_with("poisoned: message is not a notification"),
            "{label}: {log}"
        );
        let name = log.rsplit("quarantined as ").next().unwrap_or_default();
        let name = name.trim_start_matches(&format!("{quarantine}/"));
        let blob = BlobRef::new(quarantine.clone(), name.to_owned());
        let props = blobs
            .properties(&blob)
            .await
            .unwrap_or_else(|e| panic!("{label}: {name}: {e}"));
        let kept = blobs
            .read_range(&blob, 0, props.content_length)
            .await
            .expect("read");
        let doc: Value = serde_json::from_slice(&kept).expect("quarantine document");
        assert!(
            doc["reason"]
                .as_str()
                .is_some_and(|r| r.contains("not a notification")),
            "{label}: {}",
            doc["reason"]
        );
        let payload = doc["payload"]["Data"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(
            payload.len() > 1024 * 1024,
            "{label}: the payload is kept whole"
        );
    }
    assert_eq!(rx.total(), 0, "nothing delivered");
    // A notification whose title is the long string: delivered or refused, never a 500.
    let mut n = notification("long-title", "critical");
    n["title"] = json!(long());
    let (status, body) = h.invoke("NotifyWebhook", &invocation(&n, 1)).await;
    assert_eq!(status, 200, "{body}\n{}", h.log_text());

    // Past the limit: Poison, the head kept, the reason saying so.
    let limit = bastion_recordings::invocation::body::MAX_BODY_BYTES;
    let (status, _, body) = h.invoke_raw("NotifyWebhook", vec![b'A'; limit + 1]).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(&format!("larger than {limit} bytes")),
        "{body}"
    );
}
