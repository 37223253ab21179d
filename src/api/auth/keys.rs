//! The issuer's signing keys: its OpenID configuration names `jwks_uri`, the key set there is cached
//! and fetched again when it is older than [`MAX_AGE`], or when a token names a key id the cache
//! does not know (a key rotation) — that refresh at most once per [`MISS_REFRESH`], so a flood of
//! made-up key ids cannot make the handler hammer the identity provider.
//!
//! One fetch at a time (the cache lock is held across it), each request on the one HTTP client
//! ([`crate::azure::http`]: its guard, the one retry policy) within [`FETCH_TIMEOUT`]; after a
//! failed fetch none is tried for [`RETRY_AFTER_FAILURE`]. While the issuer
//! cannot be reached, known keys keep working; a token whose key cannot be looked up is the issuer's
//! outage, not the caller's fault: [`ApiError::IdentityUnavailable`] (503), not a 401.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use serde::Deserialize;

use super::bearer::Reason;
use crate::api::problem::{ApiError, Challenge};
use crate::azure::http::{Auth, Client, Request};
use crate::azure::{Policy, Timeouts};
use crate::config::auth::{JWT_AUTHORITY, JwtSettings, check_endpoint};
use crate::telemetry::redact;

/// Time for each metadata or key-set request, its retries included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The least time between two refreshes caused by unknown key ids.
pub const MISS_REFRESH: Duration = Duration::from_secs(5 * 60);
/// Keys older than this are fetched again before use (kept if that fails).
pub const MAX_AGE: Duration = Duration::from_secs(12 * 60 * 60);
/// No fetch is tried this soon after a failed one.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);

/// Signing keys by key id.
pub type KeySet = HashMap<String, DecodingKey>;

/// Where keys come from (the issuer over HTTP; a counting fake in tests).
#[async_trait::async_trait]
pub trait Fetch: Send + Sync {
    /// The current key set, or why it could not be had (already redacted, for the log).
    async fn fetch(&self) -> Result<KeySet, String>;
}

/// The cached key set and the refresh policy around a [`Fetch`].
pub struct KeyCache {
    fetcher: Box<dyn Fetch>,
    state: tokio::sync::Mutex<State>,
}

#[derive(Default)]
struct State {
    keys: Option<(KeySet, Instant)>,
    last_miss_refresh: Option<Instant>,
    /// Set when the latest fetch failed; cleared by a successful one.
    last_failure: Option<Instant>,
}

impl KeyCache {
    /// An empty cache: the first request fetches.
    pub fn new(fetcher: Box<dyn Fetch>) -> Self {
        Self {
            fetcher,
            state: tokio::sync::Mutex::new(State::default()),
        }
    }

    /// The key `kid`, fetching or refreshing the set as the policy allows at time `now`.
    ///
    /// # Errors
    /// A 401 (`invalid_token`) when the issuer does not publish `kid` (as of the last successful
    /// fetch); [`ApiError::IdentityUnavailable`] when the keys cannot be fetched.
    pub async fn key(&self, kid: &str, now: Instant) -> Result<DecodingKey, ApiError> {
        let mut s = self.state.lock().await;
        let fresh = s
            .keys
            .as_ref()
            .is_some_and(|(_, at)| now.saturating_duration_since(*at) < MAX_AGE);
        let known = s.keys.as_ref().is_some_and(|(k, _)| k.contains_key(kid));
        let miss_refresh = fresh
            && !known
            && s.last_miss_refresh
                .is_none_or(|t| now.saturating_duration_since(t) >= MISS_REFRESH);
        let mut fetch_failed = false;
        if !fresh || miss_refresh {
            if miss_refresh {
                s.last_miss_refresh = Some(now);
            }
            fetch_failed = !self.refresh(&mut s, now).await;
        }
        match s.keys.as_ref().and_then(|(k, _)| k.get(kid)) {
            Some(key) => Ok(key.clone()),
            None if fetch_failed || s.keys.is_none() => Err(ApiError::IdentityUnavailable),
            None => Err(ApiError::Unauthenticated(Challenge::InvalidToken(
                Reason::UnknownKey.as_str(),
            ))),
        }
    }

