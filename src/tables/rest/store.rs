//! [`TableStore`] for [`TableRestClient`]: each operation is one guarded call (total deadline,
//! one log line when it fails) around the REST calls in the parent module.

use async_trait::async_trait;

use super::TableRestClient;
use crate::tables::{Entity, Filter, QueryPage, Stored, TableError, TableStore, WriteMode};

#[async_trait]
impl TableStore for TableRestClient {
    async fn ensure_table(&self, table: &str) -> Result<(), TableError> {
        let call = self.raw_ensure_table(table);
        self.guard.run("table.ensure_table", call).await
    }

    async fn get(&self, table: &str, pk: &str, rk: &str) -> Result<Option<Stored>, TableError> {
        self.guard
            .run("table.get", self.raw_get(table, pk, rk))
            .await
    }

    async fn write(
        &self,
        table: &str,
        entity: &Entity,
        mode: WriteMode,
    ) -> Result<String, TableError> {
        let call = self.raw_write(table, entity, mode);
        self.guard.run("table.write", call).await
    }

    async fn delete(
        &self,
        table: &str,
        pk: &str,
        rk: &str,
        etag: Option<&str>,
    ) -> Result<(), TableError> {
        let call = self.raw_delete(table, pk, rk, etag);
        self.guard.run("table.delete", call).await
    }

    async fn query(
        &self,
        table: &str,
        filter: Option<&Filter>,
        top: Option<u32>,
        continuation: Option<String>,
    ) -> Result<QueryPage, TableError> {
        let call = self.raw_query(table, filter, top, continuation);
        self.guard.run("table.query", call).await
    }
}
