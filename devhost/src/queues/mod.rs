//! Storage queues through the official `azure_storage_queue` crate: output bindings and triggers.
//!
//! Connections are resolved with the library's `StorageConnection::resolve` (falling back to
//! `AzureWebJobsStorage`); clients come from the library's queue port, so a key-based connection
//! signs an account SAS (`ss=q`) per request and an identity-based one uses the managed identity
//! (`IDENTITY_ENDPOINT`), as the host's queue extension would. Queues are created on first use,
//! as the host's queue extension does. Each try waits [`HOST_TIMEOUTS`] for its answer, the
//! host's Azure SDK's network timeout, not the app's 6-s storage try: a Get Messages the service
//! has taken is not given up while its answer is on the way (its messages would stay hidden for
//! their whole 10-minute lease).

mod trigger;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use azure_storage_queue::QueueClient;
use azure_storage_queue::models::QueueMessage;
use std::time::Duration;

use bastion_recordings::azure::Timeouts;
use bastion_recordings::azure::connection::StorageConnection;
use bastion_recordings::queues::QueueAccess;
use bastion_recordings::telemetry::redact;

use crate::app_root::MessageEncoding;
use crate::envelope::{MessageBody, wire_text};

pub(crate) use trigger::run_queue_trigger;

/// Resolves a connection the way devhost does everywhere: the named setting, else `AzureWebJobsStorage`.
pub(crate) fn resolve_connection(name: &str) -> Result<StorageConnection, String> {
    let env = |k: &str| std::env::var(k).ok();
    for candidate in [name, "AzureWebJobsStorage"] {
        match StorageConnection::resolve(candidate, &env) {
            Ok(Some(c)) => return Ok(c),
            Ok(None) => continue,
            Err(errors) => return Err(errors.join("; ")),
        }
    }
    Err(format!(
        "connection {name} is not configured (nor AzureWebJobsStorage)"
    ))
}

/// The queue extension's calls wait as long as the host's Azure SDK does for an answer: its
/// `RetryOptions.NetworkTimeout` defaults to 100 s a try (Azure.Core, `RetryOptions`).
pub(crate) const HOST_TIMEOUTS: Timeouts = Timeouts {
    per_try: Duration::from_secs(100),
    total: Duration::from_secs(200),
};

/// (connection setting, queue name).
type QueueKey = (String, String);

/// Queue clients per (connection, queue); one [`QueueAccess`] (and so one credential) per connection.
pub(crate) struct Queues {
    encoding: MessageEncoding,
    accounts: Mutex<HashMap<String, Arc<QueueAccess>>>,
    clients: Mutex<HashMap<QueueKey, Arc<QueueClient>>>,
    created: Mutex<HashSet<QueueKey>>,
}

impl Queues {
    /// Queues with the app's `messageEncoding`.
    pub(crate) fn new(encoding: MessageEncoding) -> Self {
        Self {
            encoding,
            accounts: Mutex::default(),
            clients: Mutex::default(),
            created: Mutex::default(),
        }
    }

    /// The configured message encoding.
    pub(crate) fn encoding(&self) -> MessageEncoding {
        self.encoding
    }

    fn account(&self, connection: &str) -> Result<Arc<QueueAccess>, String> {
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(a) = accounts.get(connection) {
            return Ok(a.clone());
        }
        let conn = resolve_connection(connection)?.with_timeouts(HOST_TIMEOUTS);
        let access = Arc::new(QueueAccess::new(&conn).map_err(|e| format!("{connection}: {e}"))?);
        accounts.insert(connection.to_owned(), access.clone());
        Ok(access)
    }

    /// A client for `queue` on `connection` (the SAS or token is added per request, so a cached
    /// client never goes stale).
    pub(crate) fn client(&self, connection: &str, queue: &str) -> Result<Arc<QueueClient>, String> {
        let key = (connection.to_owned(), queue.to_owned());
        if let Some(c) = self
            .clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(c.clone());
        }
        let client = Arc::new(
            self.account(connection)?
                .client(queue)
                .map_err(|e| format!("{connection}: {e}"))?,
        );
        self.clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, client.clone());
        Ok(client)
    }

    /// A client for `queue`, creating the queue once per devhost run.
    pub(crate) async fn ensure(
        &self,
        connection: &str,
        queue: &str,
    ) -> Result<Arc<QueueClient>, String> {
        let client = self.client(connection, queue)?;
        let key = (connection.to_owned(), queue.to_owned());
        if self
            .created
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&key)
        {
            return Ok(client);
        }
        match client.create(None).await {
            Ok(_) => {}
            // 409: exists with different metadata — still usable.
            Err(e) if e.http_status().map(u16::from) == Some(409) => {}
            Err(e) => return Err(format!("create queue {queue}: {}", redact(&e.to_string()))),
        }
        self.created
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key);
        Ok(client)
    }

    /// Sends one output message with the configured encoding.
    pub(crate) async fn send(
        &self,
        connection: &str,
        queue: &str,
        body: &MessageBody,
    ) -> Result<(), String> {
        self.send_wire(connection, queue, wire_text(body, self.encoding))
            .await
    }

    /// Sends a message whose wire text is already encoded (poison copies keep the original text).
    pub(crate) async fn send_wire(
        &self,
        connection: &str,
        queue: &str,
        text: String,
    ) -> Result<(), String> {
        let client = self.ensure(connection, queue).await?;
        let msg = QueueMessage {
            message_text: Some(text),
        };
        let content = msg
            .try_into()
            .map_err(|e: azure_core::Error| e.to_string())?;
        client
            .send_message(content, None)
            .await
            .map_err(|e| format!("send to {queue}: {}", redact(&e.to_string())))?;
        Ok(())
    }
}
