//! Deadlines for storage calls, and the guard that enforces them.
//!
//! Two settings bound every blob, table and queue call (and the managed identity token behind it):
//! `STORAGE_TRY_TIMEOUT_MS`, how long one try may wait for the service to connect or send bytes,
//! and `STORAGE_TIMEOUT_MS`, how long one call may take with all its retries. Event Grid stops
//! waiting for an answer after 30 s and redelivers; an invocation facing a dead or frozen endpoint
//! must answer 500 well before that instead of sitting in the SDK's default 60 s per try.
//!
//! [`CallGuard`] runs one call under the total deadline and logs each failed call once, with the
//! operation, the connection setting and the endpoint host (never a query string, SAS or token).

use std::future::Future;
use std::time::Duration;

use azure_core::http::{ClientOptions, ExponentialRetryOptions, RetryOptions, Transport};

use crate::setting::Reader;

/// Per-try timeout setting.
pub const TRY_TIMEOUT_SETTING: &str = "STORAGE_TRY_TIMEOUT_MS";
/// Total (per call, retries included) timeout setting.
pub const TIMEOUT_SETTING: &str = "STORAGE_TIMEOUT_MS";

/// How long storage calls may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// One try: connecting, and each wait for the next bytes of an answer.
    pub per_try: Duration,
    /// One call, every retry and back-off included.
    pub total: Duration,
}

impl Default for Deadlines {
    /// 6 s a try (a Table query may legitimately take the service 5 s), 12 s a call: a frozen
    /// endpoint fails one call after 12 s, leaving an Event Grid delivery 18 s to answer 500.
    fn default() -> Self {
        Self {
            per_try: Duration::from_millis(6_000),
            total: Duration::from_millis(12_000),
        }
    }
}

impl Deadlines {
    /// Reads both settings; a try that is not shorter than the total is a problem.
    pub fn from_reader(r: &mut Reader<'_>) -> Self {
        let d = Self::default();
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let per_try = r.number(TRY_TIMEOUT_SETTING, ms(d.per_try), 100..=120_000);
        let total = r.number(TIMEOUT_SETTING, ms(d.total), 200..=600_000);
        if per_try >= total {
            r.problem(
                TRY_TIMEOUT_SETTING,
                &format!("must be shorter than {TIMEOUT_SETTING}"),
            );
            return d;
        }
        Self {
            per_try: Duration::from_millis(per_try),
            total: Duration::from_millis(total),
        }
    }

    /// An HTTP client that gives up on a try that cannot connect, or that receives nothing, for
    /// `per_try`. Read (not whole-request) timeouts, so a long download that keeps sending is not
    /// cut; the total deadline bounds it. Redirects are not followed (storage never sends them).
    pub fn http_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .connect_timeout(self.per_try)
            .read_timeout(self.per_try)
            .redirect(reqwest::redirect::Policy::none())
    }

    /// The SDK transport built on [`Deadlines::http_builder`].
    ///
    /// # Errors
    /// The HTTP client cannot be built (no TLS backend).
    pub fn transport(&self) -> Result<Transport, String> {
        let client = self.http_builder().build().map_err(|e| e.to_string())?;
        Ok(Transport::new(std::sync::Arc::new(client)))
    }

    /// SDK client options: bounded retries over [`Deadlines::transport`]. The SDK's own default
    /// (8 retries, 60 s read timeout) would keep an invocation in back-off for minutes. Its n-th
    /// back-off is `initial · 2ⁿ` plus up to 255 ms of jitter: 200–455 ms, 400–655 ms, 800–1055 ms.
    ///
    /// # Errors
    /// As [`Deadlines::transport`].
    pub fn client_options(&self) -> Result<ClientOptions, String> {
        let retry = ExponentialRetryOptions {
            initial_delay: azure_core::time::Duration::milliseconds(100),
            max_retries: 3,
            max_total_elapsed: sdk_duration(self.total),
            max_delay: azure_core::time::Duration::seconds(2),
        };
        Ok(ClientOptions {
            retry: RetryOptions::exponential(retry),
            transport: Some(self.transport()?),
            ..Default::default()
        })
    }
}

