//! The Functions host protocol (payload mode), and nothing of the domain.
//!
//! Owns the request envelope `{"Data","Metadata"}` ([`InvokeRequest`]), value decoding ([`decode`]),
//! the response envelope ([`InvokeResponse`]), the outcome policy ([`outcome`]), poison quarantine
//! ([`quarantine`]) and the axum glue that runs every invocation the same way ([`route`]).
//! The contract is `shared/reference/functions-host-protocol.md`; tests live beside each file and in
//! `tests/e2e/protocol.rs` (real process).

pub mod decode;
pub mod outcome;
pub mod outputs;
pub mod quarantine;
pub mod route;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use time::OffsetDateTime;

pub use decode::DecodeError;
pub use outcome::{HandlerError, Outcome};
pub use outputs::Outputs;
pub use quarantine::Quarantine;
pub use route::{HasQuarantine, Invocation, invocation_route};

/// Header carrying the invocation id.
pub const INVOCATION_ID_HEADER: &str = "x-azure-functions-invocationid";
/// Header carrying the host version.
pub const HOST_VERSION_HEADER: &str = "x-azure-functions-hostversion";

/// The request envelope. Keys are matched case-insensitively, unknown keys ignored.
///
/// Entries are kept as raw JSON text and decoded on demand, straight into the type each function
/// asks for: building a `Value` tree of the whole envelope (which repeats the event under
/// `Metadata.data`) was the largest single cost of an invocation.
#[derive(Debug, Clone, Default)]
pub struct InvokeRequest {
    /// Trigger and input bindings, keyed by binding name.
    data: BTreeMap<String, Box<RawValue>>,
    /// Trigger metadata, plus `sys`.
    metadata: BTreeMap<String, Box<RawValue>>,
}

impl InvokeRequest {
    /// Parses the envelope. Both keys are always sent by the host, but either may be `{}`.
    ///
    /// # Errors
    /// `DecodeError` when the body is not a JSON object or `Data`/`Metadata` are not objects.
    pub fn parse(body: &[u8]) -> Result<Self, DecodeError> {
        // One pass over the body: the entries' values are only scanned, not decoded.
        let envelope: Envelope =
            serde_json::from_slice(body).map_err(|e| DecodeError::malformed("body", e))?;
        Ok(envelope.0)
    }

    /// A `Data` entry by binding name, as raw JSON text.
    ///
    /// # Errors
    /// `Missing` when absent or `null`.
    pub fn data_raw(&self, name: &str) -> Result<&RawValue, DecodeError> {
        lookup(&self.data, name).ok_or_else(|| DecodeError::Missing(format!("Data.{name}")))
    }

    /// A `Data` entry by binding name, decoded as a JSON value.
    ///
    /// # Errors
    /// `Missing` when absent or `null`.
    pub fn data(&self, name: &str) -> Result<Value, DecodeError> {
        to_value(name, self.data_raw(name)?)
    }

    /// An object-shaped `Data` entry (Event Grid event, timer info).
    ///
    /// # Errors
    /// `Missing` or `Malformed`.
    pub fn data_object<T: DeserializeOwned>(&self, name: &str) -> Result<T, DecodeError> {
        let raw = self.data_raw(name)?;
        if raw.get().starts_with('"') {
            decode::object(name, &to_value(name, raw)?)
        } else {
            serde_json::from_str(raw.get()).map_err(|e| DecodeError::malformed(name, e))
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
        let v = to_value(key, lookup(&self.metadata, key)?).ok()?;
        decode::text(key, &v).ok()
    }

    /// The `sys` metadata; defaults when the host omitted it (it never does).
    pub fn sys(&self) -> Sys {
        lookup(&self.metadata, "sys")
            .and_then(|v| serde_json::from_str(v.get()).ok())
            .unwrap_or_default()
    }
}

/// The envelope read in one pass: `Data`/`Metadata` (any case) into raw entries, the rest skipped.
struct Envelope(InvokeRequest);

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Envelope;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object with `Data` and `Metadata` objects")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Envelope, A::Error> {
                let mut req = InvokeRequest::default();
                while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let slot = if k.eq_ignore_ascii_case("data") {
                        &mut req.data
                    } else if k.eq_ignore_ascii_case("metadata") {
                        &mut req.metadata
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                        continue;
                    };
                    // A later duplicate key replaces an earlier one; `null` leaves the entry empty.
                    *slot = map
                        .next_value::<Option<BTreeMap<String, Box<RawValue>>>>()
                        .map_err(|e| {
                            serde::de::Error::custom(format!("`{k}` is not a JSON object: {e}"))
                        })?
                        .unwrap_or_default();
                }
                Ok(Envelope(req))
            }
        }
        d.deserialize_map(V)
    }
}

