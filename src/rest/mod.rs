//! The one client for Entra-authenticated JSON calls to Azure's control and query planes
//! (Resource Manager, Log Analytics): a bearer token from the app's identity, a per-try timeout
//! inside a total deadline, retries of transient failures honouring `Retry-After`, and errors that
//! say what to do — a 403 names the role that is missing.

mod endpoint;
mod error;
pub mod pace;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use azure_core::credentials::TokenCredential;
use backon::{ExponentialBuilder, Retryable as _};
use reqwest::{Method, Response};
use serde::de::DeserializeOwned;
use url::Url;

pub use endpoint::{Refused, check_endpoint, scheme_allowed};
pub use error::RestError;
pub use pace::Pacer;

use crate::storage::identity;
use crate::telemetry::redact;

/// Tries after the first: enough to ride out a throttling burst inside the deadline.
const RETRIES: usize = 4;
/// First back-off; each next one is four times longer (0.5, 2, 8 s), jittered. A 429 without
/// `Retry-After` (documented for the Logs Query API) waits these too.
const FIRST_DELAY: Duration = Duration::from_millis(500);
/// How much longer than the server's own time limit (`Prefer: wait`) a try may take: the
/// server's timeout answer (504) must reach us before our own timeout cuts the connection.
pub const SERVER_WAIT_MARGIN: Duration = Duration::from_secs(10);

/// How long one try and the whole call may take.
#[derive(Debug, Clone, Copy)]
pub struct RestLimits {
    /// One HTTP exchange, token included.
    pub try_timeout: Duration,
    /// Every try and wait together; a wait the service asks for beyond it ends the call.
    pub deadline: Duration,
}

impl Default for RestLimits {
    fn default() -> Self {
        Self {
            try_timeout: Duration::from_secs(30),
            deadline: Duration::from_secs(60),
        }
    }
}

/// One request.
#[derive(Debug, Clone)]
pub struct RestRequest<'a> {
    /// HTTP method.
    pub method: Method,
    /// Absolute URL, query included.
    pub url: Url,
    /// JSON body, if any.
    pub body: Option<&'a serde_json::Value>,
    /// The role (or permission) a 403 names, e.g. "Log Analytics Reader on workspace …".
    pub role: &'a str,
    /// The end of the run the call belongs to: no wait (`Retry-After`, a paused lane) is waited
    /// past it, and the call ends there at the latest.
    pub until: Option<Instant>,
    /// The server's own time limit for the request (`Prefer: wait=<seconds>`): each try is given
    /// longer than it, and a server timeout (504, or an error coded `GatewayTimeout`) is returned
    /// at once as [`RestError::ServerTimeout`] instead of being asked again as it was.
    pub server_wait: Option<Duration>,
}

impl<'a> RestRequest<'a> {
    /// A request with no run deadline and no server wait.
    pub fn new(
        method: Method,
        url: Url,
        body: Option<&'a serde_json::Value>,
        role: &'a str,
    ) -> Self {
        Self {
            method,
            url,
            body,
            role,
            until: None,
            server_wait: None,
        }
    }

    /// The same request ending by `until` at the latest.
    #[must_use]
    pub fn until(mut self, until: Option<Instant>) -> Self {
        self.until = until;
        self
    }

    /// The same request with the server's time limit `wait` (whole seconds, at least one).
    #[must_use]
    pub fn server_wait(mut self, wait: Duration) -> Self {
        self.server_wait = Some(wait.max(Duration::from_secs(1)));
        self
    }

    /// How long one try may take.
    fn try_timeout(&self, limits: &RestLimits) -> Duration {
        self.server_wait
            .map_or(limits.try_timeout, |w| w + SERVER_WAIT_MARGIN)
    }

    /// When the whole call must have ended, started at `started`.
    fn end(&self, limits: &RestLimits, started: Instant) -> Instant {
        let mut end = started + limits.deadline;
        if self.server_wait.is_some() {
            // At least one whole try fits, whatever the client's own deadline.
            end = end.max(started + self.try_timeout(limits) + FIRST_DELAY);
        }
        self.until.map_or(end, |u| end.min(u))
    }
}

/// A client for one token audience; cheap to clone.
#[derive(Clone)]
pub struct RestClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    credential: Option<Arc<dyn TokenCredential>>,
    scope: String,
    limits: RestLimits,
    pacer: Option<Pacer>,
}

crate::telemetry::debug_fields!(RestClient { inner.scope, inner.limits });

/// A failed try and the wait the service asked for.
struct Failed {
    error: RestError,
    retry_after: Option<Duration>,
}

impl RestClient {
    /// A client whose tokens are for `scope` (e.g. `https://api.loganalytics.io/.default`);
    /// without a credential no token is sent (loopback fakes that do not check one).
    pub fn new(
        credential: Option<Arc<dyn TokenCredential>>,
        scope: impl Into<String>,
        limits: RestLimits,
    ) -> Self {
        let http = reqwest::Client::builder()
            .timeout(limits.try_timeout)
            .build()
            .unwrap_or_default();
        Self {
            inner: Arc::new(Inner {
                http,
                credential,
                scope: scope.into(),
                limits,
                pacer: None,
            }),
        }
    }

