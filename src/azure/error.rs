//! What a failed call means for its caller, one type for every client: skip it, retry later,
//! grant a role, or give up on this input. Error texts are redacted and short.

use std::time::Duration;

use azure_core::error::ErrorKind;
use azure_core::http::headers::HeaderName;

use super::identity_error::identity_failure;
use crate::telemetry::redact;

/// Longest service message kept in an error (they can echo request content).
const MAX_MESSAGE: usize = 300;

/// A call that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AzureError {
    /// 404: the blob, container, entity, table or resource does not exist (or is not visible).
    #[error("not found")]
    NotFound,
    /// 409: it exists already (an insert, a conditional create).
    #[error("conflict")]
    Conflict,
    /// 412: an `If-Match`, `If-None-Match` or `x-ms-if-tags` condition did not hold.
    #[error("precondition failed")]
    PreconditionFailed,
    /// 416: a ranged read starting at or past the end of the blob (no new bytes).
    #[error("range not satisfiable")]
    RangeNotSatisfiable,
    /// 403: the identity lacks the named role or permission.
    #[error("403: missing role {role}")]
    Forbidden {
        /// What to grant, and where.
        role: String,
    },
    /// 403 `AuthenticationFailed`: the service did not accept the credentials (a wrong account key,
    /// a mis-signed or expired SAS); not a missing role. Names the connection setting once
    /// [`AzureError::with_connection`] knows it.
    #[error("authentication failed: the storage account refused the credentials of {} (a wrong account key or SAS; 403 {code})", connection_or(.connection))]
    Unauthenticated {
        /// The connection setting whose credentials were refused.
        connection: String,
        /// The service's error code.
        code: String,
    },
    /// 429 (or 503 with `Retry-After`) after the retries, or an asked wait past the caller's end.
    #[error("throttled{}", throttled_for(*.retry_after))]
    Throttled {
        /// The wait the service asked for.
        retry_after: Option<Duration>,
    },
    /// The server gave up within the request's `Prefer: wait` (504): ask for less.
    #[error("the server timed out the request (504 {code})")]
    ServerTimeout {
        /// The service's error code.
        code: String,
    },
    /// Timeouts, connection and token failures, 408 and 5xx after the retries: worth a later try.
    #[error("{0}")]
    Transient(String),
    /// 400 or 413: the service refuses this input every time (poison, not an outage).
    #[error("{}", http(*status, code, message))]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The service's error code.
        code: String,
        /// The service's message, redacted and shortened.
        message: String,
    },
    /// Anything else (401, a redirect, a malformed answer): retrying will not help.
    #[error("{0}")]
    Permanent(String),
}

/// A 404 as absence: `Ok(None)`; the value, or any other error, as it is.
///
/// # Errors
/// The call's error, but `NotFound`.
pub fn found<T>(r: Result<T, AzureError>) -> Result<Option<T>, AzureError> {
    match r {
        Err(AzureError::NotFound) => Ok(None),
        r => r.map(Some),
    }
}

impl AzureError {
    /// The error an HTTP status stands for; a 403's role is filled by [`Self::with_role`].
    pub fn from_status(
        status: u16,
        code: &str,
        message: &str,
        retry_after: Option<Duration>,
    ) -> Self {
        let (code, message) = (redact(code), short(message));
        match status {
            403 if is_authentication_failure(&code, &message) => Self::Unauthenticated {
                connection: String::new(),
                code,
            },
            403 => Self::Forbidden {
                role: String::new(),
            },
            404 => Self::NotFound,
            409 => Self::Conflict,
            412 => Self::PreconditionFailed,
            416 => Self::RangeNotSatisfiable,
            429 => Self::Throttled { retry_after },
            503 if retry_after.is_some() => Self::Throttled { retry_after },
            408 | 500..=599 => Self::Transient(http(status, &code, &message)),
            400 | 413 => Self::refused(status, &code, &message),
            300..=399 => Self::Permanent(format!("HTTP {status}: redirect not followed")),
            _ => Self::Permanent(http(status, &code, &message)),
        }
    }

    /// A refusal decided before sending, as the service would answer it.
    pub fn refused(status: u16, code: &str, message: &str) -> Self {
        let (code, message) = (redact(code), short(message));
        Self::Rejected {
            status,
            code,
            message,
        }
    }

