//! The one HTTP client for the REST calls the product makes itself: the Table service, Resource
//! Manager, the Logs Query and Logs Ingestion APIs, and webhook delivery. Each try is authorised
//! ([`Auth`]: an account SAS in its query, a bearer token from the app's identity, or nothing),
//! bounded by the per-try timeout (longer than the server's own limit when the request sets one,
//! `Prefer: wait`), gated by a [`Pacer`] when the client has one, and its failure mapped to an
//! [`AzureError`] (a 403 names the role the request says it needs); the tries run under the
//! client's [`Policy`] through its [`Guard`], which also logs a failed call once. A request carries
//! its body as bytes, so a JSON document, a multipart batch or a gzip-compressed upload go the
//! same way. Logs name the operation and host, never a query, path or token.

pub mod lro;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use azure_core::credentials::TokenCredential;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Response};
use serde::de::DeserializeOwned;
use url::Url;

use super::connection::{StorageAuth, StorageConnection};
use super::error::service_error;
use super::pace::{Lane, Pacer};
use super::sas::SasSigner;
use super::{AzureError, Guard, Policy, Timeouts, identity};
use crate::telemetry::redact;

/// How much longer than the server's own time limit (`Prefer: wait`) a try may take: the
/// server's timeout answer (504) must reach us before our own timeout cuts the connection.
pub const SERVER_WAIT_MARGIN: Duration = Duration::from_secs(10);
/// The token scope of Azure Storage.
pub const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";
/// Most bytes of an error answer read (a hostile receiver's may never end).
const MAX_ERROR_BODY: usize = 4096;

/// How a client's requests are authorised.
pub enum Auth {
    /// Not at all (webhook receivers, loopback fakes that check nothing).
    None,
    /// An account SAS in every try's query.
    Sas(SasSigner),
    /// A bearer token for the scope from a credential (managed identity).
    Bearer(Arc<dyn TokenCredential>, String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Sas(signer) => signer.fmt(f),
            Self::Bearer(_, scope) => f.debug_struct("Bearer").field("scope", scope).finish(),
        }
    }
}

impl Auth {
    /// `conn`'s authorisation for its storage `services` (`t`): an account SAS with an account
    /// key, its managed identity's token for Azure Storage otherwise.
    ///
    /// # Errors
    /// `Permanent` when the credential cannot be built.
    pub fn storage(conn: &StorageConnection, services: &'static str) -> Result<Self, AzureError> {
        Ok(match &conn.auth {
            StorageAuth::Key(key) => {
                Self::Sas(SasSigner::new(&conn.account, key.clone(), services))
            }
            StorageAuth::ManagedIdentity { .. } => {
                Self::Bearer(identity::credential(conn)?, STORAGE_SCOPE.to_owned())
            }
        })
    }
}

/// One request, everything needed to send it again. (Not `Debug`: a webhook's URL is a secret.)
#[derive(Clone)]
pub struct Request<'a> {
    /// What it does, for logs (`Query Entities`, `Resource Manager`, `slack`).
    pub op: &'a str,
    /// HTTP method.
    pub method: Method,
    /// Absolute URL, query included (the SAS is added to each try).
    pub url: Url,
    /// Headers (`Accept: application/json` unless replaced).
    pub headers: HeaderMap,
    /// The body, if any (a POST without one is sent with `Content-Length: 0`).
    pub body: Option<Bytes>,
    /// The role (or permission) a 403 names; empty for a receiver outside Azure, whose 403 or 404
    /// is a refusal like any other 4xx.
    pub role: &'a str,
    /// The end of the run the call belongs to: no wait is waited past it, and the call ends there
    /// at the latest.
    pub until: Option<Instant>,
    /// The server's own time limit (`Prefer: wait=<seconds>`): each try is given
    /// [`SERVER_WAIT_MARGIN`] more, and a server timeout (504, or an error coded `GatewayTimeout`)
    /// comes back at once as [`AzureError::ServerTimeout`] instead of being asked again.
    pub server_wait: Option<Duration>,
    /// The refusal a connection closed without an answer stands for (`(status, code)`), where the
    /// service documents that answer (the Logs Ingestion API aborts a call too large): it comes
    /// back at once as [`AzureError::Rejected`] instead of being tried again. An answer whose
    /// error code or message names that code, or one of [`abort_codes`](Self::abort_codes), is
    /// the same refusal, whatever its status.
    pub abort_is: Option<(u16, &'static str)>,
    /// Other error codes that stand for the [`abort_is`](Self::abort_is) refusal in an answer's
    /// body.
    pub abort_codes: &'static [&'static str],
}

