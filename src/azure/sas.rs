//! Shared access signatures: the HMAC every SAS is signed with, the percent-encoding of its
//! values, and account SAS signing with an account key.
//!
//! The new Azure SDK line has no shared-key credential, so a connection string with `AccountKey`
//! (Azurite's well-known key included) is turned into a short-lived account SAS signed locally
//! (string-to-sign layout for `sv` ≥ 2020-12-06). Tokens are cached and re-signed before expiry.

use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::Sha256;
use time::{Duration, OffsetDateTime};

use super::connection::Secret;
use crate::dates::format_utc;

/// SAS version of the tokens signed here (≥ 2020-12-06: the string-to-sign layouts used).
pub const SAS_VERSION: &str = "2022-11-02";

/// Query-string and key value encoding: everything but unreserved characters.
pub const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `text` percent-encoded as a query-string or key value ([`VALUE`]).
pub fn encode_value(text: &str) -> String {
    utf8_percent_encode(text, VALUE).to_string()
}

/// Adds the SAS `token` to `url`'s query, the one way a token joins a request. The other
/// parameters are kept byte for byte (re-encoding them would change `where=` tag expressions).
pub fn append(url: &mut url::Url, token: &str) {
    let query = match url.query().filter(|q| !q.is_empty()) {
        Some(q) => format!("{q}&{token}"),
        None => token.to_owned(),
    };
    url.set_query(Some(&query));
}

/// HMAC-SHA256 of `text` under `key`, base64.
pub fn sign(key: &[u8], text: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail; an empty MAC would only fail auth.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(text.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Token lifetime; re-signed when less than a quarter remains.
const TTL: Duration = Duration::hours(4);

/// Signs account SAS tokens for one service set (`b` blob, `q` queue, `t` table).
pub struct SasSigner {
    account: String,
    key: Secret,
    services: &'static str,
    permissions: &'static str,
    cached: Mutex<Option<(OffsetDateTime, String)>>,
}

crate::telemetry::debug_fields!(SasSigner { account, services });

impl SasSigner {
    /// A signer for `services` with all permissions the product uses (tags `t` and find `f` included).
    pub fn new(account: &str, key: Secret, services: &'static str) -> Self {
        Self {
            account: account.to_owned(),
            key,
            services,
            permissions: "rwdlacuptf",
            cached: Mutex::new(None),
        }
    }

    /// A valid token (query string without `?`), re-signed when close to expiry.
    pub fn token(&self) -> String {
        let now = OffsetDateTime::now_utc();
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((expiry, token)) = cached.as_ref()
            && *expiry - now > TTL / 4
        {
            return token.clone();
        }
        let expiry = now + TTL;
        let token = self.sign(expiry);
        *cached = Some((expiry, token.clone()));
        token
    }

    fn sign(&self, expiry: OffsetDateTime) -> String {
        // A start time slightly in the past tolerates clock skew between us and the service.
        let start = format_utc(expiry - TTL - Duration::minutes(5));
        let se = format_utc(expiry);
        let (srt, spr) = ("sco", "https,http");
        let sts = format!(
            "{}\n{}\n{}\n{srt}\n{start}\n{se}\n\n{spr}\n{SAS_VERSION}\n\n",
            self.account, self.permissions, self.services
        );
        let sig = hmac_sha256_b64(self.key.expose(), &sts);
        format!(
            "sv={SAS_VERSION}&ss={}&srt={srt}&sp={}&st={}&se={}&spr={}&sig={}",
            self.services,
            self.permissions,
            encode_value(&start),
            encode_value(&se),
            encode_value(spr),
            encode_value(&sig)
        )
    }
}

/// HMAC-SHA256 with a base64 key, base64 output. An undecodable key signs with its raw bytes, which
/// the service then rejects with 403 — reported as a configuration error at first use.
fn hmac_sha256_b64(key_b64: &str, msg: &str) -> String {
    let key = STANDARD
        .decode(key_b64.trim())
        .unwrap_or_else(|_| key_b64.as_bytes().to_vec());
    sign(&key, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_the_fields_and_are_cached() {
        let s = SasSigner::new("devstoreaccount1", Secret::new("a2V5"), "b");
        let t = s.token();
        for part in [
            "sv=2022-11-02",
            "ss=b",
            "srt=sco",
            "sp=rwdlacuptf",
            "se=",
            "st=",
            "sig=",
        ] {
            assert!(t.contains(part), "{part} in {t}");
        }
        assert_eq!(t, s.token(), "cached until close to expiry");
    }

    #[test]
    fn a_token_joins_the_query_and_keeps_it_byte_for_byte() {
        let mut u =
            url::Url::parse("https://a.blob.core.windows.net/?comp=blobs&where=%22k%22%3D%27v%27")
                .expect("url");
        append(&mut u, "sv=1&sig=x");
        assert_eq!(
            u.query(),
            Some("comp=blobs&where=%22k%22%3D%27v%27&sv=1&sig=x")
        );
        let mut bare = url::Url::parse("https://a.blob.core.windows.net/c/b").expect("url");
        append(&mut bare, "sv=1&sig=x");
        assert_eq!(
            bare.as_str(),
            "https://a.blob.core.windows.net/c/b?sv=1&sig=x"
        );
    }

    #[test]
    fn signature_matches_reference_vector() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), base64.
        let sig = hmac_sha256_b64("a2V5", "The quick brown fox jumps over the lazy dog");
        assert_eq!(sig, "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg=");
    }
}
