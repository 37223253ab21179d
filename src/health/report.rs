//! What `GET /api/health` reports, and an overall status from thresholds; every read is bounded
//! (two catalogue partitions, the active cursors, at most [`QUARANTINE_PAGES`] listing pages).

use crate::azure::{AzureError, found};
use crate::ports::Ports;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::beats::{Beat, Heartbeats, is_success};
use super::flush;
use super::queues::QueueDepth;
use crate::audit_logs::repo::CursorRepo;
use crate::catalogue::repo;
use crate::dates::format_utc_millis;
use crate::dates::{format_date, format_utc};
use crate::storage::BlobStore;
use crate::tables::Filter;

/// Listing pages of the quarantine read per report (5 000 blobs each on Azure).
pub const QUARANTINE_PAGES: usize = 5;
/// Every function of the app, so never-seen ones show up as `null`.
pub const FUNCTIONS: &[&str] = &[
    "RecordingCreated",
    "AuditLogCreated",
    "AuditLogTail",
    "AuditLogQuery",
    "Reconcile",
    "RetentionSweep",
    "RecordingHash",
    "IntegrityVerify",
    "NotifyWebhook",
    "WorkUnit",
    "EstateCheck",
    "LiveSessions",
    "ReviewQueue",
    "EvidencePack",
    "SentinelExport",
    "CustodyActor",
];

/// The timers that plan work units, whose periods and poisoned units the report counts.
pub const FANOUT_TIMERS: &[&str] = &[
    crate::estate::live::FUNCTION,
    crate::estate::FUNCTION,
    crate::audit_logs::query::FUNCTION,
    crate::audit_logs::TAIL_FUNCTION,
    crate::audit_logs::RECONCILE_FUNCTION,
];

/// The facts the status is decided from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Functions whose last invocation failed or was poisoned.
    pub failing: Vec<String>,
    /// Payloads quarantined today or yesterday.
    pub recent_quarantined: usize,
    /// How far behind the audit-log tail is on its most delayed host, and that host.
    pub tail_lag: Option<(Duration, String)>,
    /// A `recordings.stalled` episode is open.
    pub stalled: bool,
    /// The sources (Bastion host, else `account/container`) whose episode is open.
    pub stalled_sources: Vec<String>,
    /// Sources whose account did not answer.
    pub unreachable: Vec<String>,
    /// Messages waiting in the poison queues.
    pub poison_messages: u64,
    /// Work units whose last delivery failed (`timer: unit`).
    pub poisoned_units: Vec<String>,
    /// Open high-severity estate findings (`host: finding`).
    pub estate_high: Vec<String>,
    /// Why the Sentinel export is behind (a row waiting too long, a run that stopped).
    pub export_behind: Vec<String>,
}

/// `ok`, `degraded` or `stalled`, with the reasons (plain sentences, no internals).
pub fn classify(f: &Facts, lag_threshold: Duration) -> (&'static str, Vec<String>) {
    let failed = |n: &String| format!("{n}: last invocation failed");
    let mut reasons: Vec<String> = f.failing.iter().map(failed).collect();
    if f.recent_quarantined > 0 {
        reasons.push(format!(
            "{} payload(s) quarantined since yesterday",
            f.recent_quarantined
        ));
    }
    if f.poison_messages > 0 {
        reasons.push(format!("{} message(s) in poison queues", f.poison_messages));
    }
    for u in &f.poisoned_units {
        reasons.push(format!("work unit poisoned: {u}"));
    }
    if let Some((lag, host)) = f.tail_lag.as_ref().filter(|(l, _)| *l > lag_threshold) {
        reasons.push(format!(
            "audit-log tail is {} min behind on {host} (threshold {})",
            lag.whole_minutes(),
            lag_threshold.whole_minutes()
        ));
    }
    for s in &f.unreachable {
        reasons.push(format!("source {s} is unreachable"));
    }
    for e in &f.estate_high {
        reasons.push(format!("Bastion estate finding open: {e}"));
    }
    reasons.extend(f.export_behind.iter().cloned());
    if f.stalled {
        let which = match f.stalled_sources.as_slice() {
            [] => String::new(),
            named => format!(" by {}", named.join(", ")),
        };
        let stalled = format!("no recordings are being created{which} (stalled)");
        reasons.insert(0, stalled);
        return ("stalled", reasons);
    }
    (if reasons.is_empty() { "ok" } else { "degraded" }, reasons)
}

/// Why the report could not be built (answered as 503 without details).
#[derive(Debug)]
pub enum Unavailable {
    /// Table storage failed.
    Tables(AzureError),
    /// Blob (or queue) storage failed.
    Blobs(AzureError),
}

