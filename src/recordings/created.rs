//! Cataloguing one recording: event → properties → retention tags → its join → catalogue row
//! (written once, conditionally) → outputs. A duplicate or older event costs two reads. The
//! event's own judgements (a creation? of a source? newer than the row?) stand here too, pure;
//! a deletion ([`super::deleted`], [`super::outside`]) asks the last two as well.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::azure::{AzureError, found};
use crate::catalogue::row_source::BlobKey;
use crate::ports::Ports;

use super::ingest::{self, Announced, Catalogued, EntryInput};
use crate::catalogue::policy::{Policy, Retention, Subject, merge_tags};
use crate::catalogue::recording::Recording;
use crate::catalogue::repo::Versioned;
use crate::events::event_grid::{BlobEvent, sequencer_cmp};
use crate::join::{Join, findings};
use crate::sources::Source;
use crate::storage::{BlobProps, BlobRef, update_tags};

/// What cataloguing needs: the ports, the policy and the join.
#[derive(Clone)]
pub struct Recordings {
    /// The tables, the watched sources and the clock.
    pub ports: Ports,
    /// Retention policy (the class written as tags and into the row).
    pub policy: Arc<Policy>,
    /// The join (a recording naming a known session is joined before its row is written).
    pub join: Join,
    /// A custody workspace is configured: each alert leaves an actor lookup.
    pub custody: bool,
}

impl Recordings {
    /// Leaves the lookup of the actor of `alert` when custody is on; `folded`: the alert was
    /// folded into its container's burst, which names the actor instead of a follow-up.
    ///
    /// # Errors
    /// Table errors.
    pub async fn await_actor(
        &self,
        alert: &crate::spine::Finding,
        row: &Recording,
        (change, folded): (crate::custody::awaited::Change, bool),
        at: time::OffsetDateTime,
        request_id: &str,
    ) -> Result<(), crate::azure::AzureError> {
        if !self.custody {
            return Ok(());
        }
        let mut lookup =
            crate::custody::awaited::Lookup::new(&alert.id(), &row.id(), change, at, request_id);
        if folded {
            lookup = lookup.folded_into(&crate::custody::burst::burst_of(alert, at));
        }
        crate::custody::awaited::add(self.ports.tables.as_ref(), &lookup).await
    }

    /// True when alert `n` of a change at `at` goes out on its own (not folded into its
    /// container's burst, [`crate::custody::burst`]).
    ///
    /// # Errors
    /// Table errors.
    pub async fn alone(
        &self,
        n: &crate::spine::Finding,
        at: time::OffsetDateTime,
    ) -> Result<bool, crate::azure::AzureError> {
        let fold = crate::custody::burst::admit(self.ports.tables.as_ref(), n, at).await?;
        Ok(fold == crate::custody::burst::Fold::Alone)
    }
}

impl Recordings {
    /// Catalogues the blob a BlobCreated event announces (skipped: not a source, or gone).
    ///
    /// # Errors
    /// The port's error: `Rejected` for input the table service refuses, another for a storage fault.
    pub async fn on_created(&self, event: &BlobEvent) -> Result<Catalogued, AzureError> {
        if let Some(reason) = not_created(event) {
            return Ok(Catalogued::skipped(reason));
        }
        let Some(source) = self
            .ports
            .sources
            .recording(&event.account, &event.container)
        else {
            return Ok(Catalogued::skipped(not_a_source(event)));
        };
        let blob = source.blob(event.blob.clone());
        let props = found(source.store.properties(&blob).await)?;
        if let Some(props) = props {
            let key = source.key(props.created.unwrap_or(event.time), &event.blob);
            let existing = self.stored(&key).await?;
            return self.catalogue(source, event, &props, existing).await;
        }
        self.gone(source, event).await
    }

