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
    /// 429 after the retries, or a wait beyond the deadline (the service's, or a lane paused
    /// by an earlier 429 past the end of the run).
    #[error("throttled{}", throttled_for(*.retry_after))]
    Throttled {
        /// The wait the service asked for.
        retry_after: Option<Duration>,
    },
    /// The server gave up within the time limit the request set (`Prefer: wait`): a 504, or an
    /// error coded `GatewayTimeout`. Asking the same again would time out again; ask for less.
    #[error("the server timed out the request (504 {code})")]
    ServerTimeout {
        /// The service's error code.
        code: String,
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
        matches!(
            self,
            Self::Throttled { .. } | Self::Transient(_) | Self::ServerTimeout { .. }
        )
    }

    /// Tried again by the client itself, within the call's deadline: not a server timeout (the
    /// same request would time out again).
    pub(super) fn is_retried_here(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Transient(_))
    }
}

fn throttled_for(retry_after: Option<Duration>) -> String {
    retry_after.map_or_else(String::new, |d| {
        format!(" (the service asked to wait {} s)", d.as_secs())
    })
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
            let timed_out = status == 504 || code.eq_ignore_ascii_case(GATEWAY_TIMEOUT);
            if req.server_wait.is_some() && timed_out {
                RestError::ServerTimeout { code }
            } else if status == 408 || status >= 500 {
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

/// The error code of a server timeout.
const GATEWAY_TIMEOUT: &str = "GatewayTimeout";

/// The service's code and message: `error.code` / `error.message` (Resource Manager's and the
/// Logs Query API's shape), or a top-level `code` / `message` (the diagnostic settings API's
/// `ErrorResponse`).
pub(super) fn service_error(body: &[u8]) -> (String, String) {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let field = |name: &str| {
        v.pointer(&format!("/error/{name}"))
            .or_else(|| v.get(name))
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
