//! `Reconcile` (timer, hourly): finds what events missed — Event Grid drops deliveries after 24 h —
//! and runs it through the same code paths:
//! - recording blobs created in the last `RECONCILE_WINDOW_HOURS` with no catalogue row →
//!   `recordings::handler::catalogue` with a synthesized `BlobEvent`; rows without a join are re-joined;
//! - `PT1H.json` blobs of hours in the window with no cursor → `created::register`;
//! - then `recordings.stalled`.
//!
//! Bounded: at most [`MAX_LISTED`] blobs are listed per container per run (listing is by name, and
//! names are not time-ordered, so the whole container is listed page by page up to that bound).

use time::OffsetDateTime;
use tracing::{error, warn};

use super::join;
use super::path::parse_blob_path;
use super::repo::CursorRepo;
use super::{created, detect::stalled, tail};
use crate::app::AppState;
use crate::catalogue::model::RecordingKey;
use crate::catalogue::repo::CatalogueRepo;
use crate::events::event_grid::{BLOB_CREATED, BlobEvent, BlobEventData};
use crate::invocation::{HandlerError, Invocation, Outcome};
use crate::notify::OUTPUT_BINDING;
use crate::storage::{BlobItem, BlobRef, BlobStore};
use crate::telemetry::redact;

/// Most blobs listed per container per run.
pub const MAX_LISTED: usize = 100_000;

/// Handles one timer invocation.
///
/// # Errors
/// `Retryable` for storage failures.
pub async fn handle(state: AppState, inv: Invocation) -> Result<Outcome, HandlerError> {
    run(&state, tail::now_of(&state, &inv)).await
}

/// One reconciliation at `now`.
///
/// # Errors
/// `Retryable` for storage failures.
pub async fn run(state: &AppState, now: OffsetDateTime) -> Result<Outcome, HandlerError> {
    let mut found = Found::default();
    recordings(state, now, &mut found).await?;
    let Found {
        catalogued,
        rejoined,
        notifications,
    } = found;
    let registered = audit_blobs(state, now).await?;
    let mut o = Outcome::processed(format!(
        "reconciled: {catalogued} recordings catalogued, {rejoined} re-joined, {registered} audit blobs registered"
    ));
    for n in notifications {
        o = o.with_output(OUTPUT_BINDING, &n);
    }
    match stalled::run(state, now).await {
        Ok(Some(n)) => o = o.with_output(OUTPUT_BINDING, &n),
        Ok(None) => {}
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
) -> Result<Vec<BlobItem>, HandlerError> {
    let (mut out, mut marker, mut listed) = (Vec::new(), None, 0);
    loop {
        let page = match store.list(container, None, marker).await {
            Err(crate::storage::StorageError::NotFound) => return Ok(out),
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

/// What the recordings pass found; `notifications` are the `recording.catalogued` messages of
/// recordings catalogued late (Reconcile is the only place they are emitted for them).
#[derive(Debug, Default)]
struct Found {
    catalogued: usize,
    rejoined: usize,
    notifications: Vec<Box<serde_json::value::RawValue>>,
}

async fn recordings(
    state: &AppState,
    now: OffsetDateTime,
    found: &mut Found,
) -> Result<(), HandlerError> {
    let container = state.config.recordings_container.clone();
    let items = list_recent(
        state.recordings.as_ref(),
        &container,
        now - state.audit.reconcile_window,
    )
    .await?;
    for item in items {
        match recording_item(state, &item, now).await? {
            Fate::Present => {}
            Fate::Rejoined(joined) => found.rejoined += usize::from(joined),
            Fate::Catalogued(mut outputs) => {
                found.notifications.extend(outputs.take(OUTPUT_BINDING));
                found.catalogued += 1;
            }
        }
    }
    Ok(())
}

/// What [`recording_item`] did with one listed recording.
#[derive(Debug)]
pub enum Fate {
    /// Catalogued and joined already: nothing to do.
    Present,
    /// Catalogued but not joined: the join was re-run (`true` when it found a match).
    Rejoined(bool),
    /// Catalogued now, through `RecordingCreated`'s path; the outputs it produced (notification,
    /// hash request) keyed by binding.
    Catalogued(crate::invocation::Outputs),
}

/// Brings one listed recording blob into the catalogue (shared by `Reconcile` and `handler
/// backfill`): an existing joined row is left alone, an unjoined one re-joined, a missing one
/// catalogued with a synthesized event and joined. Idempotent: a second call finds `Present`.
///
/// # Errors
/// `Retryable` for storage failures.
pub async fn recording_item(
    state: &AppState,
    item: &BlobItem,
    now: OffsetDateTime,
) -> Result<Fate, HandlerError> {
    let container = state.config.recordings_container.clone();
    let created = item.props.created.unwrap_or(now);
    let key = RecordingKey::for_blob(created, &container, &item.name);
    let join = join::Join::new(
        state.tables.clone(),
        state.recordings.clone(),
        state.policy.clone(),
        &state.audit,
    );
    match CatalogueRepo::new(state.tables.clone()).get(&key).await? {
        Some(row) if row.raw.contains_key("MatchConfidence") => Ok(Fate::Present),
        Some(_) => Ok(Fate::Rejoined(
            join::after_catalogue(&join, &key).await?.is_some(),
        )),
        None => {
            let event = synthesize(state, item, created);
            let blob = BlobRef::new(container, item.name.clone());
            let outcome =
                crate::recordings::handler::catalogue(state, &event, &blob, &item.props).await?;
            join::after_catalogue(&join, &key).await?;
            Ok(match outcome {
                Outcome::Processed { outputs, .. } => Fate::Catalogued(outputs),
                // Lost a race with the live function or the blob vanished: someone else owns it.
                _ => Fate::Present,
            })
        }
    }
}

/// A `BlobCreated` event for a blob found by listing (no sequencer: the ETag and time decide).
pub fn synthesize(state: &AppState, item: &BlobItem, created: OffsetDateTime) -> BlobEvent {
    let account = state.recordings.account().to_owned();
    let container = state.config.recordings_container.clone();
    BlobEvent {
        id: format!("reconcile:{}", item.props.etag),
        event_type: BLOB_CREATED.to_owned(),
        time: created,
        account: account.clone(),
        container: container.clone(),
        blob: item.name.clone(),
        data: BlobEventData {
            api: "Reconcile".to_owned(),
            e_tag: Some(item.props.etag.clone()),
            content_type: item.props.content_type.clone(),
            content_length: Some(item.props.content_length),
            blob_type: item.props.kind.map(|k| k.as_str().to_owned()),
            url: format!(
                "https://{account}.blob.core.windows.net/{container}/{}",
                item.name
            ),
            sequencer: None,
        },
    }
}

async fn audit_blobs(state: &AppState, now: OffsetDateTime) -> Result<usize, HandlerError> {
    let container = state.config.auditlogs_container.clone();
    let since = now - state.audit.reconcile_window;
    let items = list_recent(state.audit_logs.as_ref(), &container, since).await?;
    let repo = CursorRepo::new(state.tables.clone());
    let mut registered = 0;
    for item in items {
        let Ok(hour) = parse_blob_path(&item.name) else {
            continue;
        };
        if hour.hour + time::Duration::hours(1) < since
            || repo.get(&item.name, hour.hour).await?.is_some()
        {
            continue;
        }
        created::register(
            state,
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

#[cfg(test)]
mod tests;
