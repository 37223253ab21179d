//! Who is calling, decided by `CATALOGUE_AUTH` ([`settings`]) and checked before any route but
//! `/api/health` does anything: [`Caller`] is an extractor every such handler takes first.
//!
//! - `platform`: App Service authentication is in front and injects `x-ms-client-principal`
//!   ([`principal`]); its roles are checked.
//! - `jwt`: `Authorization: Bearer` tokens are validated here ([`bearer`], keys from [`keys`]).
//! - `none`: the function key the platform checked is the only credential; every route is open to
//!   its holder and no principal header or token is believed (a forged one names no one).
//! - unset or invalid: every request is refused with 401 naming the settings, while the event
//!   functions keep running.
//!
//! Reads need `Catalogue.Read`, holds `Catalogue.Hold`, reviews `Catalogue.Review`. A refusal is 401 with a `WWW-Authenticate`
//! challenge (`Bearer`, or `Bearer error="invalid_token"` for a bad token), or 403 for a caller
//! without the role; 503 when the issuer's keys cannot be fetched. Every refusal is logged with its
//! reason, never with the token.

pub mod bearer;
pub mod keys;
pub mod principal;
pub use crate::config::auth as settings;
#[cfg(test)]
mod tests;

use std::time::Instant;

use axum::http::HeaderMap;

use self::bearer::Identity;
use self::keys::{KeyCache, OpenIdFetch};
pub use self::principal::{PRINCIPAL_HEADER, PRINCIPAL_ID_HEADER};
pub use self::settings::AuthMode;
use super::problem::{ApiError, Challenge};

/// Role needed for every read.
pub const ROLE_READ: &str = "Catalogue.Read";
/// Role needed to set or release holds.
pub const ROLE_HOLD: &str = "Catalogue.Hold";
/// App role for disconnecting live Bastion sessions.
pub const ROLE_DISCONNECT: &str = "Catalogue.Disconnect";
/// Role needed to record a review (sign off a recording or session).
pub const ROLE_REVIEW: &str = "Catalogue.Review";

/// An authenticated caller: `None` when the function key is the only credential (`none`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(Option<Identity>);

impl Caller {
    /// True when the caller has `role` (a function-key caller has every role), without refusing
    /// or logging: what a route shows more of to such a caller (`/api/health`'s details).
    pub fn has(&self, role: &str) -> bool {
        self.0
            .as_ref()
            .is_none_or(|id| id.roles.iter().any(|r| r == role))
    }

    /// The caller's identity when it has `role` (`None` for a function-key caller, who has every
    /// role: the key is its authorization).
    ///
    /// # Errors
    /// 403 when an authenticated caller lacks the role.
    pub fn require_identity(self, role: &'static str) -> Result<Option<Identity>, ApiError> {
        match self.0 {
            None => Ok(None),
            Some(id) if id.roles.iter().any(|r| r == role) => Ok(Some(id)),
            Some(id) => {
                tracing::warn!(who = %id.name, role, "catalogue API: refused 403, the caller lacks the role");
                Err(ApiError::Forbidden(role))
            }
        }
    }

    /// The caller's name when it has `role` (`None` for a function-key caller, who has every
    /// role: the key is its authorization).
    ///
    /// # Errors
    /// 403 when an authenticated caller lacks the role.
    pub fn require(self, role: &'static str) -> Result<Option<String>, ApiError> {
        self.require_identity(role).map(|id| id.map(|i| i.name))
    }
}

/// The authentication mode with its state (the issuer's key cache for `jwt`).
pub struct Authenticator(AuthMode<Box<Jwt>>);

struct Jwt {
    settings: settings::JwtSettings,
    keys: KeyCache,
    validation: jsonwebtoken::Validation,
}

impl Authenticator {
    /// Builds the mode's state; nothing is fetched until a token arrives.
    pub fn new(mode: &AuthMode) -> Self {
        match mode {
            AuthMode::Jwt(s) => {
                Self::with_keys(s, KeyCache::new(Box::new(OpenIdFetch::new(s.clone()))))
            }
            AuthMode::Platform => Self(AuthMode::Platform),
            AuthMode::FunctionKey => Self(AuthMode::FunctionKey),
            AuthMode::Unconfigured(p) => Self(AuthMode::Unconfigured(p.clone())),
        }
    }