    /// Fetches unless a fetch failed too recently; true when the set was replaced.
    async fn refresh(&self, s: &mut State, now: Instant) -> bool {
        if s.last_failure
            .is_some_and(|t| now.saturating_duration_since(t) < RETRY_AFTER_FAILURE)
        {
            return false;
        }
        match self.fetcher.fetch().await {
            Ok(keys) => {
                tracing::info!(
                    keys = keys.len(),
                    "catalogue API: token signing keys fetched"
                );
                s.keys = Some((keys, now));
                s.last_failure = None;
                true
            }
            Err(cause) => {
                tracing::warn!(
                    error = %cause,
                    "catalogue API: the signing keys of {JWT_AUTHORITY} cannot be fetched; token requests answer 503"
                );
                s.last_failure = Some(now);
                false
            }
        }
    }
}

/// Fetches from the issuer named by [`JwtSettings`]: discovery document, then `jwks_uri`.
pub struct OpenIdFetch {
    http: Result<Client, String>,
    settings: JwtSettings,
}

#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct RawKeySet {
    keys: Vec<serde_json::Value>,
}

impl OpenIdFetch {
    /// A fetcher on the one HTTP client: no redirects (a redirect could leave https), each
    /// request within [`FETCH_TIMEOUT`] under [`Policy::CONTROL`].
    pub fn new(settings: JwtSettings) -> Self {
        let timeouts = Timeouts {
            per_try: FETCH_TIMEOUT,
            total: FETCH_TIMEOUT,
        };
        let http = Client::new(JWT_AUTHORITY, None, Auth::None, timeouts, Policy::CONTROL)
            .map_err(|e| redact(&e.to_string()));
        Self { http, settings }
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let http = self.http.as_ref().map_err(Clone::clone)?;
        let failed = |e: &dyn std::fmt::Display| redact(&format!("GET {url}: {e}"));
        let parsed = reqwest::Url::parse(url).map_err(|e| failed(&e))?;
        let req = Request::new(reqwest::Method::GET, parsed, "");
        http.json(&req).await.map_err(|e| failed(&e))
    }
}

#[async_trait::async_trait]
impl Fetch for OpenIdFetch {
    async fn fetch(&self) -> Result<KeySet, String> {
        let meta: Metadata = self.get(&self.settings.metadata_url()).await?;
        // OpenID Connect Discovery: the document's issuer is the URL it was discovered from.
        if meta.issuer != self.settings.authority {
            return Err(format!(
                "{JWT_AUTHORITY}: the discovery document names another issuer; set the issuer exactly as published"
            ));
        }
        let jwks = check_endpoint(&meta.jwks_uri, self.settings.allow_insecure_loopback)
            .map_err(|why| format!("jwks_uri of {JWT_AUTHORITY}: {why}"))?;
        let set: RawKeySet = self.get(jwks.as_str()).await?;
        let keys: KeySet = set.keys.iter().filter_map(rs256_key).collect();
        if keys.is_empty() {
            return Err(format!(
                "{JWT_AUTHORITY}: the key set has no RSA signing key with a key id"
            ));
        }
        Ok(keys)
    }
}

/// An RSA signature key with a key id, usable for RS256 (other keys in the set are skipped).
pub fn rs256_key(value: &serde_json::Value) -> Option<(String, DecodingKey)> {
    let jwk: Jwk = serde_json::from_value(value.clone()).ok()?;
    let usable = matches!(
        jwk.common.public_key_use,
        None | Some(PublicKeyUse::Signature)
    ) && matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::RS256));
    let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else {
        return None;
    };
    let kid = jwk.common.key_id.clone()?;
    let key = DecodingKey::from_rsa_components(&rsa.n, &rsa.e).ok()?;
    usable.then_some((kid, key))
}
