//! [`TableStore`] for [`TableRestClient`]: each operation is its REST call, run as one guarded
//! call (total deadline, one log line when it fails).

use async_trait::async_trait;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::http::{self, Call};
use super::{TableRestClient, batch, encode};
use crate::tables::{
    Entity, Filter, MAX_BATCH, QueryPage, Stored, TableError, TableStore, WriteMode, get_str,
};

/// `Prefer: return-no-content`: the service answers 204 rather than echoing the entity.
fn no_content() -> Result<HeaderMap, TableError> {
    let mut headers = HeaderMap::new();
    headers.insert("Prefer", http::header("return-no-content")?);
    Ok(headers)
}

#[async_trait]
impl TableStore for TableRestClient {
    async fn ensure_table(&self, table: &str) -> Result<(), TableError> {
        let call = async {
            let name = serde_json::json!({ "TableName": self.table(table)? });
            let body =
                serde_json::to_vec(&name).map_err(|e| TableError::Permanent(e.to_string()))?;
            let (headers, body) = (no_content()?, Some(body));
            let res = self
                .send(Call {
                    headers,
                    body,
                    ..Call::new(Method::POST, "Tables")
                })
                .await?;
            match res.status() {
                s if s.is_success() || s == StatusCode::CONFLICT => Ok(()), // 409 TableAlreadyExists
                _ => Err(http::fail(res).await),
            }
        };
        self.guard.run("table.ensure_table", call).await
    }

    async fn get(&self, table: &str, pk: &str, rk: &str) -> Result<Option<Stored>, TableError> {
        let call = async {
            let path = self.entity_path(table, pk, rk)?;
            let res = self.send(Call::new(Method::GET, &path)).await?;
            match res.status() {
                StatusCode::NOT_FOUND => Ok(None), // entity or table missing
                s if s.is_success() => {
                    let etag = http::etag_of(&res)?;
                    let entity: Entity = res.json().await.map_err(|e| {
                        TableError::Transient(format!("entity body: {}", e.without_url()))
                    })?;
                    let entity = http::clean(entity);
                    Ok(Some(Stored { entity, etag }))
                }
                _ => Err(http::fail(res).await),
            }
        };
        self.guard.run("table.get", call).await
    }

    async fn write(
        &self,
        table: &str,
        entity: &Entity,
        mode: WriteMode,
    ) -> Result<String, TableError> {
        let call = async {
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
                WriteMode::Insert => (Method::POST, name.as_str(), no_content()?),
                // PUT without If-Match = Insert Or Replace Entity.
                WriteMode::Upsert => (Method::PUT, path.as_str(), HeaderMap::new()),
                // PUT with If-Match = Update Entity: 412 if changed, 404 if gone.
                WriteMode::IfMatch(etag) => (Method::PUT, path.as_str(), http::if_match(etag)?),
                WriteMode::Delete(etag) => (Method::DELETE, path.as_str(), http::if_match(etag)?),
            };
            let delete = matches!(mode, WriteMode::Delete(_));
            let body = (!delete).then(|| http::json(entity)).transpose()?;
            let request = Call {
                headers,
                body,
                ..Call::new(method, path)
            };
            let res = http::success(self.send(request).await?).await?;
            if delete {
                return Ok(String::new());
            }
            http::etag_of(&res)
        };
        self.guard.run("table.write", call).await
    }

    async fn delete(
        &self,
        table: &str,
        pk: &str,
        rk: &str,
        etag: Option<&str>,
    ) -> Result<(), TableError> {
        let call = async {
            let path = self.entity_path(table, pk, rk)?;
            let headers = http::if_match(etag.unwrap_or("*"))?;
            let request = Call {
                headers,
                ..Call::new(Method::DELETE, &path)
            };
            http::success(self.send(request).await?).await.map(drop)
        };
        self.guard.run("table.delete", call).await
    }

    async fn query(
        &self,
        table: &str,
        filter: Option<&Filter>,
        top: Option<u32>,
        continuation: Option<String>,
    ) -> Result<QueryPage, TableError> {
        let call = async {
            let next = match continuation.as_deref() {
                Some(c) => Some(encode::unpack_continuation(c).ok_or_else(|| {
                    TableError::Permanent("invalid continuation token".to_owned())
                })?),
                None => None,
            };
            let path = format!("{}()", self.table(table)?);
            let odata = filter.map(Filter::to_odata);
            let query = encode::query_params(odata.as_deref(), top, next.as_ref());
            let request = Call {
                query,
                ..Call::new(Method::GET, &path)
            };
            let res = http::success(self.send(request).await?).await?;
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
                    let entity = http::clean(e);
                    Stored { entity, etag }
                })
                .collect();
            Ok(QueryPage { items, next })
        };
        self.guard.run("table.query", call).await
    }

    async fn batch(
        &self,
        table: &str,
        writes: &[(Entity, WriteMode)],
    ) -> Result<Vec<String>, TableError> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        if writes.len() > MAX_BATCH {
            return Err(TableError::Rejected(format!(
                "a batch holds at most {MAX_BATCH} writes, not {}",
                writes.len()
            )));
        }
        let call = async {
            let name = self.table(table)?;
            let mut pk = None;
            let mut parts = Vec::with_capacity(writes.len());
            for (entity, mode) in writes {
                let (p, r) = batch::keys(entity, &mut pk)?;
                let path = match mode {
                    WriteMode::Insert => name.clone(),
                    _ => self.entity_path(table, p, r)?,
                };
                let json = match mode {
                    WriteMode::Delete(_) => Vec::new(),
                    _ => http::json(entity)?,
                };
                parts.push(batch::Part {
                    mode,
                    url: format!("{}/{path}", self.base),
                    json,
                });
            }
            self.transact(&parts).await
        };
        self.guard.run("table.batch", call).await
    }
}

impl TableRestClient {
    /// Sends `parts` as one entity group transaction: the ETag of each (empty for a delete).
    async fn transact(&self, parts: &[batch::Part<'_>]) -> Result<Vec<String>, TableError> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            http::header(&batch::content_type(&id))?,
        );
        let request = Call {
            headers,
            body: Some(batch::body(&id, parts)),
            ..Call::new(Method::POST, "$batch")
        };
        let res = http::success(self.send(request).await?).await?;
        let text = res
            .text()
            .await
            .map_err(|e| TableError::Transient(format!("batch body: {}", e.without_url())))?;
        batch::answer(&text, parts.len())
    }
}
