//! The sweep's writes that keep a blob: lengthened tags and conditional row rewrites.

use super::evaluate::Row;
use super::model::{Pass, Sweep};
use super::report::Decision;
use crate::azure::AzureError;
use crate::catalogue::policy::Retention;
use crate::catalogue::policy::{TAG_CLASS, TAG_UNTIL};
use crate::catalogue::recording::STATUS_DELETED;
use crate::catalogue::recording::{Deletion, Recording, Shortened};
use crate::dates::format_utc;
use crate::retention::tombstone::Tombstone;
use crate::storage::{BlobRef, Tags};

/// A change the sweep makes to a catalogue row.
#[derive(Clone, Copy)]
pub(super) enum RowChange<'a> {
    Lengthen(&'a Retention),
    /// Allowed by `RETENTION_ALLOW_SHORTENING`; the old date kept in `ShortenedFrom`.
    Shorten(&'a Retention),
    Deleted(&'a Tombstone),
}

impl Sweep<'_> {
    /// Writes the longer retention to the tags (if `retainUntil` is as read: a hold wins) and row.
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
                Err(AzureError::PreconditionFailed) => return Ok(Decision::Changed),
                Err(AzureError::NotFound) => return Ok(Decision::AlreadyGone),
                other => other?,
            }
            if let Some(r) = row {
                self.update_row(r, RowChange::Lengthen(keep)).await?;
            }
        }
        tracing::info!(blob = %blob, class = %keep.class, retain_until = %keep.until, dry_run = self.params.dry_run, "retention lengthened");
        Ok(Decision::Lengthened)
    }

    /// Conditional rewrite; a race re-reads and decides again (a new hold is never overwritten).
    pub(super) async fn update_row(&self, r: Row, change: RowChange<'_>) -> Result<(), AzureError> {
        let key = r.value.key.clone();
        self.repo()
            .update(&key, Some(r), |cur| self.changed(cur?, change))
            .await?;
        Ok(())
    }

    /// The row after `change`; `None` when it needs none.
    fn changed(&self, r: &Recording, change: RowChange<'_>) -> Option<Recording> {
        let mut r = r.clone();
        match change {
            RowChange::Lengthen(k) => {
                if r.held() || r.retain_until.as_str() >= k.until.as_str() {
                    return None;
                }
                r.retention_class = k.class.clone();
                r.retain_until = k.until.clone();
            }
            RowChange::Shorten(k) => {
                if r.held() || r.retain_until.as_str() <= k.until.as_str() {
                    return None;
                }
                r.shortened = Some(Shortened {
                    from: std::mem::take(&mut r.retain_until),
                    at: format_utc(self.params.now),
                });
                r.retain_until = k.until.clone();
            }
            RowChange::Deleted(t) => {
                if r.status == STATUS_DELETED {
                    return None;
                }
                r.status = STATUS_DELETED.to_owned();
                r.deletion = Some(Deletion {
                    at: format_utc(self.params.now),
                    reason: t.reason.clone(),
                    invocation_id: t.invocation_id.clone(),
                    request_id: String::new(),
                });
            }
        }
        Some(r)
    }
}
