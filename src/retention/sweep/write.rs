//! The sweep's writes that keep a blob: lengthening its tags (conditioned on the date just read,
//! so a hold set meanwhile wins) and ETag-conditional rewrites of its catalogue row.

use serde_json::Value;

use super::evaluate::{Row, row_held};
use super::{Decision, Pass, STATUS_DELETED, Sweep};
use crate::catalogue::model::CatalogueEntry;
use crate::dates::format_utc;
use crate::retention::policy::Retention;
use crate::retention::tombstone::Tombstone;
use crate::retention::{TAG_CLASS, TAG_UNTIL};
use crate::storage::{BlobRef, StorageError, Tags};
use crate::tables::Entity;

/// A change the sweep makes to a catalogue row.
#[derive(Clone, Copy)]
pub(super) enum RowChange<'a> {
    Lengthen(&'a Retention),
    /// A policy shortening allowed by `RETENTION_ALLOW_SHORTENING`: the row keeps the old date
    /// in `ShortenedFrom` as the record of it.
    Shorten(&'a Retention),
    Deleted(&'a Tombstone),
}

impl Sweep<'_> {
    /// Writes the longer retention to the tags (conditioned on the `retainUntil` just read, so a
    /// hold set meanwhile is never overwritten: 412 → `Changed`) and to the catalogue row.
    pub(super) async fn lengthen(
        &self,
        pass: Pass<'_>,
        blob: &BlobRef,
        tags: &Tags,
        row: Option<Row>,
        keep: &Retention,
    ) -> anyhow::Result<Decision> {
        let mut new = tags.clone();
        new.insert(TAG_CLASS.into(), keep.class.clone());
        new.insert(TAG_UNTIL.into(), keep.until.clone());
        if !self.params.dry_run {
            let cond = tags
                .get(TAG_UNTIL)
                .map(|u| format!("\"{TAG_UNTIL}\" = '{u}'"));
            match pass
                .source
                .store
                .set_tags(blob, &new, cond.as_deref())
                .await
            {
                Err(StorageError::PreconditionFailed) => return Ok(Decision::Changed),
                Err(StorageError::NotFound) => return Ok(Decision::AlreadyGone),
                other => other?,
            }
            if let Some(r) = row {
                self.update_row(r, RowChange::Lengthen(keep)).await?;
            }
        }
        tracing::info!(blob = %blob, class = %keep.class, retain_until = %keep.until, dry_run = self.params.dry_run, "retention lengthened");
        Ok(Decision::Lengthened)
    }

    /// ETag-conditional rewrite keeping every other property ([`CatalogueRepo::update`](crate::catalogue::repo::CatalogueRepo::update));
    /// on a race, re-reads and decides again (a hold that arrived meanwhile is never overwritten by
    /// a lengthening).
    pub(super) async fn update_row(&self, r: Row, change: RowChange<'_>) -> anyhow::Result<()> {
        let key = r.value.key.clone();
        self.repo()
            .update(&key, Some(r), &mut |cur| self.changed(cur?, change))
            .await?;
        Ok(())
    }

    /// The row after `change`, with the entity it is merged onto; `None` when it needs none.
    fn changed(&self, r: &Row, change: RowChange<'_>) -> Option<(CatalogueEntry, Entity)> {
        let (mut entry, mut base) = (r.value.clone(), r.raw.clone());
        match change {
            RowChange::Lengthen(k) => {
                if row_held(r) || r.value.retain_until.as_str() >= k.until.as_str() {
                    return None;
                }
                entry.retention_class = k.class.clone();
                entry.retain_until = k.until.clone();
            }
            RowChange::Shorten(k) => {
                if row_held(r) || r.value.retain_until.as_str() <= k.until.as_str() {
                    return None;
                }
                base.insert("ShortenedFrom".into(), Value::String(entry.retain_until));
                base.insert(
                    "ShortenedAt".into(),
                    Value::String(format_utc(self.params.now)),
                );
                entry.retain_until = k.until.clone();
            }
            RowChange::Deleted(t) => {
                if r.value.status == STATUS_DELETED {
                    return None;
                }
                entry.status = STATUS_DELETED.to_owned();
                for (k, v) in [
                    ("DeletedAt", format_utc(self.params.now)),
                    ("DeletionReason", t.reason.clone()),
                    ("DeletionInvocationId", t.invocation_id.clone()),
                ] {
                    base.insert(k.to_owned(), Value::String(v));
                }
            }
        }
        Some((entry, base))
    }
}
