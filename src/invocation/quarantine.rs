//! Quarantine for poison payloads: the evidence of what was dropped, and why.
//!
//! Poison input is acknowledged to the host (so Event Grid stops redelivering it), which is only safe
//! if the payload is kept: it is written to `<container>/<Function>/<yyyy-mm-dd>/<id>.json` in the
//! app's own storage, with the reason. If that write fails the invocation becomes retryable: we never
//! drop data we failed to store.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::azure::AzureError;
use crate::dates::format_utc_millis;
use crate::storage::{BlobRef, BlobStore, Metadata};

/// Writes poison payloads to a container in the app's storage account.
#[derive(Clone)]
pub struct Quarantine {
    store: Arc<dyn BlobStore>,
    container: String,
}

crate::telemetry::debug_fields!(Quarantine { container });

impl Quarantine {
    /// Quarantine into `container` of `store`.
    pub fn new(store: Arc<dyn BlobStore>, container: impl Into<String>) -> Self {
        Self {
            store,
            container: container.into(),
        }
    }

    /// The container poison payloads go to.
    #[cfg(test)]
    pub fn container(&self) -> &str {
        &self.container
    }

    /// The store behind the quarantine (health checks count its blobs).
    #[cfg(test)]
    pub fn store(&self) -> &Arc<dyn BlobStore> {
        &self.store
    }

    /// Stores one payload with its reason; `item` distinguishes several items of one invocation
    /// (e.g. corrupt lines of one audit blob). Idempotent per `(function, id, item)`.
    ///
    /// # Errors
    /// The storage error when the write fails; callers must then fail the invocation.
    pub async fn put(
        &self,
        function: &str,
        id: &str,
        item: Option<&str>,
        reason: &str,
        payload: &[u8],
    ) -> Result<BlobRef, AzureError> {
        let now = OffsetDateTime::now_utc();
        let day = format_utc_millis(now);
        let safe = |s: &str| {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        };
        let name = match item {
            Some(i) => format!("{function}/{}/{}-{}.json", &day[..10], safe(id), safe(i)),
            None => format!("{function}/{}/{}.json", &day[..10], safe(id)),
        };
        let payload_value = serde_json::from_slice::<Value>(payload)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(payload).into_owned()));
        let doc = json!({
            "function": function,
            "invocationId": id,
            "item": item,
            "reason": reason,
            "quarantinedAt": day,
            "payload": payload_value,
        });
        let body = Bytes::from(serde_json::to_vec_pretty(&doc).unwrap_or_default());
        let mut meta = Metadata::new();
        meta.insert("function".into(), function.to_owned());
        let blob = BlobRef::new(self.container.clone(), name);
        self.store
            .put(&blob, body, "application/json", &meta)
            .await?;
        Ok(blob)
    }
}
