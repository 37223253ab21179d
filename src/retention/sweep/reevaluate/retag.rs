//! One blob of a re-evaluated class, re-tagged when its date moves the allowed way.

use super::super::model::{Kind, Pass, Sweep};
use super::super::write::RowChange;
use crate::azure::AzureError;
use crate::catalogue::policy::Retention;
use crate::catalogue::policy::{TAG_CLASS, TAG_UNTIL};
use crate::catalogue::recording::STATUS_DELETED;
use crate::catalogue::row_source::BlobKey;
use crate::retention::tags::is_held;
use crate::storage::BlobRef;

/// What re-evaluating one blob did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Retag {
    /// Tags (and row) now carry the longer date.
    Longer,
    /// Tags (and row) now carry the shorter date (`RETENTION_ALLOW_SHORTENING`).
    Shorter,
    /// Nothing to do: same date, held, pinned by an override, due, gone, or reclassified.
    Unchanged,
    /// Tags changed since read (412): the next run or the deletion path decides.
    Changed,
}

impl Sweep<'_> {
    pub(super) async fn retag(
        &self,
        pass: Pass<'_>,
        blob: &BlobRef,
        class: &str,
        shorten: bool,
    ) -> Result<Retag, AzureError> {
        let store = &pass.source.store;
        let (props, mut tags) = match (store.properties(blob).await, store.get_tags(blob).await) {
            (Err(AzureError::NotFound), _) | (_, Err(AzureError::NotFound)) => {
                return Ok(Retag::Unchanged);
            }
            (p, t) => (p?, t?),
        };
        let (Some(created), Some(old)) = (props.created, tags.get(TAG_UNTIL).cloned()) else {
            return Ok(Retag::Unchanged);
        };
        // Due blobs are the deletion path's (it re-applies the policy before deleting).
        if is_held(&tags)
            || tags.get(TAG_CLASS).map(String::as_str) != Some(class)
            || old < self.today
        {
            return Ok(Retag::Unchanged);
        }
        let new = self.deps.policy.until_for(class, created.date());
        let longer = new > old;
        if new == old || (!longer && !shorten) {
            return Ok(Retag::Unchanged);
        }
        let row = match pass.kind {
            Kind::AuditLogs => None,
            Kind::Recordings => {
                let key = pass.source.key(created, &blob.name);
                match self.repo().get(&key).await? {
                    Some(r) if r.value.status == STATUS_DELETED || r.value.held() => {
                        return Ok(Retag::Unchanged);
                    }
                    r => r,
                }
            }
        };
        let done = if longer {
            Retag::Longer
        } else {
            Retag::Shorter
        };
        if self.params.dry_run {
            return Ok(done);
        }
        tags.insert(TAG_UNTIL.into(), new.clone());
        let cond = format!("\"{TAG_UNTIL}\" = '{old}'");
        match store.set_tags(blob, &tags, Some(&cond)).await {
            Err(AzureError::PreconditionFailed) => return Ok(Retag::Changed),
            Err(AzureError::NotFound) => return Ok(Retag::Unchanged),
            other => other?,
        }
        let keep = Retention {
            class: class.to_owned(),
            until: new.clone(),
        };
        if let Some(r) = row {
            let change = if longer {
                RowChange::Lengthen(&keep)
            } else {
                RowChange::Shorten(&keep)
            };
            self.update_row(r, change).await?;
        }
        if longer {
            tracing::info!(blob = %blob, class, from = %old, to = %new, "retention re-evaluated: lengthened");
        } else {
            tracing::warn!(blob = %blob, class, from = %old, to = %new, "retention re-evaluated: SHORTENED (RETENTION_ALLOW_SHORTENING)");
        }
        Ok(done)
    }
}