    /// An SDK call's error by HTTP status, transport failures transient; redacted (SDK errors may
    /// quote URLs carrying the SAS).
    pub fn of_sdk(e: &azure_core::Error) -> Self {
        match e.kind() {
            ErrorKind::HttpResponse {
                status,
                error_code,
                raw_response,
            } => {
                let retry_after = raw_response.as_ref().and_then(|r| {
                    let value = r
                        .headers()
                        .get_optional_str(&HeaderName::from_static("retry-after"))?;
                    super::retry_after::parse_retry_after(value, std::time::SystemTime::now())
                });
                let code = error_code.as_deref().unwrap_or_default();
                // Only a refusal's body is read: it tells a bad key from a missing role.
                let message = raw_response
                    .as_ref()
                    .filter(|_| u16::from(*status) == 403)
                    .map(|r| String::from_utf8_lossy(r.body().as_ref()).into_owned())
                    .unwrap_or_default();
                Self::from_status(u16::from(*status), code, &message, retry_after)
            }
            ErrorKind::Connection | ErrorKind::Io => Self::Transient(redact(&e.to_string())),
            ErrorKind::Credential => Self::Transient(
                identity_failure(e)
                    .unwrap_or_else(|| format!("credential: {}", redact(&e.to_string()))),
            ),
            _ => Self::Permanent(redact(&e.to_string())),
        }
    }

    /// The same error, a 403 naming `role` (when it names none yet).
    #[must_use]
    pub fn with_role(self, role: impl FnOnce() -> String) -> Self {
        match self {
            Self::Forbidden { role: r } if r.is_empty() => Self::Forbidden { role: role() },
            other => other,
        }
    }

    /// The same error, an authentication failure naming the connection setting `connection`
    /// (when it names none yet).
    #[must_use]
    pub fn with_connection(self, connection: &str) -> Self {
        match self {
            Self::Unauthenticated {
                connection: c,
                code,
            } if c.is_empty() => Self::Unauthenticated {
                connection: connection.to_owned(),
                code,
            },
            other => other,
        }
    }

    /// Worth trying again later: throttled, a server timeout, or transient.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Throttled { .. } | Self::Transient(_) | Self::ServerTimeout { .. }
        )
    }

    /// Tried again within the call: not a server timeout (it would time out again).
    pub(super) fn is_retried_here(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Transient(_))
    }

    /// The wait the service asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Throttled { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// False for answers callers expect and act on (not found, conflict, …): not logged.
    pub fn is_failure(&self) -> bool {
        !matches!(
            self,
            Self::NotFound | Self::Conflict | Self::PreconditionFailed | Self::RangeNotSatisfiable
        )
    }
}

impl From<azure_core::Error> for AzureError {
    fn from(e: azure_core::Error) -> Self {
        Self::of_sdk(&e)
    }
}

/// A service message as kept: redacted and shortened.
fn short(message: &str) -> String {
    crate::telemetry::truncate(&redact(message), MAX_MESSAGE, "…")
}

/// `HTTP <status> <code>: <message>`, leaving out what is empty.
fn http(status: u16, code: &str, message: &str) -> String {
    let mut text = format!("HTTP {status}");
    for (sep, part) in [(" ", code), (": ", message)] {
        if !part.is_empty() {
            text.push_str(sep);
            text.push_str(part);
        }
    }
    text
}

/// A 403 that refuses the credentials themselves: Azure Storage's `AuthenticationFailed`, or the
/// "Server failed to authenticate the request" message (Azurite answers a bad signature with it
/// under `AuthorizationFailure`). A missing role is `AuthorizationPermissionMismatch`.
fn is_authentication_failure(code: &str, message: &str) -> bool {
    code.eq_ignore_ascii_case("AuthenticationFailed")
        || message.contains("failed to authenticate the request")
}

fn connection_or(connection: &str) -> &str {
    if connection.is_empty() {
        "the connection"
    } else {
        connection
    }
}

fn throttled_for(retry_after: Option<Duration>) -> String {
    retry_after.map_or_else(String::new, |d| {
        format!(" (the service asked to wait {} s)", d.as_secs())
    })
}

