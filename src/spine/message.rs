//! The notification message and its stable id.

use crate::names::named;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

named! {
    /// How urgent a notification is; routing can require a minimum.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Severity {
        /// Routine (a recording was catalogued).
        Info = "info",
        /// Needs a look (failed logins, unrecorded sessions).
        Warning = "warning",
        /// Needs action now (tampering, stalled recordings).
        Critical = "critical",
    }
}

/// One fact worth telling people about; `D` lets producers serialize a typed struct directly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification<D = Value> {
    /// Dotted type, e.g. `recording.catalogued`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Stable id: the same fact always yields the same id, so redeliveries can be deduplicated.
    pub notification_id: String,
    /// When the fact happened (RFC 3339 UTC).
    pub time: String,
    /// Severity.
    pub severity: Severity,
    /// One-line human summary (no personal data).
    pub title: String,
    /// Type-specific details.
    pub data: D,
}

impl<D: Serialize> Notification<D> {
    /// The message as a JSON value (what the queue carries; tools print it).
    pub fn to_output(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Messages as tests write them by hand (the product makes them in [`super::send`] alone).
#[cfg(test)]
impl<D: Serialize> Notification<D> {
    /// A notification whose id derives from `kind` and `fact` (naming the fact uniquely).
    pub fn new(
        kind: &str,
        fact: &str,
        time: String,
        severity: Severity,
        title: String,
        data: D,
    ) -> Self {
        Self {
            kind: kind.to_owned(),
            notification_id: stable_id(kind, fact),
            time,
            severity,
            title,
            data,
        }
    }
}

/// A GUID-shaped id from SHA-256 of `kind` and `fact`: the first 16 bytes of the digest of
/// `kind\nfact`, as lower-case hex grouped 8-4-4-4-12 (the bytes in order, as a UUID prints them).
pub fn stable_id(kind: &str, fact: &str) -> String {
    let digest = Sha256::new()
        .chain_update(kind.as_bytes())
        .chain_update(b"\n")
        .chain_update(fact.as_bytes())
        .finalize();
    let mut prefix = [0; 16];
    prefix.copy_from_slice(&digest[..16]);
    uuid::Uuid::from_bytes(prefix).hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ids_are_the_grouped_hex_of_the_digest_prefix() {
        let h = hex::encode(&Sha256::digest(b"recording.catalogued\n2025-03-14~abc")[..16]);
        let want = format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        );
        assert_eq!(stable_id("recording.catalogued", "2025-03-14~abc"), want);
        assert_eq!(stable_id("", "").len(), 36);
    }

    #[test]
    fn ids_are_stable_per_fact_and_distinct_across_facts() {
        let a = stable_id("recording.catalogued", "2025-03-14~abc");
        assert_eq!(a, stable_id("recording.catalogued", "2025-03-14~abc"));
        assert_ne!(a, stable_id("recording.catalogued", "2025-03-14~abd"));
        assert_ne!(a, stable_id("recording.deleted", "2025-03-14~abc"));
        assert_eq!(a.len(), 36);
    }

    #[test]
    fn output_is_an_object_without_colliding_keys() {
        let n = Notification::new(
            "t.x",
            "f",
            "2025-01-01T00:00:00Z".into(),
            Severity::Info,
            "hi".into(),
            json!({}),
        );
        let v = n.to_output();
        let obj = v.as_object().expect("object");
        for reserved in [
            "id",
            "dequeuecount",
            "popreceipt",
            "expirationtime",
            "insertiontime",
            "nextvisibletime",
        ] {
            assert!(
                obj.keys().all(|k| k.to_ascii_lowercase() != reserved),
                "{reserved}"
            );
        }
        assert_eq!(v["type"], "t.x");
        let back: Notification = serde_json::from_value(v).expect("round trip");
        assert_eq!(back, n);
    }
}
