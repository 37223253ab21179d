//! The table port itself: the [`TableStore`] seam, the [`Entity`] it reads and writes, an entity
//! read back with its ETag ([`Stored`]), the [`WriteMode`]s of a batch and its limit, and a page of
//! a query ([`QueryPage`]).

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::filter::Filter;
use crate::azure::AzureError;

/// An entity: `PartitionKey`, `RowKey` and properties. Values are JSON strings, numbers or booleans.
/// 64-bit integers travel as strings annotated `Prop@odata.type = Edm.Int64` (see
/// [`int64`](super::entity::int64)).
pub type Entity = Map<String, Value>;

/// An entity read back together with its ETag.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The entity, without OData annotations.
    pub entity: Entity,
    /// Opaque ETag for optimistic concurrency.
    pub etag: String,
}

/// How a write treats an existing entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteMode {
    /// Insert only; `Conflict` if the entity exists.
    Insert,
    /// Insert or replace, unconditionally.
    Upsert,
    /// Replace only if the stored ETag equals this one; `PreconditionFailed` otherwise,
    /// `NotFound` if the entity is gone.
    IfMatch(String),
    /// Remove the entity of these keys if its ETag equals this one (`*`: whatever it is);
    /// `NotFound` if it is gone. What a [`TableStore::batch`] removes rows with, so that a row
    /// leaves in the same transaction as the others change.
    Delete(String),
}

/// Most writes in one [`TableStore::batch`] (the service's limit for an entity group transaction).
pub const MAX_BATCH: usize = 100;

/// Independent table calls one task keeps in flight at once (one partition's writes, one
/// partition's check): enough to hide a round trip behind the others, few enough that one task
/// does not crowd out the instance's other work.
pub const IN_FLIGHT: usize = 16;

/// One page of a query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryPage {
    /// Entities in (PartitionKey, RowKey) order.
    pub items: Vec<Stored>,
    /// Opaque continuation for the next page; `None` at the end.
    pub next: Option<String>,
}

/// Entity-level table operations.
#[async_trait]
pub trait TableStore: Send + Sync + 'static {
    /// Creates the table if it does not exist (idempotent).
    async fn ensure_table(&self, table: &str) -> Result<(), AzureError>;

    /// Reads one entity; `Ok(None)` when it does not exist.
    async fn get(&self, table: &str, pk: &str, rk: &str) -> Result<Option<Stored>, AzureError>;

    /// Writes a whole entity (the entity must carry `PartitionKey` and `RowKey`); returns the new ETag
    /// (`""` for [`WriteMode::Delete`]).
    async fn write(
        &self,
        table: &str,
        entity: &Entity,
        mode: WriteMode,
    ) -> Result<String, AzureError>;

    /// Deletes one entity; `etag = None` deletes unconditionally. `NotFound` if already gone.
    async fn delete(
        &self,
        table: &str,
        pk: &str,
        rk: &str,
        etag: Option<&str>,
    ) -> Result<(), AzureError>;

    /// The names of the tables that start with `prefix`, in order (every page).
    async fn list_tables(&self, prefix: &str) -> Result<Vec<String>, AzureError>;

    /// Deletes a table with every entity in it: one call however many rows it holds. `NotFound`
    /// if it does not exist.
    async fn delete_table(&self, table: &str) -> Result<(), AzureError>;

    /// Queries with an optional filter, at most `top` entities per page (service maximum 1000).
    async fn query(
        &self,
        table: &str,
        filter: Option<&Filter>,
        top: Option<u32>,
        continuation: Option<String>,
    ) -> Result<QueryPage, AzureError>;

    /// Writes `writes` (each entity carrying its keys, all in one partition, distinct rows, at most
    /// [`MAX_BATCH`]; deletes among them) as one entity group transaction: all or nothing, one
    /// round trip. Returns the new ETags in order. On an error nothing was written.
    ///
    /// # Errors
    /// The first failing write's error (`Conflict`, `PreconditionFailed`, `NotFound` for an absent
    /// row or table, …).
    async fn batch(
        &self,
        table: &str,
        writes: &[(Entity, WriteMode)],
    ) -> Result<Vec<String>, AzureError>;
}
