//! Standard Webhooks 1.0: thin `{type, timestamp, data}` body and the `webhook-*` headers.
//!
//! `webhook-id` is the notification id (receivers dedupe on it); each attempt is signed afresh, one
//! `v1,…` per configured key so receivers can rotate keys.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use super::Content;
use crate::notify::config::SigningKey;

/// The request body for `c`: the allow-listed `data` fields as the producer sent them, plus links.
pub fn render(c: &Content) -> Value {
    let mut data = Map::new();
    data.insert("notificationId".into(), json!(c.id));
    data.insert("severity".into(), json!(c.severity_word()));
    data.insert("title".into(), json!(c.title));
    for f in &c.facts {
        data.entry(f.key.to_owned())
            .or_insert_with(|| f.raw.clone());
    }
    let links: Map<String, Value> = c
        .links
        .iter()
        .map(|l| (l.key.to_owned(), json!(l.url)))
        .collect();
    if !links.is_empty() {
        data.insert("links".into(), Value::Object(links));
    }
    json!({"type": c.kind, "timestamp": c.time, "data": data})
}

/// `webhook-signature` for `body` sent at `timestamp` (unix seconds): one `v1,…` per key.
pub fn signature(keys: &[SigningKey], id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|k| {
            // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&k.0) else {
                return String::new();
            };
            mac.update(format!("{id}.{timestamp}.").as_bytes());
            mac.update(body);
            format!(
                "v1,{}",
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
            )
        })
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::super::ContentOptions;
    use super::super::tests::sample;
    use super::*;

    fn key(whsec: &str) -> SigningKey {
        let b64 = whsec.strip_prefix("whsec_").expect("prefix");
        SigningKey(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("b64"),
        )
    }

    #[test]
    fn known_vector_from_the_standard_webhooks_test_suite() {
        // standard-webhooks reference libraries' test vector.
        let k = key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let sig = signature(
            &[k],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn rotation_yields_one_signature_per_key() {
        let a = key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let b = SigningKey(vec![9; 32]);
        let both = signature(&[a.clone(), b.clone()], "id", 1, b"{}");
        let parts: Vec<&str> = both.split(' ').collect();
        assert_eq!(
            parts,
            [
                signature(&[a], "id", 1, b"{}"),
                signature(&[b], "id", 1, b"{}")
            ]
        );
        assert_ne!(parts[0], parts[1]);
        assert_eq!(signature(&[], "id", 1, b"{}"), "");
    }

    #[test]
    fn thin_body() {
        let v = render(&Content::of(&sample(), &ContentOptions::default()));
        assert_eq!(v["type"], "session.unrecorded");
        assert_eq!(v["timestamp"], "2025-03-14T09:42:17Z");
        assert_eq!(v["data"]["vm"], "vm-app-01");
        assert_eq!(v["data"]["severity"], "warning");
        assert!(v["data"]["links"]["sessionRecordings"].is_string());
        assert!(v["data"].get("userEmail").is_none() && v["data"].get("unknownField").is_none());
        let pii = render(&Content::of(
            &sample(),
            &ContentOptions {
                include_pii: true,
                ..Default::default()
            },
        ));
        assert_eq!(pii["data"]["userEmail"], "alice@example.com");
    }

    #[test]
    fn data_keeps_full_values_and_their_types() {
        let mut n = sample();
        let long = format!("{}&<x>", "b/".repeat(2000));
        n.data["blobName"] = json!(long);
        n.data["user"] = json!("u".repeat(900));
        n.title = "t".repeat(900);
        let v = render(&Content::of(&n, &ContentOptions::default()));
        assert_eq!(v["data"]["blobName"], json!(long));
        assert_eq!(v["data"]["user"], n.data["user"]);
        assert_eq!(v["data"]["title"], json!(n.title));
        assert_eq!(
            v["data"]["contentLength"],
            json!(1234),
            "a number stays a number"
        );
    }
}
