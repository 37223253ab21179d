//! Poison-queue depths for the health report: the host moves a queue message that failed
//! `maxDequeueCount` times to `<queue>-poison`, where it waits for an operator. One Get Queue
//! Metadata call per queue (`x-ms-approximate-messages-count`); an absent queue is empty.

use std::sync::Arc;

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use azure_storage_queue::models::QueueClientGetPropertiesResultHeaders as _;
use azure_storage_queue::{QueueClient, QueueClientOptions};

use crate::storage::connection::{StorageAuth, StorageConnection};
use crate::storage::sas::SasSigner;
use crate::storage::{StorageError, azure::client::managed_identity};
use crate::telemetry::redact;

/// The poison queues of the app's queue-triggered functions.
pub const POISON_QUEUES: &[&str] = &["hashrequests-poison", "notifications-poison"];
/// Queue REST version (as for blobs: what Azurite accepts and Azure serves).
const VERSION: &str = "2025-11-05";

/// Reads approximate queue depths.
#[async_trait]
pub trait QueueDepth: Send + Sync + 'static {
    /// Messages in `queue` (0 when the queue does not exist).
    ///
    /// # Errors
    /// Storage failures.
    async fn depth(&self, queue: &str) -> Result<u64, StorageError>;
}

/// No queues (in-memory storage): every queue is empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoQueues;

#[async_trait]
impl QueueDepth for NoQueues {
    async fn depth(&self, _: &str) -> Result<u64, StorageError> {
        Ok(0)
    }
}

/// Queue depths over the app's storage connection (account SAS for keys, managed identity else).
pub struct AzureQueues {
    conn: StorageConnection,
    signer: Option<SasSigner>,
    credential: Option<Arc<dyn TokenCredential>>,
}

impl std::fmt::Debug for AzureQueues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureQueues")
            .field("account", &self.conn.account)
            .finish_non_exhaustive()
    }
}

impl AzureQueues {
    /// Queue access for `conn`. No request is made here.
    ///
    /// # Errors
    /// `Permanent` when the managed identity credential cannot be built.
    pub fn new(conn: &StorageConnection) -> Result<Self, StorageError> {
        let (signer, credential) = match &conn.auth {
            StorageAuth::Key(key) => (Some(SasSigner::new(&conn.account, key.clone(), "q")), None),
            StorageAuth::ManagedIdentity { client_id } => {
                (None, Some(managed_identity(client_id.as_deref())?))
            }
        };
        Ok(Self {
            conn: conn.clone(),
            signer,
            credential,
        })
    }
}

#[async_trait]
impl QueueDepth for AzureQueues {
    async fn depth(&self, queue: &str) -> Result<u64, StorageError> {
        let mut url = self.conn.queue.clone();
        url.path_segments_mut()
            .map_err(|()| StorageError::Permanent("queue endpoint is not a base URL".into()))?
            .pop_if_empty()
            .push(queue);
        if let Some(s) = &self.signer {
            url.set_query(Some(&s.token()));
        }
        let options = QueueClientOptions {
            version: VERSION.into(),
            ..Default::default()
        };
        let client = QueueClient::new(url, self.credential.clone(), Some(options))
            .map_err(|e| StorageError::Permanent(redact(&e.to_string())))?;
        match client.get_properties(None).await {
            Ok(r) => Ok(r
                .approximate_messages_count()
                .map_err(|e| StorageError::Transient(redact(&e.to_string())))?
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0)),
            Err(e) if e.http_status().is_some_and(|s| u16::from(s) == 404) => Ok(0),
            Err(e) => Err(match e.http_status() {
                Some(s) => StorageError::from_status(u16::from(s), redact(&e.to_string())),
                None => StorageError::Transient(redact(&e.to_string())),
            }),
        }
    }
}

/// The depth source for the app's storage connection (`None`: storage is in memory).
pub fn for_connection(app: Option<&StorageConnection>) -> Arc<dyn QueueDepth> {
    match app {
        None => Arc::new(NoQueues),
        Some(app) => match AzureQueues::new(app) {
            Ok(q) => Arc::new(q),
            Err(e) => {
                tracing::warn!(error = %redact(&e.to_string()), "poison-queue depths unavailable");
                Arc::new(NoQueues)
            }
        },
    }
}
