//! `RecordingCreated`: event → properties → catalogue row (idempotent) → tags → notification.
//!
//! Storage calls for a new recording: properties, row read, tag write, row insert (4); plus a tag
//! read only when the blob already has tags. A duplicate or older event costs two reads.

use serde_json::Value;
use tracing::Span;

use super::ingest::{self, EntryInput};
use crate::app::AppState;
use crate::catalogue::model::{CatalogueEntry, RecordingKey};
use crate::catalogue::repo::{CatalogueRepo, Versioned};
use crate::events::event_grid::{BlobEvent, EventError};
use crate::invocation::{HandlerError, Invocation, Outcome};
use crate::notify::OUTPUT_BINDING;
use crate::retention::policy::{Retention, Subject, merge_tags};
use crate::storage::{BlobProps, BlobRef, StorageError, Tags};
use crate::tables::{TableError, WriteMode};

/// Attempts at an optimistic write before giving up as retryable.
const WRITE_ATTEMPTS: usize = 5;

/// Decodes the `eventGridEvent` binding: `Err(outcome)` skips a well-formed event of another type;
/// every other decoding failure is poison.
///
/// # Errors
/// `Poison` for a missing or malformed event.
pub fn decode_event(inv: &Invocation) -> Result<Result<BlobEvent, Outcome>, HandlerError> {
    let binding = inv.request.data_json("eventGridEvent")?;
    // An object (the usual shape) is read in place; a JSON string holding the event is decoded first.
    let event = if binding.starts_with('"') {
        let raw: Value = inv.request.data_object("eventGridEvent")?;
        BlobEvent::from_value(&raw)
    } else {
        BlobEvent::from_json(binding)
    };
    let event = match event {
        Ok(e) => e,
        Err(e @ EventError::OtherType(_)) => return Ok(Err(Outcome::skipped(e.to_string()))),
        Err(e) => return Err(HandlerError::poison(e.to_string())),
    };
    let span = Span::current();
    span.record("event.id", event.id.as_str());
    span.record("event.type", event.event_type.as_str());
    span.record("blob.name", event.blob.as_str());
    Ok(Ok(event))
}

/// Handles one invocation.
///
/// # Errors
/// `Poison` for unusable events, `Retryable` for storage failures.
pub async fn handle(state: AppState, inv: Invocation) -> Result<Outcome, HandlerError> {
    let event = match decode_event(&inv)? {
        Ok(event) => event,
        Err(skipped) => return Ok(skipped),
    };
    if let Some(reason) = ingest::not_ours(
        &event,
        &state.config.recordings_container,
        state.recordings.account(),
    ) {
        return Ok(Outcome::skipped(reason));
    }
    let blob = BlobRef::new(event.container.clone(), event.blob.clone());
    let props = match state.recordings.properties(&blob).await {
        Err(StorageError::NotFound) => {
            return Ok(Outcome::skipped(format!("blob {blob} no longer exists")));
        }
        other => other?,
    };
    let (outcome, row) = catalogue_row(&state, &event, &blob, &props).await?;
    // No row written: a duplicate or older event. The delivery that wrote the row already ran the
    // join (and Reconcile re-joins rows left without `MatchConfidence`), so redeliveries stay cheap.
    let Some(row) = row else { return Ok(outcome) };
    // Join with the audit-log session if it arrived first, starting from the row just written
    // (no read-back). The row (and its notification) are already written, so a failure here must
    // not fail the invocation: Reconcile and the next session update re-join rows without
    // `MatchConfidence`.
    let join = crate::audit_logs::join::Join::new(
        state.tables.clone(),
        state.recordings.clone(),
        state.policy.clone(),
        &state.audit,
    );
    if let Err(e) = crate::audit_logs::join::after_write(&join, row).await {
        tracing::error!(error.cause_chain = %crate::telemetry::redact(&e.to_string()), "joining the recording with its session failed; Reconcile retries");
    }
    Ok(outcome)
}

/// Catalogues a blob whose properties are known (also used by reconciliation and backfill).
///
/// # Errors
/// `Retryable` for storage failures.
pub async fn catalogue(
    state: &AppState,
    event: &BlobEvent,
    blob: &BlobRef,
    props: &BlobProps,
) -> Result<Outcome, HandlerError> {
    catalogue_row(state, event, blob, props)
        .await
        .map(|(outcome, _)| outcome)
}

