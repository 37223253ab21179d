//! Storage queues through the official `azure_storage_queue` crate: output bindings and triggers.
//!
//! Connections are resolved with the library's `StorageConnection::resolve` (falling back to
//! `AzureWebJobsStorage`) and authorised with a locally signed account SAS (`ss=q`); devhost
//! supports key-based connections only. The REST version is pinned to one Azurite accepts.
//! Queues are created on first use, as the host's queue extension does.

mod trigger;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use azure_storage_queue::models::QueueMessage;
use azure_storage_queue::{QueueClient, QueueClientOptions};
use bastion_recordings::storage::connection::{StorageAuth, StorageConnection};
use bastion_recordings::storage::sas::SasSigner;
use bastion_recordings::telemetry::redact;

use crate::app_root::MessageEncoding;
use crate::envelope::{MessageBody, wire_text};

pub(crate) use trigger::run_queue_trigger;

/// `x-ms-version` sent to the queue service: the SDK default (2026-04-06) is newer than Azurite 3.35 accepts.
const QUEUE_API_VERSION: &str = "2025-11-05";

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

/// (connection setting, queue name).
type QueueKey = (String, String);
/// The SAS token a client was built with, and the client.
type CachedClient = (String, Arc<QueueClient>);

struct Account {
    conn: StorageConnection,
    signer: SasSigner,
}

/// Queue clients per (connection, queue), rebuilt when the SAS token rotates.
pub(crate) struct Queues {
    encoding: MessageEncoding,
    accounts: Mutex<HashMap<String, Arc<Account>>>,
    clients: Mutex<HashMap<QueueKey, CachedClient>>,
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

    fn account(&self, connection: &str) -> Result<Arc<Account>, String> {
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(a) = accounts.get(connection) {
            return Ok(a.clone());
        }
        let conn = resolve_connection(connection)?;
        let StorageAuth::Key(key) = &conn.auth else {
            return Err(format!(
                "{connection}: devhost supports key-based connection strings only"
            ));
        };
        let signer = SasSigner::new(&conn.account, key.clone(), "q");
        let account = Arc::new(Account { conn, signer });
        accounts.insert(connection.to_owned(), account.clone());
        Ok(account)
    }

    /// A client for `queue` on `connection`.
    pub(crate) fn client(&self, connection: &str, queue: &str) -> Result<Arc<QueueClient>, String> {
        let account = self.account(connection)?;
        let token = account.signer.token();
        let key = (connection.to_owned(), queue.to_owned());
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((t, c)) = clients.get(&key)
            && *t == token
        {
            return Ok(c.clone());
        }
        let mut url = account.conn.queue.clone();
        url.path_segments_mut()
            .map_err(|()| "queue endpoint cannot be a base URL".to_owned())?
            .pop_if_empty()
            .push(queue);
        url.set_query(Some(&token));
        let options = QueueClientOptions {
            version: QUEUE_API_VERSION.into(),
            ..Default::default()
        };
        let client = Arc::new(
            QueueClient::new(url, None, Some(options)).map_err(|e| redact(&e.to_string()))?,
        );
        clients.insert(key, (token, client.clone()));
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
