//! `CATALOGUE_AUTH` and the token settings: who authenticates callers of the catalogue API.
//!
//! Problems here never stop start-up: the event functions must keep running when only the catalogue
//! is misconfigured. A missing or bad value puts the API into [`AuthMode::Unconfigured`] instead —
//! every route but `/api/health` answers 401 with a problem document naming the settings — and the
//! routes log it once, loudly, when they are built. Values are never repeated in those messages.

pub use crate::azure::endpoint::check_endpoint;

use crate::setting::Reader;

/// Who authenticates: `platform`, `jwt` or `none`.
pub const AUTH: &str = "CATALOGUE_AUTH";
/// The token issuer (`jwt`), e.g. `https://login.microsoftonline.com/<tenant>/v2.0`.
pub const JWT_AUTHORITY: &str = "CATALOGUE_JWT_AUTHORITY";
/// The audience tokens must name (`jwt`): the API's application (client) id for v2 tokens.
pub const JWT_AUDIENCE: &str = "CATALOGUE_JWT_AUDIENCE";
/// `true` lets the authority (and its key URL) be plain http on a loopback host: tests only.
pub const ALLOW_INSECURE_LOOPBACK: &str = "CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK";

/// How callers are authenticated; `jwt` holds `J`: its settings, or the API's state for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode<J = JwtSettings> {
    /// `platform`: App Service authentication is in front and injects `x-ms-client-principal`
    /// (stripping any copy the client sent); the handler believes that header and nothing else.
    Platform,
    /// `jwt`: the handler validates Microsoft Entra ID bearer tokens itself.
    Jwt(J),
    /// `none`: the function key is the only check (local runs, the demo); no principal header or
    /// token is believed, so no caller can name itself in an audit row.
    FunctionKey,
    /// Unset or invalid: every problem, naming its setting. The API refuses every request.
    Unconfigured(Vec<String>),
}

/// Where bearer tokens come from and whom they must be for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtSettings {
    /// `CATALOGUE_JWT_AUTHORITY`, exactly as configured: also the only accepted `iss`.
    pub authority: String,
    /// `CATALOGUE_JWT_AUDIENCE`: the only accepted `aud`.
    pub audience: String,
    /// `CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK`: http allowed for loopback hosts (tests).
    pub allow_insecure_loopback: bool,
}

impl JwtSettings {
    /// The OpenID Connect discovery document of the authority.
    pub fn metadata_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.authority.trim_end_matches('/')
        )
    }
}

impl AuthMode {
    /// Reads the settings. Problems are kept in [`AuthMode::Unconfigured`], not reported to `r`:
    /// they must not stop start-up.
    pub fn from_reader(r: &Reader<'_>) -> Self {
        let value = r.get(AUTH).map(|v| v.to_ascii_lowercase());
        match value.as_deref() {
            Some("platform") => Self::Platform,
            Some("none") => Self::FunctionKey,
            Some("jwt") => jwt(r),
            Some(_) => Self::Unconfigured(vec![format!("{AUTH}: expected platform, jwt or none")]),
            None => Self::Unconfigured(vec![format!("{AUTH}: not set (platform, jwt or none)")]),
        }
    }

    /// The problems of an unconfigured mode (empty otherwise).
    #[cfg(test)]
    pub fn problems(&self) -> &[String] {
        match self {
            Self::Unconfigured(p) => p,
            _ => &[],
        }
    }
}

fn jwt(r: &Reader<'_>) -> AuthMode {
    let mut problems = Vec::new();
    let allow_insecure_loopback = r
        .try_flag(ALLOW_INSECURE_LOOPBACK)
        .unwrap_or_else(|problem| {
            problems.push(problem);
            None
        })
        .unwrap_or(false);
    let authority = r.get(JWT_AUTHORITY);
    match &authority {
        None => problems.push(format!("{JWT_AUTHORITY}: not set (the token issuer URL)")),
        Some(a) => {
            if let Err(why) = check_endpoint(a, allow_insecure_loopback) {
                problems.push(format!("{JWT_AUTHORITY}: {why}"));
            }
        }
    }
    let audience = r.get(JWT_AUDIENCE);
    if audience.is_none() {
        problems.push(format!(
            "{JWT_AUDIENCE}: not set (the API's application id)"
        ));
    }
    match (authority, audience) {
        (Some(authority), Some(audience)) if problems.is_empty() => AuthMode::Jwt(JwtSettings {
            authority,
            audience,
            allow_insecure_loopback,
        }),
        _ => AuthMode::Unconfigured(problems),
    }
}