    /// A `jwt` authenticator over a given key source (tests pass a fake one).
    pub fn with_keys(settings: &settings::JwtSettings, keys: KeyCache) -> Self {
        Self(AuthMode::Jwt(Box::new(Jwt {
            settings: settings.clone(),
            keys,
            validation: bearer::validation(settings),
        })))
    }

    /// Logs the mode once at start-up; an unusable configuration loudly.
    pub fn announce(&self) {
        match &self.0 {
            AuthMode::Unconfigured(problems) => tracing::error!(
                problems = %problems.join("; "),
                "catalogue API authentication is not configured: every request except /api/health is refused with 401 until it is; the event functions keep running"
            ),
            AuthMode::Jwt(j) => tracing::info!(
                authority = %j.settings.authority,
                audience = %j.settings.audience,
                "catalogue API: bearer tokens are validated by the handler"
            ),
            AuthMode::Platform => tracing::info!(
                "catalogue API: callers are the App Service authentication principal"
            ),
            AuthMode::FunctionKey => tracing::warn!(
                "catalogue API: CATALOGUE_AUTH=none, the function key is the only credential"
            ),
        }
    }

    /// The caller behind `headers`.
    ///
    /// # Errors
    /// 401 (with the challenge) when no caller is proven, 503 when the issuer's keys are unavailable.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        match &self.0 {
            AuthMode::FunctionKey => Ok(Caller(None)),
            AuthMode::Platform => {
                let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
                let id = header(PRINCIPAL_ID_HEADER)
                    .map(str::trim)
                    .filter(|v| !v.is_empty());
                (header(PRINCIPAL_HEADER).and_then(|p| principal::decode(p, id.map(str::to_owned))))
                    .map(|i| Caller(Some(i)))
                    .ok_or(ApiError::Unauthenticated(Challenge::Missing(
                        "an App Service authentication principal is required",
                    )))
            }
            AuthMode::Jwt(jwt) => jwt.authenticate(headers).await,
            AuthMode::Unconfigured(problems) => Err(ApiError::Unauthenticated(
                Challenge::Unconfigured(problems.join("; ")),
            )),
        }
    }
}

impl Jwt {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let invalid =
            |r: bearer::Reason| ApiError::Unauthenticated(Challenge::InvalidToken(r.as_str()));
        let token = bearer::token_of(headers).ok_or(ApiError::Unauthenticated(
            Challenge::Missing("a bearer token (Authorization: Bearer) is required"),
        ))?;
        let kid = bearer::key_id(token).map_err(invalid)?;
        let key = self.keys.key(&kid, Instant::now()).await?;
        let id = bearer::verify(token, &key, &self.validation).map_err(invalid)?;
        Ok(Caller(Some(id)))
    }
}

/// The caller's address as the platform saw it, for the access audit: App Service's front end
/// sets `client-ip` (`address:port`) on every request it forwards, replacing any value the caller
/// sent, so it is the one address a caller cannot choose. `X-Forwarded-For` is never read: its
/// entries before the last are whatever the caller sent (the front end only appends the address it
/// saw, which `client-ip` already carries). The port is stripped and the rest must parse as an IP
/// address; otherwise (no front end, as in local runs, or a value that is no address) the address
/// is unknown: empty.
pub fn client_ip(headers: &HeaderMap) -> String {
    headers
        .get("client-ip")
        .and_then(|v| v.to_str().ok())
        .map(|v| strip_port(v.trim()))
        .and_then(|v| v.parse::<std::net::IpAddr>().ok())
        .map(|ip| ip.to_string())
        .unwrap_or_default()
}

fn strip_port(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match addr.rsplit_once(':') {
        // One colon: IPv4 with port. More: a bare IPv6 address.
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => addr,
    }
}
