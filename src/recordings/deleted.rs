//! A recording blob deleted: the sweep's own deletion stays silent; any other marks the row
//! `deleted-outside-retention` (or, for a name without a row, writes one
//! `deleted-before-catalogued`) and raises `recording.deleted` (stable id: a race alerts once).

use super::created::Recordings;
use super::created::{is_newer, not_a_source};
use super::outside;
use crate::azure::AzureError;
use crate::catalogue::recording::{Recording, STATUS_DELETED};
use crate::catalogue::repo::put_path;
use crate::catalogue::row_source::BlobKey;
use crate::custody::awaited::Change;
use crate::events::event_grid::BlobEvent;
use crate::retention::tombstone;
use crate::spine::Handled;

impl Recordings {
    /// Handles a `BlobDeleted` event of a recording source (skipped: no source, older, or the
    /// sweep's own deletion; a name without a row gets one, [`Self::gone_before`]).
    ///
    /// # Errors
    /// The port's error: `Rejected` for input the table service refuses, another for a storage fault.
    pub async fn on_deleted(&self, event: &BlobEvent) -> Result<Handled, AzureError> {
        let Some(source) = self
            .ports
            .sources
            .recording(&event.account, &event.container)
        else {
            return Ok(Handled::skipped(not_a_source(event)));
        };
        let tables = self.ports.tables.as_ref();
        let repo = self.ports.catalogue();
        // The row key does not depend on the day: any time spells it.
        let Some(row) = self.row_named(source, &event.blob, event.time).await? else {
            return self.gone_before(source, event).await;
        };
        let key = row.value.key.clone();
        let bastion_id = source.bastion_id.as_deref();
        if outside::records(&row.value, event) {
            return self.announced(&row.value, bastion_id, event).await;
        }
        if !is_newer(event, &row.value) {
            return Ok(Handled::skipped("older than the catalogued state"));
        }
        if row.value.status == STATUS_DELETED || tombstone::is_own_deletion(tables, &key).await? {
            return Ok(Handled::skipped(
                ["retention's own deletion of ", &key.id()].concat(),
            ));
        }
        let mut found = None;
        let written = repo
            .update(&key, Some(row), |cur| {
                let cur = cur?;
                found = Some(cur.clone());
                let due = outside::is_new_deletion(cur, event);
                due.then(|| outside::deleted_outside(cur, event))
            })
            .await?;
        match (written, found) {
            (Some(w), _) => self.announced(&w.value, bastion_id, event).await,
            // Another instance recorded this event first: the same outputs, the same id.
            (None, Some(cur)) if outside::records(&cur, event) => {
                self.announced(&cur, bastion_id, event).await
            }
            (None, Some(cur)) if outside::is_deleted_outside(&cur) => {
                Ok(Handled::skipped("deletion already recorded"))
            }
            _ => Ok(Handled::skipped(
                "the row changed: not a deletion of its state",
            )),
        }
    }

    /// A blob gone before the catalogue read it, told by `event` (its `BlobDeleted`, or a
    /// `BlobCreated` whose blob was gone) for a name without a row: the row
    /// `deleted-before-catalogued` (its path index first, under the event's day) and
    /// `recording.deleted`; a row another delivery wrote meanwhile is decided as any row.
    ///
    /// # Errors
    /// The port's error: `Rejected` for input the table service refuses, another for a storage fault.
    pub async fn gone_before(
        &self,
        source: &crate::sources::Source,
        event: &BlobEvent,
    ) -> Result<Handled, AzureError> {
        let key = source.key(event.time, &event.blob);
        let gone = super::ingest::Announced {
            key: key.clone(),
            event,
            account: source.account(),
            bastion: source.bastion.as_deref(),
            now: self.ports.clock.now(),
        };
        let fresh = outside::deleted_before(&gone);
        put_path(self.ports.tables.as_ref(), &key).await?;
        let mut found = None;
        let written = self
            .ports
            .catalogue()
            .update(&key, None, |cur| match cur {
                None => Some(fresh.clone()),
                Some(cur) => {
                    found = Some(cur.clone());
                    let due = !event.is_created() && outside::is_new_deletion(cur, event);
                    due.then(|| outside::deleted_outside(cur, event))
                }
            })
            .await?;
        let bastion_id = source.bastion_id.as_deref();
        match (written, found) {
            (Some(w), _) => self.announced(&w.value, bastion_id, event).await,
            (None, Some(cur)) if outside::records(&cur, event) => {
                self.announced(&cur, bastion_id, event).await
            }
            _ => Ok(Handled::skipped(
                "another delivery wrote the row: nothing more to record",
            )),
        }
    }

    /// The alert of a recorded deletion, after the lookup of its actor is left (custody on; not
    /// for a blob found gone by its `BlobCreated`: its deletion's own event leaves it).
    async fn announced(
        &self,
        row: &Recording,
        bastion_id: Option<&str>,
        event: &BlobEvent,
    ) -> Result<Handled, AzureError> {
        let n = outside::deleted_finding(row, bastion_id);
        let what = if row.status == crate::catalogue::recording::STATUS_DELETED_BEFORE {
            "recording deleted before it was catalogued "
        } else {
            "recording deleted outside retention "
        };
        let alone = self.alone(&n, event.time).await?;
        if !event.is_created() {
            // Folded alerts too: their burst names the actors found.
            let request = event.data.request_id.as_deref().unwrap_or_default();
            self.await_actor(&n, row, (Change::Deleted, !alone), event.time, request)
                .await?;
        }
        if !alone {
            let folded = "(folded into its container's burst) ";
            return Ok(Handled::done([what, folded, &row.id()].concat()));
        }
        Ok(Handled::done([what, &row.id()].concat()).found([n]))
    }
}
