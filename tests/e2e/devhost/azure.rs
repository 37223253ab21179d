//! Azurite helpers for the devhost tests: connections, blob store, queue clients, peeking.

use std::time::Duration;

use azure_storage_queue::models::{QueueClientPeekMessagesOptions, QueueMessage};
use azure_storage_queue::{QueueClient, QueueClientOptions};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bastion_recordings::azure::connection::{StorageAuth, StorageConnection};
use bastion_recordings::azure::sas::SasSigner;
use bastion_recordings::storage::azure::AzureBlobStore;

pub const T: Duration = Duration::from_secs(20);

pub fn conn(cs: &str) -> StorageConnection {
    StorageConnection::resolve("X", &|k| (k == "X").then(|| cs.to_owned()))
        .expect("valid")
        .expect("set")
}

pub fn blobs(cs: &str) -> AzureBlobStore {
    AzureBlobStore::new(&conn(cs)).expect("blob store")
}

pub fn queue(cs: &str, name: &str) -> QueueClient {
    let c = conn(cs);
    let StorageAuth::Key(key) = &c.auth else {
        panic!("key auth expected")
    };
    let signer = SasSigner::new(&c.account, key.clone(), "q");
    let mut url = c.queue.clone();
    url.path_segments_mut()
        .expect("base")
        .pop_if_empty()
        .push(name);
    url.set_query(Some(&signer.token()));
    QueueClient::new(
        url,
        None,
        Some(QueueClientOptions {
            version: "2025-11-05".into(),
            ..Default::default()
        }),
    )
    .expect("queue client")
}

/// Message texts currently visible in `name` (base64-decoded), up to 32.
pub async fn peek(cs: &str, name: &str) -> Vec<String> {
    let q = queue(cs, name);
    let Ok(res) = q
        .peek_messages(Some(QueueClientPeekMessagesOptions {
            number_of_messages: Some(32),
            ..Default::default()
        }))
        .await
    else {
        return Vec::new();
    };
    let items = res
        .into_model()
        .expect("peek model")
        .items
        .unwrap_or_default();
    items
        .iter()
        .filter_map(|m| m.message_text.as_deref())
        .map(|t| String::from_utf8_lossy(&STANDARD.decode(t).expect("base64")).into_owned())
        .collect()
}

pub async fn wait_peek(cs: &str, name: &str, n: usize) -> Vec<String> {
    let give_up_at = std::time::Instant::now() + T;
    loop {
        let got = peek(cs, name).await;
        if got.len() >= n || std::time::Instant::now() > give_up_at {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn send(cs: &str, name: &str, text: &str) {
    let q = queue(cs, name);
    let _ = q.create(None).await;
    let msg = QueueMessage {
        message_text: Some(STANDARD.encode(text)),
    };
    q.send_message(msg.try_into().expect("xml"), None)
        .await
        .expect("send");
}
