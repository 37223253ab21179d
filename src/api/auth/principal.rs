//! The App Service authentication principal (`x-ms-client-principal`): base64 JSON
//! `{auth_typ, claims:[{typ,val}], name_typ, role_typ}` that Easy Auth injects after signing the
//! caller in (and strips from client requests). Believed only in `CATALOGUE_AUTH=platform`. The
//! object id comes from the `objectidentifier` (or `oid`) claim, else from
//! `x-ms-client-principal-id`, which the platform sets beside it ([`PRINCIPAL_ID_HEADER`]).

use base64::Engine as _;
use serde::Deserialize;

use super::bearer::Identity;

/// The header App Service authentication sets.
pub const PRINCIPAL_HEADER: &str = "x-ms-client-principal";
/// The header App Service authentication sets with the principal's id (Entra: its object id).
pub const PRINCIPAL_ID_HEADER: &str = "x-ms-client-principal-id";

const OBJECT_ID_CLAIMS: [&str; 2] = [
    "http://schemas.microsoft.com/identity/claims/objectidentifier",
    "oid",
];
/// Claims naming the person (not a display name): what a segregation-of-duties check matches.
/// A principal with none of them is an application's: it names no user.
const ALIAS_CLAIMS: [&str; 6] = [
    "preferred_username",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
    "upn",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "email",
    "unique_name",
];

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

/// The caller the header value names, its object id else `header_id` (the
/// [`PRINCIPAL_ID_HEADER`]); `None` when it is not base64 JSON of the documented shape.
pub fn decode(value: &str, header_id: Option<String>) -> Option<Identity> {
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
    let claim = |types: &[&str]| -> Vec<String> {
        raw.claims
            .iter()
            .filter(|c| types.contains(&c.typ.as_str()) && !c.val.trim().is_empty())
            .map(|c| c.val.clone())
            .collect()
    };
    let object_id = claim(&OBJECT_ID_CLAIMS).into_iter().next();
    // An app-only token (`idtyp: app`) names no user, whatever else it carries.
    let app = claim(&["idtyp"])
        .iter()
        .any(|t| t.eq_ignore_ascii_case("app"));
    let aliases = if app {
        Vec::new()
    } else {
        claim(&ALIAS_CLAIMS)
    };
    Some(Identity {
        name,
        roles,
        object_id: object_id.or(header_id),
        aliases,
    })
}
