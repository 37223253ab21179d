//! Output binding values of one invocation, serialized once when they are produced.
//!
//! Values are kept as JSON text ([`RawValue`]) and written verbatim. A binding given several values
//! is sent as an array (one message per item, §4.2 of the protocol).

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// Output binding values in the order they were first added.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    entries: Vec<(String, Vec<Box<RawValue>>)>,
}

impl Outputs {
    /// No outputs.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when no binding has a value.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a value to `binding`; one that cannot be serialized (a bug) is dropped and logged.
    pub fn push(&mut self, binding: &str, value: &(impl Serialize + ?Sized)) {
        let raw = match serde_json::value::to_raw_value(value) {
            Ok(raw) => raw,
            Err(e) => {
                tracing::error!(binding, error = %e, "an output value could not be serialized; it was dropped");
                return;
            }
        };
        match self.entries.iter_mut().find(|(name, _)| name == binding) {
            Some((_, values)) => values.push(raw),
            None => self.entries.push((binding.to_owned(), vec![raw])),
        }
    }

    /// Removes and returns every value of `binding`.
    #[cfg(test)]
    pub fn take(&mut self, binding: &str) -> Vec<Box<RawValue>> {
        match self.entries.iter().position(|(name, _)| name == binding) {
            Some(i) => self.entries.remove(i).1,
            None => Vec::new(),
        }
    }

    /// Every value, one item per message, with its binding name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        self.entries
            .iter()
            .flat_map(|(name, values)| values.iter().map(move |v| (name.as_str(), &**v)))
    }

    /// The values of `binding` as the host will receive them, decoded (tests and tools).
    pub fn value(&self, binding: &str) -> Option<Value> {
        let (_, values) = self.entries.iter().find(|(name, _)| name == binding)?;
        let mut decoded: Vec<Value> = values.iter().map(|v| decode(v)).collect();
        Some(if decoded.len() == 1 {
            decoded.swap_remove(0)
        } else {
            Value::Array(decoded)
        })
    }
}

/// A `RawValue` is valid JSON by construction, so decoding it cannot fail.
pub(crate) fn decode(raw: &RawValue) -> Value {
    serde_json::from_str(raw.get()).unwrap_or(Value::Null)
}

impl PartialEq for Outputs {
    fn eq(&self, other: &Self) -> bool {
        let texts = |o: &Self| {
            o.entries
                .iter()
                .map(|(n, vs)| (n.clone(), vs.iter().map(|v| v.get().to_owned()).collect()))
                .collect::<Vec<(String, Vec<String>)>>()
        };
        texts(self) == texts(other)
    }
}

impl Serialize for Outputs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.entries.len()))?;
        for (name, values) in &self.entries {
            match values.as_slice() {
                [one] => map.serialize_entry(name, one)?,
                many => map.serialize_entry(name, many)?,
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn one_value_is_sent_as_itself_and_several_as_an_array_in_first_added_order() {
        let mut o = Outputs::new();
        o.push("q", &json!({"a": 1}));
        o.push("res", &json!({"statusCode": 200}));
        o.push("q", &json!({"a": 2}));
        assert_eq!(
            serde_json::to_string(&o).expect("json"),
            r#"{"q":[{"a":1},{"a":2}],"res":{"statusCode":200}}"#
        );
        assert_eq!(o.value("q"), Some(json!([{"a": 1}, {"a": 2}])));
        assert_eq!(o.value("res"), Some(json!({"statusCode": 200})));
        assert_eq!(o.value("none"), None);
        let items: Vec<_> = o.iter().map(|(n, v)| (n, v.get())).collect();
        assert_eq!(
            items,
            [
                ("q", r#"{"a":1}"#),
                ("q", r#"{"a":2}"#),
                ("res", r#"{"statusCode":200}"#)
            ]
        );
    }

    #[test]
    fn take_removes_a_binding_and_empty_outputs_serialize_as_an_empty_object() {
        let mut o = Outputs::new();
        assert!(o.is_empty());
        o.push("q", &json!({"a": 1}));
        assert_eq!(o.take("q").len(), 1);
        assert!(o.take("q").is_empty());
        assert!(o.is_empty());
        assert_eq!(serde_json::to_string(&o).expect("json"), "{}");
    }

    #[test]
    fn equality_compares_the_json_text() {
        let (mut a, mut b) = (Outputs::new(), Outputs::new());
        a.push("q", &json!({"a": 1}));
        b.push("q", &json!({"a": 1}));
        assert_eq!(a, b);
        b.push("q", &json!({"a": 2}));
        assert_ne!(a, b);
    }
}
