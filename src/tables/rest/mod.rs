//! [`TableStore`](super::TableStore) over the Azure Table Storage REST API (own client on reqwest).
//!
//! Owns the mapping of entity operations to REST calls; URL encoding lives in `encode`, transport,
//! authorisation and retries in `http`. Every operation runs under the connection's deadlines (a
//! per-try timeout on the HTTP client, the total through [`CallGuard`], which also logs each failed
//! call once). Entities come back without OData annotations and without the server-managed
//! `Timestamp`, so they compare equal to what the in-memory fake returns.

mod encode;
mod http;
mod store;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use self::http::{Auth, Call};
use super::keys::{is_valid_key, is_valid_table_name};
use super::{Entity, Filter, QueryPage, Stored, TableError, WriteMode, get_str};
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

impl std::fmt::Debug for TableRestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableRestClient")
            .field("base", &self.base)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

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
        if !is_valid_key(pk) || !is_valid_key(rk) {
            return Err(TableError::Rejected(format!(
                "invalid key ({} and {} characters; at most 1024, no / \\ # ? or control characters)",
                pk.len(),
                rk.len()
            )));
        }
        Ok(encode::entity_path(&self.table(table)?, pk, rk))
    }

    async fn send(&self, call: Call<'_>) -> Result<reqwest::Response, TableError> {
        http::send(&self.http, &self.base, &self.auth, &call).await
    }
}

/// The REST calls behind each [`TableStore`](super::TableStore) operation (`store` runs them under the guard).
impl TableRestClient {
    async fn raw_ensure_table(&self, table: &str) -> Result<(), TableError> {
        let body = serde_json::to_vec(&serde_json::json!({ "TableName": self.table(table)? }))
            .map_err(|e| TableError::Permanent(e.to_string()))?;
        let mut headers = HeaderMap::new();
        headers.insert("Prefer", http::header("return-no-content")?);
        let res = self
            .send(Call {
                method: Method::POST,
                path: "Tables",
                query: Vec::new(),
                headers,
                body: Some(body),
            })
            .await?;
        match res.status() {
            s if s.is_success() || s == StatusCode::CONFLICT => Ok(()), // 409 TableAlreadyExists
            _ => Err(http::fail(res).await),
        }
    }

    async fn raw_get(&self, table: &str, pk: &str, rk: &str) -> Result<Option<Stored>, TableError> {
        let path = self.entity_path(table, pk, rk)?;
        let res = self
            .send(Call {
                method: Method::GET,
                path: &path,
                query: Vec::new(),
                headers: HeaderMap::new(),
                body: None,
            })
            .await?;
        match res.status() {
            StatusCode::NOT_FOUND => Ok(None), // entity or table missing
            s if s.is_success() => {
                let etag = http::etag_of(&res)?;
                let entity: Entity = res.json().await.map_err(|e| {
                    TableError::Transient(format!("entity body: {}", e.without_url()))
                })?;
                Ok(Some(Stored {
                    entity: http::clean(entity),
                    etag,
                }))
            }
            _ => Err(http::fail(res).await),
        }
    }

    async fn raw_write(
        &self,
        table: &str,
        entity: &Entity,
        mode: WriteMode,
    ) -> Result<String, TableError> {
        let name = self.table(table)?;
        let (Some(pk), Some(rk)) = (get_str(entity, "PartitionKey"), get_str(entity, "RowKey"))
        else {
            return Err(TableError::Permanent(
                "entity needs string PartitionKey and RowKey".to_owned(),
            ));
        };
        let path = self.entity_path(table, pk, rk)?;
        let (method, path, headers) = match &mode {
            // POST to the table: 409 EntityAlreadyExists when the key is taken.
            WriteMode::Insert => {
                let mut h = HeaderMap::new();
                h.insert("Prefer", http::header("return-no-content")?);
                (Method::POST, name.as_str(), h)
            }
            // PUT without If-Match = Insert Or Replace Entity.
            WriteMode::Upsert => (Method::PUT, path.as_str(), HeaderMap::new()),
            // PUT with If-Match = Update Entity: 412 if changed, 404 if gone.
            WriteMode::IfMatch(etag) => (Method::PUT, path.as_str(), http::if_match(etag)?),
        };
        let res = self
            .send(Call {
                method,
                path,
                query: Vec::new(),
                headers,
                body: Some(http::json(entity)?),
            })
            .await?;
        if res.status().is_success() {
            http::etag_of(&res)
        } else {
            Err(http::fail(res).await)
        }
    }

    async fn raw_delete(
        &self,
        table: &str,
        pk: &str,
        rk: &str,
        etag: Option<&str>,
    ) -> Result<(), TableError> {
        let path = self.entity_path(table, pk, rk)?;
        let headers = http::if_match(etag.unwrap_or("*"))?;
        let res = self
            .send(Call {
                method: Method::DELETE,
                path: &path,
                query: Vec::new(),
                headers,
                body: None,
            })
            .await?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(http::fail(res).await)
        }
    }

    async fn raw_query(
        &self,
        table: &str,
        filter: Option<&Filter>,
        top: Option<u32>,
        continuation: Option<String>,
    ) -> Result<QueryPage, TableError> {
        let next =
            match continuation.as_deref() {
                Some(c) => Some(encode::unpack_continuation(c).ok_or_else(|| {
                    TableError::Permanent("invalid continuation token".to_owned())
                })?),
                None => None,
            };
        let path = format!("{}()", self.table(table)?);
        let odata = filter.map(Filter::to_odata);
        let query = encode::query_params(odata.as_deref(), top, next.as_ref());
        let res = self
            .send(Call {
                method: Method::GET,
                path: &path,
                query,
                headers: HeaderMap::new(),
                body: None,
            })
            .await?;
        if !res.status().is_success() {
            return Err(http::fail(res).await);
        }
        let header = |n: &str| {
            res.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let next = encode::pack_continuation(
            header("x-ms-continuation-NextPartitionKey").as_deref(),
            header("x-ms-continuation-NextRowKey").as_deref(),
        );
        let body: Value = res
            .json()
            .await
            .map_err(|e| TableError::Transient(format!("query body: {}", e.without_url())))?;
        let items = body
            .get("value")
            .and_then(Value::as_array)
            .ok_or_else(|| TableError::Permanent("query response without value".to_owned()))?
            .iter()
            .filter_map(|v| v.as_object().cloned())
            .map(|e| {
                let etag = get_str(&e, "odata.etag").unwrap_or_default().to_owned();
                Stored {
                    entity: http::clean(e),
                    etag,
                }
            })
            .collect();
        Ok(QueryPage { items, next })
    }
}

#[cfg(test)]
mod tests;
