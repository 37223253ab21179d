//! The request envelope `{"Data","Metadata"}` (protocol §3): members kept as raw JSON text and
//! decoded on demand by binding type.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use bytes::Bytes;
use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;
use time::OffsetDateTime;

use super::decode::{self, DecodeError};
use crate::json_shape::ObjectOr;

/// `Metadata.sys`: `{"MethodName","UtcNow","RandGuid"}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Sys {
    /// The function name.
    #[serde(default)]
    pub method_name: String,
    /// The host's clock when it built the invocation (7 fractional digits, `Z`).
    #[serde(default)]
    pub utc_now: Option<String>,
    /// A random GUID per invocation.
    #[serde(default)]
    pub rand_guid: Option<String>,
}

impl Sys {
    /// `UtcNow` parsed; timers use it as "now" so runs are reproducible.
    pub fn now(&self) -> Option<OffsetDateTime> {
        self.utc_now.as_deref().and_then(crate::dates::timestamp)
    }
}

/// The request envelope: keys matched case-insensitively, unknown keys ignored, bindings kept as
/// raw JSON and decoded on demand (the event also comes again under `Metadata.data`).
#[derive(Debug, Clone, Default)]
pub struct InvokeRequest {
    /// Trigger and input bindings, by binding name, in body order.
    data: Members,
    /// Trigger metadata, plus `sys`, in body order.
    metadata: Members,
}

/// An object's members in body order, raw; a repeated name resolves to its last occurrence.
#[derive(Debug, Clone, Default)]
struct Members(Vec<(String, Box<RawValue>)>);

/// Reads an object's members in body order: those whose name it keeps (the others skipped
/// unread).
struct InOrder<V>(fn(&str) -> bool, PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for InOrder<V> {
    type Value = Vec<(String, V)>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if (self.0)(&key) {
                members.push((key.into_owned(), map.next_value()?));
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(members)
    }
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(InOrder(|_| true, PhantomData)).map(Self)
    }
}

/// Where the last of `members` named `key` stands (exact spelling first, then any case).
fn last<V>(members: &[(String, V)], key: &str) -> Option<usize> {
    let at = |same: &dyn Fn(&str) -> bool| members.iter().rposition(|(name, _)| same(name));
    at(&|n| n == key).or_else(|| at(&|n| n.eq_ignore_ascii_case(key)))
}

impl Members {
    /// The member named `key` ([`last`]); `null` counts as absent.
    fn get(&self, key: &str) -> Option<&str> {
        let i = last(&self.0, key)?;
        Some(self.0[i].1.get()).filter(|v| *v != "null")
    }
}

/// Every occurrence of the envelope's two members (`Data`, `Metadata`, in any case), read in one
/// pass over the body: only the chosen one must be an object.
struct Envelope(Vec<(String, ObjectOr<Members>)>);

impl Envelope {
    /// The members of `key`'s occurrence chosen like [`Members::get`]'s; absent or `null` is
    /// none; `None` when it is not an object.
    fn take(&mut self, key: &str) -> Option<Members> {
        match last(&self.0, key).map(|i| self.0.remove(i).1) {
            None | Some(ObjectOr::Null) => Some(Members::default()),
            Some(ObjectOr::Object(m)) => Some(m),
            Some(ObjectOr::Other) => None,
        }
    }
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let two = |k: &str| {
            ["Data", "Metadata"]
                .iter()
                .any(|m| k.eq_ignore_ascii_case(m))
        };
        d.deserialize_map(InOrder(two, PhantomData)).map(Self)
    }
}

/// A parse error by kind and position only: serde_json's own message may quote the body's text.
fn located(e: &serde_json::Error) -> String {
    let (line, column) = (e.line(), e.column());
    format!("{:?} error at line {line} column {column}", e.classify())
}

impl InvokeRequest {
    /// Parses the envelope (either key may be `{}`).
    ///
    /// # Errors
    /// When the body, `Data` or `Metadata` is not a JSON object.
    pub fn parse(body: &Bytes) -> Result<Self, DecodeError> {
        let malformed = |e: serde_json::Error| DecodeError::malformed("body", located(&e));
        let text = std::str::from_utf8(body).map_err(|e| DecodeError::malformed("body", e))?;
        let mut envelope: Envelope = serde_json::from_str(text).map_err(malformed)?;
        let mut take = |key| {
            let not_object = || DecodeError::malformed("body", format!("{key} is not an object"));
            envelope.take(key).ok_or_else(not_object)
        };
        Ok(Self {
            data: take("Data")?,
            metadata: take("Metadata")?,
        })
    }

