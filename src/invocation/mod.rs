//! The Functions host protocol (payload mode), and nothing of the domain.
//!
//! Owns the request envelope `{"Data","Metadata"}` ([`InvokeRequest`]), value decoding ([`decode`]),
//! the response envelope ([`InvokeResponse`]), the outcome policy ([`outcome`]), poison quarantine
//! ([`quarantine`]) and the axum glue that runs every invocation the same way ([`route`]).
//! The contract is the Functions host's custom-handler protocol; tests live beside each file and in
//! `tests/e2e/protocol.rs` (real process).

pub mod decode;
pub mod outcome;
pub mod outputs;
pub mod quarantine;
mod request;
pub mod route;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

pub use decode::DecodeError;
pub use outcome::{HandlerError, Outcome};
pub use outputs::Outputs;
pub use quarantine::Quarantine;
pub use request::InvokeRequest;
pub use route::{HasQuarantine, Invocation, invocation_route};

/// Header carrying the invocation id.
pub const INVOCATION_ID_HEADER: &str = "x-azure-functions-invocationid";
/// Header carrying the host version.
pub const HOST_VERSION_HEADER: &str = "x-azure-functions-hostversion";

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
