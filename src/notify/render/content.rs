//! What every destination shows of a notification: the allow-listed facts, the links, and the
//! cut that keeps a value within a destination's limit.

use serde_json::Value;

use super::links::{self, ContentOptions, Link};

use crate::spine::{Notification, Severity};

/// Allow-listed `data` fields shown by default: (key, label), in display order.
pub const THIN_FIELDS: &[(&str, &str)] = &[
    ("recordingId", "Recording"),
    ("bastionHost", "Bastion host"),
    ("account", "Storage account"),
    ("container", "Container"),
    ("blobName", "Blob"),
    ("sessionId", "Session"),
    ("tunnelId", "Tunnel"),
    ("vm", "VM"),
    ("targetVm", "VM"),
    ("user", "User"),
    ("userName", "User"),
    ("userNames", "Users"),
    ("protocol", "Protocol"),
    ("count", "Failed logins"),
    ("windowStart", "Window start"),
    ("windowEnd", "Window end"),
    ("sessionStart", "Session start"),
    ("sessionEnd", "Session end"),
    ("startTime", "Start"),
    ("endTime", "End"),
    ("noRecordingSince", "No recording since"),
    ("endedSessions", "Sessions ended since"),
    ("contentLength", "Size (bytes)"),
    ("retentionClass", "Retention class"),
    ("retainUntil", "Retain until"),
    ("legalHold", "Legal hold"),
    ("foundRetentionClass", "Retention class found"),
    ("foundRetainUntil", "Retain until found"),
    ("foundHeldFrom", "Held from found"),
    ("restored", "Tags restored"),
    ("deletedAt", "Deleted at"),
    ("change", "Change"),
    ("alertId", "Alert"),
    ("actorStatus", "Actor"),
    ("operation", "Operation"),
    ("authenticationType", "Authentication"),
    ("requesterObjectId", "Requester object id"),
    ("requesterAppId", "Requester app id"),
    ("userAgent", "User agent"),
    ("requestTime", "Request time"),
    ("expectedSha256", "Expected SHA-256"),
    ("actualSha256", "Actual SHA-256"),
    ("sha256", "Recorded SHA-256"),
    ("expectedLength", "Expected size (bytes)"),
    ("actualLength", "Actual size (bytes)"),
    ("dryRun", "Dry run"),
    ("counts", "Counts"),
    ("items", "Items"),
    ("moreItems", "More items"),
    ("reason", "Reason"),
    ("finding", "Finding"),
    ("findingSeverity", "Finding severity"),
    ("evidence", "Evidence"),
    ("firstSeen", "First seen"),
    ("resolvedAt", "Resolved at"),
    ("targetIp", "Target IP"),
    ("state", "State"),
    ("decidedBy", "By"),
    ("riskScore", "Risk score"),
    ("riskReasons", "Risk reasons"),
    ("dueAt", "Review due"),
];

/// Fields with personal data, shown only with `NOTIFY_INCLUDE_PII=true`.
pub const PII_FIELDS: &[(&str, &str)] = &[
    ("userEmail", "User e-mail"),
    ("email", "E-mail"),
    ("requesterUpn", "Requester"),
    ("callerIpAddress", "Caller IP"),
    ("clientIp", "Client IP"),
    ("clientIpAddress", "Client IP"),
    ("clientIps", "Client IPs"),
    ("sourceIp", "Source IP"),
];

/// Longest value a human channel shows for one fact (characters; the webhook gets it whole).
pub const MAX_FACT_CHARS: usize = 500;

/// One labelled value.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    /// The `data` key (the webhook payload keeps it).
    pub key: &'static str,
    /// Human label.
    pub label: &'static str,
    /// Display value: full length, unescaped (each renderer cuts and escapes for its channel).
    pub value: String,
    /// The value as the producer sent it (type and length kept), for machine receivers.
    pub raw: Value,
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
    /// Summary line (full length: human renderers cut it).
    pub title: String,
    /// Allow-listed facts, in [`THIN_FIELDS`] order, then PII fields.
    pub facts: Vec<Fact>,
    /// Links (the timeline page, the Bastion session recordings blade), when they can be built.
    pub links: Vec<Link>,
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
            if let Some((raw, value)) = data.get(*key).and_then(|v| Some((v, display(v)?))) {
                facts.push(Fact {
                    key,
                    label,
                    value,
                    raw: raw.clone(),
                });
            }
        }
        Self {
            kind: n.kind.clone(),
            id: n.notification_id.clone(),
            time: n.time.clone(),
            severity: n.severity,
            title: n.title.clone(),
            facts,
            links: links::of(&n.kind, &n.time, &data, opts),
        }
    }
}

/// A value as one line: lists joined with `; `, objects as their non-empty members (`deleted 3`).
fn display(v: &Value) -> Option<String> {
    let joined = |parts: Vec<String>, sep: &str| Some(parts.join(sep)).filter(|s| !s.is_empty());
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "yes" } else { "no" }.to_owned()),
        Value::Array(items) => joined(items.iter().filter_map(display).collect(), "; "),
        Value::Object(members) => joined(
            members
                .iter()
                .filter(|(_, m)| !matches!(m, Value::Bool(false)) && m.as_f64() != Some(0.0))
                .filter_map(|(k, m)| Some(format!("{k} {}", display(m)?)))
                .collect(),
            ", ",
        ),
        _ => None,
    }
}

/// The marker a value cut to fit a destination ends with.
pub const CUT: &str = "…(cut)";