/// The service's error code and message in an error body (`error`, top-level or `odata.error`);
/// a body that is not JSON is its own message.
pub fn service_error(body: &[u8]) -> (String, String) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        let text = String::from_utf8_lossy(body);
        return (String::new(), text.trim().to_owned());
    };
    let field = |paths: [&str; 3]| {
        paths
            .iter()
            .find_map(|p| v.pointer(p).and_then(serde_json::Value::as_str))
            .unwrap_or_default()
            .to_owned()
    };
    (
        field(["/error/code", "/code", "/odata.error/code"]),
        field(["/error/message", "/message", "/odata.error/message/value"]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_and_texts_redacted() {
        let e = |s| AzureError::from_status(s, "Code", "at https://h/x?sig=SECRET", None);
        assert_eq!(e(404), AzureError::NotFound);
        assert_eq!(e(409), AzureError::Conflict);
        assert_eq!(e(412), AzureError::PreconditionFailed);
        assert_eq!(e(416), AzureError::RangeNotSatisfiable);
        assert!(e(503).is_retryable() && e(429).is_retryable() && e(408).is_retryable());
        assert!(!e(403).is_retryable() && !e(400).is_retryable() && !e(401).is_retryable());
        assert!(matches!(e(413), AzureError::Rejected { status: 413, .. }));
        assert!(!e(500).to_string().contains("SECRET"), "{}", e(500));
        assert!(e(302).to_string().contains("redirect not followed"));
        let wait = Some(Duration::from_secs(2));
        let busy = AzureError::from_status(503, "ServerBusy", "", wait);
        assert_eq!(
            busy.retry_after(),
            wait,
            "a 503 naming its wait is throttling"
        );
        assert_eq!(
            e(403).with_role(|| "Reader on h".into()).to_string(),
            "403: missing role Reader on h"
        );
        assert_eq!(e(500).to_string(), "HTTP 500 Code: at https://h/…");
    }

    #[test]
    fn a_refused_key_is_an_authentication_failure_not_a_missing_role() {
        let bad_key = AzureError::from_status(
            403,
            "AuthenticationFailed",
            "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
            None,
        );
        let azurite = AzureError::from_status(
            403,
            "AuthorizationFailure",
            "<Error><Code>AuthorizationFailure</Code><Message>Server failed to authenticate the request. Make sure the value of the Authorization header is formed correctly including the signature.</Message></Error>",
            None,
        );
        for e in [bad_key, azurite] {
            let text = e
                .with_role(|| "Reader on c".into())
                .with_connection("AzureWebJobsStorage")
                .to_string();
            assert!(!text.contains("missing role"), "{text}");
            assert!(
                text.starts_with("authentication failed: the storage account refused the credentials of AzureWebJobsStorage"),
                "{text}"
            );
            assert_eq!(text.lines().count(), 1, "{text}");
        }
        let missing = AzureError::from_status(
            403,
            "AuthorizationPermissionMismatch",
            "This request is not authorized to perform this operation using this permission.",
            None,
        );
        assert_eq!(
            missing.with_role(|| "Reader on c".into()).to_string(),
            "403: missing role Reader on c"
        );
    }

    #[test]
    fn service_errors_in_each_documented_shape() {
        for body in [
            r#"{"error":{"code":"C","message":"M"}}"#,
            r#"{"code":"C","message":"M"}"#,
            r#"{"odata.error":{"code":"C","message":{"lang":"en-US","value":"M"}}}"#,
        ] {
            assert_eq!(service_error(body.as_bytes()), ("C".into(), "M".into()));
        }
        assert_eq!(
            service_error(b"invalid_payload\n"),
            (String::new(), "invalid_payload".into())
        );
    }

    #[test]
    fn sdk_errors_are_classified_and_redacted() {
        let e = azure_core::Error::with_message(
            ErrorKind::Connection,
            "GET http://h/c/b?sv=1&sig=SECRET failed",
        );
        let mapped = AzureError::of_sdk(&e);
        assert!(mapped.is_retryable());
        assert!(!mapped.to_string().contains("SECRET"), "{mapped}");
        assert!(matches!(
            AzureError::of_sdk(&azure_core::Error::with_message(ErrorKind::Other, "x")),
            AzureError::Permanent(_)
        ));
    }
}
