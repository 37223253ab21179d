//! RFC 7807-style problem responses: the only error shape the API returns.
//!
//! Bodies name the problem and, for bad input, the offending parameter; never an internal error
//! text (storage errors are logged, redacted, and answered with a generic 503). A 401 carries its
//! `WWW-Authenticate` challenge ([`Challenge`]); every 503 a `Retry-After`.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::azure::AzureError;
use crate::catalogue::query::Invalid;
use crate::ports::RequestError;
use crate::telemetry::redact;

/// An API failure, mapped to a status and a problem body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400: a filter, id or token the caller must fix.
    BadRequest(String),
    /// 401: no (valid) credentials, or authentication is not configured.
    Unauthenticated(Challenge),
    /// 403: the caller is authenticated but lacks the role.
    Forbidden(&'static str),
    /// 403: segregation of duties: this caller may not do this (its own session's review, the
    /// second approval of its own hold release); the reason.
    Refused(String),
    /// 403: a state-changing request from another origin ([`super::csrf`]); the reason.
    CrossSite(&'static str),
    /// 415: a state-changing request whose body is not `application/json`; the reason.
    UnsupportedMediaType(&'static str),
    /// 404.
    NotFound(String),
    /// 409: the request conflicts with the resource's state (e.g. holding a deleted recording).
    Conflict(String),
    /// 503: storage unavailable (details logged, not returned).
    Unavailable,
    /// 503: the token issuer's signing keys cannot be fetched (its outage, not the caller's fault).
    IdentityUnavailable,
    /// 503: as many evidence packs as allowed are being built; retry after a while.
    Busy,
}

/// Why a 401, and what its `WWW-Authenticate` challenge says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// No credentials: `Bearer`; the detail says what is expected.
    Missing(&'static str),
    /// A token that failed validation: `Bearer error="invalid_token"` with this description.
    InvalidToken(&'static str),
    /// `CATALOGUE_AUTH` and its settings are not usable: the problems, naming the settings.
    Unconfigured(String),
}

impl Challenge {
    fn header(&self) -> String {
        match self {
            Self::InvalidToken(why) => {
                format!("Bearer error=\"invalid_token\", error_description=\"{why}\"")
            }
            Self::Missing(_) | Self::Unconfigured(_) => "Bearer".to_owned(),
        }
    }
}

impl ApiError {
    /// A 400 naming the parameter.
    pub fn bad(param: &str, why: impl std::fmt::Display) -> Self {
        Self::BadRequest(format!("{param}: {why}"))
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::Refused(_) | Self::CrossSite(_) => StatusCode::FORBIDDEN,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unavailable | Self::IdentityUnavailable | Self::Busy => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// The problem's detail: one plain sentence (what the command line prints).
    pub fn detail(&self) -> String {
        self.title_detail().1
    }

    fn title_detail(&self) -> (&'static str, String) {
        match self {
            Self::BadRequest(d) => ("Invalid request", d.clone()),
            Self::Unauthenticated(Challenge::Missing(what)) => {
                ("Authentication required", (*what).to_owned())
            }
            Self::Unauthenticated(Challenge::InvalidToken(why)) => {
                ("Invalid token", (*why).to_owned())
            }
            Self::Unauthenticated(Challenge::Unconfigured(problems)) => (
                "Authentication not configured",
                format!(
                    "the catalogue API refuses every request until its authentication is configured: {problems}"
                ),
            ),
            Self::Forbidden(role) => ("Forbidden", format!("role {role} is required")),
            Self::Refused(why) => ("Refused: segregation of duties", why.clone()),
            Self::CrossSite(why) => ("Cross-site request refused", (*why).to_owned()),
            Self::UnsupportedMediaType(why) => ("Unsupported media type", (*why).to_owned()),
            Self::NotFound(d) => ("Not found", d.clone()),
            Self::Conflict(d) => ("Conflict", d.clone()),
            Self::Unavailable => (
                "Storage unavailable",
                "the catalogue storage is unavailable; retry later".into(),
            ),
            Self::IdentityUnavailable => (
                "Identity provider unavailable",
                "the token issuer's signing keys cannot be fetched; retry later".into(),
            ),
            Self::Busy => (
                "Busy",
                "as many evidence packs as this instance builds at once are being built; retry later"
                    .into(),
            ),
        }
    }
}

/// `<title>: <detail>`, the problem body's words.
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (title, detail) = self.title_detail();
        write!(f, "{title}: {detail}")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (title, detail) = self.title_detail();
        let body = json!({
            "type": "about:blank", "title": title, "status": status.as_u16(), "detail": detail,
        });
        let mut res = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response();
        if let Self::Unauthenticated(c) = &self
            && let Ok(v) = header::HeaderValue::from_str(&c.header())
        {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("30"));
        }
        res
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        Self::bad(&e.param, e.reason)
    }
}

impl From<AzureError> for ApiError {
    fn from(e: AzureError) -> Self {
        match e {
            AzureError::NotFound => Self::NotFound("no such resource".into()),
            AzureError::Rejected { .. } => rejected(&e.to_string()),
            other => {
                tracing::warn!(error.cause_chain = %redact(&other.to_string()), "catalogue API: storage failed");
                Self::Unavailable
            }
        }
    }
}

impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Invalid(m) => Self::BadRequest(m),
            RequestError::NotFound(m) => Self::NotFound(m),
            RequestError::Refused(m) => Self::Refused(m),
            RequestError::Conflict(m) => Self::Conflict(m),
            RequestError::Storage(e) => e.into(),
        }
    }
}

/// Input the storage service refuses whatever the retry (a value over its size limits, a key it
/// cannot hold): the caller's request, not an outage, so a 400 and never a 503 with `Retry-After`.
fn rejected(why: &str) -> ApiError {
    tracing::info!(error = %redact(why), "catalogue API: storage refused the request's input");
    ApiError::BadRequest(
        "the storage service refuses this input (a value or key over its limits)".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_input_is_the_callers_400_and_outages_stay_503() {
        let refused = ApiError::from(AzureError::refused(400, "EntityTooLarge", ""));
        assert!(matches!(refused, ApiError::BadRequest(ref m) if !m.contains("EntityTooLarge")));
        let refused = ApiError::from(AzureError::refused(413, "", ""));
        assert!(matches!(refused, ApiError::BadRequest(_)));
        let down = ApiError::from(AzureError::Transient("reset".into()));
        assert_eq!(down, ApiError::Unavailable);
        let res = down.into_response();
        assert!(res.headers().contains_key(header::RETRY_AFTER));
    }

    /// A hold's or review's failure: each kind its status, storage as every table failure.
    #[test]
    fn a_request_error_maps_to_its_status() {
        for (e, status) in [
            (RequestError::Invalid("who".into()), 400),
            (RequestError::NotFound("hold h".into()), 404),
            (RequestError::Refused("own".into()), 403),
            (RequestError::Conflict("named".into()), 409),
            (AzureError::refused(400, "TooLarge", "").into(), 400),
            (AzureError::Conflict.into(), 503),
            (AzureError::Transient("reset".into()).into(), 503),
        ] {
            let label = e.to_string();
            assert_eq!(ApiError::from(e).status().as_u16(), status, "{label}");
        }
        let e = ApiError::from(RequestError::Conflict("named".into()));
        assert_eq!(e.detail(), "named");
    }
}
