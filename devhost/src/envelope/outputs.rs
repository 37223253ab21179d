//! Queue output conversion (protocol §4.2) and queue wire encoding.
//!
//! The host turns `Outputs.<binding>` into messages as follows, and devhost mimics it on purpose:
//! * object → one message, its `JToken.ToString()` text (indented JSON, 2 spaces);
//! * array → one message per element (objects indented, strings raw, other scalars as JSON text);
//! * string → if it is valid base64 it is **decoded to bytes** (the host's quirk: `"test"` becomes
//!   3 bytes); else if it parses as a JSON array/object it is treated as that; else the raw text;
//! * number/bool → their text; `null` → no message.
//!
//! Bytes and text are then written with `extensions.queues.messageEncoding` (default base64).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::app_root::MessageEncoding;

/// One message body as the queue binding receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MessageBody {
    /// A .NET string.
    Text(String),
    /// A `byte[]` (from the base64 quirk).
    Bytes(Vec<u8>),
}

/// .NET `Convert.TryFromBase64String` on an unpadded-length-safe input: only canonical base64
/// (length a multiple of 4, standard alphabet, optional `=` padding) is decoded.
fn dotnet_base64(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || !s.len().is_multiple_of(4) {
        return None;
    }
    STANDARD.decode(s).ok()
}

fn element_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Object(_) | Value::Array(_) => serde_json::to_string_pretty(v).ok(),
        other => Some(other.to_string()),
    }
}

/// The messages one `Outputs.<binding>` value produces.
pub(crate) fn queue_messages(value: &Value) -> Vec<MessageBody> {
    match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .filter_map(element_text)
            .map(MessageBody::Text)
            .collect(),
        Value::Object(_) => element_text(value)
            .map(MessageBody::Text)
            .into_iter()
            .collect(),
        Value::String(s) => {
            if let Some(bytes) = dotnet_base64(s) {
                return vec![MessageBody::Bytes(bytes)];
            }
            match serde_json::from_str::<Value>(s) {
                Ok(v @ (Value::Array(_) | Value::Object(_))) => queue_messages(&v),
                _ => vec![MessageBody::Text(s.clone())],
            }
        }
        Value::Bool(b) => vec![MessageBody::Text(if *b { "True" } else { "False" }.into())],
        Value::Number(n) => vec![MessageBody::Text(n.to_string())],
    }
}

/// The `MessageText` sent to the queue service.
pub(crate) fn wire_text(body: &MessageBody, encoding: MessageEncoding) -> String {
    match (body, encoding) {
        (MessageBody::Text(t), MessageEncoding::Base64) => STANDARD.encode(t.as_bytes()),
        (MessageBody::Bytes(b), MessageEncoding::Base64) => STANDARD.encode(b),
        (MessageBody::Text(t), MessageEncoding::None) => t.clone(),
        (MessageBody::Bytes(b), MessageEncoding::None) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// The text a queue trigger binds from a `MessageText`.
///
/// # Errors
/// Base64 encoding is configured but the message is not base64 (the host moves it to poison).
pub(crate) fn decode_wire(text: &str, encoding: MessageEncoding) -> Result<String, String> {
    match encoding {
        MessageEncoding::None => Ok(text.to_owned()),
        MessageEncoding::Base64 => STANDARD
            .decode(text.trim())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|_| "message is not valid base64 (messageEncoding is base64)".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn queue_outputs_follow_the_host_conversion() {
        let t = |s: &str| MessageBody::Text(s.into());
        assert_eq!(
            queue_messages(&json!({"a": 1})),
            vec![t("{\n  \"a\": 1\n}")]
        );
        assert_eq!(
            queue_messages(&json!([{"a": 1}, "x y", 2])),
            vec![t("{\n  \"a\": 1\n}"), t("x y"), t("2")]
        );
        assert_eq!(
            queue_messages(&json!("hello world")),
            vec![t("hello world")]
        );
        // The base64 quirk: "test" is valid base64 and becomes three bytes.
        assert_eq!(
            queue_messages(&json!("test")),
            vec![MessageBody::Bytes(vec![0xb5, 0xeb, 0x2d])]
        );
        assert_eq!(
            queue_messages(&json!("[\"a b\",\"c d\"]")),
            vec![t("a b"), t("c d")]
        );
        assert_eq!(queue_messages(&json!(null)), vec![]);
        assert_eq!(queue_messages(&json!([])), vec![]);
        assert_eq!(queue_messages(&json!(true)), vec![t("True")]);
    }

    #[test]
    fn wire_encoding_round_trips() {
        let body = MessageBody::Text("{\"a\":1}".into());
        let wire = wire_text(&body, MessageEncoding::Base64);
        assert_eq!(wire, "eyJhIjoxfQ==");
        assert_eq!(
            decode_wire(&wire, MessageEncoding::Base64).as_deref(),
            Ok("{\"a\":1}")
        );
        assert_eq!(
            wire_text(
                &MessageBody::Bytes(vec![0xb5, 0xeb, 0x2d]),
                MessageEncoding::Base64
            ),
            "test"
        );
        assert_eq!(wire_text(&body, MessageEncoding::None), "{\"a\":1}");
        assert!(decode_wire("not base64!", MessageEncoding::Base64).is_err());
        assert_eq!(
            decode_wire("plain", MessageEncoding::None).as_deref(),
            Ok("plain")
        );
    }
}