    /// A `Data` entry by binding name, as raw JSON text; `Missing` when absent or `null`.
    pub fn data_json(&self, name: &str) -> Result<&str, DecodeError> {
        self.data
            .get(name)
            .ok_or_else(|| DecodeError::Missing(format!("Data.{name}")))
    }

    /// A `Data` entry by binding name as a JSON value; `Missing` when absent or `null`.
    pub fn data(&self, name: &str) -> Result<Value, DecodeError> {
        to_value(name, self.data_json(name)?)
    }

    /// An object-shaped `Data` entry (Event Grid event, timer info); `Missing` or `Malformed`.
    pub fn data_object<T: DeserializeOwned>(&self, name: &str) -> Result<T, DecodeError> {
        let raw = self.data_json(name)?;
        if raw.starts_with('"') {
            decode::object(name, &to_value(name, raw)?)
        } else {
            serde_json::from_str(raw).map_err(|e| DecodeError::malformed(name, e))
        }
    }

    /// A string `Data` entry (queue message), double-encoding removed; `Missing` or `Malformed`.
    pub fn data_text(&self, name: &str) -> Result<String, DecodeError> {
        decode::text(name, &self.data(name)?)
    }

    /// A `Metadata` entry decoded as text, if present.
    pub fn metadata_text(&self, key: &str) -> Option<String> {
        let v = to_value(key, self.metadata.get(key)?).ok()?;
        decode::text(key, &v).ok()
    }

    /// The `sys` metadata; defaults when the host omitted it (it never does).
    pub fn sys(&self) -> Sys {
        self.metadata
            .get("sys")
            .and_then(|v| serde_json::from_str(v).ok())
            .unwrap_or_default()
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
    fn repeated_envelope_keys_resolve_like_members_and_only_the_chosen_one_must_be_an_object() {
        let x = |body: &str| parse(body).expect(body).data("x").ok();
        assert_eq!(x(r#"{"data":"x","Data":{"x":1}}"#), Some(json!(1)));
        assert_eq!(x(r#"{"Data":{"x":1},"data":[2]}"#), Some(json!(1)));
        assert_eq!(x(r#"{"Data":"x","Data":{"x":2}}"#), Some(json!(2)));
        assert_eq!(x(r#"{"DATA":{"x":1},"data":{"x":3}}"#), Some(json!(3)));
        assert_eq!(x(r#"{"Data":{"x":1},"Data":null}"#), None);
        assert_eq!(x(r#"{"Data":null,"data":{"x":1}}"#), None);
        for body in [
            r#"{"Data":{"x":1},"Data":7}"#,
            r#"{"data":{"x":1},"DATA":true}"#,
            r#"{"Metadata":"m"}"#,
        ] {
            assert!(parse(body).is_err(), "{body}");
        }
        // Members of other names may hold anything, and are skipped without being kept.
        let r = parse(r#"{"Other":{"Data":5},"Data":{"x":{"Data":[]}},"Metadata":{"sys":{"MethodName":"F"}}}"#)
            .expect("parses");
        assert_eq!(r.data("x").expect("x"), json!({"Data": []}));
        assert_eq!(r.sys().method_name, "F");
    }

    #[test]
    fn errors_name_a_position_or_the_member_never_the_body_text() {
        for body in [
            r#"{"Data":"secret-token"}"#,
            r#"{"Data":{"x":1},"Metadata":["secret-token"]}"#,
            r#"{"Data":{"x":secret-token}}"#,
        ] {
            let e = parse(body).expect_err(body).to_string();
            assert!(!e.contains("secret-token"), "{e}");
            assert!(
                e.contains("column") || e.contains("is not an object"),
                "{e}"
            );
        }
    }

    #[test]
    fn text_survives_non_ascii_and_whitespace() {
        let body = "{ \"Metadata\" : { \"sys\" : {\"MethodName\":\"Ünï\"} } ,\n\"Data\":{ \"q\" :  \"ß\" } }";
        let r = parse(body).expect("parses");
        assert_eq!(r.data_json("q").expect("q"), r#""ß""#);
        assert_eq!(r.sys().method_name, "Ünï");
        assert!(InvokeRequest::parse(&Bytes::from_static(b"{\"Data\":{\"q\":\"\xff\"}}")).is_err());
    }
}
