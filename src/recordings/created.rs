//! Cataloguing one recording: event → properties → catalogue row (idempotent) → tags → outputs.
//!
//! Storage calls for a new recording: properties, row read, tag write, row insert (4); plus a tag
//! read only when the blob already has tags. A duplicate or older event costs two reads.

use crate::ports::Ports;
use std::sync::Arc;

use super::ingest::{self, EntryInput};
use crate::audit_logs::join::{self, Joiner};
use crate::catalogue::model::CatalogueEntry;
use crate::catalogue::repo::{CatalogueRepo, Versioned};
use crate::events::event_grid::BlobEvent;
use crate::invocation::{HandlerError, Outcome};
use crate::notify::OUTPUT_BINDING;
use crate::retention::policy::{Policy, Retention, Subject, merge_tags};
use crate::sources::Source;
use crate::storage::{BlobProps, BlobRef, StorageError, update_tags};

/// What cataloguing needs: the recording sources, the catalogue table, the policy and the clock.
#[derive(Clone)]
pub struct Recordings {
    /// The tables, the watched sources and the clock.
    pub ports: Ports,
    /// Retention policy (the class written as tags and into the row).
    pub policy: Arc<Policy>,
}

impl Recordings {
    /// Cataloguing over `ports`, tagging by `policy`.
    pub fn new(ports: &Ports, policy: Arc<Policy>) -> Self {
        Self {
            ports: ports.clone(),
            policy,
        }
    }
}

/// How cataloguing one event ended, and the row it wrote (`None` when nothing was written).
pub type Catalogued = (Outcome, Option<Versioned<CatalogueEntry>>);

impl Recordings {
    /// Catalogues the blob a BlobCreated event announces: skipped when the event is not from a
    /// recording source or the blob is gone.
    ///
    /// # Errors
    /// `Poison` for input the table service refuses, `Retryable` for storage failures.
    pub async fn on_created(&self, event: &BlobEvent) -> Result<Catalogued, HandlerError> {
        if let Some(reason) = ingest::not_created(event) {
            return Ok((Outcome::skipped(reason), None));
        }
        let Some(source) = self
            .ports
            .sources
            .recording(&event.account, &event.container)
        else {
            return Ok((Outcome::skipped(ingest::not_a_source(event)), None));
        };
        let blob = source.blob(event.blob.clone());
        let props = match source.store.properties(&blob).await {
            Err(StorageError::NotFound) => {
                let gone = format!("blob {blob} no longer exists");
                return Ok((Outcome::skipped(gone), None));
            }
            other => other?,
        };
        self.catalogue(source, event, &props).await
    }

    /// Catalogues a blob of `source` whose properties are known (also used by reconciliation
    /// and backfill), returning the row as written (`None` when nothing was written).
    ///
    /// # Errors
    /// `Poison` for input the table service refuses, `Retryable` for storage failures.
    pub async fn catalogue(
        &self,
        source: &Source,
        event: &BlobEvent,
        props: &BlobProps,
    ) -> Result<Catalogued, HandlerError> {
        let created = props.created.unwrap_or(event.time);
        let key = self
            .ports
            .sources
            .recording_key(source, created, &event.blob);
        let existing = CatalogueRepo::new(self.ports.tables.clone())
            .get(&key)
            .await?;
        self.catalogue_over(source, event, props, existing).await
    }

    /// [`catalogue`](Self::catalogue) for a caller that has just read the blob's row (`existing`,
    /// `None` when absent): the same decisions without reading it again. A row written meanwhile
    /// makes the insert conflict, which re-reads and decides again.
    ///
    /// # Errors
    /// `Poison` for input the table service refuses, `Retryable` for storage failures.
    pub async fn catalogue_over(
        &self,
        source: &Source,
        event: &BlobEvent,
        props: &BlobProps,
        existing: Option<Versioned<CatalogueEntry>>,
    ) -> Result<Catalogued, HandlerError> {
        Ok(self
            .catalogue_with(source, event, props, existing, None)
            .await?
            .0)
    }

    /// [`catalogue_over`](Self::catalogue_over) that, for a row it inserts, joins first and inserts
    /// the row joined ([`join::before_insert`]): one write instead of the insert and the join's
    /// rewrite. `true` when the row written is that insert (its join is done); otherwise the
    /// caller joins the row as usual.
    ///
    /// # Errors
    /// `Poison` for input the table service refuses, `Retryable` for storage failures.
    pub async fn catalogue_joined(
        &self,
        join: &Joiner,
        source: &Source,
        event: &BlobEvent,
        props: &BlobProps,
        existing: Option<Versioned<CatalogueEntry>>,
    ) -> Result<(Catalogued, bool), HandlerError> {
        self.catalogue_with(source, event, props, existing, Some(join))
            .await
    }

