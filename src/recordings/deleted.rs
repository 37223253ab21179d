//! A recording blob deleted: the sweep's own deletion stays silent; any other marks the row
//! `deleted-outside-retention` and raises `recording.deleted` (stable id: a race alerts once).

use super::Recordings;
use super::ingest::{self, outside};
use crate::catalogue::paths;
use crate::catalogue::recording::{STATUS_CATALOGUED, STATUS_DELETED, STATUS_DELETED_OUTSIDE};
use crate::custody::pending::Change;
use crate::events::event_grid::BlobEvent;
use crate::invocation::{HandlerError, Outcome};
use crate::notify::OUTPUT_BINDING;
use crate::retention::tombstone;

impl Recordings {
    /// Handles a `BlobDeleted` event of a recording source (skipped: no source, no row, older, or
    /// the sweep's own deletion).
    ///
    /// # Errors
    /// `Poison` for input the table service refuses, `Retryable` for storage failures.
    pub async fn on_deleted(&self, event: &BlobEvent) -> Result<Outcome, HandlerError> {
        let Some(source) = self
            .ports
            .sources
            .recording(&event.account, &event.container)
        else {
            return Ok(Outcome::skipped(ingest::not_a_source(event)));
        };
        let tables = self.ports.tables.as_ref();
        // The row key does not depend on the day: any time spells it.
        let probe = self
            .ports
            .sources
            .recording_key(source, event.time, &event.blob);
        let repo = self.ports.catalogue();
        let mut row = None;
        for key in paths::rows_of(tables, &probe.rk).await? {
            if let Some(r) = repo.get(&key).await? {
                row = Some(r);
                break;
            }
        }
        let Some(row) = row else {
            let why = format!(
                "blob {} of {} has no catalogue row",
                event.blob, event.container
            );
            return Ok(Outcome::skipped(why));
        };
        let key = row.value.key.clone();
        let bastion_id = source.bastion_id.as_deref();
        if outside::records(&row.value, event) {
            return self.announced(&row.value, bastion_id, event).await;
        }
        if !ingest::is_newer(event, &row.value) {
            return Ok(Outcome::skipped("older than the catalogued state"));
        }
        if row.value.status == STATUS_DELETED || tombstone::is_own_deletion(tables, &key).await? {
            return Ok(Outcome::skipped(
                ["retention's own deletion of ", &key.id()].concat(),
            ));
        }
        let mut found = None;
        let written = repo
            .update(&key, Some(row), |cur| {
                let cur = cur?;
                found = Some(cur.clone());
                let due = cur.status == STATUS_CATALOGUED && ingest::is_newer(event, cur);
                due.then(|| outside::deleted_outside(cur, event))
            })
            .await?;
        match (written, found) {
            (Some(w), _) => self.announced(&w.value, bastion_id, event).await,
            // Another instance recorded this event first: the same outputs, the same id.
            (None, Some(cur)) if outside::records(&cur, event) => {
                self.announced(&cur, bastion_id, event).await
            }
            (None, Some(cur)) if cur.status == STATUS_DELETED_OUTSIDE => {
                Ok(Outcome::skipped("deletion already recorded"))
            }
            _ => Ok(Outcome::skipped(
                "the row changed: not a deletion of its state",
            )),
        }
    }

    /// The alert of a recorded deletion, after the lookup of its actor is left (custody on).
    async fn announced(
        &self,
        row: &crate::catalogue::recording::Recording,
        bastion_id: Option<&str>,
        event: &BlobEvent,
    ) -> Result<Outcome, HandlerError> {
        let n = outside::deleted_notification(row, bastion_id);
        if !self.alone(&n, event.time).await? {
            return Ok(Outcome::processed(
                [
                    "recording deleted outside retention (folded into its container's burst) ",
                    &row.id(),
                ]
                .concat(),
            ));
        }
        let request = event.data.request_id.as_deref().unwrap_or_default();
        self.await_actor(&n, row, Change::Deleted, event.time, request)
            .await?;
        Ok(
            Outcome::processed(["recording deleted outside retention ", &row.id()].concat())
                .with_output(OUTPUT_BINDING, &n),
        )
    }
}