    /// The catalogued row of the blob `key` names, found through the name's path index, which is
    /// written before every row (and never removed): a name without index rows has no row, so a
    /// new recording costs the index query alone. The row under `key`'s day, else a live row
    /// under another creation day: an overwrite can give the blob a new `x-ms-creation-time`
    /// (Azurite does; Microsoft's documentation does not say), so the row of the content it
    /// replaces is found by the name rather than by the new creation day. (A row written without
    /// its index row, which no path does, would be met by the insert, which re-reads it.)
    ///
    /// # Errors
    /// Table errors.
    pub async fn stored(
        &self,
        key: &crate::catalogue::recording::RecordingKey,
    ) -> Result<Option<Versioned<Recording>>, AzureError> {
        let repo = self.ports.catalogue();
        let days = crate::catalogue::repo::rows_of(self.ports.tables.as_ref(), &key.rk).await?;
        if days.iter().any(|d| d.pk == key.pk)
            && let Some(row) = repo.get(key).await?
        {
            return Ok(Some(row));
        }
        for other in days {
            if other.pk == key.pk {
                continue;
            }
            if let Some(row) = repo.get(&other).await? {
                let live = row.value.status == crate::catalogue::recording::STATUS_CATALOGUED;
                return Ok(live.then_some(row));
            }
        }
        Ok(None)
    }

    /// Catalogues a blob of `source` with known properties and its row as just read (`existing`);
    /// returns the row as written, if any. A concurrent write re-reads and decides again.
    ///
    /// # Errors
    /// The port's error: `Rejected` for input the table service refuses, another for a storage fault.
    pub async fn catalogue(
        &self,
        source: &Source,
        event: &BlobEvent,
        props: &BlobProps,
        existing: Option<Versioned<Recording>>,
    ) -> Result<Catalogued, AzureError> {
        let blob = source.blob(event.blob.clone());
        let created = props.created.unwrap_or(event.time);
        // The row found keeps its key (its first creation day) whatever the blob's time says now.
        let key = existing
            .as_ref()
            .map_or_else(|| source.key(created, &blob.name), |r| r.value.key.clone());
        // The event's one judgement against a row, made here and again on the row the write meets.
        let newer = |row: &Recording| is_newer(event, row);
        if let Some(row) = existing.as_ref().filter(|row| !newer(&row.value)) {
            let why = "duplicate or older event";
            return Ok(already_stored(event, &row.value, source, why));
        }
        let Some(retention) = self.apply_retention(source, &blob, props, created).await? else {
            return self.gone(source, event).await;
        };
        let now = self.ports.clock.now();
        let entry = ingest::derive_entry(EntryInput {
            announced: Announced {
                key: key.clone(),
                event,
                account: source.account(),
                bastion: source.bastion.as_deref(),
                now,
            },
            blob: &blob,
            props,
            retention,
            min_bytes: self.join.min_bytes,
        });
        let entry = self.join.decide_new(entry).await?;
        if existing.is_none() {
            // The index row first: a `BlobDeleted` event finds the row by the blob's name.
            crate::catalogue::repo::put_path(self.ports.tables.as_ref(), &key).await?;
        }
        // What the last read decided: the row it kept, and whether the write updated a row.
        let (mut kept, mut updated, mut replacing) = (None, false, false);
        let written = self
            .ports
            .catalogue()
            .update(&key, existing, |cur| {
                // Another delivery of this blob won the race: decide again on its row.
                kept = cur.filter(|row| !newer(row)).cloned();
                if kept.is_some() {
                    return None;
                }
                updated = cur.is_some();
                replacing = cur.is_some_and(|cur| ingest::replaced_by(cur, &entry).is_some());
                let next = match cur {
                    None => entry.clone(),
                    Some(cur) => ingest::newer_state(cur, &entry),
                };
                // Written suspect: its alert goes out with this write (marked, so once).
                Some(if findings::suspect::is_due(&next) {
                    findings::suspect::marked(&next)
                } else {
                    next
                })
            })
            .await?;
        let why = "duplicate or older event (concurrent delivery)";
        Ok(match (written, kept) {
            (Some(row), _) => {
                let mut alone = true;
                if replacing
                    && let Some(n) =
                        ingest::replaced_finding(&row.value, source.bastion_id.as_deref())
                {
                    // The overwrite's time is the new content's, as the row holds it.
                    let at = row.value.blob_created;
                    alone = self.alone(&n, at).await?;
                    let request = event.data.request_id.as_deref().unwrap_or_default();
                    let change = (crate::custody::awaited::Change::Replaced, !alone);
                    self.await_actor(&n, &row.value, change, at, request)
                        .await?;
                }
                ingest::written(&row.value, source, updated, replacing && alone)
            }
            (None, Some(row)) => already_stored(event, &row, source, why),
            (None, None) => Catalogued::skipped(why),
        })
    }

