//! `Reconcile` (timer, hourly): what events missed (Event Grid drops deliveries after 24 h), run
//! through the same code paths: recordings with no row, once a day each recordings container
//! against the catalogue (blobs gone, ETags changed: [`compare`]), `PT1H.json` blobs with no
//! cursor, alert bursts whose window closed, and per recordings source `recordings.stalled`. It plans
//! one unit per source and one for the bursts, each done by `WorkUnit`. At most [`MAX_LISTED`]
//! blobs are listed per container per run.

use time::OffsetDateTime;
use tracing::{error, warn};

use crate::audit_logs::path::parse_blob_path;
use crate::audit_logs::repo::CursorRepo;
use crate::audit_logs::{created, detect::stalled};
use crate::invocation::Failure;
use crate::invocation::{Invocation, Outcome};
use crate::recordings::compare;
use crate::recordings::reconcile::Fate;
use crate::sources::Source;
use crate::state::AppState;
use crate::storage::{BlobItem, BlobStore};
use crate::telemetry::redact;

/// Most blobs listed per container per run.
pub const MAX_LISTED: usize = 100_000;

pub use crate::audit_logs::function_names::RECONCILE_FUNCTION as RECONCILE;

/// The unit of the alert bursts whose window closed.
pub const BURSTS: &str = "alert-bursts";
/// Prefix of a recordings source's unit (then its label).
const RECORDINGS: &str = "recordings ";
/// Prefix of an audit-log source's unit (then its label).
const AUDIT_LOGS: &str = "audit-logs ";

/// `Reconcile`: plans one unit per recordings source (its listing, then its `recordings.stalled`
/// check), one per audit-log source and one for the alert bursts ([`unit()`] on the work queue).
///
/// # Errors
/// `Retryable` when the plan cannot be recorded.
pub async fn reconcile(state: AppState, inv: Invocation) -> Result<Outcome, Failure> {
    let now = super::binding::now_of(&state, &inv);
    crate::functions::plan::planned(&state, RECONCILE, &units(&state), now, Vec::new()).await
}

/// A run's units: each source's (`recordings <account>/<container>`, `audit-logs …`), then
/// [`BURSTS`].
pub fn units(state: &AppState) -> Vec<String> {
    let sources = &state.ports.sources;
    let of = |prefix: &str, s: &Source| [prefix, &s.label()].concat();
    let recordings = sources.recordings().iter().map(|s| of(RECORDINGS, s));
    let logs = sources.audit_logs().iter().map(|s| of(AUDIT_LOGS, s));
    recordings.chain(logs).chain([BURSTS.to_owned()]).collect()
}

/// One `Reconcile` unit at `now`: its summary and notifications. A source's unit judges
/// `recordings.stalled` of that source alone, after its own listing.
///
/// # Errors
/// `Retryable` for storage failures (what was catalogued is kept: the retry announces nothing
/// twice); `Poison` for a source no longer configured.
pub async fn unit(state: &AppState, unit: &str, now: OffsetDateTime) -> Result<Outcome, Failure> {
    let sources = &state.ports.sources;
    if let Some(label) = unit.strip_prefix(RECORDINGS) {
        let source = named(sources.recordings(), label)?;
        let mut found = Found::default();
        recordings(state, source, now, &mut found).await?;
        let stalled = stalled::check(&crate::state::stalled(state), source, now).await;
        let stalled = stalled.unwrap_or_else(|e| {
            error!(source = %label, error.cause_chain = %redact(&e.to_string()), "stalled-recordings check failed; retried next run");
            None
        });
        let summary = format!(
            "reconciled {label}: {} recordings catalogued, {} alerts from the daily listing",
            found.catalogued, found.compared
        );
        let found = found.findings.into_iter().chain(stalled);
        return Ok(crate::spine::send(Outcome::processed(summary), found));
    }
    if let Some(label) = unit.strip_prefix(AUDIT_LOGS) {
        let registered = audit_blobs(state, named(sources.audit_logs(), label)?, now).await?;
        return Ok(Outcome::processed(format!(
            "reconciled {label}: {registered} audit blobs registered"
        )));
    }
    if unit != BURSTS {
        return Err(Failure::poison(format!("{unit} is no reconcile unit")));
    }
    // Alert bursts whose window closed (also sent by `CustodyActor`, which runs only with custody);
    // their folded alerts left actor lookups only with a custody workspace.
    let lookups = state.config.custody.workspace.is_some();
    let bursts = crate::custody::burst::close(state.ports.tables.as_ref(), now, lookups).await?;
    let o = Outcome::processed(format!("{} alert bursts closed", bursts.len()));
    Ok(crate::spine::send(o, bursts))
}

/// The source of `all` labelled `label`.
fn named<'a>(all: &'a [Source], label: &str) -> Result<&'a Source, Failure> {
    all.iter()
        .find(|s| s.label() == label)
        .ok_or_else(|| Failure::poison(format!("source {label} is not configured")))
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
    findings: Vec<crate::spine::Finding>,
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
            Fate::Catalogued(c) => {
                found.findings.extend(c.handled.findings);
                found.catalogued += 1;
            }
        }
    }
    // Once a day: the whole container against the catalogue (what no event announced).
    let tables = state.ports.tables.as_ref();
    let day = crate::dates::format_date(now.date());
    if let Some(etag) = compare::due(tables, source, &day).await? {
        let compared = recordings.compare(source, "", None, now).await?;
        found.compared += compared.len();
        found.findings.extend(compared);
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
    let tail = crate::state::tailer(state);
    let at = state.ports.sources.cursor_source(source);
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
        let created_at = item.props.created.unwrap_or(now);
        created::register(&tail, source, &item.name, created_at, now, false).await?;
        registered += 1;
    }
    Ok(registered)
}

#[cfg(test)]
mod tests;
