//! The queue port: Storage queue clients for one connection, bounded like every storage call.
//!
//! Key-based connections carry a fresh account SAS (`ss=q`) on every try (the same per-try policy
//! as blobs, so a long-lived client never holds an expired token); identity-based ones use the
//! connection's shared managed identity. The SDK clients get the connection's per-try timeouts and
//! bounded retries; [`QueueAccess::guard`] bounds and logs a whole call. Used by the health report
//! (poison-queue depths) and by devhost (output bindings and queue triggers).

use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_storage_queue::models::QueueClientGetPropertiesResultHeaders as _;
use azure_storage_queue::{QueueClient, QueueClientOptions};

use crate::storage::StorageError;
use crate::storage::azure::client::authorised;
use crate::storage::connection::StorageConnection;
use crate::storage::deadline::CallGuard;
use crate::storage::identity::identity_failure;
use crate::telemetry::redact;

/// Queue REST version (as for blobs: what Azurite accepts and Azure serves; the SDK default is newer).
pub const VERSION: &str = "2025-11-05";

/// Queue clients for one connection.
pub struct QueueAccess {
    conn: StorageConnection,
    options: QueueClientOptions,
    credential: Option<Arc<dyn TokenCredential>>,
    guard: CallGuard,
}

crate::telemetry::debug_fields!(QueueAccess { conn.setting, conn.account });

impl QueueAccess {
    /// Queue access for `conn`. No request is made here.
    ///
    /// # Errors
    /// `Permanent` when the HTTP client or the managed identity credential cannot be built.
    pub fn new(conn: &StorageConnection) -> Result<Self, StorageError> {
        let (client_options, credential) = authorised(conn, "q")?;
        Ok(Self {
            conn: conn.clone(),
            options: QueueClientOptions {
                version: VERSION.into(),
                client_options,
            },
            credential,
            guard: CallGuard::new(&conn.setting, &conn.queue, conn.deadlines),
        })
    }

    /// The connection these clients use.
    pub fn connection(&self) -> &StorageConnection {
        &self.conn
    }

    /// Bounds and logs whole calls made with [`QueueAccess::client`]'s clients.
    pub fn guard(&self) -> &CallGuard {
        &self.guard
    }

    /// A client for `queue` (no request is made).
    ///
    /// # Errors
    /// `Permanent` when the queue URL or the client cannot be built.
    pub fn client(&self, queue: &str) -> Result<QueueClient, StorageError> {
        let mut url = self.conn.queue.clone();
        url.path_segments_mut()
            .map_err(|()| StorageError::Permanent("queue endpoint is not a base URL".into()))?
            .pop_if_empty()
            .push(queue);
        QueueClient::new(url, self.credential.clone(), Some(self.options.clone())).map_err(|e| {
            StorageError::Permanent(format!("queue client: {}", redact(&e.to_string())))
        })
    }

    /// Approximate number of messages in `queue` (one Get Queue Metadata call); an absent queue
    /// is empty.
    ///
    /// # Errors
    /// Storage failures, classified as for blobs.
    pub async fn depth(&self, queue: &str) -> Result<u64, StorageError> {
        let client = self.client(queue)?;
        let call = async {
            match client.get_properties(None).await {
                Ok(r) => Ok(r
                    .approximate_messages_count()
                    .map_err(|e| error(&e))?
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0)),
                Err(e) if e.http_status().is_some_and(|s| u16::from(s) == 404) => Ok(0),
                Err(e) => Err(error(&e)),
            }
        };
        self.guard.run("queue.depth", call).await
    }
}

/// Classifies a queue SDK error like a blob one: by HTTP status, transient otherwise (transport,
/// token). The text is redacted (URLs carry the SAS).
pub fn error(e: &azure_core::Error) -> StorageError {
    match e.http_status() {
        Some(s) => StorageError::from_status(u16::from(s), redact(&e.to_string())),
        None => {
            StorageError::Transient(identity_failure(e).unwrap_or_else(|| redact(&e.to_string())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_frozen_queue_service_fails_at_the_deadline_retryably() {
        let (url, accepted) = crate::testkit::frozen_service().await;
        let d = crate::testkit::short_deadlines();
        let conn = crate::testkit::loopback_connection(&url, d);
        let started = std::time::Instant::now();
        let r = QueueAccess::new(&conn).expect("access").depth("q").await;
        let took = started.elapsed();
        assert!(matches!(&r, Err(e) if e.is_transient()), "{r:?}");
        assert!(took >= d.total && took < d.total * 2, "{took:?}");
        assert!(accepted.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    }
}
