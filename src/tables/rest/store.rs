//! [`TableStore`] for [`TableRestClient`]: each operation is its REST call, sent as one call of
//! the HTTP client (the retry policy, the total timeout, one log line when it fails).

use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::client::{Call, TableRestClient, clean, etag_of, header, header_text, if_match, json};
use super::{batch, encode};
use crate::azure::AzureError;
use crate::permissions::Operation;
use crate::tables::entity::get_str;
use crate::tables::filter::Filter;
use crate::tables::port::{Entity, MAX_BATCH, QueryPage, Stored, TableStore, WriteMode};

/// `Prefer: return-no-content`: the service answers 204 rather than echoing the entity.
fn no_content() -> Result<HeaderMap, AzureError> {
    let mut headers = HeaderMap::new();
    headers.insert("Prefer", header("return-no-content")?);
    Ok(headers)
}

/// A body that broke off.
fn broken(what: &str, e: reqwest::Error) -> AzureError {
    AzureError::Transient(format!("{what}: {}", e.without_url()))
}

#[async_trait]
impl TableStore for TableRestClient {
    async fn ensure_table(&self, table: &str) -> Result<(), AzureError> {
        let name = serde_json::json!({ "TableName": self.table(table)? });
        let call = Call {
            headers: no_content()?,
            body: Some(name.to_string().into_bytes()),
            ..Call::new(Operation::CreateTable, Method::POST, "Tables")
        };
        match self.send(table, call).await {
            Ok(_) | Err(AzureError::Conflict) => Ok(()), // 409 TableAlreadyExists
            Err(e) => Err(e),
        }
    }

    async fn get(&self, table: &str, pk: &str, rk: &str) -> Result<Option<Stored>, AzureError> {
        let path = self.entity_path(table, pk, rk)?;
        let call = Call::new(Operation::QueryEntities, Method::GET, &path);
        let res = match self.send(table, call).await {
            Ok(res) => res,
            Err(AzureError::NotFound) => return Ok(None), // entity or table missing
            Err(e) => return Err(e),
        };
        let etag = etag_of(&res)?;
        let entity: Entity = res.json().await.map_err(|e| broken("entity body", e))?;
        let entity = clean(entity);
        Ok(Some(Stored { entity, etag }))
    }

    async fn write(
        &self,
        table: &str,
        entity: &Entity,
        mode: WriteMode,
    ) -> Result<String, AzureError> {
        let name = self.table(table)?;
        let (pk, rk) = batch::keys(entity, &mut None)?;
        let path = self.entity_path(table, pk, rk)?;
        let (op, headers, path) = match &mode {
            // POST to the table: 409 EntityAlreadyExists when the key is taken.
            WriteMode::Insert => (Operation::InsertEntity, no_content()?, &name),
            // PUT without If-Match = Insert Or Replace Entity.
            WriteMode::Upsert => (Operation::InsertOrReplaceEntity, HeaderMap::new(), &path),
            // PUT with If-Match = Update Entity: 412 if changed, 404 if gone.
            WriteMode::IfMatch(etag) => (Operation::UpdateEntity, if_match(etag)?, &path),
            WriteMode::Delete(etag) => (Operation::DeleteEntity, if_match(etag)?, &path),
        };
        let delete = matches!(mode, WriteMode::Delete(_));
        let call = Call {
            headers,
            body: (!delete).then(|| json(entity)).transpose()?,
            ..Call::new(op, batch::method(&mode), path)
        };
        let res = self.send(table, call).await?;
        if delete {
            return Ok(String::new());
        }
        etag_of(&res)
    }

    async fn delete(
        &self,
        table: &str,
        pk: &str,
        rk: &str,
        etag: Option<&str>,
    ) -> Result<(), AzureError> {
        let path = self.entity_path(table, pk, rk)?;
        let call = Call {
            headers: if_match(etag.unwrap_or("*"))?,
            ..Call::new(Operation::DeleteEntity, Method::DELETE, &path)
        };
        self.send(table, call).await.map(drop)
    }

