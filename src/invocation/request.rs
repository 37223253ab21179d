//! The request envelope `{"Data","Metadata"}` (protocol §3): read in one pass, entries kept as
//! positions in the shared body and decoded on demand by binding type.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::scan::{self, Entry};
use super::{DecodeError, Sys, decode};

/// The request envelope. Keys are matched case-insensitively, unknown keys ignored.
///
/// Entries are kept as positions in the request body (one shared copy) and decoded on demand,
/// straight into the type each function asks for: building a `Value` tree of the whole envelope
/// (which repeats the event under `Metadata.data`) was the largest single cost of an invocation,
/// and copying each entry out came next.
#[derive(Debug, Clone, Default)]
pub struct InvokeRequest {
    /// The request body the positions point into, checked as UTF-8 once: looking an entry up
    /// slices it without validating the text again.
    body: Arc<str>,
    /// Trigger and input bindings, by binding name, in body order.
    data: Vec<Entry>,
    /// Trigger metadata, plus `sys`, in body order.
    metadata: Vec<Entry>,
}

impl InvokeRequest {
    /// Parses the envelope. Both keys are always sent by the host, but either may be `{}`.
    ///
    /// # Errors
    /// `DecodeError` when the body is not a JSON object or `Data`/`Metadata` are not objects.
    pub fn parse(body: &Bytes) -> Result<Self, DecodeError> {
        let body: Arc<str> = std::str::from_utf8(body)
            .map_err(|e| DecodeError::malformed("body", e))?
            .into();
        // One pass over the body: the entries' values are only delimited, not decoded or copied.
        let (data, metadata) =
            scan::envelope(&body).map_err(|e| DecodeError::malformed("body", e))?;
        Ok(Self {
            data,
            metadata,
            body,
        })
    }

    /// A `Data` entry by binding name, as raw JSON text.
    ///
    /// # Errors
    /// `Missing` when absent or `null`.
    pub fn data_json(&self, name: &str) -> Result<&str, DecodeError> {
        self.lookup(&self.data, name)
            .ok_or_else(|| DecodeError::Missing(format!("Data.{name}")))
    }

    /// A `Data` entry by binding name, decoded as a JSON value.
    ///
    /// # Errors
    /// `Missing` when absent or `null`.
    pub fn data(&self, name: &str) -> Result<Value, DecodeError> {
        to_value(name, self.data_json(name)?)
    }

    /// An object-shaped `Data` entry (Event Grid event, timer info).
    ///
    /// # Errors
    /// `Missing` or `Malformed`.
    pub fn data_object<T: DeserializeOwned>(&self, name: &str) -> Result<T, DecodeError> {
        let raw = self.data_json(name)?;
        if raw.starts_with('"') {
            decode::object(name, &to_value(name, raw)?)
        } else {
            serde_json::from_str(raw).map_err(|e| DecodeError::malformed(name, e))
        }
    }

    /// A string `Data` entry (queue message), double-encoding removed.
    ///
    /// # Errors
    /// `Missing` or `Malformed`.
    pub fn data_text(&self, name: &str) -> Result<String, DecodeError> {
        decode::text(name, &self.data(name)?)
    }

    /// A `Metadata` entry decoded as text, if present.
    pub fn metadata_text(&self, key: &str) -> Option<String> {
        let v = to_value(key, self.lookup(&self.metadata, key)?).ok()?;
        decode::text(key, &v).ok()
    }

    /// The `sys` metadata; defaults when the host omitted it (it never does).
    pub fn sys(&self) -> Sys {
        self.lookup(&self.metadata, "sys")
            .and_then(|v| serde_json::from_str(v).ok())
            .unwrap_or_default()
    }