    /// The same client with every try gated by a [`Pacer`] of at most `max` requests out per lane
    /// (Resource Manager: slows down as the remaining-request counts fall, before a 429).
    #[must_use]
    pub fn paced(self, max: usize) -> Self {
        let inner = &self.inner;
        Self {
            inner: Arc::new(Inner {
                http: inner.http.clone(),
                credential: inner.credential.clone(),
                scope: inner.scope.clone(),
                limits: inner.limits,
                pacer: Some(Pacer::new(max)),
            }),
        }
    }

    /// The pacer, when [`paced`](Self::paced).
    pub fn pacer(&self) -> Option<&Pacer> {
        self.inner.pacer.as_ref()
    }

    /// Sends `req`, retrying connect errors, timeouts, 408, 429 and 5xx within the deadline; the
    /// successful response comes back with its body unread, so large answers can be streamed.
    ///
    /// # Errors
    /// [`RestError`]: `Throttled` when the service's wait would pass the deadline.
    pub async fn send(&self, req: RestRequest<'_>) -> Result<Response, RestError> {
        let end = req.end(&self.inner.limits, Instant::now());
        let attempt = || async {
            let res = match self.try_once(&req, end).await {
                Ok(res) => res,
                Err(error) => {
                    // A lane paused past the deadline says for how long: not worth a retry.
                    let retry_after = match &error {
                        RestError::Throttled { retry_after } => *retry_after,
                        _ => None,
                    };
                    return Err(Failed { error, retry_after });
                }
            };
            let status = res.status();
            if status.is_success() || status.is_redirection() {
                return Ok(res);
            }
            let retry_after = crate::retry_after::of(res.headers());
            let error = error::from_response(res, &req, retry_after).await;
            Err(Failed { error, retry_after })
        };
        let policy = ExponentialBuilder::new()
            .with_min_delay(FIRST_DELAY)
            .with_factor(4.0)
            .with_max_times(RETRIES)
            .with_jitter();
        attempt
            .retry(policy)
            .sleep(tokio::time::sleep)
            // A wait that would outlive the deadline is not waited: the caller resumes later.
            .when(|f| {
                let wait = f.retry_after.unwrap_or(FIRST_DELAY);
                f.error.is_retried_here() && Instant::now() + wait < end
            })
            // The service's own wait wins over the back-off.
            .adjust(|f, backoff| backoff.map(|d| f.retry_after.unwrap_or(d)))
            .await
            .map_err(|f| f.error)
    }

    /// [`send`](Self::send), then the body as JSON.
    ///
    /// # Errors
    /// [`RestError`]; an unreadable body, or none (a 202 or 204 has none), is `Transient`.
    pub async fn json<T: DeserializeOwned>(&self, req: RestRequest<'_>) -> Result<T, RestError> {
        let res = self.send(req).await?;
        body_json(res).await
    }

    /// One exchange, through the pacer when there is one: a lane paused past `deadline` (a
    /// `Retry-After` longer than what is left) fails at once; a wait for room ends at `deadline`.
    async fn try_once(
        &self,
        req: &RestRequest<'_>,
        deadline: Instant,
    ) -> Result<Response, RestError> {
        let Some(pacer) = &self.inner.pacer else {
            return self.exchange(req).await;
        };
        let lane = pace::Lane::of(&req.method);
        let _permit =
            match tokio::time::timeout_at(deadline.into(), pacer.acquire(lane, deadline)).await {
                Ok(Ok(permit)) => permit,
                Ok(Err(paused)) => {
                    return Err(RestError::Throttled {
                        retry_after: Some(paused),
                    });
                }
                Err(_) => return Err(RestError::Throttled { retry_after: None }),
            };
        let res = self.exchange(req).await?;
        pacer.answered(lane, res.status(), res.headers());
        Ok(res)
    }

    async fn exchange(&self, req: &RestRequest<'_>) -> Result<Response, RestError> {
        let mut rb = self
            .inner
            .http
            .request(req.method.clone(), req.url.clone())
            .timeout(req.try_timeout(&self.inner.limits))
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(wait) = req.server_wait {
            rb = rb.header("prefer", format!("wait={}", wait.as_secs().max(1)));
        }
        if let Some(body) = req.body {
            rb = rb.json(body);
        } else if req.method == Method::POST {
            // Resource Manager actions refuse a POST without a length.
            rb = rb.header(reqwest::header::CONTENT_LENGTH, "0");
        }
        if let Some(cred) = &self.inner.credential {
            let token = identity::bearer(cred.as_ref(), &self.inner.scope).await;
            rb = rb.bearer_auth(token.map_err(RestError::Transient)?);
        }
        rb.send()
            .await
            .map_err(|e| RestError::Transient(redact(&e.without_url().to_string())))
    }
}

/// The body of a successful answer as JSON.
///
/// # Errors
/// `Transient` for a body that breaks off, is empty (202 and 204 carry none) or is not JSON.
pub async fn body_json<T: DeserializeOwned>(res: Response) -> Result<T, RestError> {
    let status = res.status();
    let bytes = res
        .bytes()
        .await
        .map_err(|e| RestError::Transient(redact(&e.without_url().to_string())))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(RestError::Transient(format!(
            "an answer without a body ({status})"
        )));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| RestError::Transient(format!("unreadable answer: {e}")))
}
