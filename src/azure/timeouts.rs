//! How long a call may take, and the guard that holds every call to it.
//!
//! Event Grid redelivers after 30 s, so an invocation facing a frozen endpoint must answer 500
//! before that. [`Guard`] runs one call's tries within the total, names the role a 403 needs, and
//! logs a failure once (operation, connection, host; never a query string or token).

use std::future::Future;
use std::time::{Duration, Instant};

use azure_core::http::{ClientOptions, RetryOptions, Transport};

use super::error::AzureError;
use super::retry::Policy;
use crate::setting::Reader;

/// Per-try timeout setting of storage calls.
pub const TRY_TIMEOUT_SETTING: &str = "STORAGE_TRY_TIMEOUT_MS";
/// Total (per call, retries included) timeout setting of storage calls.
pub const TIMEOUT_SETTING: &str = "STORAGE_TIMEOUT_MS";

/// How long calls may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// One try: connecting, and each wait for the next bytes of an answer.
    pub per_try: Duration,
    /// One call, every retry and back-off included.
    pub total: Duration,
}

impl Default for Timeouts {
    /// Storage's: 6 s a try (a Table query may take 5 s), 12 s a call (Event Grid waits 30 s).
    fn default() -> Self {
        Self {
            per_try: Duration::from_millis(6_000),
            total: Duration::from_millis(12_000),
        }
    }
}

impl Timeouts {
    /// Resource Manager's: 30 s a try, 60 s a call.
    pub const CONTROL: Self = Self {
        per_try: Duration::from_secs(30),
        total: Duration::from_secs(60),
    };

    /// Reads both storage settings; a try that is not shorter than the total is a problem.
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

    /// The one HTTP client builder: connections time out after `per_try`; redirects are never
    /// followed, so a token or signed payload never goes elsewhere. The REST client bounds each
    /// request's whole time itself; the SDK's clients add read timeouts ([`Self::sdk_options`]).
    pub fn http_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .connect_timeout(self.per_try)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("bastion-recordings/", env!("CARGO_PKG_VERSION")))
    }

    /// Options for an SDK client: this HTTP client, no retries of its own (the [`Guard`] retries).
    ///
    /// # Errors
    /// `Permanent` when the HTTP client cannot be built (no TLS backend).
    pub fn sdk_options(&self) -> Result<ClientOptions, AzureError> {
        // Read timeouts of `per_try`: a download that keeps sending is not cut.
        let client = self
            .http_builder()
            .read_timeout(self.per_try)
            .build()
            .map_err(|e| AzureError::Permanent(format!("http client: {e}")))?;
        Ok(ClientOptions {
            retry: RetryOptions::none(),
            transport: Some(Transport::new(std::sync::Arc::new(client))),
            ..Default::default()
        })
    }
}

/// The host a guard of receivers anywhere names.
const ANY_HOST: &str = "(any host)";

/// Runs the calls of one client against one endpoint.
#[derive(Debug, Clone)]
pub struct Guard {
    connection: String,
    host: String,
    timeouts: Timeouts,
    policy: Policy,
}

impl Guard {
    /// A guard for calls to `endpoint` (`None`: anywhere) for `connection` (a setting or service).
    pub fn new(
        connection: &str,
        endpoint: Option<&url::Url>,
        timeouts: Timeouts,
        policy: Policy,
    ) -> Self {
        let host = match endpoint.map(|e| (e.host_str(), e.port())) {
            Some((Some(h), Some(p))) => format!("{h}:{p}"),
            Some((Some(h), None)) => h.to_owned(),
            _ => ANY_HOST.to_owned(),
        };
        Self {
            connection: connection.to_owned(),
            host,
            timeouts,
            policy,
        }
    }

    /// The timeouts this guard applies.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// The policy its calls are tried under.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// `e`, a transport failure or a transient answer that outlived the retries, naming the call,
    /// the endpoint and the connection setting (the one sentence a command prints says where). A
    /// guard of receivers anywhere has no endpoint to name: its caller says which (a webhook's
    /// destination), and `e` stays the receiver's answer.
    fn named(&self, op: &str, e: AzureError) -> AzureError {
        match e {
            AzureError::Transient(t) if self.host != ANY_HOST => {
                AzureError::Transient(format!("{op} on {} ({}): {t}", self.host, self.connection))
            }
            other => other,
        }
    }

