//! [`TableStore`] over the Azure Table Storage REST API (own client on reqwest).
//!
//! PLACEHOLDER: filled in by the storage work package (see `tests/e2e/storage_contract.rs`).

use async_trait::async_trait;

use super::{Entity, Filter, QueryPage, Stored, TableError, TableStore, WriteMode};
use crate::storage::connection::StorageConnection;

/// Table access for one storage connection.
#[derive(Debug)]
pub struct TableRestClient {
    prefix: String,
}

impl TableRestClient {
    /// Builds a client for `conn`; every table name is prefixed with `prefix`.
    ///
    /// # Errors
    /// `Permanent` when the client cannot be built.
    pub fn new(conn: &StorageConnection, prefix: &str) -> Result<Self, TableError> {
        let _ = conn;
        Ok(Self { prefix: prefix.to_owned() })
    }
}

fn pending() -> TableError {
    TableError::Permanent("TableRestClient pending".into())
}

#[async_trait]
impl TableStore for TableRestClient {
    async fn ensure_table(&self, _table: &str) -> Result<(), TableError> {
        let _ = &self.prefix;
        Err(pending())
    }
    async fn get(&self, _t: &str, _pk: &str, _rk: &str) -> Result<Option<Stored>, TableError> {
        Err(pending())
    }
    async fn write(&self, _t: &str, _e: &Entity, _m: WriteMode) -> Result<String, TableError> {
        Err(pending())
    }
    async fn delete(&self, _t: &str, _pk: &str, _rk: &str, _etag: Option<&str>) -> Result<(), TableError> {
        Err(pending())
    }
    async fn query(&self, _t: &str, _f: Option<&Filter>, _top: Option<u32>, _c: Option<String>) -> Result<QueryPage, TableError> {
        Err(pending())
    }
}