impl<'a> Request<'a> {
    /// A request without a body, run end or server wait.
    pub fn new(method: Method, url: Url, role: &'a str) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        Self {
            op: "call",
            method,
            url,
            headers,
            body: None,
            role,
            until: None,
            server_wait: None,
            abort_is: None,
            abort_codes: &[],
        }
    }

    /// A connection closed after the request was sent, without an answer, is the service's
    /// refusal `status` `code` (documented for this call), not a failure to try again; so is an
    /// answer whose error names `code` or one of `also`.
    #[must_use]
    pub fn abort_is(
        mut self,
        status: u16,
        code: &'static str,
        also: &'static [&'static str],
    ) -> Self {
        self.abort_is = Some((status, code));
        self.abort_codes = also;
        self
    }

    /// Named `op` in logs.
    #[must_use]
    pub fn op(mut self, op: &'a str) -> Self {
        self.op = op;
        self
    }

    /// With `body` as its `content_type`.
    #[must_use]
    pub fn body(mut self, body: impl Into<Bytes>, content_type: &'static str) -> Self {
        self.body = Some(body.into());
        self.header(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static(content_type),
        )
    }

    /// With `value` as its JSON body.
    #[must_use]
    pub fn json(self, value: &serde_json::Value) -> Self {
        self.body(value.to_string(), "application/json")
    }

    /// With the header `name` set to `value`.
    #[must_use]
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Ending by `until` at the latest.
    #[must_use]
    pub fn until(mut self, until: Option<Instant>) -> Self {
        self.until = until;
        self
    }

    /// With the server's time limit `wait` (whole seconds, at least one).
    #[must_use]
    pub fn server_wait(mut self, wait: Duration) -> Self {
        self.server_wait = Some(wait.max(Duration::from_secs(1)));
        self
    }

    /// How long one try may take.
    fn try_timeout(&self, timeouts: Timeouts) -> Duration {
        self.server_wait
            .map_or(timeouts.per_try, |w| w + SERVER_WAIT_MARGIN)
    }

    /// When the whole call must have ended, started at `started`.
    fn end(&self, timeouts: Timeouts, started: Instant) -> Instant {
        let mut end = started + timeouts.total;
        if self.server_wait.is_some() {
            // At least one whole try fits, whatever the client's own total.
            end = end.max(started + self.try_timeout(timeouts) + Duration::from_secs(1));
        }
        self.until.map_or(end, |u| end.min(u))
    }
}

/// A client for one endpoint (or, without authorisation, any); cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    auth: Arc<Auth>,
    guard: Guard,
    pacer: Option<Pacer>,
}

crate::telemetry::debug_fields!(Client { inner.guard, inner.auth });

impl Client {
    /// A client of `endpoint` (`None`: receivers anywhere) for `connection` (a setting or the
    /// service's name, for logs), its calls bounded by `timeouts` and tried under `policy`. No
    /// request is made here.
    ///
    /// # Errors
    /// `Permanent` when the HTTP client cannot be built (no TLS backend).
    pub fn new(
        connection: &str,
        endpoint: Option<&Url>,
        auth: Auth,
        timeouts: Timeouts,
        policy: Policy,
    ) -> Result<Self, AzureError> {
        let http = timeouts
            .http_builder()
            .build()
            .map_err(|e| AzureError::Permanent(format!("http client: {e}")))?;
        let (auth, guard) = (
            Arc::new(auth),
            Guard::new(connection, endpoint, timeouts, policy),
        );
        let pacer = None;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                auth,
                guard,
                pacer,
            }),
        })
    }

    /// The same client with every try gated by a [`Pacer`] of its own, at most `max` requests out
    /// per lane (Resource Manager: slows down as the remaining-request counts fall, before a 429).
    #[must_use]
    pub fn paced(self, max: usize) -> Self {
        let inner = &self.inner;
        Self {
            inner: Arc::new(Inner {
                http: inner.http.clone(),
                auth: inner.auth.clone(),
                guard: inner.guard.clone(),
                pacer: Some(Pacer::new(max)),
            }),
        }
    }

    /// The pacer, when [`paced`](Self::paced).
    pub fn pacer(&self) -> Option<&Pacer> {
        self.inner.pacer.as_ref()
    }

    /// The timeouts of the calls.
    pub fn timeouts(&self) -> Timeouts {
        self.inner.guard.timeouts()
    }

    /// Sends `req`, trying again what may pass within its end; a successful answer comes back
    /// with its body unread, so a large one can be streamed.
    ///
    /// # Errors
    /// [`AzureError`]: `Throttled` when the service's wait would pass the end.
    pub async fn send(&self, req: &Request<'_>) -> Result<Response, AzureError> {
        let end = req.end(self.timeouts(), Instant::now());
        let attempt = || self.attempt(req, end);
        let role = || req.role.to_owned();
        self.inner.guard.until(req.op, end, role, attempt).await
    }

    /// [`send`](Self::send), then the body as JSON.
    ///
    /// # Errors
    /// As [`send`](Self::send); a body that is unreadable, or absent (202, 204), is `Transient`.
    pub async fn json<T: DeserializeOwned>(&self, req: &Request<'_>) -> Result<T, AzureError> {
        body_json(self.send(req).await?).await
    }

    /// One try through the pacer, if any: a request whose lane or throttle scope is paused past
    /// `end` (a `Retry-After` longer than what is left) fails at once; a wait for room ends at `end`.
    async fn attempt(&self, req: &Request<'_>, end: Instant) -> Result<Response, AzureError> {
        let res = match &self.inner.pacer {
            None => self.exchange(req, end).await?,
            Some(pacer) => {
                let lane = Lane::of(&req.method);
                let scope = super::pace::scope_of(req.url.path());
                let acquire = pacer.acquire(lane, &scope, end);
                let _permit = match tokio::time::timeout_at(end.into(), acquire).await {
                    Ok(Ok(permit)) => permit,
                    Ok(Err(paused)) => {
                        let retry_after = Some(paused);
                        return Err(AzureError::Throttled { retry_after });
                    }
                    Err(_) => return Err(AzureError::Throttled { retry_after: None }),
                };
                let res = self.exchange(req, end).await?;
                pacer.answered(lane, &scope, res.status(), res.headers());
                res
            }
        };
        if res.status().is_success() {
            Ok(res)
        } else {
            Err(of_response(res, req).await)
        }
    }

    /// One exchange, whatever its status: authorised, bounded by the per-try timeout and `end`.
    ///
    /// # Errors
    /// `Transient` for a connection or token failure or a timeout.
    pub async fn exchange(&self, req: &Request<'_>, end: Instant) -> Result<Response, AzureError> {
        let mut url = req.url.clone();
        if let Auth::Sas(signer) = self.inner.auth.as_ref() {
            super::sas::append(&mut url, &signer.token());
        }
        let left = end.saturating_duration_since(Instant::now());
        let mut rb = self
            .inner
            .http
            .request(req.method.clone(), url)
            .timeout(req.try_timeout(self.timeouts()).min(left))
            .headers(req.headers.clone());
        if let Some(wait) = req.server_wait {
            rb = rb.header("prefer", format!("wait={}", wait.as_secs().max(1)));
        }
        match &req.body {
            Some(body) => rb = rb.body(body.clone()),
            // Resource Manager actions refuse a POST without a length.
            None if req.method == Method::POST => rb = rb.header("content-length", "0"),
            None => {}
        }
        if let Auth::Bearer(credential, scope) = self.inner.auth.as_ref() {
            let token = identity::bearer(credential.as_ref(), scope).await;
            rb = rb.bearer_auth(token.map_err(AzureError::Transient)?);
        }
        let started = Instant::now();
        let res = rb.send().await.map_err(|e| match req.abort_is {
            Some((status, code)) if aborted(&e) => {
                AzureError::refused(status, code, "the connection was closed without an answer")
            }
            _ => transport(e),
        })?;
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::debug!(
            azure.op = req.op,
            http.status = res.status().as_u16(),
            ms,
            "azure try"
        );
        Ok(res)
    }
}