/// A table read failed: every read but the quarantine's and the queues' is a table's.
impl From<AzureError> for Unavailable {
    fn from(e: AzureError) -> Self {
        Self::Tables(e)
    }
}

/// What the report reads: the app's tables and blobs, this instance's heartbeats, the queues.
#[derive(Clone)]
pub struct Health {
    /// The tables, the watched sources and the clock.
    pub ports: Ports,
    /// The app's blobs (quarantine).
    pub app_blobs: Arc<dyn BlobStore>,
    /// Container of quarantined payloads.
    pub quarantine_container: String,
    /// This instance's unflushed heartbeats.
    pub heartbeats: Arc<Heartbeats>,
    /// Poison-queue depths.
    pub queues: Arc<dyn QueueDepth>,
    /// How long a cursor stays active (`AUDIT_TAIL_WINDOW_HOURS`).
    pub tail_look_back: Duration,
}

/// Builds the report document and its status; `lag_threshold` is `HEALTH_TAIL_LAG_MINUTES`.
///
/// # Errors
/// `Unavailable` when storage fails.
pub async fn build(
    deps: &Health,
    now: OffsetDateTime,
    lag_threshold: Duration,
) -> Result<Value, Unavailable> {
    let tables = deps.ports.tables.as_ref();
    let latest = latest_recording(deps, now).await?;
    let mut beats = flush::stored(tables).await?;
    for (f, b) in deps.heartbeats.snapshot() {
        let merged = beats.get(&f).map_or(b.clone(), |s| s.merge(&b));
        beats.insert(f, merged);
    }
    let tailed = beats.get("AuditLogTail").and_then(|b| b.last_success);
    let (cursor, tail_lag) = cursors(deps, now, tailed).await?;
    let sources = super::sources::check(tables, &deps.ports.sources).await?;
    let (active, since) = (!sources.stalled.is_empty(), sources.since.clone());
    let estate = crate::estate::store::list(tables).await?.rows;
    let estate_high: Vec<String> = estate
        .iter()
        .filter(|r| r.is_open_high())
        .map(|r| format!("{}: {}", r.host_name, r.finding))
        .collect();
    let estate_open = estate.iter().filter(|r| r.status == "open").count();
    let (quarantine, recent) = quarantine(deps, now).await.map_err(Unavailable::Blobs)?;
    let mut poison = serde_json::Map::new();
    let mut poison_messages = 0;
    for q in super::queues::POISON_QUEUES {
        let n = deps.queues.depth(q).await.map_err(Unavailable::Blobs)?;
        poison_messages += n;
        poison.insert((*q).to_owned(), n.into());
    }
    let (fanout, poisoned) = crate::fanout::stats::report(tables, FANOUT_TIMERS, now).await?;
    let (sentinel, export_behind) = if deps.ports.outbox.enabled() {
        super::sentinel::check(tables, now).await?
    } else {
        (json!({"enabled": false}), Vec::new())
    };
    let facts = Facts {
        failing: beats
            .iter()
            .filter(|(_, b)| !is_success(&b.outcome))
            .map(|(f, _)| f.clone())
            .collect(),
        recent_quarantined: recent,
        tail_lag,
        stalled: active,
        stalled_sources: sources.stalled,
        unreachable: sources.unreachable,
        poison_messages,
        poisoned_units: poisoned.clone(),
        estate_high: estate_high.clone(),
        export_behind,
    };
    let (status, reasons) = classify(&facts, lag_threshold);
    Ok(json!({
        "status": status, "reasons": reasons, "checkedAt": format_utc_millis(now),
        "tables": true, "blobs": true,
        "lastRecordingCreated": latest,
        "functions": functions_json(&beats),
        "auditLogTail": cursor,
        "quarantine": quarantine,
        "quarantined": quarantine["total"], "quarantinedMore": quarantine["more"],
        "poisonQueues": poison,
        "workUnits": fanout, "poisonedUnits": poisoned,
        "stalledRecordings": {"active": active, "since": since},
        "sources": sources.docs,
        "estate": {"open": estate_open, "high": estate_high},
        "sentinel": sentinel,
    }))
}

fn functions_json(beats: &BTreeMap<String, Beat>) -> Value {
    let never = FUNCTIONS.iter().map(|f| ((*f).to_owned(), Value::Null));
    Value::Object(
        never
            .chain(beats.iter().map(|(f, b)| (f.clone(), b.to_json())))
            .collect(),
    )
}