/// [`catalogue`], also returning the row as written (`None` when nothing was written).
async fn catalogue_row(
    state: &AppState,
    event: &BlobEvent,
    blob: &BlobRef,
    props: &BlobProps,
) -> Result<(Outcome, Option<Versioned<CatalogueEntry>>), HandlerError> {
    let created = props.created.unwrap_or(event.time);
    let key = RecordingKey::for_blob(created, &blob.container, &blob.name);
    let repo = CatalogueRepo::new(state.tables.clone());
    let mut existing = repo.get(&key).await?;
    if let Some(row) = existing
        .as_ref()
        .filter(|row| !ingest::is_newer(event, &row.value))
    {
        return Ok(settled(event, row, "duplicate or older event"));
    }
    let Some(retention) = apply_retention(state, blob, props, created).await? else {
        return Ok((
            Outcome::skipped(format!("blob {blob} no longer exists")),
            None,
        ));
    };
    for _ in 0..WRITE_ATTEMPTS {
        let first_seen = existing
            .as_ref()
            .map_or_else(|| state.clock.now(), |r| r.value.first_seen);
        let entry = ingest::derive_entry(EntryInput {
            event,
            blob,
            props,
            key: key.clone(),
            retention: retention.clone(),
            first_seen,
        });
        let mode = existing
            .as_ref()
            .map_or(WriteMode::Insert, |r| WriteMode::IfMatch(r.etag.clone()));
        match repo
            .write_versioned(entry, existing.as_ref().map(|r| &r.raw), mode)
            .await
        {
            Ok(row) => return Ok((written(&row.value, existing.as_ref()), Some(row))),
            Err(TableError::Conflict | TableError::PreconditionFailed | TableError::NotFound) => {
                // Another delivery of this blob won the race: re-read and decide again.
                existing = repo.get(&key).await?;
                if let Some(row) = existing
                    .as_ref()
                    .filter(|row| !ingest::is_newer(event, &row.value))
                {
                    return Ok(settled(
                        event,
                        row,
                        "duplicate or older event (concurrent delivery)",
                    ));
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(HandlerError::storage(anyhow::anyhow!(
        "catalogue row {} kept changing under {WRITE_ATTEMPTS} attempts",
        key.id()
    )))
}

/// The ending for an event whose state is already stored. A row holding exactly this event's state
/// (its id and sequencer) was written by a delivery of it whose answer may have been lost (the table
/// committed, the connection dropped, or the client's retry met the row): nothing proves that
/// delivery's outputs reached the queue, so this one emits them again. Their ids are stable (the
/// recording id), so the claim table and receivers drop a repeat. The join is left to the session's
/// side and Reconcile, which re-join rows without `MatchConfidence`: a duplicate stays two reads.
fn settled(
    event: &BlobEvent,
    row: &Versioned<CatalogueEntry>,
    skipped: &str,
) -> (Outcome, Option<Versioned<CatalogueEntry>>) {
    let this_event = row.value.event_id == event.id
        && event.data.sequencer.as_deref().unwrap_or_default() == row.value.sequencer;
    if this_event {
        (written(&row.value, None), None)
    } else {
        (Outcome::skipped(skipped), None)
    }
}

fn written(entry: &CatalogueEntry, previous: Option<&Versioned<CatalogueEntry>>) -> Outcome {
    let id = entry.key.id();
    let outcome = match previous {
        None => Outcome::processed(["catalogued recording ", &id].concat())
            .with_output(OUTPUT_BINDING, &ingest::catalogued_notification(entry, &id)),
        Some(_) => Outcome::processed(["updated recording ", &id].concat()),
    };
    // New content (a new row, or a newer state of the blob) is (re-)hashed by RecordingHash.
    outcome.with_output(
        crate::integrity::OUTPUT_BINDING,
        &crate::integrity::HashRequest {
            recording_id: id.as_str().into(),
            container: entry.container.as_str().into(),
            blob_name: entry.blob_name.as_str().into(),
            etag: entry.etag.as_str().into(),
        },
    )
}

/// Computes the class from the policy, merges it into the blob's tags (keeping other tags, holds
/// and later dates) and writes them if they changed. `None` when the blob vanished meanwhile.
async fn apply_retention(
    state: &AppState,
    blob: &BlobRef,
    props: &BlobProps,
    created: time::OffsetDateTime,
) -> Result<Option<Retention>, HandlerError> {
    let existing = if props.tag_count == Some(0) {
        Tags::new()
    } else {
        match state.recordings.get_tags(blob).await {
            Err(StorageError::NotFound) => return Ok(None),
            other => other?,
        }
    };
    let subject = Subject {
        container: &blob.container,
        blob: &blob.name,
        metadata: Some(&props.metadata),
        ..Default::default()
    };
    let computed = state.policy.classify(&subject, created);
    let (tags, effective) = merge_tags(&existing, &computed);
    if tags != existing {
        match state.recordings.set_tags(blob, &tags, None).await {
            Err(StorageError::NotFound) => return Ok(None),
            other => other?,
        }
    }
    Ok(Some(effective))
}
