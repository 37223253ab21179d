//! Posting one rendered payload to one destination, with its retry policy.
//!
//! - 2xx → delivered. (Teams' legacy endpoints report throttling *inside* a 200 body: treated as 429.)
//! - 429 → wait `Retry-After` (seconds or HTTP date; jittered backoff when absent), shared with
//!   every invocation through the [`Pacer`].
//! - 408, 5xx, timeouts, connection errors → jittered exponential backoff.
//! - 3xx (redirects are never followed: a redirect could send a signed payload elsewhere) and other
//!   4xx → permanent for this destination, with the (redacted) response excerpt as the reason.
//!
//! Every wait must end before the invocation's deadline; otherwise the destination is reported
//! retryable and the queue redelivers the message later. URLs are secrets: errors are stripped of
//! them (`reqwest::Error::without_url`) and redacted; logs name the destination kind only.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;
use tracing::info;

use super::config::NotifyConfig;
use super::pacing::Pacer;
use super::routes::Destination;
use crate::telemetry::redact;

/// Longest response excerpt kept as a failure reason.
const MAX_EXCERPT: usize = 512;
/// First backoff step; doubles per attempt up to [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_millis(500);
/// Longest backoff step.
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// The delivery machinery shared through `AppState`: settings, HTTP client, pacing.
#[derive(Debug)]
pub struct Notifier {
    /// Settings.
    pub config: NotifyConfig,
    /// The client, or why it could not be built (reported per invocation, retryable). Built on
    /// first use: building a TLS client loads the root store, which is most of the handler's cold
    /// start, and most invocations (every Event Grid and timer function) never notify directly.
    client: std::sync::OnceLock<Result<reqwest::Client, String>>,
    /// Per-destination pacing.
    pub pacer: Pacer,
}

impl Notifier {
    /// A notifier; the HTTP client (no redirects, per-request timeouts set per call) is built lazily.
    pub fn new(config: NotifyConfig) -> Self {
        Self {
            config,
            client: std::sync::OnceLock::new(),
            pacer: Pacer::new(),
        }
    }

    fn client(&self) -> &Result<reqwest::Client, String> {
        self.client.get_or_init(|| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!(
                    "bastion-recordings-notify/",
                    env!("CARGO_PKG_VERSION")
                ))
                .build()
                .map_err(|e| redact(&e.without_url().to_string()))
        })
    }
}

/// What happened to one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted (HTTP status) after `attempts` requests.
    Delivered {
        /// Final status.
        status: u16,
        /// Requests made.
        attempts: u32,
    },
    /// Refused for good: no retry for this destination.
    Permanent(String),
    /// Not delivered within the budget; the queue should redeliver.
    Retry(String),
}

/// What one response means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx.
    Ok(u16),
    /// 429 (or Teams' in-body throttling); the server's wait if it gave one.
    Throttled(Option<Duration>),
    /// Worth retrying after a backoff.
    Transient(String),
    /// Never worth retrying.
    Permanent(String),
}

/// Classifies a response. `retry_after` is the raw header; `body` a prefix of the response.
pub fn classify(status: u16, retry_after: Option<&str>, body: &str, now: SystemTime) -> Verdict {
    let excerpt = || redact(&super::render::truncate(body.trim(), MAX_EXCERPT));
    match status {
        200..=299 if body.contains("HTTP error 429") => Verdict::Throttled(None),
        200..=299 => Verdict::Ok(status),
        429 => Verdict::Throttled(retry_after.and_then(|v| parse_retry_after(v, now))),
        408 | 500..=599 => Verdict::Transient(format!("HTTP {status}")),
        300..=399 => Verdict::Permanent(format!("HTTP {status}: redirect not followed")),
        _ => Verdict::Permanent(format!("HTTP {status}: {}", excerpt())),
    }
}

/// `Retry-After`: delay-seconds or an HTTP date (the parser every retrying client shares).
pub use crate::retry_after::parse as parse_retry_after;

