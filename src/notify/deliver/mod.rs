//! Posting one payload to one destination under [`Policy::WEBHOOK`], each try in the destination's
//! next send slot ([`Slots`]): a 429 (also inside a Teams 200 body) pushes the slot out for the
//! whole process; 3xx (never followed: a signed payload stays here) and other 4xx are permanent.
//! No wait passes the budget (then retryable); URLs are secrets, never in errors or logs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use tracing::info;

use super::config::NotifyConfig;
use super::pacing::Slots;
use super::routes::Destination;
use crate::azure::http::{Auth, Client, Request, of_response};
use crate::azure::{AzureError, Policy, Timeouts};

/// The delivery machinery shared through `AppState`: settings, HTTP client, send slots.
#[derive(Debug)]
pub struct Notifier {
    /// Settings.
    pub config: NotifyConfig,
    /// The client, or why not; built lazily (loading the root store is most of a cold start).
    client: std::sync::OnceLock<Result<Client, String>>,
    /// Per-destination send slots.
    pub slots: Slots,
}

impl Notifier {
    /// A notifier; the HTTP client is built lazily.
    pub fn new(config: NotifyConfig) -> Self {
        Self {
            config,
            client: std::sync::OnceLock::new(),
            slots: Slots::default(),
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

/// Posts `payload` until delivered, refused, or `until` (the end of the invocation's budget).
pub async fn deliver(n: &Notifier, payload: &Payload<'_>, until: Instant) -> Delivery {
    let (dest, id) = (payload.dest, payload.id);
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
    let mut attempts = 0u32;
    // A delivery paced out past the budget reports the receiver's last answer, not the pacing.
    let last = std::sync::Mutex::new(None::<AzureError>);
    let paced_out = AtomicBool::new(false);
    let request = Request::new(Method::POST, url, "").op(dest.as_str());
    let request = request.body(payload.body.clone(), "application/json");
    let attempt = || {
        attempts += 1;
        let tried = attempts;
        let mut req = request.clone();
        let (last, paced_out) = (&last, &paced_out);
        async move {
            if let Err(wait) = n.slots.wait(dest, until).await {
                // The next free slot lies past the budget: given up at once, retryable.
                paced_out.store(true, Ordering::Relaxed);
                return Err(AzureError::Throttled {
                    retry_after: Some(wait),
                });
            }
            if dest == Destination::Webhook {
                sign(&n.config, &mut req, id, &payload.body);
            }
            let e = match client.exchange(&req, until).await {
                Ok(res) if res.status().is_success() => {
                    let status = res.status();
                    if !throttled_inside(res).await {
                        return Ok(status);
                    }
                    AzureError::Throttled { retry_after: None }
                }
                Ok(res) => of_response(res, &req).await,
                Err(e) => e,
            };
            if let AzureError::Throttled { retry_after } = &e {
                let wait = retry_after.unwrap_or_else(|| Policy::WEBHOOK.backoff(tried, 1.0));
                n.slots.push_back(dest, Instant::now() + wait);
                let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                info!(destination = %dest, notification.id = id, attempt = tried, http.status = 429, wait_ms, "notify.throttled");
            } else if e.is_retryable() {
                info!(destination = %dest, notification.id = id, attempt = tried, reason = %e, "notify.retry");
            }
            *last.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.clone());
            Err(e)
        }
    };
    let outcome = Policy::WEBHOOK.run(until, attempt).await.map_err(|e| {
        let answer = last.lock().unwrap_or_else(|p| p.into_inner()).take();
        match answer {
            Some(answer) if paced_out.load(Ordering::Relaxed) => answer,
            _ => e,
        }
    });
    match outcome {
        Ok(status) => Delivery::Delivered {
            status: status.as_u16(),
            attempts,
        },
        Err(e) if e.is_retryable() => Delivery::Retry(format!("{e} (after {attempts} attempts)")),
        Err(e) => Delivery::Permanent(e.to_string()),
    }
}

/// Signs `req` for the Standard Webhooks receiver: id, timestamp (now) and the signatures.
fn sign(config: &NotifyConfig, req: &mut Request<'_>, id: &str, body: &[u8]) {
    let ts = time::OffsetDateTime::now_utc().unix_timestamp();
    let sig = super::render::webhook::signature(&config.webhook_keys, id, ts, body);
    for (name, value) in [
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", ts.to_string()),
        ("webhook-signature", sig),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            req.headers.insert(name, v);
        }
    }
}

/// True when a 2xx body says the receiver throttled (Teams' legacy connectors: "HTTP error 429").
async fn throttled_inside(mut res: reqwest::Response) -> bool {
    if res.status() == StatusCode::NO_CONTENT {
        return false;
    }
    let mut buf = Vec::new();
    while buf.len() < 4096 {
        match res.chunk().await {
            Ok(Some(chunk)) => buf.extend_from_slice(&chunk),
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).contains("HTTP error 429")
}

#[cfg(test)]
mod tests;
