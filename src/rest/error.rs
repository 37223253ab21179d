//! What a failed call means for the caller: retry later, fix a role, or give up on this item.

use std::time::Duration;

use reqwest::Response;

use super::RestRequest;
use crate::telemetry::redact;

/// Longest service message kept in an error (they can echo request content).
const MAX_MESSAGE: usize = 300;

/// A call that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestError {
    /// 403: the identity lacks the named role.
    #[error("403: missing role {role}")]
    MissingRole {
        /// The role the request needed.
        role: String,
    },
    /// 404: the resource does not exist (or is not visible).
    #[error("404: not found: {what}")]
    NotFound {
        /// The URL's path.
        what: String,
    },
    /// 429 after the retries, or a wait beyond the deadline.
    #[error("throttled (retry after {retry_after:?})")]
    Throttled {
        /// The wait the service asked for.
        retry_after: Option<Duration>,
    },
    /// Any other 4xx (401 included): the request as sent will not succeed.
    #[error("{status} {code}: {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The service's error code.
        code: String,
        /// The service's message, redacted and shortened.
        message: String,
    },
    /// 5xx, timeouts, connection and token failures after the retries.
    #[error("transient: {0}")]
    Transient(String),
}

impl RestError {
    /// Worth trying again later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Transient(_))
    }
}

/// The error a non-success response stands for; the body is read for the service's code.
pub(super) async fn from_response(
    res: Response,
    req: &RestRequest<'_>,
    retry_after: Option<Duration>,
) -> RestError {
    let status = res.status().as_u16();
    match status {
        403 => RestError::MissingRole {
            role: req.role.to_owned(),
        },
        404 => RestError::NotFound {
            what: req.url.path().to_owned(),
        },
        429 => RestError::Throttled { retry_after },
        _ => {
            let (code, message) = service_error(&res.bytes().await.unwrap_or_default());
            if status == 408 || status >= 500 {
                RestError::Transient(format!("{status} {code}: {message}"))
            } else {
                RestError::Rejected {
                    status,
                    code,
                    message,
                }
            }
        }
    }
}

/// `error.code` and `error.message` of the ARM / Log Analytics error shape.
fn service_error(body: &[u8]) -> (String, String) {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let field = |name: &str| {
        v.pointer(&format!("/error/{name}"))
            .and_then(|c| c.as_str())
            .unwrap_or_default()
    };
    let message = crate::telemetry::truncate(&redact(field("message")), MAX_MESSAGE);
    let code = match field("code") {
        "" => "(no error code)".to_owned(),
        c => redact(c),
    };
    (code, message)
}
