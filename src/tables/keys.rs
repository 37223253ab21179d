//! Table key encoding.
//!
//! `PartitionKey`/`RowKey` may not contain `/ \ # ?` or control characters and are limited to 1 KiB.
//! Blob names contain `/`, so they are stored as unpadded base64url, which is also reversible
//! (a catalogue key can be turned back into the blob name without another lookup).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Encodes arbitrary text as a valid, reversible table key.
pub fn encode_key(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text.as_bytes())
}

/// Reverses [`encode_key`]; `None` for text that is not a key we produced.
pub fn decode_key(key: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(key.as_bytes()).ok()?;
    String::from_utf8(bytes).ok()
}

/// [`encode_key`] of `text` when it fits a key; else `sha256.<hex digest>` (`.` is no base64url
/// character, so the two never meet): the row must then carry `text` itself as a property.
pub fn key_or_digest(text: &str) -> String {
    let encoded = encode_key(text);
    if is_valid_key(&encoded) {
        return encoded;
    }
    let digest = <sha2::Sha256 as sha2::Digest>::digest(text.as_bytes());
    ["sha256.", &hex::encode(digest)].concat()
}

/// True when `key` can be used as a `PartitionKey`/`RowKey` as is.
pub fn is_valid_key(key: &str) -> bool {
    key.len() <= 1024
        && !key
            .chars()
            .any(|c| matches!(c, '/' | '\\' | '#' | '?') || c.is_control())
}

/// `Rejected` (the service's 400) unless both keys are [valid](is_valid_key).
///
/// # Errors
/// `Rejected` naming the keys' lengths and the rule.
pub fn check_keys(pk: &str, rk: &str) -> Result<(), super::TableError> {
    if is_valid_key(pk) && is_valid_key(rk) {
        return Ok(());
    }
    Err(super::TableError::Rejected(format!(
        "invalid key ({} and {} characters; at most 1024, no / \\ # ? or control characters)",
        pk.len(),
        rk.len()
    )))
}

/// Validates a table name: alphanumeric, 3–63 characters, starting with a letter.
pub fn is_valid_table_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_paths_round_trip_into_valid_keys() {
        for name in [
            "a/b/c.json",
            "resourceId=/SUBSCRIPTIONS/x/y=2025/PT1H.json",
            "ünïcode ?#\\",
            "",
        ] {
            let key = encode_key(name);
            assert!(is_valid_key(&key), "{key}");
            assert_eq!(decode_key(&key).as_deref(), Some(name));
        }
        assert!(decode_key("not base64 !").is_none());
        let long = "n".repeat(1024);
        let key = key_or_digest(&long);
        assert!(is_valid_key(&key) && key.starts_with("sha256.") && decode_key(&key).is_none());
        assert_eq!(key_or_digest("a/b"), encode_key("a/b"));
    }

    #[test]
    fn table_names_follow_service_rules() {
        assert!(is_valid_table_name("recordings"));
        assert!(!is_valid_table_name("1abc"));
        assert!(!is_valid_table_name("ab"));
        assert!(!is_valid_table_name("has-dash"));
    }
}
