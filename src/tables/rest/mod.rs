//! [`TableStore`](super::TableStore) over the Azure Table Storage REST API (own client on reqwest).
//!
//! Owns the mapping of entity operations to REST calls; URL encoding lives in `encode`, transport,
//! authorisation and retries in `http`. Every operation runs under the connection's deadlines (a
//! per-try timeout on the HTTP client, the total through [`CallGuard`], which also logs each failed
//! call once). Entities come back without OData annotations and without the server-managed
//! `Timestamp`, so they compare equal to what the in-memory fake returns.

mod batch;
mod encode;
mod http;
mod store;

use self::http::{Auth, Call};
use super::TableError;
use super::keys::{check_keys, is_valid_table_name};
use crate::storage::connection::{StorageAuth, StorageConnection};
use crate::storage::deadline::CallGuard;
use crate::storage::identity;
use crate::storage::sas::SasSigner;

/// Table access for one storage connection.
pub struct TableRestClient {
    base: String,
    prefix: String,
    auth: Auth,
    http: reqwest::Client,
    guard: CallGuard,
}

crate::telemetry::debug_fields!(TableRestClient { base, prefix });

impl TableRestClient {
    /// Builds a client for `conn`; every table name is prefixed with `prefix`. No request is made.
    ///
    /// # Errors
    /// `Permanent` when the client cannot be built (managed identity over http, no identity).
    pub fn new(conn: &StorageConnection, prefix: &str) -> Result<Self, TableError> {
        let auth = match &conn.auth {
            StorageAuth::Key(key) => Auth::Sas(SasSigner::new(&conn.account, key.clone(), "t")),
            StorageAuth::ManagedIdentity { .. } => {
                if conn.table.scheme() != "https" {
                    return Err(TableError::Permanent(format!(
                        "{}: identity-based tables need https",
                        conn.setting
                    )));
                }
                Auth::Token(
                    identity::credential(conn).map_err(|e| TableError::Permanent(e.to_string()))?,
                )
            }
        };
        // Table answers are small: one try is bounded whole, not only between reads.
        let http = conn
            .deadlines
            .http_builder()
            .timeout(conn.deadlines.per_try)
            .build()
            .map_err(|e| TableError::Permanent(format!("http client: {e}")))?;
        Ok(Self {
            base: conn.table.as_str().trim_end_matches('/').to_owned(),
            prefix: prefix.to_owned(),
            auth,
            http,
            guard: CallGuard::new(&conn.setting, &conn.table, conn.deadlines),
        })
    }

    /// The full table name, validated (the service answers 400 for invalid names anyway).
    fn table(&self, table: &str) -> Result<String, TableError> {
        let name = format!("{}{table}", self.prefix);
        if is_valid_table_name(&name) {
            Ok(name)
        } else {
            Err(TableError::Permanent(format!(
                "invalid table name {name:?}"
            )))
        }
    }

    /// The entity path, after checking the keys: the service answers 400 for `/ \\ # ?` (Azurite
    /// even 500, which would be retried), so invalid keys fail here, permanently and at once.
    fn entity_path(&self, table: &str, pk: &str, rk: &str) -> Result<String, TableError> {
        check_keys(pk, rk)?;
        Ok(encode::entity_path(&self.table(table)?, pk, rk))
    }

    async fn send(&self, call: Call<'_>) -> Result<reqwest::Response, TableError> {
        http::send(&self.http, &self.base, &self.auth, &call).await
    }
}

#[cfg(test)]
mod tests;
