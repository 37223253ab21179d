//! Standard Webhooks 1.0: thin `{type, timestamp, data}` body and the `webhook-*` headers.
//!
//! `webhook-id` is the notification id (receivers dedupe on it); each attempt is signed afresh, one
//! `v1,…` per configured key so receivers can rotate keys.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use super::content::{CUT, Content, Fact};
use crate::notify::config::SigningKey;
use crate::telemetry::truncate;

/// Largest body sent (bytes). Standard Webhooks asks for thin payloads and names no size; this
/// bound keeps a body far below what receivers commonly refuse or cut the connection on.
pub const MAX_BODY: usize = 64 * 1024;
/// Longest title sent (characters).
pub const MAX_TITLE_CHARS: usize = 1000;
/// Longest text value sent (characters), a text inside a list or object too.
pub const MAX_VALUE_CHARS: usize = 4096;

/// The request body for `c`: the allow-listed `data` fields as the producer sent them, plus
/// links; a text longer than [`MAX_VALUE_CHARS`] (the title: [`MAX_TITLE_CHARS`]) cut with the
/// marker [`CUT`], and fields dropped from the end (named in `data.cutFields`) until the body
/// is at most [`MAX_BODY`].
pub fn render(c: &Content) -> Value {
    let mut facts: Vec<&Fact> = c.facts.iter().collect();
    let mut left_out = Vec::new();
    loop {
        let body = body(c, &facts, &left_out);
        if body.to_string().len() <= MAX_BODY {
            return body;
        }
        match facts.pop() {
            Some(f) => left_out.insert(0, f.key),
            None => return body,
        }
    }
}

/// `v` with every text cut to [`MAX_VALUE_CHARS`].
fn bounded(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(truncate(s, MAX_VALUE_CHARS, CUT)),
        Value::Array(items) => Value::Array(items.iter().map(bounded).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (truncate(k, MAX_VALUE_CHARS, CUT), bounded(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn body(c: &Content, facts: &[&Fact], left_out: &[&str]) -> Value {
    let mut data = Map::new();
    data.insert("notificationId".into(), json!(c.id));
    data.insert("severity".into(), json!(c.severity.as_str()));
    data.insert(
        "title".into(),
        json!(truncate(&c.title, MAX_TITLE_CHARS, CUT)),
    );
    for f in facts {
        data.entry(f.key.to_owned())
            .or_insert_with(|| bounded(&f.raw));
    }
    if !left_out.is_empty() {
        data.insert("cutFields".into(), json!(left_out));
    }
    let links: Map<String, Value> = c
        .links
        .iter()
        .map(|l| (l.key.to_owned(), json!(l.url)))
        .collect();
    if !links.is_empty() {
        data.insert("links".into(), Value::Object(links));
    }
    let (kind, time) = (
        truncate(&c.kind, MAX_VALUE_CHARS, CUT),
        truncate(&c.time, MAX_VALUE_CHARS, CUT),
    );
    json!({"type": kind, "timestamp": time, "data": data})
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

    /// A 1 MiB title and values cut to the webhook's bounds with the marker; fields past the body
    /// bound left out and named.
    #[test]
    fn a_huge_notification_is_cut_to_the_bounds() {
        let mut n = sample();
        n.title = "T".repeat(1024 * 1024);
        n.data["blobName"] = json!("b".repeat(100_000));
        let v = render(&Content::of(&n, &ContentOptions::default()));
        assert!(v.to_string().len() <= MAX_BODY);
        let title = v["data"]["title"].as_str().expect("title");
        assert!(title.ends_with(super::super::CUT) && title.chars().count() == MAX_TITLE_CHARS);
        let blob = v["data"]["blobName"].as_str().expect("blob");
        assert!(blob.ends_with(super::super::CUT) && blob.chars().count() == MAX_VALUE_CHARS);
        let mut c = Content::of(&n, &ContentOptions::default());
        let fact = c.facts[0].clone();
        let keys = super::super::THIN_FIELDS.iter().map(|(k, _)| *k).take(20);
        c.facts = keys
            .map(|key| super::super::Fact {
                key,
                raw: json!("x".repeat(8000)),
                ..fact.clone()
            })
            .collect();
        let v = render(&c);
        assert!(v.to_string().len() <= MAX_BODY, "{}", v.to_string().len());
        let cut = v["data"]["cutFields"].as_array().map_or(0, Vec::len);
        assert!(cut > 0 && cut < 20, "{cut} fields left out");
    }
}