/// A std duration as the SDK's (`time`) duration.
pub(crate) fn sdk_duration(d: Duration) -> azure_core::time::Duration {
    azure_core::time::Duration::milliseconds(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// What the guard needs from a port's error type.
pub trait CallError: std::fmt::Display + Sized {
    /// The error for a call that ran out of time (retryable).
    fn deadline_passed(detail: String) -> Self;
    /// False for answers callers expect and act on (not found, conflict, precondition failed):
    /// those are results, not failures, and are not logged.
    fn is_failure(&self) -> bool;
}

/// The statuses every storage service classifies alike, shared by the blob and table errors (each
/// has `Transient`, `Rejected` and `Permanent` variants): `$name::failure` maps a status the
/// service's own codes did not claim; `is_transient` and [`CallError`] follow from the variants.
macro_rules! classified_failures {
    ($name:ident) => {
        impl $name {
            /// 408, 429 and 5xx may pass; 400 and 413 refuse this input; anything else needs a fix.
            fn failure(status: u16, detail: impl Into<String>) -> Self {
                let detail = format!("HTTP {status}: {}", detail.into());
                match status {
                    408 | 429 | 500..=599 => Self::Transient(detail),
                    400 | 413 => Self::Rejected(detail),
                    _ => Self::Permanent(detail),
                }
            }

            /// True when a later retry may succeed.
            pub fn is_transient(&self) -> bool {
                matches!(self, Self::Transient(_))
            }
        }

        impl $crate::storage::deadline::CallError for $name {
            fn deadline_passed(detail: String) -> Self {
                Self::Transient(detail)
            }

            fn is_failure(&self) -> bool {
                matches!(
                    self,
                    Self::Transient(_) | Self::Rejected(_) | Self::Permanent(_)
                )
            }
        }
    };
}
pub(crate) use classified_failures;

/// Runs the calls of one client against one endpoint under the total deadline.
#[derive(Debug, Clone)]
pub struct CallGuard {
    connection: String,
    host: String,
    deadlines: Deadlines,
}

impl CallGuard {
    /// A guard for calls to `endpoint` made for the connection setting `connection`.
    pub fn new(connection: &str, endpoint: &url::Url, deadlines: Deadlines) -> Self {
        let host = match (endpoint.host_str(), endpoint.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => "(no host)".to_owned(),
        };
        Self {
            connection: connection.to_owned(),
            host,
            deadlines,
        }
    }

    /// The deadlines this guard applies.
    pub fn deadlines(&self) -> Deadlines {
        self.deadlines
    }

    /// The endpoint's `host[:port]` (what log lines name).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Runs `call` (named `op` in logs) for at most the total deadline; logs it once if it fails.
    ///
    /// # Errors
    /// The call's own error, or [`CallError::deadline_passed`] when it ran out of time.
    pub async fn run<T, E: CallError>(
        &self,
        op: &'static str,
        call: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let result = match tokio::time::timeout(self.deadlines.total, call).await {
            Ok(r) => r,
            Err(_) => Err(E::deadline_passed(format!(
                "{op}: no answer from {} within {} ms",
                self.host,
                self.deadlines.total.as_millis()
            ))),
        };
        if let Err(e) = &result
            && e.is_failure()
        {
            tracing::warn!(
                storage.op = op,
                storage.host = %self.host,
                storage.connection = %self.connection,
                error = %e,
                "storage call failed"
            );
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setting::read_pairs;

    #[derive(Debug, PartialEq)]
    enum E {
        Late(String),
        Gone,
    }

    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{self:?}")
        }
    }

    impl CallError for E {
        fn deadline_passed(detail: String) -> Self {
            Self::Late(detail)
        }
        fn is_failure(&self) -> bool {
            matches!(self, Self::Late(_))
        }
    }

    #[test]
    fn settings_default_validate_and_name_the_setting() {
        let (d, errs) = read_pairs(&[], Deadlines::from_reader);
        assert_eq!((d, errs.len()), (Deadlines::default(), 0));
        let (d, errs) = read_pairs(
            &[(TRY_TIMEOUT_SETTING, "500"), (TIMEOUT_SETTING, "2000")],
            Deadlines::from_reader,
        );
        assert_eq!(d.per_try, Duration::from_millis(500));
        assert_eq!((d.total, errs.len()), (Duration::from_millis(2000), 0));
        let (_, errs) = read_pairs(
            &[(TRY_TIMEOUT_SETTING, "5000"), (TIMEOUT_SETTING, "5000")],
            Deadlines::from_reader,
        );
        assert_eq!(
            errs,
            ["STORAGE_TRY_TIMEOUT_MS: must be shorter than STORAGE_TIMEOUT_MS"]
        );
        let (_, errs) = read_pairs(&[(TIMEOUT_SETTING, "soon")], Deadlines::from_reader);
        assert!(errs[0].starts_with("STORAGE_TIMEOUT_MS:") && !errs[0].contains("soon"));
    }

    #[tokio::test]
    async fn a_call_that_never_ends_fails_at_the_total_deadline() {
        let d = Deadlines {
            per_try: Duration::from_millis(100),
            total: Duration::from_millis(300),
        };
        let url = url::Url::parse("https://acct.blob.core.windows.net/?sig=x").expect("url");
        let guard = CallGuard::new("S", &url, d);
        let started = std::time::Instant::now();
        let r: Result<(), E> = guard.run("blob.get", std::future::pending()).await;
        let took = started.elapsed();
        assert!(took >= d.total && took < Duration::from_secs(3), "{took:?}");
        assert_eq!(
            r,
            Err(E::Late(
                "blob.get: no answer from acct.blob.core.windows.net within 300 ms".into()
            ))
        );
        let r: Result<(), E> = guard.run("blob.get", async { Err(E::Gone) }).await;
        assert_eq!(r, Err(E::Gone));
    }
}
