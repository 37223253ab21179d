//! One request of the [`super::Client`], everything needed to send it again, and the [`Hook`]
//! through which a caller outside Azure (a webhook) sees each of its tries.

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::azure::error::AzureError;
use crate::azure::timeouts::Timeouts;

/// What a caller sees of each try of its request, and how it reads an answer whose status says
/// success. Every method is optional.
pub trait Hook: Sync {
    /// The try numbered `tried` (1-based) is about to be sent with `headers` (a signature that
    /// carries the time of sending is made here, afresh for each try).
    fn before(&self, _tried: u32, _headers: &mut HeaderMap) {}

    /// Whether the first bytes of a successful answer say the receiver throttled the request
    /// (a 429 inside a 200): the try is then throttled like a 429 without `Retry-After`.
    fn throttled(&self, _body: &[u8]) -> bool {
        false
    }

    /// The try numbered `tried` failed with `e`; `wait` is how long its lane is held when the
    /// receiver throttled it.
    fn failed(&self, _tried: u32, _e: &AzureError, _wait: Option<Duration>) {}
}

/// How much longer than the server's own time limit (`Prefer: wait`) a try may take: the
/// server's timeout answer (504) must reach us before our own timeout cuts the connection.
pub const SERVER_WAIT_MARGIN: Duration = Duration::from_secs(10);

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
    /// The spaced lane (`crate::azure::pace::Slots`) each try waits its slot in: its name and the
    /// spacing its receiver states.
    pub lane: Option<(&'static str, Duration)>,
    /// The caller's view of each try.
    pub hook: Option<&'a dyn Hook>,
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
            lane: None,
            hook: None,
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

    /// Each try in the next slot of the spaced `lane`, `every` apart, watched by `hook`.
    #[must_use]
    pub fn spaced(mut self, lane: &'static str, every: Duration, hook: &'a dyn Hook) -> Self {
        self.lane = Some((lane, every));
        self.hook = Some(hook);
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
    pub(super) fn try_timeout(&self, timeouts: Timeouts) -> Duration {
        self.server_wait
            .map_or(timeouts.per_try, |w| w + SERVER_WAIT_MARGIN)
    }

    /// When the whole call must have ended, started at `started`.
    pub(super) fn end(&self, timeouts: Timeouts, started: Instant) -> Instant {
        let mut end = started + timeouts.total;
        if self.server_wait.is_some() {
            // At least one whole try fits, whatever the client's own total.
            end = end.max(started + self.try_timeout(timeouts) + Duration::from_secs(1));
        }
        self.until.map_or(end, |u| end.min(u))
    }
}