    /// A `BlobCreated` whose blob is gone: a name with a row is left to its `BlobDeleted` (the
    /// row, or that event, holds the deletion); a name without one gets its
    /// `deleted-before-catalogued` row and alert now ([`Self::gone_before`]), which the
    /// deletion's own event completes with its time and request.
    ///
    /// # Errors
    /// The port's error: `Rejected` for input the table service refuses, another for a storage fault.
    async fn gone(&self, source: &Source, event: &BlobEvent) -> Result<Catalogued, AzureError> {
        let probe = source.key(event.time, &event.blob);
        let tables = self.ports.tables.as_ref();
        if !crate::catalogue::repo::rows_of(tables, &probe.rk)
            .await?
            .is_empty()
        {
            let gone = format!("blob {} no longer exists", source.blob(event.blob.clone()));
            return Ok(Catalogued::skipped(gone));
        }
        let handled = self.gone_before(source, event).await?;
        Ok(Catalogued {
            handled,
            hash: None,
        })
    }

    /// Merges the policy's class into the blob's tags ([`merge_tags`]); `None` when it vanished.
    async fn apply_retention(
        &self,
        source: &Source,
        blob: &BlobRef,
        props: &BlobProps,
        created: time::OffsetDateTime,
    ) -> Result<Option<Retention>, AzureError> {
        let subject = Subject {
            container: &blob.container,
            blob: &blob.name,
            metadata: Some(&props.metadata),
            ..Default::default()
        };
        let computed = self.policy.classify(&subject, created);
        let known_empty = props.tag_count == Some(0);
        update_tags(&*source.store, blob, known_empty, |existing| {
            merge_tags(existing, &computed)
        })
        .await
    }
}

/// The ending for an event whose state is stored: a row of exactly this event may come from a
/// delivery whose outputs were lost, so they go out again (stable ids drop the repeat).
fn already_stored(
    event: &BlobEvent,
    row: &Recording,
    source: &Source,
    skipped: &str,
) -> Catalogued {
    let this_event = row.event_id == event.id
        && event.data.sequencer.as_deref().unwrap_or_default() == row.sequencer;
    if this_event {
        ingest::written(row, source, false, false)
    } else {
        Catalogued::skipped(skipped)
    }
}

/// API of a BlobCreated event of an empty Data Lake file (its `FlushWithClose` event follows).
pub const UNCOMMITTED_API: &str = "CreateFile";

/// Why an event is not a creation of a committed blob (skipped, never poison), or `None`.
pub fn not_created(event: &BlobEvent) -> Option<String> {
    if !event.is_created() {
        return Some(format!("event type {} is not handled", event.event_type));
    }
    (event.data.api == UNCOMMITTED_API)
        .then(|| format!("api {UNCOMMITTED_API}: the file is not committed yet (its FlushWithClose event follows)"))
}

/// Why an event from a container no recording source names is skipped.
pub fn not_a_source(event: &BlobEvent) -> String {
    format!(
        "container {} of account {} is not a recordings source",
        event.container, event.account
    )
}

/// True when `event` describes a newer state of the blob than the stored row.
/// Sequencers order events of one blob; without them, a different ETag with a later time wins.
pub fn is_newer(event: &BlobEvent, row: &Recording) -> bool {
    match (event.data.sequencer.as_deref(), row.sequencer.as_str()) {
        (Some(new), old) if !new.is_empty() && !old.is_empty() => {
            sequencer_cmp(new, old) == Ordering::Greater
        }
        _ => {
            event.data.e_tag.as_deref() != Some(row.etag.as_str()) && event.time > row.blob_created
        }
    }
}
