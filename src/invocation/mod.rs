//! The Functions host protocol (payload mode), and nothing of the domain.
//!
//! The envelopes, the outcome policy, poison quarantine and the axum glue that runs every
//! invocation the same way ([`route`]); `tests/e2e/protocol.rs` checks the contract end to end.

pub mod body;
pub mod decode;
pub mod failure;
pub mod outcome;
pub mod outputs;
pub mod quarantine;
mod request;
pub mod route;

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

pub use decode::DecodeError;
pub use failure::{Failure, Stage};
pub use outcome::Outcome;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_serializes_pascal_case() {
        let r = InvokeResponse::default();
        assert_eq!(
            serde_json::to_string(&r).expect("json"),
            r#"{"Outputs":{},"Logs":[],"ReturnValue":null}"#
        );
    }
}