fn to_value(name: &str, raw: &RawValue) -> Result<Value, DecodeError> {
    serde_json::from_str(raw.get()).map_err(|e| DecodeError::malformed(name, e))
}

fn lookup<'a>(map: &'a BTreeMap<String, Box<RawValue>>, key: &str) -> Option<&'a RawValue> {
    map.get(key)
        .or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
        .map(|v| &**v)
        .filter(|v| v.get() != "null")
}

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
        self.utc_now.as_deref().and_then(decode::timestamp)
    }
}

/// The response envelope `{"Outputs","Logs","ReturnValue"}`, always a non-empty JSON object.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InvokeResponse {
    /// Output bindings by name. Values are JSON objects or arrays, never bare strings: the host
    /// base64-decodes strings that happen to be valid base64 (§4.2).
    pub outputs: Outputs,
    /// Lines logged by the host at Information, tied to the invocation (2xx only).
    pub logs: Vec<String>,
    /// Return value (`$return` bindings); `null` otherwise.
    pub return_value: Value,
}

/// An HTTP trigger request in payload mode (`Data.req`, §3.5).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HttpRequestData {
    /// Public URL, route prefix and query included.
    #[serde(default)]
    pub url: String,
    /// HTTP method.
    #[serde(default)]
    pub method: String,
    /// Query parameters (repeated keys comma-joined; `code` included).
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Headers, each an array of values.
    #[serde(default)]
    pub headers: BTreeMap<String, Vec<String>>,
    /// Route parameters (values may be `null` for catch-all routes).
    #[serde(default)]
    pub params: BTreeMap<String, Option<String>>,
    /// Body text (base64 for octet-stream and multipart); absent when empty.
    #[serde(default)]
    pub body: Option<String>,
}

/// Builds an `http` output binding value (`Outputs.res`): numeric `statusCode`, string headers, a
/// string body with an explicit JSON content type (the host would otherwise send `text/plain`).
pub fn http_output(status: u16, content_type: &str, body: String) -> Value {
    serde_json::json!({
        "statusCode": status,
        "headers": { "Content-Type": content_type },
        "body": body,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn envelope_keys_are_case_insensitive_and_extras_ignored() {
        let r = InvokeRequest::parse(
            br#"{"data":{"x":1},"METADATA":{"sys":{"MethodName":"F"}},"Extra":[]}"#,
        )
        .expect("parses");
        assert_eq!(r.data("x").expect("x"), json!(1));
        assert_eq!(r.sys().method_name, "F");
        assert!(InvokeRequest::parse(b"[]").is_err());
        assert!(InvokeRequest::parse(b"{\"Data\":\"x\"}").is_err());
        assert!(InvokeRequest::parse(b"").is_err());
        let empty = InvokeRequest::parse(b"{\"Data\":{},\"Metadata\":{}}").expect("empty");
        assert!(matches!(
            empty.data("eventGridEvent"),
            Err(DecodeError::Missing(_))
        ));
    }

    #[test]
    fn entries_decode_on_demand() {
        let r = InvokeRequest::parse(
            br#"{"Extra":{"a":[1,{"b":null}]},"Data":{"m":"\"t\"","n":null,"o":{"a":1}},"Metadata":null}"#,
        )
        .expect("parses");
        assert_eq!(r.data_text("m").expect("m"), "t");
        assert!(matches!(r.data("n"), Err(DecodeError::Missing(_))));
        assert_eq!(r.data_raw("O").expect("o").get(), r#"{"a":1}"#);
        assert_eq!(r.sys(), Sys::default());
        assert!(r.data_object::<BTreeMap<String, String>>("o").is_err());
        assert!(InvokeRequest::parse(br#"{"Data":{},"Metadata":[1]}"#).is_err());
        assert!(InvokeRequest::parse(br#"{"Data":{"x":1}"#).is_err());
    }

    #[test]
    fn response_serializes_pascal_case() {
        let r = InvokeResponse::default();
        assert_eq!(
            serde_json::to_string(&r).expect("json"),
            r#"{"Outputs":{},"Logs":[],"ReturnValue":null}"#
        );
    }

    #[test]
    fn http_request_data_parses_fixture_shape() {
        let v = json!({"Url":"https://a/api/x?code=k","Method":"GET","Query":{"code":"k"},
            "Headers":{"Accept":["application/json"]},"Params":{"path":null},"Identities":[]});
        let r: HttpRequestData = serde_json::from_value(v).expect("parses");
        assert_eq!(r.headers["Accept"], vec!["application/json".to_owned()]);
        assert_eq!(r.params["path"], None);
        assert!(r.body.is_none());
        assert_eq!(
            http_output(201, "application/json", "{}".into())["statusCode"],
            json!(201)
        );
    }
}
