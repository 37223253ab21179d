//! `GRAPH_ENDPOINT`: where Microsoft Graph is (`https://graph.microsoft.com`; a loopback fake in
//! tests, with `CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK=true`). Unset: people are not resolved to
//! object ids, and every review's duty check is `unverified-identity` (docs/reviews.md).

use url::Url;

use crate::azure::endpoint::check_endpoint;
use crate::setting::Reader;

/// The setting.
pub const ENDPOINT: &str = "GRAPH_ENDPOINT";

/// The endpoint, when set and valid (a bad value is a start-up problem).
pub fn read(r: &mut Reader<'_>, insecure_loopback: bool) -> Option<Url> {
    let raw = r.get(ENDPOINT)?;
    check_endpoint(&raw, insecure_loopback)
        .map_err(|why| r.problem(ENDPOINT, why))
        .ok()
}

/// The token scope of `endpoint`: `{endpoint}/.default`.
pub fn scope(endpoint: &Url) -> String {
    format!("{}/.default", endpoint.as_str().trim_end_matches('/'))
}
