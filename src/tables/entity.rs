//! Reading and writing the properties of an [`Entity`]: 64-bit integers, strings, lists and
//! whole records, and the OData annotations the service adds.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::de::value::{Error as RecordError, MapDeserializer};
use serde_json::Value;

use super::port::Entity;

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