/// The request was sent and the connection ended without an answer (closed or reset): not a
/// failure to connect, not a timeout, not a request that could not be built.
fn aborted(e: &reqwest::Error) -> bool {
    e.is_request() && !e.is_connect() && !e.is_timeout() && !e.is_builder()
}

/// A request that got no answer: transient, but a request that could not even be built is not.
fn transport(e: reqwest::Error) -> AzureError {
    let (timeout, builder) = (e.is_timeout(), e.is_builder());
    let text = redact(&e.without_url().to_string());
    let text = if timeout {
        format!("timeout: {text}")
    } else {
        text
    };
    if builder {
        AzureError::Permanent(text)
    } else {
        AzureError::Transient(text)
    }
}

/// The error a non-success answer to `req` stands for; its body (the first bytes) is read for the
/// service's code and message.
pub async fn of_response(mut res: Response, req: &Request<'_>) -> AzureError {
    let status = res.status().as_u16();
    let retry_after = super::retry::retry_after(res.headers());
    let header = |name: &str| res.headers().get(name)?.to_str().ok().map(str::to_owned);
    let header_code = header("x-ms-error-code");
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match res.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(MAX_ERROR_BODY);
    let (code, message) = service_error(&body);
    let code = header_code.unwrap_or(code);
    if let Some((refused, name)) = req.abort_is {
        let names = |c: &str| code.eq_ignore_ascii_case(c) || message.contains(c);
        if names(name) || req.abort_codes.iter().any(|c| names(c)) {
            let message = format!("answered {status} {code}: {message}");
            return AzureError::refused(refused, name, &message);
        }
    }
    let timed_out = status == 504 || code.eq_ignore_ascii_case("GatewayTimeout");
    if req.server_wait.is_some() && timed_out {
        let code = redact(&code);
        return AzureError::ServerTimeout { code };
    }
    // A receiver outside Azure (no role to name) refuses with any other 4xx alike.
    if req.role.is_empty() && (400..500).contains(&status) && ![408, 429].contains(&status) {
        return AzureError::refused(status, &code, &message);
    }
    AzureError::from_status(status, &code, &message, retry_after).with_role(|| req.role.to_owned())
}

/// The body of a successful answer as JSON.
///
/// # Errors
/// `Transient` for a body that breaks off, is empty (202 and 204 carry none) or is not JSON.
pub async fn body_json<T: DeserializeOwned>(res: Response) -> Result<T, AzureError> {
    let status = res.status();
    let bytes = res.bytes().await.map_err(transport)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AzureError::Transient(format!(
            "an answer without a body ({status})"
        )));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| AzureError::Transient(format!("unreadable answer: {e}")))
}