    async fn list_tables(&self, prefix: &str) -> Result<Vec<String>, AzureError> {
        // Names from `prefix` up to the next name that does not start with it (`~` sorts after
        // every character a table name may hold).
        let from = format!("{}{prefix}", self.prefix);
        let filter = format!(
            "TableName ge '{}' and TableName lt '{}~'",
            from.replace('\'', "''"),
            from.replace('\'', "''")
        );
        let mut names = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let mut query = vec![format!("$filter={}", encode::enc(&filter))];
            if let Some(n) = &next {
                query.push(format!("NextTableName={}", encode::enc(n)));
            }
            let call = Call {
                query,
                ..Call::new(Operation::QueryTables, Method::GET, "Tables")
            };
            let res = self.send(prefix, call).await?;
            next = header_text(&res, "x-ms-continuation-NextTableName").filter(|v| !v.is_empty());
            let body: Value = res.json().await.map_err(|e| broken("tables body", e))?;
            let page = body
                .get("value")
                .and_then(Value::as_array)
                .ok_or_else(|| AzureError::Permanent("tables response without value".to_owned()))?;
            names.extend(
                page.iter()
                    .filter_map(|t| t.get("TableName").and_then(Value::as_str))
                    .filter_map(|t| t.strip_prefix(self.prefix.as_str()))
                    .filter(|t| t.starts_with(prefix))
                    .map(str::to_owned),
            );
            if next.is_none() {
                break;
            }
        }
        names.sort();
        Ok(names)
    }

    async fn delete_table(&self, table: &str) -> Result<(), AzureError> {
        let path = format!("Tables('{}')", self.table(table)?);
        let call = Call::new(Operation::DeleteTable, Method::DELETE, &path);
        self.send(table, call).await.map(drop)
    }

    async fn query(
        &self,
        table: &str,
        filter: Option<&Filter>,
        top: Option<u32>,
        continuation: Option<String>,
    ) -> Result<QueryPage, AzureError> {
        let next =
            match continuation.as_deref() {
                Some(c) => Some(encode::unpack_continuation(c).ok_or_else(|| {
                    AzureError::Permanent("invalid continuation token".to_owned())
                })?),
                None => None,
            };
        let path = format!("{}()", self.table(table)?);
        let odata = filter.map(Filter::to_odata);
        let call = Call {
            query: encode::query_params(odata.as_deref(), top, next.as_ref()),
            ..Call::new(Operation::QueryEntities, Method::GET, &path)
        };
        let res = self.send(table, call).await?;
        let next = encode::pack_continuation(
            header_text(&res, "x-ms-continuation-NextPartitionKey").as_deref(),
            header_text(&res, "x-ms-continuation-NextRowKey").as_deref(),
        );
        let body: Value = res.json().await.map_err(|e| broken("query body", e))?;
        let items = body
            .get("value")
            .and_then(Value::as_array)
            .ok_or_else(|| AzureError::Permanent("query response without value".to_owned()))?
            .iter()
            .filter_map(|v| v.as_object().cloned())
            .map(|e| {
                let etag = get_str(&e, "odata.etag").unwrap_or_default().to_owned();
                let entity = clean(e);
                Stored { entity, etag }
            })
            .collect();
        Ok(QueryPage { items, next })
    }

    async fn batch(
        &self,
        table: &str,
        writes: &[(Entity, WriteMode)],
    ) -> Result<Vec<String>, AzureError> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        if writes.len() > MAX_BATCH {
            let why = format!(
                "a batch holds at most {MAX_BATCH} writes, not {}",
                writes.len()
            );
            return Err(AzureError::refused(400, "InvalidInput", &why));
        }
        let name = self.table(table)?;
        let mut pk = None;
        let mut parts = Vec::with_capacity(writes.len());
        for (entity, mode) in writes {
            let (p, r) = batch::keys(entity, &mut pk)?;
            let path = match mode {
                WriteMode::Insert => name.clone(),
                _ => self.entity_path(table, p, r)?,
            };
            let body = match mode {
                WriteMode::Delete(_) => Vec::new(),
                _ => json(entity)?,
            };
            parts.push(batch::Part {
                mode,
                url: format!("{}/{path}", self.base),
                json: body,
            });
        }
        self.transact(table, &parts).await
    }
}

impl TableRestClient {
    /// Sends `parts` on `table` as one entity group transaction: the ETag of each (empty for a
    /// delete). A 403 names the permission of Insert Or Replace Entity, which authorizes every
    /// write mode, and Delete Entity's too when the transaction removes a row.
    async fn transact(
        &self,
        table: &str,
        parts: &[batch::Part<'_>],
    ) -> Result<Vec<String>, AzureError> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            header(&batch::content_type(&id))?,
        );
        let deletes = parts.iter().any(|p| matches!(p.mode, WriteMode::Delete(_)));
        let call = Call {
            headers,
            body: Some(batch::body(&id, parts)),
            also: deletes.then_some(Operation::DeleteEntity),
            ..Call::new(Operation::InsertOrReplaceEntity, Method::POST, "$batch")
        };
        let res = self.send(table, call).await?;
        let text = res.text().await.map_err(|e| broken("batch body", e))?;
        batch::answer(&text, parts.len())
    }
}