    async fn catalogue_with(
        &self,
        source: &Source,
        event: &BlobEvent,
        props: &BlobProps,
        existing: Option<Versioned<CatalogueEntry>>,
        join: Option<&Joiner>,
    ) -> Result<(Catalogued, bool), HandlerError> {
        let blob = source.blob(event.blob.clone());
        let created = props.created.unwrap_or(event.time);
        let key = self
            .ports
            .sources
            .recording_key(source, created, &blob.name);
        let repo = CatalogueRepo::new(self.ports.tables.clone());
        if let Some(row) = existing
            .as_ref()
            .filter(|row| !ingest::is_newer(event, &row.value))
        {
            let why = "duplicate or older event";
            return Ok((settled(event, row, source, why), false));
        }
        let Some(retention) = self.apply_retention(source, &blob, props, created).await? else {
            let gone = format!("blob {blob} no longer exists");
            return Ok(((Outcome::skipped(gone), None), false));
        };
        let now = self.ports.clock.now();
        let entry_for = |first_seen| {
            ingest::derive_entry(EntryInput {
                event,
                blob: &blob,
                account: source.account(),
                bastion: source.bastion.as_deref(),
                props,
                key: key.clone(),
                retention: retention.clone(),
                first_seen,
            })
        };
        // A row to insert is joined first, so the insert carries the join.
        let prepared = match (join, &existing) {
            (Some(join), None) => Some(join::before_insert(join, entry_for(now)).await?),
            _ => None,
        };
        // What the last read decided: the row it settled on, whether the write updated a row, and
        // whether it is the joined insert.
        let (mut settled_on, mut updated, mut joined) = (None, false, false);
        let written = repo
            .update(&key, existing, &mut |cur| {
                // Another delivery of this blob won the race: decide again on its row.
                settled_on = cur
                    .filter(|row| !ingest::is_newer(event, &row.value))
                    .cloned();
                if settled_on.is_some() {
                    return None;
                }
                updated = cur.is_some();
                joined = cur.is_none() && prepared.is_some();
                if let (None, Some(p)) = (cur, &prepared) {
                    return Some((p.entry.clone(), p.props.clone()));
                }
                let entry = entry_for(cur.map_or(now, |r| r.value.first_seen));
                Some((entry, cur.map(|r| r.raw.clone()).unwrap_or_default()))
            })
            .await?;
        let joined = joined && written.is_some();
        if let (true, Some(join), Some(p)) = (joined, join, &prepared) {
            join::after_insert(join, p).await?;
        }
        let why = "duplicate or older event (concurrent delivery)";
        let catalogued = match (written, settled_on) {
            (Some(row), _) => (written_outcome(&row.value, source, updated), Some(row)),
            (None, Some(row)) => settled(event, &row, source, why),
            (None, None) => (Outcome::skipped(why), None),
        };
        Ok((catalogued, joined))
    }

    /// Computes the class from the policy, merges it into the blob's tags (keeping other tags,
    /// holds and later dates) and writes them if they changed. `None` when the blob vanished.
    async fn apply_retention(
        &self,
        source: &Source,
        blob: &BlobRef,
        props: &BlobProps,
        created: time::OffsetDateTime,
    ) -> Result<Option<Retention>, HandlerError> {
        let subject = Subject {
            container: &blob.container,
            blob: &blob.name,
            metadata: Some(&props.metadata),
            ..Default::default()
        };
        let computed = self.policy.classify(&subject, created);
        let known_empty = props.tag_count == Some(0);
        Ok(update_tags(&*source.store, blob, known_empty, |existing| {
            merge_tags(existing, &computed)
        })
        .await?)
    }
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
    source: &Source,
    skipped: &str,
) -> Catalogued {
    let this_event = row.value.event_id == event.id
        && event.data.sequencer.as_deref().unwrap_or_default() == row.value.sequencer;
    if this_event {
        (written_outcome(&row.value, source, false), None)
    } else {
        (Outcome::skipped(skipped), None)
    }
}

/// The ending for a row just written: a new one (`updated` false) is announced.
fn written_outcome(entry: &CatalogueEntry, source: &Source, updated: bool) -> Outcome {
    let id = entry.key.id();
    let outcome = if updated {
        Outcome::processed(["updated recording ", &id].concat())
    } else {
        Outcome::processed(["catalogued recording ", &id].concat()).with_output(
            OUTPUT_BINDING,
            &ingest::catalogued_notification(entry, &id, source.bastion_id.as_deref()),
        )
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