    /// Runs `attempt` (named `op` in logs; a 403 names `role`) under the policy, for at most the
    /// total timeout, or until `end` when given; logs the call once if it fails.
    ///
    /// # Errors
    /// The last try's error; `Transient` when the time ran out.
    pub async fn run<T, F, Fut>(
        &self,
        op: &str,
        end: Option<Instant>,
        role: impl FnOnce() -> String,
        mut attempt: F,
    ) -> Result<T, AzureError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AzureError>>,
    {
        let started = Instant::now();
        let end = end.unwrap_or(started + self.timeouts.total);
        // The last failed try's error says more than the cut try's timeout.
        let last = std::sync::Mutex::new(None::<String>);
        let tries = self.policy.run(end, || {
            let attempt = attempt();
            let last = &last;
            async move {
                let r = attempt.await;
                if let Err(e) = &r {
                    *last.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                }
                r
            }
        });
        let result = match tokio::time::timeout_at(end.into(), tries).await {
            Ok(r) => {
                r.map_err(|e| self.named(op, e.with_role(role).with_connection(&self.connection)))
            }
            Err(_) => {
                let mut text = format!(
                    "{op}: no answer from {} within {} ms",
                    self.host,
                    end.saturating_duration_since(started).as_millis()
                );
                if let Some(e) = last.lock().unwrap_or_else(|p| p.into_inner()).take() {
                    text.push_str("; the try before: ");
                    text.push_str(&e);
                }
                Err(AzureError::Transient(text))
            }
        };
        if let Err(e) = &result
            && e.is_failure()
        {
            tracing::warn!(
                azure.op = op,
                azure.host = %self.host,
                azure.connection = %self.connection,
                error = %e,
                "azure call failed"
            );
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setting::read_pairs;

    #[test]
    fn settings_default_validate_and_name_the_setting() {
        let (d, errs) = read_pairs(&[], Timeouts::from_reader);
        assert_eq!((d, errs.len()), (Timeouts::default(), 0));
        let (d, errs) = read_pairs(
            &[(TRY_TIMEOUT_SETTING, "500"), (TIMEOUT_SETTING, "2000")],
            Timeouts::from_reader,
        );
        assert_eq!(d.per_try, Duration::from_millis(500));
        assert_eq!((d.total, errs.len()), (Duration::from_millis(2000), 0));
        let (_, errs) = read_pairs(
            &[(TRY_TIMEOUT_SETTING, "5000"), (TIMEOUT_SETTING, "5000")],
            Timeouts::from_reader,
        );
        assert_eq!(
            errs,
            ["STORAGE_TRY_TIMEOUT_MS: must be shorter than STORAGE_TIMEOUT_MS"]
        );
        let (_, errs) = read_pairs(&[(TIMEOUT_SETTING, "soon")], Timeouts::from_reader);
        assert!(errs[0].starts_with("STORAGE_TIMEOUT_MS:") && !errs[0].contains("soon"));
    }

    #[tokio::test]
    async fn a_call_that_never_ends_fails_at_the_total_timeout() {
        let d = Timeouts {
            per_try: Duration::from_millis(100),
            total: Duration::from_millis(300),
        };
        let url = url::Url::parse("https://acct.blob.core.windows.net/?sig=x").expect("url");
        let guard = Guard::new("S", Some(&url), d, Policy::STORAGE);
        let started = std::time::Instant::now();
        let r: Result<(), _> = guard
            .run("Get Blob", None, String::new, std::future::pending)
            .await;
        let took = started.elapsed();
        assert!(took >= d.total && took < Duration::from_secs(3), "{took:?}");
        assert_eq!(
            r,
            Err(AzureError::Transient(
                "Get Blob: no answer from acct.blob.core.windows.net within 300 ms".into()
            ))
        );
        let denied = || async { Err::<(), _>(AzureError::from_status(403, "", "", None)) };
        let r = guard
            .run("Get Blob", None, || "read on c".into(), denied)
            .await;
        assert_eq!(
            r.expect_err("403").to_string(),
            "403: missing role read on c"
        );
    }

    #[tokio::test]
    async fn a_failure_that_outlives_the_retries_names_the_call_the_host_and_the_setting() {
        let d = Timeouts {
            per_try: Duration::from_millis(100),
            total: Duration::from_millis(300),
        };
        let url = url::Url::parse("http://127.0.0.1:10002/devstoreaccount1").expect("url");
        let guard = Guard::new("AzureWebJobsStorage", Some(&url), d, Policy::STORAGE);
        let refused =
            || async { Err::<(), _>(AzureError::Transient("error sending request".into())) };
        let e = guard
            .run("Query Entities", None, String::new, refused)
            .await;
        assert_eq!(
            e.expect_err("refused").to_string(),
            "Query Entities on 127.0.0.1:10002 (AzureWebJobsStorage): error sending request"
        );
    }

    #[tokio::test]
    async fn a_call_cut_by_the_total_timeout_says_what_the_try_before_met() {
        let d = Timeouts {
            per_try: Duration::from_millis(100),
            total: Duration::from_millis(1500),
        };
        let guard = Guard::new("S", None, d, Policy::STORAGE);
        let tries = std::sync::atomic::AtomicU32::new(0);
        let attempt = || {
            let first = tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
            async move {
                if first {
                    return Err(AzureError::Transient("S: token from h failed".into()));
                }
                std::future::pending::<Result<(), AzureError>>().await
            }
        };
        let e = guard.run("Get Blob", None, String::new, attempt).await;
        assert_eq!(
            e.expect_err("cut").to_string(),
            "Get Blob: no answer from (any host) within 1500 ms; the try before: S: token from h failed"
        );
    }
}
