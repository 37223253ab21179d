//! Cross-site request forgery: one layer over the whole API router, keyed on the method. Every
//! request but `GET`, `HEAD` and `OPTIONS` is checked before routing, authentication or the body:
//! 403 when `Sec-Fetch-Site` or `Origin` says another origin (own origin = the `Host` header), 415
//! unless the body is JSON (so a browser must preflight, which this API never answers). Requests
//! with neither header (scripts) pass. See docs/catalogue.md.

use axum::extract::Request;
use axum::http::uri::Authority;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::problem::ApiError;
use crate::names::named;

named! {
    /// Why a state-changing request was refused; its fixed reason (`as_str`) goes to the problem
    /// document and the log.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Refusal {
        /// `Sec-Fetch-Site` says another site (or an unknown value).
        FetchSite = "Sec-Fetch-Site says the request comes from another site",
        /// `Origin` is `null`, malformed, or not the app's own.
        Origin = "Origin is not this application's own origin",
        /// `Content-Type` is not `application/json`.
        ContentType = "state-changing requests take Content-Type: application/json",
    }
}

impl Refusal {
    fn error(self) -> ApiError {
        match self {
            Self::ContentType => ApiError::UnsupportedMediaType(self.as_str()),
            Self::FetchSite | Self::Origin => ApiError::CrossSite(self.as_str()),
        }
    }
}

/// True for the methods that never change state here.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"))
}

/// The checks of a state-changing request, in order; the error is the first [`Refusal`] found.
pub fn check(headers: &HeaderMap) -> Result<(), Refusal> {
    match text(headers, header::HeaderName::from_static("sec-fetch-site")) {
        None | Some("same-origin" | "none") => {}
        Some(_) => return Err(Refusal::FetchSite),
    }
    if let Some(origin) = text(headers, header::ORIGIN)
        && !is_own_origin(origin, text(headers, header::HOST))
    {
        return Err(Refusal::Origin);
    }
    let json = text(headers, header::CONTENT_TYPE).is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    json.then_some(()).ok_or(Refusal::ContentType)
}

/// True when `origin` names the host and port of `host` (port-less: the scheme's default).
fn is_own_origin(origin: &str, host: Option<&str>) -> bool {
    let Some(host) = host.and_then(|h| h.trim().parse::<Authority>().ok()) else {
        return false;
    };
    let Ok(url) = url::Url::parse(origin.trim()) else {
        return false;
    };
    // An origin is scheme, host and port only: anything more is not what a browser sends.
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    let (Some(name), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return false;
    };
    let same_host = name.eq_ignore_ascii_case(host.host());
    let same_port = match host.port_u16() {
        Some(p) => p == port,
        // `url` leaves out a scheme's default port: an explicit other port is another origin.
        None => url.port().is_none(),
    };
    bare && url.username().is_empty() && same_host && same_port
}

/// The layer: state-changing requests pass [`check`] or are answered 403 / 415.
pub(super) async fn guard(req: Request, next: Next) -> Response {
    if is_safe(req.method()) {
        return next.run(req).await;
    }
    match check(req.headers()) {
        Ok(()) => next.run(req).await,
        Err(refusal) => {
            let error = refusal.error();
            tracing::warn!(
                status = error.status().as_u16(),
                method = %req.method(),
                path = req.uri().path(),
                reason = refusal.as_str(),
                "catalogue API: request refused"
            );
            error.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                header::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                v.parse().expect("value"),
            );
        }
        h
    }

    const JSON: (&str, &str) = ("content-type", "application/json");
    const HOST: (&str, &str) = ("host", "app.azurewebsites.net");

    #[test]
    fn json_from_the_app_s_own_origin_or_no_browser_passes() {
        for pairs in [
            vec![JSON],
            vec![("content-type", "application/json; charset=utf-8"), HOST],
            vec![("content-type", "Application/JSON;charset=UTF-8")],
            vec![
                JSON,
                HOST,
                ("origin", "https://app.azurewebsites.net"),
                ("sec-fetch-site", "same-origin"),
            ],
            vec![JSON, HOST, ("origin", "http://app.azurewebsites.net")],
            vec![JSON, HOST, ("origin", "https://APP.azurewebsites.net:443")],
            vec![
                JSON,
                ("host", "127.0.0.1:7071"),
                ("origin", "http://127.0.0.1:7071"),
            ],
            vec![JSON, ("sec-fetch-site", "none")],
        ] {
            assert_eq!(check(&headers(&pairs)), Ok(()), "{pairs:?}");
        }
    }

    #[test]
    fn other_sites_and_origins_are_refused() {
        for (pairs, want) in [
            (
                vec![JSON, HOST, ("sec-fetch-site", "cross-site")],
                Refusal::FetchSite,
            ),
            (
                vec![JSON, HOST, ("sec-fetch-site", "same-site")],
                Refusal::FetchSite,
            ),
            (
                vec![JSON, HOST, ("sec-fetch-site", "SAME-ORIGIN ")],
                Refusal::FetchSite,
            ),
            (vec![JSON, HOST, ("origin", "null")], Refusal::Origin),
            (
                vec![JSON, HOST, ("origin", "https://evil.example")],
                Refusal::Origin,
            ),
            (
                vec![
                    JSON,
                    HOST,
                    ("origin", "https://app.azurewebsites.net.evil.example"),
                ],
                Refusal::Origin,
            ),
            (
                vec![JSON, HOST, ("origin", "https://other.azurewebsites.net")],
                Refusal::Origin,
            ),
            (
                vec![
                    JSON,
                    ("host", "127.0.0.1:7071"),
                    ("origin", "http://127.0.0.1:8080"),
                ],
                Refusal::Origin,
            ),
            (
                vec![JSON, HOST, ("origin", "https://app.azurewebsites.net/api")],
                Refusal::Origin,
            ),
            (
                vec![JSON, ("origin", "https://app.azurewebsites.net")],
                Refusal::Origin,
            ),
            // Another port of the same host is another origin.
            (
                vec![JSON, HOST, ("origin", "https://app.azurewebsites.net:8443")],
                Refusal::Origin,
            ),
            (
                vec![JSON, HOST, ("origin", "not an origin")],
                Refusal::Origin,
            ),
            // Where it comes from is decided before what it carries.
            (
                vec![
                    ("content-type", "text/plain"),
                    HOST,
                    ("origin", "https://evil.example"),
                ],
                Refusal::Origin,
            ),
        ] {
            assert_eq!(check(&headers(&pairs)), Err(want), "{pairs:?}");
        }
    }

    #[test]
    fn only_json_bodies_are_taken() {
        for ct in [
            None,
            Some("text/plain"),
            Some("text/plain; charset=utf-8"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/jsonx"),
            Some("application/problem+json"),
            Some("text/json"),
        ] {
            let mut pairs = vec![HOST];
            pairs.extend(ct.map(|c| ("content-type", c)));
            assert_eq!(check(&headers(&pairs)), Err(Refusal::ContentType), "{ct:?}");
        }
    }

    #[test]
    fn safe_methods_are_not_checked() {
        assert!(is_safe(&Method::GET) && is_safe(&Method::HEAD) && is_safe(&Method::OPTIONS));
        for m in [
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::from_bytes(b"PURGE").expect("method"),
        ] {
            assert!(!is_safe(&m), "{m}");
        }
    }
}
