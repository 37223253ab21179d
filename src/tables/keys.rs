//! Table keys: the one encoder of outside text ([`key`]) and the service's rules ([`is_valid_key`]).
//! A key breaking them is refused (400) and could stop a whole timer run, so every key built from
//! text someone else chose goes through [`key`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The most bytes a `PartitionKey` or `RowKey` may hold (1 KiB).
pub const MAX_KEY_BYTES: usize = 1024;

/// Prefix of a digest key: `sha256.` and 64 lower-case hex digits.
const DIGEST: &str = "sha256.";

/// How outside text is spelled in a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spelling {
    /// Unpadded base64url of the text: any text, reversed by [`decode_key`].
    Encoded,
    /// The text itself when it is a valid key (ids checked where they enter).
    Verbatim,
}

/// `text` as (part of) a table key of at most `room` bytes: spelled as `spelling` says when valid,
/// else `sha256.<hex digest>` (71 bytes; never a spelling). A row keyed by a digest carries `text`.
pub fn key(text: &str, spelling: Spelling, room: usize) -> String {
    let spelled = match spelling {
        Spelling::Encoded => Some(URL_SAFE_NO_PAD.encode(text.as_bytes())),
        Spelling::Verbatim => (!text.starts_with(DIGEST)).then(|| text.to_owned()),
    };
    if let Some(fits) = spelled.filter(|k| k.len() <= room && is_valid_key(k)) {
        return fits;
    }
    let digest = <sha2::Sha256 as sha2::Digest>::digest(text.as_bytes());
    [DIGEST, &hex::encode(digest)].concat()
}

/// True when `key` is a digest [`key`] made (the text is then only in the row).
pub fn is_digest(key: &str) -> bool {
    key.strip_prefix(DIGEST).is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

/// Reverses [`key`] with [`Spelling::Encoded`]; `None` for a digest or any other text.
pub fn decode_key(key: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(key.as_bytes()).ok()?;
    String::from_utf8(bytes).ok()
}

/// True when `key` can be used as a `PartitionKey`/`RowKey` as is.
pub fn is_valid_key(key: &str) -> bool {
    key.len() <= MAX_KEY_BYTES
        && !key
            .chars()
            .any(|c| matches!(c, '/' | '\\' | '#' | '?') || c.is_control())
}

/// `Rejected` (the service's 400) unless both keys are [valid](is_valid_key).
pub fn check_keys(pk: &str, rk: &str) -> Result<(), crate::azure::AzureError> {
    if is_valid_key(pk) && is_valid_key(rk) {
        return Ok(());
    }
    let why = format!(
        "invalid key ({} and {} bytes; at most 1024, no / \\ # ? or control characters)",
        pk.len(),
        rk.len()
    );
    Err(crate::azure::AzureError::refused(
        400,
        "OutOfRangeInput",
        &why,
    ))
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
    use crate::testkit::tables::hostile_texts;

    #[test]
    fn blob_paths_round_trip_into_valid_keys() {
        for name in [
            "a/b/c.json",
            "resourceId=/SUBSCRIPTIONS/x/y=2025/PT1H.json",
            "ünïcode ?#\\",
            "",
        ] {
            let k = key(name, Spelling::Encoded, MAX_KEY_BYTES);
            assert!(is_valid_key(&k), "{k}");
            assert_eq!(decode_key(&k).as_deref(), Some(name));
        }
        assert!(decode_key("not base64 !").is_none());
        let long = "n".repeat(1024);
        let k = key(&long, Spelling::Encoded, MAX_KEY_BYTES);
        assert!(is_valid_key(&k) && is_digest(&k) && decode_key(&k).is_none());
        assert_eq!(k.len(), 71);
    }

    #[test]
    fn every_text_becomes_a_valid_key_within_its_room() {
        for text in hostile_texts() {
            for spelling in [Spelling::Encoded, Spelling::Verbatim] {
                for room in [MAX_KEY_BYTES, 1000, 512, 71] {
                    let k = key(&text, spelling, room);
                    assert!(
                        is_valid_key(&k) && k.len() <= room,
                        "{spelling:?} {room} {:?} -> {k:?}",
                        &text[..text.len().min(40)]
                    );
                }
            }
        }
    }

    #[test]
    fn keys_that_fit_are_kept_and_never_meet_a_digest() {
        assert_eq!(key("a-b_c", Spelling::Verbatim, MAX_KEY_BYTES), "a-b_c");
        assert_eq!(key("a/b", Spelling::Encoded, MAX_KEY_BYTES), "YS9i");
        assert_eq!(key("", Spelling::Verbatim, MAX_KEY_BYTES), "");
        // A verbatim text shaped like a digest is digested, so no text takes another's key.
        let lookalike = format!("sha256.{}", "0".repeat(64));
        let k = key(&lookalike, Spelling::Verbatim, MAX_KEY_BYTES);
        assert!(is_digest(&k) && k != lookalike);
        let a = "u".repeat(3000) + "a";
        let b = "u".repeat(3000) + "b";
        assert_ne!(
            key(&a, Spelling::Encoded, MAX_KEY_BYTES),
            key(&b, Spelling::Encoded, MAX_KEY_BYTES)
        );
        // The room decides: the same text fits a whole key but not a part of one.
        let mid = "m".repeat(600);
        assert_eq!(key(&mid, Spelling::Verbatim, MAX_KEY_BYTES), mid);
        assert!(is_digest(&key(&mid, Spelling::Verbatim, 512)));
    }

    #[test]
    fn table_names_follow_service_rules() {
        assert!(is_valid_table_name("recordings"));
        assert!(!is_valid_table_name("1abc"));
        assert!(!is_valid_table_name("ab"));
        assert!(!is_valid_table_name("has-dash"));
    }
}