    /// The JSON text of the entry named `key`: an exact match first, then any case. A repeated
    /// name resolves to its last occurrence, as a JSON object read into a map would.
    fn lookup<'a>(&'a self, entries: &'a [Entry], key: &str) -> Option<&'a str> {
        let text = |r: &Range<usize>| self.body.get(r.clone());
        let name = |e: &'a Entry| e.name.text(&self.body);
        entries
            .iter()
            .rev()
            .find(|e| name(e) == key)
            .or_else(|| {
                entries
                    .iter()
                    .rev()
                    .find(|e| name(e).eq_ignore_ascii_case(key))
            })
            .and_then(|e| text(&e.value))
            .filter(|v| *v != "null")
    }
}

fn to_value(name: &str, raw: &str) -> Result<Value, DecodeError> {
    serde_json::from_str(raw).map_err(|e| DecodeError::malformed(name, e))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    fn parse(body: &str) -> Result<InvokeRequest, DecodeError> {
        InvokeRequest::parse(&Bytes::copy_from_slice(body.as_bytes()))
    }

    #[test]
    fn envelope_keys_are_case_insensitive_and_extras_ignored() {
        let r = parse(r#"{"data":{"x":1},"METADATA":{"sys":{"MethodName":"F"}},"Extra":[]}"#)
            .expect("parses");
        assert_eq!(r.data("x").expect("x"), json!(1));
        assert_eq!(r.sys().method_name, "F");
        assert!(parse("[]").is_err());
        assert!(parse("{\"Data\":\"x\"}").is_err());
        assert!(parse("").is_err());
        let empty = parse("{\"Data\":{},\"Metadata\":{}}").expect("empty");
        assert!(matches!(
            empty.data("eventGridEvent"),
            Err(DecodeError::Missing(_))
        ));
    }

    #[test]
    fn entries_decode_on_demand() {
        let r = parse(
            r#"{"Extra":{"a":[1,{"b":null}]},"Data":{"m":"\"t\"","n":null,"o":{"a":1}},"Metadata":null}"#,
        )
        .expect("parses");
        assert_eq!(r.data_text("m").expect("m"), "t");
        assert!(matches!(r.data("n"), Err(DecodeError::Missing(_))));
        assert_eq!(r.data_json("O").expect("o"), r#"{"a":1}"#);
        assert_eq!(r.sys(), Sys::default());
        assert!(r.data_object::<BTreeMap<String, String>>("o").is_err());
        assert!(parse(r#"{"Data":{},"Metadata":[1]}"#).is_err());
        assert!(parse(r#"{"Data":{"x":1}"#).is_err());
    }

    #[test]
    fn exact_names_win_then_any_case_and_repeats_resolve_to_the_last() {
        let r = parse(r#"{"Data":{"x":1,"X":2,"x":3,"y":4,"Y":5},"Metadata":{}}"#).expect("parses");
        assert_eq!(r.data("x").expect("x"), json!(3));
        assert_eq!(r.data("X").expect("X"), json!(2));
        assert_eq!(r.data("Y").expect("Y"), json!(5));
        assert_eq!(r.data("y").expect("y"), json!(4));
        // A name spelled with escapes matches its unescaped text.
        let r = parse(r#"{"Data":{"\u0065ventGridEvent":{"a":"\u00e9"}}}"#).expect("parses");
        assert_eq!(
            r.data_json("eventGridEvent").expect("e"),
            r#"{"a":"\u00e9"}"#
        );
        assert_eq!(r.data("eventGridEvent").expect("e"), json!({"a": "é"}));
    }

    #[test]
    fn positions_survive_non_ascii_text_and_whitespace() {
        let body = "{ \"Metadata\" : { \"sys\" : {\"MethodName\":\"Ünï\"} } ,\n\"Data\":{ \"q\" :  \"ß\" } }";
        let r = parse(body).expect("parses");
        assert_eq!(r.data_json("q").expect("q"), r#""ß""#);
        assert_eq!(r.sys().method_name, "Ünï");
        assert!(InvokeRequest::parse(&Bytes::from_static(b"{\"Data\":{\"q\":\"\xff\"}}")).is_err());
    }
}
