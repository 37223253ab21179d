//! NotifyWebhook settings, validated at start-up.
//!
//! Webhook URLs carry their credentials, so they are [`Secret`]s and errors name the setting only.

use std::time::Duration;

use base64::Engine as _;
use url::Url;

use super::routes::{Destination, Routes};
use crate::azure::connection::Secret;
use crate::azure::endpoint::{Refused, scheme_allowed};
use crate::setting::Reader;

/// Default per-request timeout (`NOTIFY_TIMEOUT_MS`).
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// Default time an invocation may spend delivering (`NOTIFY_BUDGET_MS`), under `functionTimeout`.
pub const DEFAULT_BUDGET_MS: u64 = 45_000;
/// Default `maxDequeueCount` of host.json (`NOTIFY_MAX_DEQUEUE`).
pub const DEFAULT_MAX_DEQUEUE: u32 = 5;

/// One Standard Webhooks signing key (the base64-decoded part of `whsec_…`).
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(pub Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey([redacted])")
    }
}

/// Notification settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// `NOTIFY_TEAMS_URL`.
    pub teams: Option<Secret>,
    /// `NOTIFY_SLACK_URL`.
    pub slack: Option<Secret>,
    /// `NOTIFY_WEBHOOK_URL`.
    pub webhook: Option<Secret>,
    /// `NOTIFY_WEBHOOK_SECRET`: one key per space-separated `whsec_…` (key rotation).
    pub webhook_keys: Vec<SigningKey>,
    /// `NOTIFY_ROUTES` (file contents parsed).
    pub routes: Routes,
    /// `NOTIFY_INCLUDE_PII`: add e-mail and client IP fields.
    pub include_pii: bool,
    /// `NOTIFY_TIMEOUT_MS`: per request.
    pub timeout: Duration,
    /// `NOTIFY_BUDGET_MS`: per invocation.
    pub budget: Duration,
    /// `NOTIFY_MAX_DEQUEUE`: the queue's `maxDequeueCount`.
    pub max_dequeue: u32,
    /// `CATALOGUE_BASE_URL`: base of the catalogue API for links (optional).
    pub catalogue_base_url: Option<String>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            teams: None,
            slack: None,
            webhook: None,
            webhook_keys: Vec::new(),
            routes: Routes::default(),
            include_pii: false,
            timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
            budget: Duration::from_millis(DEFAULT_BUDGET_MS),
            max_dequeue: DEFAULT_MAX_DEQUEUE,
            catalogue_base_url: None,
        }
    }
}

impl NotifyConfig {
    /// Reads the settings through `r`, which records each problem by name (never a value).
    pub fn from_reader(r: &mut Reader<'_>) -> Self {
        let insecure_loopback = r.flag("NOTIFY_ALLOW_INSECURE_LOOPBACK", false);
        let mut endpoint = |k: &str| {
            let checked = r.get(k).map(|v| check_url(k, &v, insecure_loopback))?;
            checked.map_err(|e| r.extend([e])).ok()
        };
        let (teams, slack, webhook) = (
            endpoint("NOTIFY_TEAMS_URL"),
            endpoint("NOTIFY_SLACK_URL"),
            endpoint("NOTIFY_WEBHOOK_URL"),
        );
        let webhook_keys = match (&webhook, r.get("NOTIFY_WEBHOOK_SECRET")) {
            (_, Some(s)) => parse_keys(&s).unwrap_or_else(|e| {
                r.extend([e]);
                Vec::new()
            }),
            (Some(_), None) => {
                r.problem(
                    "NOTIFY_WEBHOOK_SECRET",
                    "required when NOTIFY_WEBHOOK_URL is set",
                );
                Vec::new()
            }
            (None, None) => Vec::new(),
        };
        if webhook.is_none() && !webhook_keys.is_empty() {
            r.problem("NOTIFY_WEBHOOK_SECRET", "set but NOTIFY_WEBHOOK_URL is not");
        }
        let routes = match r.get("NOTIFY_ROUTES") {
            None => Routes::default(),
            Some(path) => std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read the file: {}", e.kind()))
                .and_then(|t| Routes::parse(&t).map_err(|e| e.to_string()))
                .unwrap_or_else(|e| {
                    r.problem("NOTIFY_ROUTES", &e);
                    Routes::default()
                }),
        };
        let mut millis =
            |k: &str, default: u64| Duration::from_millis(r.number(k, default, 100..=600_000));
        let (timeout, budget) = (
            millis("NOTIFY_TIMEOUT_MS", DEFAULT_TIMEOUT_MS),
            millis("NOTIFY_BUDGET_MS", DEFAULT_BUDGET_MS),
        );
        let max_dequeue = r.number("NOTIFY_MAX_DEQUEUE", DEFAULT_MAX_DEQUEUE, 1..=u32::MAX);
        let catalogue_base_url = r
            .get("CATALOGUE_BASE_URL")
            .and_then(|v| match Url::parse(&v) {
                Ok(u) if matches!(u.scheme(), "https" | "http") => {
                    Some(v.trim_end_matches('/').to_owned())
                }
                _ => {
                    r.problem("CATALOGUE_BASE_URL", "not an http(s) URL");
                    None
                }
            });
        Self {
            teams,
            slack,
            webhook,
            webhook_keys,
            routes,
            include_pii: r.flag("NOTIFY_INCLUDE_PII", false),
            timeout,
            budget,
            max_dequeue,
            catalogue_base_url,
        }
    }

    /// The URL of `dest`, when configured.
    pub fn endpoint(&self, dest: Destination) -> Option<&Secret> {
        match dest {
            Destination::Teams => self.teams.as_ref(),
            Destination::Slack => self.slack.as_ref(),
            Destination::Webhook => self.webhook.as_ref(),
        }
    }
}

/// https only; http only to a loopback host and only when explicitly allowed (tests).
fn check_url(setting: &str, value: &str, insecure_loopback: bool) -> Result<Secret, String> {
    let url = Url::parse(value)
        .map_err(|_| format!("{setting}: not a valid URL (an unresolved Key Vault reference?)"))?;
    match scheme_allowed(&url, insecure_loopback) {
        Ok(()) => Ok(Secret::new(value)),
        Err(Refused::PlainHttp) => Err(format!(
            "{setting}: plain http is refused (NOTIFY_ALLOW_INSECURE_LOOPBACK=true allows it for loopback addresses)"
        )),
        Err(Refused::NotHttps) => Err(format!("{setting}: must be an https URL")),
    }
}

/// `whsec_<base64>` keys, space-separated; each decodes to 24–64 bytes (Standard Webhooks).
fn parse_keys(value: &str) -> Result<Vec<SigningKey>, String> {
    value
        .split_whitespace()
        .enumerate()
        .map(|(i, token)| {
            let bad = |what: &str| format!("NOTIFY_WEBHOOK_SECRET: secret #{} {what}", i + 1);
            let b64 = token
                .strip_prefix("whsec_")
                .ok_or_else(|| bad("does not start with whsec_"))?;
            let key = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| bad("is not base64 after whsec_"))?;
            if !(24..=64).contains(&key.len()) {
                return Err(bad("must decode to 24-64 bytes"));
            }
            Ok(SigningKey(key))
        })
        .collect()
}

#[cfg(test)]
mod tests;
