//! Value decoding rules of the Functions host (how it encodes binding data and metadata values).
//!
//! Top-level `Data.<name>` / `Metadata.<key>` values arrive as JSON objects, as double-encoded JSON
//! strings (`"\"text\""`, numbers as `"1"`), or as base64 (bytes). Which one is decided by the
//! binding type, never by sniffing. Dates lose their `Z` and sub-second digits on the way, so they
//! are parsed leniently.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Why a value could not be decoded. Always poison: the same payload will never decode.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The binding or metadata key is absent.
    #[error("`{0}` is missing")]
    Missing(String),
    /// Present, but of the wrong shape.
    #[error("`{name}` is malformed: {detail}")]
    Malformed {
        /// Binding or key name.
        name: String,
        /// What was wrong (no payload content, which may hold personal data).
        detail: String,
    },
}

impl DecodeError {
    pub(crate) fn malformed(name: &str, detail: impl std::fmt::Display) -> Self {
        Self::Malformed {
            name: name.to_owned(),
            detail: detail.to_string(),
        }
    }
}

/// A payload that cannot be decoded fails as poison input.
impl From<DecodeError> for super::failure::Failure {
    fn from(e: DecodeError) -> Self {
        Self::poison(e.to_string())
    }
}

/// Decodes an object-shaped binding (Event Grid event, `TimerInfo`): an object as is, or a JSON
/// string containing the object (tolerated because no raw capture has established the shape yet).
pub fn object<T: DeserializeOwned>(name: &str, v: &Value) -> Result<T, DecodeError> {
    let malformed = |e: serde_json::Error| DecodeError::malformed(name, e);
    let Value::String(s) = v else {
        return T::deserialize(v).map_err(malformed);
    };
    let inner: Value = serde_json::from_str(s).map_err(malformed)?;
    // A double-encoded string holding the JSON text: unwrap once more.
    let inner = match inner {
        Value::String(s2) => serde_json::from_str(&s2).map_err(malformed)?,
        other => other,
    };
    serde_json::from_value(inner).map_err(malformed)
}

/// Decodes a string binding (queue message text, string metadata): the JSON string is parsed once;
/// if that yields a string it was double-encoded and the inner text is the original. Text that is
/// not JSON at all is returned unchanged (single-encoded strings exist in older hosts).
pub fn text(name: &str, v: &Value) -> Result<String, DecodeError> {
    match v {
        Value::String(s) => Ok(match serde_json::from_str::<Value>(s) {
            Ok(Value::String(inner)) => inner,
            Ok(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
            _ => s.clone(),
        }),
        Value::Null => Err(DecodeError::Missing(name.to_owned())),
        other => Ok(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn double_encoded_strings_are_unwrapped() {
        assert_eq!(text("m", &json!("\"aaaaa\"")).expect("text"), "aaaaa");
        assert_eq!(
            text("m", &json!("\"{\\\"a\\\":1}\"")).expect("text"),
            "{\"a\":1}"
        );
        assert_eq!(text("m", &json!("plain text")).expect("text"), "plain text");
    }

    #[test]
    fn objects_arrive_as_objects_or_strings() {
        #[derive(serde::Deserialize)]
        struct E {
            a: u8,
        }
        assert_eq!(object::<E>("e", &json!({"a": 1})).expect("obj").a, 1);
        assert_eq!(object::<E>("e", &json!("{\"a\":2}")).expect("str").a, 2);
        assert_eq!(
            object::<E>("e", &json!("\"{\\\"a\\\":3}\""))
                .expect("double")
                .a,
            3
        );
        assert!(object::<E>("e", &json!("not json")).is_err());
        assert!(object::<E>("e", &json!(5)).is_err());
    }
}
