//! Rendering one notification for each kind of destination.
//!
//! [`Content`] is the destination-neutral view: title, a short list of labelled facts and links.
//! It is *thin* on purpose: only allow-listed fields of `data` (ids, VM, user, times, retention)
//! are shown; fields with personal data (e-mail, client IP) only with `NOTIFY_INCLUDE_PII=true`;
//! anything else in `data` is left out, so a producer adding a field never leaks it to a chat
//! channel by accident. The renderers ([`teams`], [`slack`], [`webhook`]) only lay it out.

pub mod slack;
pub mod teams;
pub mod webhook;

use serde_json::{Map, Value};

use super::message::{Notification, Severity};

/// Allow-listed `data` fields shown by default: (key, label).
pub const THIN_FIELDS: &[(&str, &str)] = &[
    ("recordingId", "Recording"),
    ("sessionId", "Session"),
    ("tunnelId", "Tunnel"),
    ("vm", "VM"),
    ("targetVm", "VM"),
    ("user", "User"),
    ("userName", "User"),
    ("protocol", "Protocol"),
    ("sessionStart", "Session start"),
    ("sessionEnd", "Session end"),
    ("startTime", "Start"),
    ("endTime", "End"),
    ("container", "Container"),
    ("blobName", "Blob"),
    ("contentLength", "Size (bytes)"),
    ("retentionClass", "Retention class"),
    ("retainUntil", "Retain until"),
    ("reason", "Reason"),
];

/// Fields with personal data, shown only with `NOTIFY_INCLUDE_PII=true`.
pub const PII_FIELDS: &[(&str, &str)] = &[
    ("userEmail", "User e-mail"),
    ("email", "E-mail"),
    ("clientIp", "Client IP"),
    ("clientIpAddress", "Client IP"),
    ("sourceIp", "Source IP"),
];

/// Longest value kept for one fact (characters); longer values are cut with `…`.
pub const MAX_FACT_CHARS: usize = 500;

/// One labelled value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// The `data` key (the webhook payload keeps it).
    pub key: &'static str,
    /// Human label.
    pub label: &'static str,
    /// Display value.
    pub value: String,
}

/// A link rendered as a button / `Action.OpenUrl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Button text.
    pub title: &'static str,
    /// Absolute https URL.
    pub url: String,
}

/// Destination-neutral content of one notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    /// Type, e.g. `recording.catalogued`.
    pub kind: String,
    /// Stable id.
    pub id: String,
    /// When the fact happened.
    pub time: String,
    /// Severity.
    pub severity: Severity,
    /// Summary line.
    pub title: String,
    /// Allow-listed facts, in [`THIN_FIELDS`] order, then PII fields.
    pub facts: Vec<Fact>,
    /// Links (Bastion session recordings blade, catalogue API), when they can be built.
    pub links: Vec<Link>,
}

/// Options that shape content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentOptions {
    /// Add [`PII_FIELDS`].
    pub include_pii: bool,
    /// Base URL of the catalogue API (`CATALOGUE_BASE_URL`).
    pub catalogue_base_url: Option<String>,
}

impl Content {
    /// Builds the thin view of `n`.
    pub fn of(n: &Notification, opts: &ContentOptions) -> Self {
        let data = n.data.as_object().cloned().unwrap_or_default();
        let mut facts = Vec::new();
        let pii: &[(&str, &str)] = if opts.include_pii { PII_FIELDS } else { &[] };
        for (key, label) in THIN_FIELDS.iter().chain(pii) {
            // Two keys may share a label (`vm`/`targetVm`): show the first present only.
            if facts.iter().any(|f: &Fact| f.label == *label) {
                continue;
            }
            if let Some(value) = data.get(*key).and_then(scalar) {
                facts.push(Fact {
                    key,
                    label,
                    value: truncate(&value, MAX_FACT_CHARS),
                });
            }
        }
        Self {
            kind: n.kind.clone(),
            id: n.notification_id.clone(),
            time: n.time.clone(),
            severity: n.severity,
            title: truncate(&n.title, MAX_FACT_CHARS),
            facts,
            links: links(&data, opts),
        }
    }

    /// Severity as a word.
    pub fn severity_word(&self) -> &'static str {
        match self.severity {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Cuts `s` to at most `max` characters (not bytes: never splits a character), marking the cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Best-effort links. The portal deep link follows the portal's `#@/resource<id>/<blade>` scheme
/// for the Bastion host's "Session recordings" blade; the blade segment is not a documented API,
/// so a portal change can break it (the link then opens the Bastion resource's overview).
fn links(data: &Map<String, Value>, opts: &ContentOptions) -> Vec<Link> {
    let mut out = Vec::new();
    if let Some(id) = data
        .get("bastionResourceId")
        .and_then(Value::as_str)
        .filter(|id| is_bastion_id(id))
    {
        out.push(Link {
            title: "Session recordings",
            url: format!("https://portal.azure.com/#@/resource{id}/sessionRecordings"),
        });
    }
    if let (Some(base), Some(rec)) = (
        &opts.catalogue_base_url,
        data.get("recordingId").and_then(Value::as_str),
    ) {
        let rec: String = url::form_urlencoded::byte_serialize(rec.as_bytes()).collect();
        out.push(Link {
            title: "Catalogue entry",
            url: format!("{base}/recordings/{rec}"),
        });
    }
    out
}

/// `/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Network/bastionHosts/<name>`,
/// checked so that a hostile value cannot turn the link into another URL.
fn is_bastion_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('/').collect();
    parts.len() == 9
        && parts[0].is_empty()
        && parts[1].eq_ignore_ascii_case("subscriptions")
        && parts[3].eq_ignore_ascii_case("resourceGroups")
        && parts[5].eq_ignore_ascii_case("providers")
        && parts[6].eq_ignore_ascii_case("Microsoft.Network")
        && parts[7].eq_ignore_ascii_case("bastionHosts")
        && parts.iter().skip(1).all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.()".contains(c))
        })
}

#[cfg(test)]
mod tests;