async fn latest_recording(
    deps: &Health,
    now: OffsetDateTime,
) -> Result<Option<String>, AzureError> {
    let mut latest: Option<String> = None;
    for day in [now.date(), (now - Duration::days(1)).date()] {
        let f = Filter::partition(&format_date(day));
        if let Some((rows, _)) = found(repo::page(deps.ports.tables.as_ref(), &f, None).await)? {
            let best = rows.iter().map(|(r, _)| r.blob_created).max();
            latest = latest.max(best.map(format_utc));
        }
    }
    Ok(latest)
}

/// The tail's active cursors and, per host, how far behind it is: read up to the oldest growth a
/// tick left unread, at best to the last successful tick (`tailed`). The most delayed decides.
async fn cursors(
    deps: &Health,
    now: OffsetDateTime,
    tailed: Option<OffsetDateTime>,
) -> Result<(Value, Option<(Duration, String)>), AzureError> {
    let active = CursorRepo::new(deps.ports.tables.clone())
        .active(now, deps.tail_look_back, None)
        .await?;
    let newest = active.iter().map(|c| c.hour).max();
    let mut hosts: BTreeMap<&str, (OffsetDateTime, usize, usize)> = BTreeMap::new();
    for c in &active {
        let looked = tailed.unwrap_or(c.created_at);
        let read_to = c.grown_at.map_or(looked, |g| g.min(looked));
        let e = hosts
            .entry(c.bastion_host.as_str())
            .or_insert((read_to, 0, 0));
        e.0 = e.0.min(read_to);
        e.1 += 1;
        e.2 += usize::from(c.grown_at.is_some());
    }
    let behind = |t: OffsetDateTime| (now - t).max(Duration::ZERO);
    let per_host: Vec<Value> = hosts
        .iter()
        .map(|(host, (read_to, cursors, unread))| {
            json!({"host": host, "behindSeconds": behind(*read_to).whole_seconds(),
                "readUpTo": format_utc_millis(*read_to), "activeCursors": cursors,
                "unreadBlobs": unread})
        })
        .collect();
    let tail_lag = hosts
        .iter()
        .map(|(host, (read_to, _, _))| (behind(*read_to), (*host).to_owned()))
        .max_by_key(|(lag, _)| *lag);
    let mins = |d: Duration| d.whole_minutes();
    let doc = json!({
        "activeCursors": active.len(),
        "newestHour": newest.map(format_utc_millis),
        "newestHourLagMinutes": newest.map(|h| mins((now - h - Duration::hours(1)).max(Duration::ZERO))),
        "lastReadAt": active.iter().filter_map(|c| c.last_read_at).max().map(format_utc_millis),
        "lastTickAt": tailed.map(format_utc_millis),
        "behindSeconds": tail_lag.as_ref().map(|(l, _)| l.whole_seconds()),
        "hosts": per_host,
    });
    Ok((doc, tail_lag))
}

/// Whether the app's blob service answers (a listing of the quarantine container; a container
/// not created yet is an answer): asked after the tables failed, so a report says what is down.
pub async fn blobs_answer(deps: &Health) -> bool {
    matches!(
        deps.app_blobs
            .list(&deps.quarantine_container, None, None)
            .await,
        Ok(_) | Err(AzureError::NotFound)
    )
}

/// Quarantined payloads (`<Function>/<yyyy-mm-dd>/…`): total, per function, since yesterday.
async fn quarantine(deps: &Health, now: OffsetDateTime) -> Result<(Value, usize), AzureError> {
    let recent_days = [now, now - Duration::days(1)].map(|t| format_date(t.date()));
    let (mut total, mut recent, mut by_fn) = (0usize, 0usize, BTreeMap::<String, usize>::new());
    let (mut marker, mut more) = (None, false);
    for _ in 0..QUARANTINE_PAGES {
        let page = deps
            .app_blobs
            .list(&deps.quarantine_container, None, marker);
        let Some(page) = found(page.await)? else {
            break;
        };
        for item in &page.items {
            total += 1;
            let mut parts = item.name.splitn(3, '/');
            let function = parts.next().unwrap_or_default().to_owned();
            if parts
                .next()
                .is_some_and(|d| recent_days.iter().any(|r| r == d))
            {
                recent += 1;
            }
            *by_fn.entry(function).or_default() += 1;
        }
        marker = page.next;
        more = marker.is_some();
        if !more {
            break;
        }
    }
    let doc = json!({"total": total, "more": more, "sinceYesterday": recent, "byFunction": by_fn});
    Ok((doc, recent))
}
