//! Bearer tokens (`CATALOGUE_AUTH=jwt`), checked by `jsonwebtoken`: RS256 only (no `none`, no HMAC
//! with a public key as its secret), the signature by one of the issuer's keys, `iss` exactly the
//! authority, `aud` the configured audience, `exp` and `nbf` with [`LEEWAY_SECONDS`] of clock skew.
//! App roles come from the `roles` claim, the audit name from `preferred_username`, `upn` or `oid`,
//! the object id from `oid`, and the names a segregation-of-duties check matches from
//! `preferred_username`, `upn`, `email` and `unique_name` (a token with none of them, or with
//! `idtyp: app`, Entra's mark of an app-only token, is an application's: it names no user).
//!
//! Refusals carry a fixed [`Reason`]: never the token, never a claim value (both may be logged).

use axum::http::{HeaderMap, header};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::config::auth::JwtSettings;
use crate::names::named;

/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 60;

/// A caller proven by a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `preferred_username`, else `upn`, else `oid` (app-only tokens carry only the latter).
    pub name: String,
    /// The `roles` claim (app roles assigned to the user or the calling application).
    pub roles: Vec<String>,
    /// The Entra object id (`oid`), when the token carries one.
    pub object_id: Option<String>,
    /// Every name the caller goes by (`preferred_username`, `upn`, `email`, `unique_name`); empty
    /// for an application token (none of them, or `idtyp: app`).
    pub aliases: Vec<String>,
}

impl Identity {
    /// The caller as a person the segregation-of-duties checks compare.
    pub fn person(&self) -> crate::catalogue::person::Person {
        crate::catalogue::person::Person::new(
            std::iter::once(&self.name).chain(&self.aliases),
            self.object_id.as_deref(),
        )
    }

    /// The caller as a person when it names a user (a user name, UPN or e-mail claim); `None`
    /// for an application token, which carries only its object id: no person for a duty.
    pub fn user(&self) -> Option<crate::catalogue::person::Person> {
        (!self.aliases.is_empty()).then(|| self.person())
    }
}

named! {
    /// Why a token was refused: said in `WWW-Authenticate` and the log, without the token (its
    /// fixed description is `as_str`, the challenge's `error_description`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Reason {
        /// Not three base64url parts of JSON (this includes `alg: none`, which is no algorithm here).
        Malformed = "the token is malformed",
        /// Signed with another algorithm than RS256.
        Algorithm = "the token is not signed with RS256",
        /// No `kid` in the header: the key cannot be chosen.
        NoKeyId = "the token names no signing key",
        /// The issuer publishes no key with this `kid`.
        UnknownKey = "the token's signing key is not published by the issuer",
        /// The signature does not verify.
        Signature = "the token's signature is invalid",
        /// `exp` passed.
        Expired = "the token has expired",
        /// `nbf` not reached.
        NotYetValid = "the token is not valid yet",
        /// `iss` is not the authority.
        Issuer = "the token is from another issuer",
        /// `aud` is not the audience.
        Audience = "the token is for another audience",
        /// `exp`, `iss` or `aud` missing or not of the expected type.
        Claims = "the token lacks a required claim",
    }
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    roles: Vec<String>,
    preferred_username: Option<String>,
    upn: Option<String>,
    email: Option<String>,
    unique_name: Option<String>,
    oid: Option<String>,
    /// `app` on an app-only token (Entra's optional claim `idtyp`).
    idtyp: Option<String>,
}

/// The token of an `Authorization: Bearer <token>` header (scheme in any case), if any.
pub fn token_of(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The key id of an RS256 token, read before any key is looked up (so a token that can never pass
/// costs no fetch).
///
/// # Errors
/// The reason the token cannot be checked.
pub fn key_id(token: &str) -> Result<String, Reason> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| Reason::Malformed)?;
    if header.alg != Algorithm::RS256 {
        return Err(Reason::Algorithm);
    }
    header.kid.ok_or(Reason::NoKeyId)
}

/// What a valid token must satisfy, for `settings`.
pub fn validation(settings: &JwtSettings) -> Validation {
    let mut v = Validation::new(Algorithm::RS256);
    v.leeway = LEEWAY_SECONDS;
    v.validate_exp = true;
    v.validate_nbf = true;
    v.validate_aud = true;
    v.set_issuer(&[&settings.authority]);
    v.set_audience(&[&settings.audience]);
    // Without these, a token lacking `iss` or `aud` would not be checked against them.
    v.set_required_spec_claims(&["exp", "iss", "aud"]);
    v
}

/// Verifies `token` with `key` against `validation`.
///
/// # Errors
/// The first check that failed.
pub fn verify(token: &str, key: &DecodingKey, validation: &Validation) -> Result<Identity, Reason> {
    let data =
        jsonwebtoken::decode::<Claims>(token, key, validation).map_err(|e| reason(e.kind()))?;
    let c = data.claims;
    let name = [&c.preferred_username, &c.upn, &c.oid]
        .into_iter()
        .flatten()
        .find(|n| !n.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| "unnamed token holder".to_owned());
    // An app-only token names no user, whatever else it carries.
    let app = c
        .idtyp
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("app"));
    let aliases = [c.preferred_username, c.upn, c.email, c.unique_name]
        .into_iter()
        .flatten()
        .filter(|n| !app && !n.trim().is_empty())
        .collect();
    Ok(Identity {
        name,
        roles: c.roles,
        object_id: c.oid.filter(|o| !o.trim().is_empty()),
        aliases,
    })
}

fn reason(kind: &ErrorKind) -> Reason {
    match kind {
        ErrorKind::InvalidSignature => Reason::Signature,
        ErrorKind::ExpiredSignature => Reason::Expired,
        ErrorKind::ImmatureSignature => Reason::NotYetValid,
        ErrorKind::InvalidIssuer => Reason::Issuer,
        ErrorKind::InvalidAudience => Reason::Audience,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidKeyFormat => Reason::Algorithm,
        ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidClaimFormat(_) => Reason::Claims,
        _ => Reason::Malformed,
    }
}
