//! Which endpoints a client may call: https, or plain http to a loopback host when a test says so.

use url::{Host, Url};

/// An https URL without credentials, query or fragment; plain http only to a loopback host and
/// only when `allow_insecure_loopback`. Used for the authority and for the key URL it publishes.
///
/// # Errors
/// What is expected, without the value.
pub fn check_endpoint(value: &str, allow_insecure_loopback: bool) -> Result<Url, &'static str> {
    let url = Url::parse(value).map_err(|_| "not a valid URL")?;
    if !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err("must not carry credentials, a query or a fragment");
    }
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(_)) | None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if loopback && allow_insecure_loopback => Ok(url),
        "http" if loopback => Err(
            "plain http is refused (CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK=true allows it for 127.0.0.1)",
        ),
        _ => Err("must be an https URL"),
    }
}