/// Backoff before attempt `attempt + 1`: `min(base · 2^(attempt-1), max)`, jittered into its upper half.
pub fn backoff(attempt: u32, jitter: f64) -> Duration {
    let step = BASE_BACKOFF
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    step.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

fn jitter() -> f64 {
    // uuid v4 is 122 random bits from the OS: enough randomness without another dependency.
    (uuid::Uuid::new_v4().as_u128() & 0xFFFF) as f64 / 65535.0
}

/// One payload for one destination.
#[derive(Debug)]
pub struct Payload<'a> {
    /// Destination kind.
    pub dest: Destination,
    /// Notification id (`webhook-id`, log correlation).
    pub id: &'a str,
    /// JSON body.
    pub body: Vec<u8>,
}

/// Posts `payload` until delivered, refused, or out of time.
pub async fn deliver(n: &Notifier, payload: &Payload<'_>, deadline: Instant) -> Delivery {
    let (dest, id) = (payload.dest, payload.id);
    let Some(endpoint) = n.config.endpoint(dest) else {
        return Delivery::Permanent("destination not configured".into());
    };
    let client = match n.client() {
        Ok(c) => c,
        Err(e) => return Delivery::Retry(format!("HTTP client unavailable: {e}")),
    };
    let mut attempt = 0u32;
    // The last failure, so that running out of time reports *why* the earlier attempts failed.
    let mut last = String::from("no attempt yet");
    loop {
        if !n.pacer.wait(dest, deadline).await {
            return Delivery::Retry(format!(
                "{last}; no send slot left in the invocation budget (after {attempt} attempts)"
            ));
        }
        attempt += 1;
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining < Duration::from_millis(50) {
            return Delivery::Retry(format!(
                "{last}; invocation budget spent (after {} attempts)",
                attempt - 1
            ));
        }
        let mut req = client
            .post(endpoint.expose())
            .timeout(n.config.timeout.min(remaining))
            .header("content-type", "application/json");
        if dest == Destination::Webhook {
            let ts = time::OffsetDateTime::now_utc().unix_timestamp();
            let sig =
                super::render::webhook::signature(&n.config.webhook_keys, id, ts, &payload.body);
            req = req
                .header("webhook-id", id)
                .header("webhook-timestamp", ts.to_string())
                .header("webhook-signature", sig);
        }
        let verdict = match req.body(payload.body.clone()).send().await {
            Err(e) => Verdict::Transient(redact(&format!(
                "{}{}",
                if e.is_timeout() { "timeout: " } else { "" },
                e.without_url()
            ))),
            Ok(res) => {
                let status = res.status().as_u16();
                let retry_after = res
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let body = excerpt(res).await;
                classify(status, retry_after.as_deref(), &body, SystemTime::now())
            }
        };
        let wait = match verdict {
            Verdict::Ok(status) => {
                return Delivery::Delivered {
                    status,
                    attempts: attempt,
                };
            }
            Verdict::Permanent(reason) => return Delivery::Permanent(reason),
            Verdict::Throttled(after) => {
                let wait = after.unwrap_or_else(|| backoff(attempt, jitter()));
                n.pacer.hold(dest, Instant::now() + wait);
                last = "HTTP 429".to_owned();
                info!(destination = %dest, notification.id = id, attempt, http.status = 429, wait_ms = wait.as_millis() as u64, "notify.throttled");
                wait
            }
            Verdict::Transient(reason) => {
                let wait = backoff(attempt, jitter());
                info!(destination = %dest, notification.id = id, attempt, reason = %reason, wait_ms = wait.as_millis() as u64, "notify.retry");
                if Instant::now() + wait > deadline {
                    return Delivery::Retry(format!("{reason} (after {attempt} attempts)"));
                }
                last = reason;
                tokio::time::sleep(wait).await;
                Duration::ZERO
            }
        };
        if Instant::now() + wait > deadline {
            return Delivery::Retry(format!(
                "throttled for {} ms, beyond the invocation budget (after {attempt} attempts)",
                wait.as_millis()
            ));
        }
    }
}

/// The first bytes of a response body (never the whole of a hostile, endless one).
async fn excerpt(mut res: reqwest::Response) -> String {
    let mut buf = Vec::new();
    while buf.len() < 4096 {
        match res.chunk().await {
            Ok(Some(chunk)) => buf.extend_from_slice(&chunk),
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf[..buf.len().min(4096)]).into_owned()
}

#[cfg(test)]
mod tests;
