//! Who is calling: the App Service authentication principal (`x-ms-client-principal`) and its roles.
//!
//! The platform already checked the function key. When `CATALOGUE_REQUIRE_PRINCIPAL=true` the API
//! additionally requires the principal Easy Auth injects (base64 JSON `{auth_typ, claims:[{typ,val}],
//! name_typ, role_typ}`) and a role claim: `Catalogue.Read` for reads, `Catalogue.Hold` for holds.
//! Easy Auth strips client-supplied copies of this header, so it can be trusted behind it.

use axum::http::HeaderMap;
use base64::Engine as _;
use serde::Deserialize;

use super::problem::ApiError;

/// Role needed for every read.
pub const ROLE_READ: &str = "Catalogue.Read";
/// Role needed to set or release holds.
pub const ROLE_HOLD: &str = "Catalogue.Hold";
/// The header App Service authentication sets.
pub const PRINCIPAL_HEADER: &str = "x-ms-client-principal";

const ROLE_CLAIMS: [&str; 2] = [
    "roles",
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
];
const NAME_CLAIMS: [&str; 4] = [
    "preferred_username",
    "name",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
];

#[derive(Debug, Deserialize)]
struct Claim {
    typ: String,
    val: String,
}

#[derive(Debug, Deserialize)]
struct RawPrincipal {
    #[serde(default)]
    claims: Vec<Claim>,
    #[serde(default)]
    name_typ: Option<String>,
    #[serde(default)]
    role_typ: Option<String>,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Display name (UPN, e-mail or name claim), for audit rows.
    pub name: String,
    /// Role claim values.
    pub roles: Vec<String>,
}

impl Principal {
    /// Decodes the header value; `None` when it is not base64 JSON of the documented shape.
    pub fn decode(value: &str) -> Option<Self> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .ok()?;
        let raw: RawPrincipal = serde_json::from_slice(&bytes).ok()?;
        let is_role = |t: &str| ROLE_CLAIMS.contains(&t) || raw.role_typ.as_deref() == Some(t);
        let roles = raw
            .claims
            .iter()
            .filter(|c| is_role(&c.typ))
            .map(|c| c.val.clone())
            .collect();
        let name = raw
            .name_typ
            .iter()
            .map(String::as_str)
            .chain(NAME_CLAIMS)
            .find_map(|t| raw.claims.iter().find(|c| c.typ == t && !c.val.is_empty()))
            .map(|c| c.val.clone())
            .unwrap_or_else(|| "unnamed principal".into());
        Some(Self { name, roles })
    }

    /// True when the principal carries `role` (exact, as Entra app roles are case-sensitive).
    pub fn has(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// The caller's identity for audit rows, checked against `role` when principals are required.
///
/// # Errors
/// 401 without a decodable principal, 403 without the role (only when `required`).
pub fn authorize(
    headers: &HeaderMap,
    required: bool,
    role: &'static str,
) -> Result<String, ApiError> {
    let principal = headers
        .get(PRINCIPAL_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(Principal::decode);
    match (principal, required) {
        (Some(p), true) if p.has(role) => Ok(p.name),
        (Some(_), true) => Err(ApiError::Forbidden(role)),
        (None, true) => Err(ApiError::Unauthenticated),
        (Some(p), false) => Ok(p.name),
        (None, false) => Ok("function-key caller".into()),
    }
}

/// The caller's address: first `x-forwarded-for` hop, else `client-ip`, port stripped.
pub fn client_ip(headers: &HeaderMap) -> String {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
    let raw = h("x-forwarded-for")
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .or_else(|| h("client-ip"))
        .unwrap_or_default();
    strip_port(raw).to_owned()
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
