//! Posting one payload to one destination through the one client ([`Client::send`]) under
//! [`Policy::WEBHOOK`], each try in the destination's spaced lane (Slack about one message a
//! second, Teams four): a 429 (also inside a 200 body, which Teams' connectors answer) pushes the
//! lane out for the whole process; 3xx (never followed: a signed payload stays here) and other
//! 4xx are permanent. No wait passes the budget (then retryable); URLs are secrets, never in
//! errors or logs.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use tracing::info;

use super::config::NotifyConfig;
use super::routes::Destination;
use crate::azure::http::{Auth, Client, Hook, Request};
use crate::azure::{AzureError, Policy, Timeouts};

/// The delivery machinery shared through `AppState`: settings and the HTTP client, whose spaced
/// lanes hold each destination's next send slot.
#[derive(Debug)]
pub struct Notifier {
    /// Settings.
    pub config: NotifyConfig,
    /// The client, or why not; built lazily (loading the root store is most of a cold start).
    client: std::sync::OnceLock<Result<Client, String>>,
}

impl Notifier {
    /// A notifier; the HTTP client is built lazily.
    pub fn new(config: NotifyConfig) -> Self {
        Self {
            config,
            client: std::sync::OnceLock::new(),
        }
    }

    fn client(&self) -> &Result<Client, String> {
        self.client.get_or_init(|| {
            let timeouts = Timeouts {
                per_try: self.config.timeout,
                total: self.config.budget,
            };
            let client = Client::new("NotifyWebhook", None, Auth::None, timeouts, Policy::WEBHOOK);
            client.map_err(|e| e.to_string())
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

/// Minimum spacing between two sends to one destination.
fn interval(dest: Destination) -> Duration {
    match dest {
        Destination::Slack => Duration::from_millis(1000),
        Destination::Teams => Duration::from_millis(250),
        // Receivers of generic webhooks state no limit; 429 + Retry-After still applies.
        Destination::Webhook => Duration::ZERO,
    }
}

/// One post as the client's [`Hook`] sees it: each try counted (and, to the Standard Webhooks
/// receiver, signed afresh), a 429 inside a 200 read, each failure logged and the last kept.
struct Post<'a> {
    config: &'a NotifyConfig,
    payload: &'a Payload<'a>,
    tries: AtomicU32,
    last: Mutex<Option<AzureError>>,
}

impl Hook for Post<'_> {
    fn before(&self, tried: u32, headers: &mut HeaderMap) {
        self.tries.store(tried, Ordering::Relaxed);
        if self.payload.dest == Destination::Webhook {
            sign(self.config, headers, self.payload.id, &self.payload.body);
        }
    }

    /// Teams' legacy connectors answer a throttled post 200 "… HTTP error 429".
    fn throttled(&self, body: &[u8]) -> bool {
        String::from_utf8_lossy(body).contains("HTTP error 429")
    }

    fn failed(&self, tried: u32, e: &AzureError, wait: Option<Duration>) {
        let (dest, id) = (self.payload.dest, self.payload.id);
        if let Some(wait) = wait {
            let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
            info!(destination = %dest, notification.id = id, attempt = tried, http.status = 429, wait_ms, "notify.throttled");
        } else if e.is_retryable() {
            info!(destination = %dest, notification.id = id, attempt = tried, reason = %e, "notify.retry");
        }
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.clone());
    }
}

/// Posts `payload` until delivered, refused, or `until` (the end of the invocation's budget).
pub async fn deliver(n: &Notifier, payload: &Payload<'_>, until: Instant) -> Delivery {
    let dest = payload.dest;
    let Some(url) = n
        .config
        .endpoint(dest)
        .and_then(|e| url::Url::parse(e.expose()).ok())
    else {
        return Delivery::Permanent("destination not configured".into());
    };
    let client = match n.client() {
        Ok(c) => c,
        Err(e) => return Delivery::Retry(format!("HTTP client unavailable: {e}")),
    };
    let post = Post {
        config: &n.config,
        payload,
        tries: AtomicU32::new(0),
        last: Mutex::new(None),
    };
    let request = Request::new(Method::POST, url, "").op(dest.as_str());
    let request = (request.body(payload.body.clone(), "application/json"))
        .until(Some(until))
        .spaced(dest.as_str(), interval(dest), &post);
    let outcome = client.send(&request).await.map_err(|e| {
        // A lane held past the budget (another call's 429) reports the receiver's last answer.
        let last = post.last.lock().unwrap_or_else(|p| p.into_inner()).take();
        let held = matches!(e, AzureError::Throttled { .. }) && last.as_ref() != Some(&e);
        last.filter(|_| held).unwrap_or(e)
    });
    let attempts = post.tries.load(Ordering::Relaxed);
    match outcome {
        Ok(res) => Delivery::Delivered {
            status: res.status().as_u16(),
            attempts,
        },
        Err(e) if e.is_retryable() => Delivery::Retry(format!("{e} (after {attempts} attempts)")),
        Err(e) => Delivery::Permanent(e.to_string()),
    }
}

/// Signs a try for the Standard Webhooks receiver: id, timestamp (now) and the signatures.
fn sign(config: &NotifyConfig, headers: &mut HeaderMap, id: &str, body: &[u8]) {
    let ts = time::OffsetDateTime::now_utc().unix_timestamp();
    let sig = super::render::webhook::signature(&config.webhook_keys, id, ts, body);
    for (name, value) in [
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", ts.to_string()),
        ("webhook-signature", sig),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
}

#[cfg(test)]
mod tests;
