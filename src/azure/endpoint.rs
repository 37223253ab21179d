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
    match scheme_allowed(&url, allow_insecure_loopback) {
        Ok(()) => Ok(url),
        Err(Refused::PlainHttp) => Err(
            "plain http is refused (CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK=true allows it for 127.0.0.1)",
        ),
        Err(Refused::NotHttps) => Err("must be an https URL"),
    }
}

/// Why [`scheme_allowed`] refused a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Plain http to a loopback address, not allowed by the setting.
    PlainHttp,
    /// Anything else that is not https with a host.
    NotHttps,
}

/// https with a host; plain http only to a loopback address (`127.0.0.0/8`, `::1`: a name such as
/// `localhost` is not trusted to resolve there) and only when `allow_insecure_loopback` (tests).
///
/// # Errors
/// Which rule the URL breaks.
pub fn scheme_allowed(url: &Url, allow_insecure_loopback: bool) -> Result<(), Refused> {
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(_)) | None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if loopback && allow_insecure_loopback => Ok(()),
        "http" if loopback => Err(Refused::PlainHttp),
        _ => Err(Refused::NotHttps),
    }
}
