//! `Reconcile` (timer, hourly): what events missed (Event Grid drops deliveries after 24 h), run
//! through the same code paths: recordings with no row, once a day each recordings container
//! against the catalogue (blobs gone, ETags changed: [`compare`]), `PT1H.json` blobs with no
//! cursor, alert bursts whose window closed, then `recordings.stalled`. At most [`MAX_LISTED`] blobs are listed per container per run.

use time::OffsetDateTime;
use tracing::{error, warn};

use crate::audit_logs::path::parse_blob_path;
use crate::audit_logs::repo::CursorRepo;
use crate::audit_logs::{created, detect::stalled};
use crate::invocation::Failure;
use crate::invocation::{Invocation, Outcome};
use crate::notify::OUTPUT_BINDING;
use crate::recordings::compare;
use crate::recordings::reconcile::Fate;
use crate::sources::Source;
use crate::state::AppState;
use crate::storage::{BlobItem, BlobStore};
use crate::telemetry::redact;

/// Most blobs listed per container per run.
pub const MAX_LISTED: usize = 100_000;

pub use crate::audit_logs::RECONCILE_FUNCTION as RECONCILE;

/// Handles one timer invocation; `Retryable` for storage failures.
pub async fn reconcile(state: AppState, inv: Invocation) -> Result<Outcome, Failure> {
    run(&state, super::now_of(&state, &inv)).await
}

/// One reconciliation at `now`; `Retryable` for storage failures.
pub async fn run(state: &AppState, now: OffsetDateTime) -> Result<Outcome, Failure> {
    let mut found = Found::default();
    // An account that cannot be listed fails its own part (named), never the other sources'.
    let mut failed: Vec<(String, Failure)> = Vec::new();
    for source in state.ports.sources.recordings() {
        if let Err(e) = recordings(state, source, now, &mut found).await {
            failed.push((source.label(), e));
        }
    }
    let Found {
        catalogued,
        compared,
        notifications,
    } = found;
    let mut registered = 0;
    for source in state.ports.sources.audit_logs() {
        match audit_blobs(state, source, now).await {
            Ok(n) => registered += n,
            Err(e) => failed.push((source.label(), e)),
        }
    }
    let summary = format!(
        "reconciled: {catalogued} recordings catalogued, {registered} audit blobs registered, {compared} alerts from the daily listing"
    );
    if let Some(e) = partial_failure(&summary, failed) {
        // What was catalogued is kept: the retry finds those rows and announces nothing twice.
        return Err(e);
    }
    let mut o = Outcome::processed(summary).with_outputs(OUTPUT_BINDING, &notifications);
    // Alert bursts whose window closed (also sent by `CustodyActor`, which runs only with custody);
    // their folded alerts left actor lookups only with a custody workspace.
    let lookups = state.config.custody.workspace.is_some();
    let bursts = crate::custody::burst::close(state.ports.tables.as_ref(), now, lookups).await?;
    o = o.with_outputs(OUTPUT_BINDING, &bursts);
    match stalled::run(&crate::state::stalled(state), now).await {
        Ok(alerts) => {
            o = o.with_outputs(OUTPUT_BINDING, &alerts);
        }
        Err(e) => {
            error!(error.cause_chain = %redact(&e.to_string()), "stalled-recordings check failed; retried next run")
        }
    }
    Ok(o)
}

async fn list_recent(
    store: &dyn BlobStore,
    container: &str,
    since: OffsetDateTime,
) -> Result<Vec<BlobItem>, Failure> {
    let (mut out, mut marker, mut listed) = (Vec::new(), None, 0);
    loop {
        let page = match store.list(container, None, marker).await {
            Err(crate::azure::AzureError::NotFound) => return Ok(out),
            other => other?,
        };
        listed += page.items.len();
        out.extend(page.items.into_iter().filter(|i| {
            i.props
                .created
                .or(i.props.last_modified)
                .is_some_and(|c| c >= since)
        }));
        if page.next.is_none() || listed >= MAX_LISTED {
            if page.next.is_some() {
                warn!(
                    container,
                    listed, "reconcile listing bound reached; the rest is not examined this run"
                );
            }
            return Ok(out);
        }
        marker = page.next;
    }
}

/// What the recordings pass found, with the `recording.catalogued` messages of late recordings.
#[derive(Debug, Default)]
struct Found {
    catalogued: usize,
    /// Alerts the daily comparison raised.
    compared: usize,
    notifications: Vec<Box<serde_json::value::RawValue>>,
}

async fn recordings(
    state: &AppState,
    source: &Source,
    now: OffsetDateTime,
    found: &mut Found,
) -> Result<(), Failure> {
    let since = now - state.audit.reconcile_look_back;
    let items = list_recent(source.store.as_ref(), &source.container, since).await?;
    let recordings = crate::state::recordings(state);
    for item in items {
        match recordings.listed(source, &item, now, None).await? {
            Fate::Present => {}
            Fate::Catalogued(mut outputs) => {
                found.notifications.extend(outputs.take(OUTPUT_BINDING));
                found.catalogued += 1;
            }
        }
    }
    // Once a day: the whole container against the catalogue (what no event announced).
    let tables = state.ports.tables.as_ref();
    let day = crate::dates::format_date(now.date());
    if let Some(etag) = compare::due(tables, source, &day).await? {
        for n in recordings.compare(source, "", None, now).await? {
            found
                .notifications
                .push(serde_json::value::to_raw_value(&n).map_err(Failure::storage)?);
            found.compared += 1;
        }
        compare::mark(tables, source, &day, etag).await?;
    }
    Ok(())
}

async fn audit_blobs(
    state: &AppState,
    source: &Source,
    now: OffsetDateTime,
) -> Result<usize, Failure> {
    let since = now - state.audit.reconcile_look_back;
    let items = list_recent(source.store.as_ref(), &source.container, since).await?;
    let repo = CursorRepo::new(state.ports.tables.clone());
    let (tail, at) = (
        crate::state::tailer(state),
        state.ports.sources.cursor_source(source),
    );
    let mut registered = 0;
    for item in items {
        let Ok(hour) = parse_blob_path(&item.name) else {
            continue;
        };
        if hour.hour + time::Duration::hours(1) < since
            || repo.get(at.clone(), &item.name, hour.hour).await?.is_some()
        {
            continue;
        }
        created::register(
            &tail,
            source,
            &item.name,
            item.props.created.unwrap_or(now),
            now,
            false,
        )
        .await?;
        registered += 1;
    }
    Ok(registered)
}

/// The Retryable error of a run in which some sources failed, naming each and what the others did.
fn partial_failure(summary: &str, failed: Vec<(String, Failure)>) -> Option<Failure> {
    if failed.is_empty() {
        return None;
    }
    let named: Vec<String> = failed
        .iter()
        .map(|(source, e)| format!("{source}: {}", redact(&e.to_string())))
        .collect();
    for (source, e) in &failed {
        error!(source = %source, error.cause_chain = %redact(&e.to_string()), "reconcile of one source failed; the others went on");
    }
    Some(Failure::storage(anyhow::anyhow!(
        "{summary}; failed sources: {}",
        named.join("; ")
    )))
}

#[cfg(test)]
mod tests;
