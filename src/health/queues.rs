//! Poison-queue depths for the health report (messages the host gave up on wait there).

use std::sync::Arc;

use async_trait::async_trait;

use crate::azure::AzureError;
use crate::azure::connection::StorageConnection;
use crate::queues::QueueAccess;
use crate::telemetry::redact;

/// The poison queues of the app's queue-triggered functions.
pub const POISON_QUEUES: &[&str] = &[
    "hashrequests-poison",
    "notifications-poison",
    "workunits-poison",
];

/// Reads approximate queue depths.
#[async_trait]
pub trait QueueDepth: Send + Sync + 'static {
    /// Messages in `queue` (0 when the queue does not exist).
    ///
    /// # Errors
    /// Storage failures.
    async fn depth(&self, queue: &str) -> Result<u64, AzureError>;
}

/// No queues (in-memory storage): every queue is empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoQueues;

#[async_trait]
impl QueueDepth for NoQueues {
    async fn depth(&self, _: &str) -> Result<u64, AzureError> {
        Ok(0)
    }
}

#[async_trait]
impl QueueDepth for QueueAccess {
    async fn depth(&self, queue: &str) -> Result<u64, AzureError> {
        QueueAccess::depth(self, queue).await
    }
}

/// The depth source for the app's storage connection (`None`: storage is in memory).
pub fn for_connection(app: Option<&StorageConnection>) -> Arc<dyn QueueDepth> {
    match app {
        None => Arc::new(NoQueues),
        Some(app) => match QueueAccess::new(app) {
            Ok(q) => Arc::new(q),
            Err(e) => {
                tracing::warn!(error = %redact(&e.to_string()), "poison-queue depths unavailable");
                Arc::new(NoQueues)
            }
        },
    }
}
