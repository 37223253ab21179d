//! The `CustodyActor` pass: each awaited lookup queries the blob's rows around the event; a
//! matching request, or after the wait "unknown" with the reason, becomes the row's actor and
//! its `recording.actor` follow-up (a folded alert's: noted for its burst, whose follow-up names
//! the actors, [`super::burst_actors`]). A 429 ends the pass.

use time::OffsetDateTime;

use super::actor::{self, SPAN, operations};
use super::query::{self, object_keys};
use super::settings::CustodySettings;
use super::{awaited, burst_actors};
use crate::azure::AzureError;
use crate::catalogue::recording::{Actor, Recording, RecordingKey};
use crate::loganalytics::LogsQuery;
use crate::ports::Ports;
use crate::spine::Finding;

/// Lookups handled per pass.
pub const PER_PASS: u32 = 50;
/// Rows a lookup reads (the change's requests on one blob within the span).
const ROWS: usize = 100;

/// What a pass did.
#[derive(Debug, Default)]
pub struct Pass {
    /// Follow-ups to emit.
    pub findings: Vec<Finding>,
    /// Actors recorded (found or unknown) on this pass.
    pub recorded: usize,
    /// Lookups still waiting.
    pub waiting: usize,
    /// The pass stopped at a 429.
    pub throttled: bool,
}

/// Runs one pass at `now`.
///
/// # Errors
/// Table errors (the next tick resumes: every step is idempotent).
pub async fn pass(
    ports: &Ports,
    logs: &dyn LogsQuery,
    settings: &CustodySettings,
    workspace: &str,
    now: OffsetDateTime,
) -> Result<Pass, AzureError> {
    let tables = ports.tables.as_ref();
    let repo = ports.catalogue();
    let mut out = Pass::default();
    for mut lookup in awaited::awaiting(tables, PER_PASS).await? {
        let Some(key) = RecordingKey::parse(&lookup.recording_id) else {
            awaited::done(tables, &lookup).await?;
            continue;
        };
        let Some(row) = repo.get(&key).await? else {
            awaited::done(tables, &lookup).await?;
            continue;
        };
        let rec = &row.value;
        if let Some(a) = rec.actor.as_ref().filter(|a| a.alert_id == lookup.alert_id) {
            // Recorded on an earlier pass: its follow-up once more (delivery drops a repeat), or
            // for a folded alert its burst's note.
            if lookup.burst.is_empty() {
                out.findings.push(actor::finding(rec, lookup.change, a));
            } else {
                burst_actors::note(tables, &lookup.burst, &lookup.alert_id, a).await?;
            }
            awaited::done(tables, &lookup).await?;
            continue;
        }
        if out.throttled {
            out.waiting += 1;
            continue;
        }
        let keys = object_keys(&rec.account, &rec.container, &rec.blob_name);
        let ops = operations(lookup.change);
        let around = (lookup.at - SPAN, lookup.at + SPAN);
        let asked = query::run(logs, workspace, &keys, ops, around, ROWS).await;
        lookup.attempts += 1;
        let over = now >= lookup.at + settings.actor_wait;
        let picked = match &asked {
            Ok(found) => actor::pick(found, &lookup)
                .map(|(access, tie)| actor::found(access, &tie, &lookup.alert_id)),
            Err(e) => {
                lookup.last_error = crate::telemetry::redact(&e.to_string());
                out.throttled = matches!(e, AzureError::Throttled { .. });
                None
            }
        };
        let decided = picked.or_else(|| {
            over.then(|| {
                let why = actor::why_unknown(&lookup, asked.as_ref().ok(), settings.actor_wait);
                actor::unknown(why, &lookup.alert_id)
            })
        });
        let Some(decided) = decided else {
            awaited::note(tables, &lookup).await?;
            out.waiting += 1;
            continue;
        };
        let written = repo
            .update(&key, Some(row), |cur| record(cur?, &decided))
            .await?;
        if !lookup.burst.is_empty() {
            burst_actors::note(tables, &lookup.burst, &lookup.alert_id, &decided).await?;
        }
        if let Some(w) = written {
            out.recorded += 1;
            if lookup.burst.is_empty() {
                out.findings
                    .push(actor::finding(&w.value, lookup.change, &decided));
            }
        }
        awaited::note(tables, &lookup).await?;
    }
    Ok(out)
}

/// Records `who` as the actor of alert `who.alert_id` on the row of `key` (unless it holds it
/// already); the `recording.actor` follow-up when this wrote it.
///
/// # Errors
/// Table errors.
pub async fn attach(
    ports: &Ports,
    key: &RecordingKey,
    change: awaited::Change,
    who: &Actor,
) -> Result<Option<Finding>, AzureError> {
    let repo = ports.catalogue();
    let Some(row) = repo.get(key).await? else {
        return Ok(None);
    };
    let written = repo.update(key, Some(row), |cur| record(cur?, who)).await?;
    Ok(written.map(|w| actor::finding(&w.value, change, who)))
}

/// The row with `actor`, unless it holds this alert's actor already.
fn record(cur: &Recording, actor: &Actor) -> Option<Recording> {
    if cur
        .actor
        .as_ref()
        .is_some_and(|a| a.alert_id == actor.alert_id)
    {
        return None;
    }
    let mut r = cur.clone();
    r.actor = Some(actor.clone());
    Some(r)
}
