//! The table port: entity-level access to Azure Table Storage.
//!
//! Owns [`TableStore`] (the seam), [`Entity`] and the structured [`Filter`] (rendered to OData by
//! the REST client, evaluated directly by the fake, so both agree without an OData parser); its
//! failures are the one [`AzureError`]. Knows nothing about recordings or sessions.
//! Implementations: [`rest::TableRestClient`] (the Table REST API on [`crate::azure::http`]) and
//! the test kit's in-memory fake (`bastion-testkit`, `tables::memory`); one contract suite covers
//! both. The kit's `tables::intercept` wraps either and runs a hook before every call (counting
//! round trips, recording, fault injection).
//! [`ops`] holds the operations every domain shares, among them the one ETag read-modify-write.
//! [`TableStore::batch`] writes (or deletes, [`WriteMode::Delete`]) up to [`MAX_BATCH`] entities
//! of one partition in one round trip.

pub mod filter;
#[cfg(test)]
mod key_builders_tests;
pub mod keys;
pub mod lease;
pub mod ops;
pub mod rest;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::de::value::{Error as RecordError, MapDeserializer};
use serde_json::{Map, Value};

use crate::azure::AzureError;

pub use filter::Filter;

/// An entity: `PartitionKey`, `RowKey` and properties. Values are JSON strings, numbers or booleans.
/// 64-bit integers travel as strings annotated `Prop@odata.type = Edm.Int64` (see [`int64`]).
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
#[derive(Debug, Clone, PartialEq)]
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

/// A shared store is a store: decorators can wrap the app's `Arc<dyn TableStore>` as it is.
#[async_trait]
impl<T: TableStore + ?Sized> TableStore for std::sync::Arc<T> {
    async fn ensure_table(&self, table: &str) -> Result<(), AzureError> {
        (**self).ensure_table(table).await
    }
    async fn get(&self, table: &str, pk: &str, rk: &str) -> Result<Option<Stored>, AzureError> {
        (**self).get(table, pk, rk).await
    }
    async fn write(
        &self,
        table: &str,
        entity: &Entity,
        mode: WriteMode,
    ) -> Result<String, AzureError> {
        (**self).write(table, entity, mode).await
    }
    async fn delete(
        &self,
        table: &str,
        pk: &str,
        rk: &str,
        etag: Option<&str>,
    ) -> Result<(), AzureError> {
        (**self).delete(table, pk, rk, etag).await
    }
    async fn list_tables(&self, prefix: &str) -> Result<Vec<String>, AzureError> {
        (**self).list_tables(prefix).await
    }
    async fn delete_table(&self, table: &str) -> Result<(), AzureError> {
        (**self).delete_table(table).await
    }
    async fn query(
        &self,
        table: &str,
        filter: Option<&Filter>,
        top: Option<u32>,
        continuation: Option<String>,
    ) -> Result<QueryPage, AzureError> {
        (**self).query(table, filter, top, continuation).await
    }
    async fn batch(
        &self,
        table: &str,
        writes: &[(Entity, WriteMode)],
    ) -> Result<Vec<String>, AzureError> {
        (**self).batch(table, writes).await
    }
}

/// Encodes a 64-bit integer property the way the Table service expects it (string value plus an
/// `Edm.Int64` annotation), so values above `i32::MAX` survive a round trip.
pub fn int64(entity: &mut Entity, name: &str, value: i64) {
    entity.insert(name.to_owned(), Value::String(value.to_string()));
    entity.insert(
        format!("{name}@odata.type"),
        Value::String("Edm.Int64".to_owned()),
    );
}

/// Reads an integer property written by [`int64`] (or as a plain JSON number).
pub fn get_i64(entity: &Entity, name: &str) -> Option<i64> {
    match entity.get(name)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A row with keys `pk` and `rk` and nothing else yet.
pub fn keyed(pk: impl Into<String>, rk: impl Into<String>) -> Entity {
    Entity::from_iter([
        ("PartitionKey".to_owned(), Value::String(pk.into())),
        ("RowKey".to_owned(), Value::String(rk.into())),
    ])
}

/// The entity a `json!` object spells (any other value: an empty entity).
pub fn entity(v: Value) -> Entity {
    match v {
        Value::Object(m) => m,
        _ => Entity::new(),
    }
}

/// Reads a string property.
pub fn get_str<'a>(entity: &'a Entity, name: &str) -> Option<&'a str> {
    entity.get(name).and_then(Value::as_str)
}

/// Reads a record of string properties, named as `serde` names its fields: a property absent or
/// not a string reads as the field's default (as [`get_str`]); other properties are ignored.
pub fn get_record<T: DeserializeOwned + Default>(entity: &Entity) -> T {
    let strings = entity
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)));
    T::deserialize(MapDeserializer::<_, RecordError>::new(strings)).unwrap_or_default()
}

/// Writes `record`'s properties into `entity`, named as `serde` names its fields.
pub fn put_record<T: Serialize>(entity: &mut Entity, record: &T) {
    if let Ok(Value::Object(m)) = serde_json::to_value(record) {
        entity.extend(m);
    }
}

/// Reads a comma-separated list property (`HoldIds`, `RecordingIds`), without empty items.
pub fn get_list<'a>(entity: &'a Entity, name: &str) -> impl Iterator<Item = &'a str> {
    get_str(entity, name)
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
}

/// Drops `@odata.*` annotations so stored entities compare equal across implementations.
pub fn strip_annotations(entity: &mut Entity) {
    entity.retain(|k, _| !is_annotation(k));
}

/// True for an OData annotation key (`odata.etag`, `Prop@odata.type`).
pub fn is_annotation(key: &str) -> bool {
    // The byte search for `@` first: a substring search per key is the costly part on the
    // in-memory store, which drops them from every entity it stores.
    key.starts_with("odata.") || (key.contains('@') && key.contains("@odata."))
}
