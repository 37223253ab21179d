//! The Table REST client of one storage connection: a [`Call`] (an operation's method, path,
//! query, headers and body) sent with the service's standard headers on the one HTTP client, and the
//! header and entity helpers its operations share.

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, Response};

use super::encode;
use crate::azure::connection::{StorageAuth, StorageConnection};
use crate::azure::http::{Auth, Client, Request};
use crate::azure::{AzureError, Policy};
use crate::permissions::Operation;
use crate::tables::entity::strip_annotations;
use crate::tables::keys::{check_keys, is_valid_table_name};
use crate::tables::port::Entity;

/// REST version: the oldest that supports Entra ID tokens; accepted by Azurite 3.35 and Azure.
const VERSION: &str = "2019-02-02";

/// Table access for one storage connection.
pub struct TableRestClient {
    pub(super) base: String,
    pub(super) prefix: String,
    client: Client,
}

crate::telemetry::debug_fields!(TableRestClient { base, prefix });

/// A request to send: the operation (for the 403's permission and the logs) and its parts.
pub(super) struct Call<'a> {
    pub(super) op: Operation,
    pub(super) method: Method,
    /// Path below the service URL (`Tables`, `t(PartitionKey='…',RowKey='…')`, `t()`).
    pub(super) path: &'a str,
    /// Already encoded query parameters.
    pub(super) query: Vec<String>,
    /// Extra headers (`If-Match`, `Prefer`, a batch's content type).
    pub(super) headers: HeaderMap,
    /// JSON (or multipart) body, if any.
    pub(super) body: Option<Vec<u8>>,
    /// A second operation whose permission the call needs as well (a transaction that deletes).
    pub(super) also: Option<Operation>,
}

impl<'a> Call<'a> {
    /// `op` as `method` on `path`, without query, extra headers or body.
    pub(super) fn new(op: Operation, method: Method, path: &'a str) -> Self {
        let (query, headers, body) = (Vec::new(), HeaderMap::new(), None);
        Self {
            op,
            method,
            path,
            query,
            headers,
            body,
            also: None,
        }
    }
}

impl TableRestClient {
    /// Builds a client for `conn`; every table name is prefixed with `prefix`. No request is made.
    ///
    /// # Errors
    /// `Permanent` when the client cannot be built (managed identity over http, no identity).
    pub fn new(conn: &StorageConnection, prefix: &str) -> Result<Self, AzureError> {
        let identity = matches!(conn.auth, StorageAuth::ManagedIdentity { .. });
        if identity && conn.table.scheme() != "https" {
            return Err(AzureError::Permanent(format!(
                "{}: identity-based tables need https",
                conn.setting
            )));
        }
        let auth = Auth::storage(conn, "t")?;
        let timeouts = conn.timeouts;
        let client = Client::new(
            &conn.setting,
            Some(&conn.table),
            auth,
            timeouts,
            Policy::STORAGE,
        )?;
        Ok(Self {
            base: conn.table.as_str().trim_end_matches('/').to_owned(),
            prefix: prefix.to_owned(),
            client,
        })
    }

    /// The full table name, validated (the service answers 400 for invalid names anyway).
    pub(super) fn table(&self, table: &str) -> Result<String, AzureError> {
        let name = format!("{}{table}", self.prefix);
        if is_valid_table_name(&name) {
            Ok(name)
        } else {
            Err(AzureError::Permanent(format!(
                "invalid table name {name:?}"
            )))
        }
    }

    /// The entity path, after checking the keys: the service answers 400 for `/ \\ # ?` (Azurite
    /// even 500, which would be retried), so invalid keys fail here, permanently and at once.
    pub(super) fn entity_path(
        &self,
        table: &str,
        pk: &str,
        rk: &str,
    ) -> Result<String, AzureError> {
        check_keys(pk, rk)?;
        Ok(encode::entity_path(&self.table(table)?, pk, rk))
    }

    /// Sends `call` on `table` with the service's standard headers.
    pub(super) async fn send(&self, table: &str, call: Call<'_>) -> Result<Response, AzureError> {
        let mut url = format!("{}/{}", self.base, call.path);
        if !call.query.is_empty() {
            url = format!("{url}?{}", call.query.join("&"));
        }
        let url =
            url::Url::parse(&url).map_err(|e| AzureError::Permanent(format!("table URL: {e}")))?;
        let scope = format!("table {}{table}", self.prefix);
        let mut role = call.op.missing(&scope);
        if let Some(also) = call.also {
            role = format!("{role} and {}", also.missing(&scope));
        }
        let mut req = Request::new(call.method, url, &role).op(call.op.name());
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        for (name, value) in [
            ("x-ms-version", VERSION),
            ("x-ms-date", &date),
            ("DataServiceVersion", "3.0"),
            ("MaxDataServiceVersion", "3.0;NetFx"),
            ("Accept", "application/json;odata=minimalmetadata"),
        ] {
            req.headers.insert(name, header(value)?);
        }
        if let Some(body) = call.body {
            // A batch brings its own (multipart) content type, in its headers.
            req = req.body(body, "application/json");
        }
        req.headers.extend(call.headers);
        self.client.send(&req).await
    }
}

/// A header value from text we produced (ETags echo what the service sent).
pub(super) fn header(v: &str) -> Result<HeaderValue, AzureError> {
    HeaderValue::from_str(v).map_err(|_| AzureError::Permanent("invalid header value".to_owned()))
}

/// The text of response header `name`, when there is one.
pub(super) fn header_text(res: &Response, name: &str) -> Option<String> {
    let value = res.headers().get(name)?;
    value.to_str().ok().map(str::to_owned)
}

/// The `ETag` response header.
pub(super) fn etag_of(res: &Response) -> Result<String, AzureError> {
    header_text(res, "etag")
        .ok_or_else(|| AzureError::Permanent("response without ETag".to_owned()))
}

/// Removes what the service adds to every entity so results compare equal across implementations.
pub(super) fn clean(mut entity: Entity) -> Entity {
    strip_annotations(&mut entity);
    entity.remove("Timestamp");
    entity
}

pub(super) fn if_match(etag: &str) -> Result<HeaderMap, AzureError> {
    let mut h = HeaderMap::new();
    h.insert("If-Match", header(etag)?);
    Ok(h)
}

pub(super) fn json(entity: &Entity) -> Result<Vec<u8>, AzureError> {
    serde_json::to_vec(entity).map_err(|e| AzureError::Permanent(format!("entity: {e}")))
}
