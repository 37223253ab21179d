//! The response envelope `{"Outputs","Logs","ReturnValue"}` the handler answers every invocation
//! with (protocol §4).

use serde_json::Value;

use super::outputs::Outputs;

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
