//! The queue port: Storage queue clients for one connection, bounded like every storage call.
//!
//! Key-based connections carry a fresh account SAS (`ss=q`) on every request (the same policy as
//! blobs, so a long-lived client never holds an expired token); identity-based ones use the
//! connection's shared managed identity ([`crate::azure::sdk`]). [`QueueAccess::depth`] runs
//! under the connection's guard (the one retry policy and the total timeout). Used by the health
//! report (poison-queue depths) and by devhost (output bindings and queue triggers, whose SDK
//! calls are tried once).

use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_storage_queue::models::QueueClientGetPropertiesResultHeaders as _;
use azure_storage_queue::{QueueClient, QueueClientOptions};

use crate::azure::connection::StorageConnection;
use crate::azure::{AzureError, Guard};
use crate::permissions::Operation;
use crate::telemetry::redact;

/// Queue REST version (as for blobs: what Azurite accepts and Azure serves; the SDK default is newer).
pub const VERSION: &str = "2025-11-05";

/// Queue clients for one connection.
pub struct QueueAccess {
    conn: StorageConnection,
    options: QueueClientOptions,
    credential: Option<Arc<dyn TokenCredential>>,
    guard: Guard,
}

crate::telemetry::debug_fields!(QueueAccess { conn.setting, conn.account });

impl QueueAccess {
    /// Queue access for `conn`. No request is made here.
    ///
    /// # Errors
    /// `Permanent` when the HTTP client or the managed identity credential cannot be built.
    pub fn new(conn: &StorageConnection) -> Result<Self, AzureError> {
        let (client_options, credential) = crate::azure::sdk::options(conn, "q")?;
        Ok(Self {
            conn: conn.clone(),
            options: QueueClientOptions {
                version: VERSION.into(),
                client_options,
            },
            credential,
            guard: conn.guard(&conn.queue),
        })
    }

    /// A client for `queue` (no request is made).
    ///
    /// # Errors
    /// `Permanent` when the queue URL or the client cannot be built.
    pub fn client(&self, queue: &str) -> Result<QueueClient, AzureError> {
        let mut url = self.conn.queue.clone();
        url.path_segments_mut()
            .map_err(|()| AzureError::Permanent("queue endpoint is not a base URL".into()))?
            .pop_if_empty()
            .push(queue);
        QueueClient::new(url, self.credential.clone(), Some(self.options.clone()))
            .map_err(|e| AzureError::Permanent(format!("queue client: {}", redact(&e.to_string()))))
    }

    /// Approximate number of messages in `queue` (one Get Queue Metadata call); an absent queue
    /// is empty.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn depth(&self, queue: &str) -> Result<u64, AzureError> {
        let client = self.client(queue)?;
        let depth = || async {
            match client.get_properties(None).await {
                Ok(r) => Ok(r
                    .approximate_messages_count()?
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0)),
                Err(e) => match AzureError::of_sdk(&e) {
                    AzureError::NotFound => Ok(0),
                    other => Err(other),
                },
            }
        };
        let op = Operation::GetQueueMetadata;
        let role = || op.missing(&format!("queue {}/{queue}", self.conn.account));
        self.guard.run(op.name(), None, role, depth).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_frozen_queue_service_fails_at_the_total_timeout_retryably() {
        let (url, accepted) = crate::testkit::frozen_service().await;
        let d = crate::testkit::short_timeouts();
        let conn = crate::testkit::loopback_connection(&url, d);
        let started = std::time::Instant::now();
        let r = QueueAccess::new(&conn).expect("access").depth("q").await;
        let took = started.elapsed();
        assert!(matches!(&r, Err(e) if e.is_retryable()), "{r:?}");
        // The policy gives up at once when its next back-off would pass the end: after the second
        // try at the earliest, which cannot end before the total less one try.
        assert!(
            took >= d.total - d.per_try && took < d.total * 2,
            "{took:?}"
        );
        assert!(accepted.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    }
}
