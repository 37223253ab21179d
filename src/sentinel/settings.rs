//! `SENTINEL_INGESTION_ENDPOINT` and `SENTINEL_DCR_IMMUTABLE_ID`: both set, or neither (off).

use url::Url;

use crate::azure::endpoint::check_endpoint;
use crate::setting::Reader;

/// The ingestion endpoint.
pub const ENDPOINT: &str = "SENTINEL_INGESTION_ENDPOINT";
/// The rule's immutable id.
pub const DCR: &str = "SENTINEL_DCR_IMMUTABLE_ID";

/// Where rows go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentinelSettings {
    /// The ingestion endpoint (checked).
    pub endpoint: Url,
    /// The rule's immutable id.
    pub dcr: String,
}

impl SentinelSettings {
    /// The token scope of the endpoint's cloud.
    pub fn scope(&self) -> String {
        crate::ingestion::scope_of(&self.endpoint)
    }
}

/// True for `dcr-` and 32 hexadecimal digits.
pub fn is_immutable_id(v: &str) -> bool {
    v.strip_prefix("dcr-")
        .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Reads the settings (problems go to `r`); `None` when both are unset or either is invalid.
pub fn read(r: &mut Reader<'_>, allow_insecure_loopback: bool) -> Option<SentinelSettings> {
    let (endpoint, dcr) = match (r.get(ENDPOINT), r.get(DCR)) {
        (None, None) => return None,
        (Some(e), Some(d)) => (e, d),
        (set, _) => {
            let unset = if set.is_some() { DCR } else { ENDPOINT };
            r.problem(unset, "set it too (both Sentinel settings, or neither)");
            return None;
        }
    };
    let url = check_endpoint(&endpoint, allow_insecure_loopback)
        .map_err(|why| r.problem(ENDPOINT, why))
        .ok();
    if !is_immutable_id(&dcr) {
        r.problem(
            DCR,
            "the data collection rule's immutable id, dcr-<32 hex digits>",
        );
        return None;
    }
    if let Err(why) = crate::export::declaration() {
        r.problem(
            ENDPOINT,
            &format!("the built-in table declaration is invalid: {why}"),
        );
        return None;
    }
    Some(SentinelSettings {
        endpoint: url?,
        dcr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setting::read_pairs;

    const ID: &str = "dcr-0123456789abcdef0123456789ABCDEF";

    #[test]
    fn both_or_neither() {
        let (s, p) = read_pairs(&[], |r| read(r, false));
        assert!(s.is_none() && p.is_empty());
        let (s, p) = read_pairs(
            &[
                (
                    ENDPOINT,
                    "https://dce-x.westeurope-1.ingest.monitor.azure.com",
                ),
                (DCR, ID),
            ],
            |r| read(r, false),
        );
        assert!(p.is_empty(), "{p:?}");
        let s = s.expect("settings");
        assert_eq!(s.scope(), "https://monitor.azure.com/.default");
        let (_, p) = read_pairs(&[(DCR, ID)], |r| read(r, false));
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with(ENDPOINT), "{p:?}");
    }

    #[test]
    fn bad_values_are_named_without_the_values() {
        let (s, p) = read_pairs(
            &[(ENDPOINT, "http://127.0.0.7:9"), (DCR, "dcr-secretish")],
            |r| read(r, false),
        );
        assert!(s.is_none());
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p.iter()
                .all(|m| !m.contains("127.0.0.7") && !m.contains("secretish"))
        );
        let (s, p) = read_pairs(&[(ENDPOINT, "http://127.0.0.1:9"), (DCR, ID)], |r| {
            read(r, true)
        });
        assert!(p.is_empty() && s.is_some(), "{p:?}");
    }
}
