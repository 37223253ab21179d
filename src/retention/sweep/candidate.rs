//! One candidate of the range query (only a hint: the index is eventually consistent): re-read
//! tags, ETag and row, re-apply the current policy, then intent → guarded delete → row → announce
//! → tombstone.

use super::evaluate::Row;
use super::model::{Kind, Pass, Sweep};
use super::report::{Decision, Item};
use super::write::RowChange;
use super::{alerts, announce};
use crate::azure::AzureError;
use crate::catalogue::policy::Retention;
use crate::catalogue::recording::{RecordingKey, STATUS_DELETED};
use crate::catalogue::repo::CatalogueRepo;
use crate::catalogue::row_source::BlobKey;
use crate::retention::retagged;
use crate::retention::tags::{expired_expr, hold_tags, is_expired, is_held};
use crate::retention::tombstone::{self, Ending, REASON_EXPIRED, Tombstone};
use crate::storage::{BlobProps, BlobRef, Tags};

impl Sweep<'_> {
    /// Decides and acts on one candidate.
    pub(super) async fn candidate(
        &self,
        pass: Pass<'_>,
        blob: &BlobRef,
    ) -> anyhow::Result<Decision> {
        let store = &pass.source.store;
        let props = match store.properties(blob).await {
            Err(AzureError::NotFound) => return Ok(Decision::AlreadyGone),
            other => other?,
        };
        let tags = match store.get_tags(blob).await {
            Err(AzureError::NotFound) => return Ok(Decision::AlreadyGone),
            other => other?,
        };
        if is_held(&tags) {
            return Ok(Decision::Held);
        }
        if !is_expired(&tags, &self.today) {
            return Ok(Decision::NotExpired);
        }
        let Some(created) = props.created else {
            return Ok(Decision::Uncatalogued);
        };
        // The catalogue key for recordings; tombstones of audit logs use the same scheme.
        let key = pass.source.key(created, &blob.name);
        let row = match pass.kind {
            Kind::Recordings => match self.repo().get(&key).await? {
                Some(r) if r.value.status != STATUS_DELETED => Some(r),
                _ => return Ok(Decision::Uncatalogued),
            },
            Kind::AuditLogs => None,
        };
        if let Some(r) = &row
            && let Some(refused) = self.retagged(pass, blob, r, &tags).await?
        {
            return Ok(refused);
        }
        if row.as_ref().is_some_and(|r| r.value.held()) {
            // The row knows of a hold the tags have not caught up with: the hold wins, tags repaired.
            if !self.params.dry_run {
                store.set_tags(blob, &hold_tags(&tags), None).await?;
            }
            return Ok(Decision::Held);
        }
        let keep = self.keep(pass.kind, &tags, row.as_ref(), created);
        if keep.until.as_str() >= self.today.as_str() {
            return self.lengthen(pass, blob, &tags, row, &keep).await;
        }
        let item = Item {
            blob: blob.to_string(),
            class: keep.class.clone(),
            retain_until: keep.until.clone(),
        };
        if self.params.dry_run {
            return Ok(Decision::WouldDelete(item));
        }
        let evidence = self.evidence(pass, blob, key, row.as_ref(), &keep, &props);
        self.delete(pass, blob, &evidence, row, item).await
    }

    /// A row whose blob's tags disagree with it is never deleted on those tags: restored and
    /// alerted ([`retagged::check`]), the alert remembered for the outputs ([`alerts`]); a dry run
    /// only counts it.
    async fn retagged(
        &self,
        pass: Pass<'_>,
        blob: &BlobRef,
        row: &Row,
        tags: &Tags,
    ) -> anyhow::Result<Option<Decision>> {
        if self.params.dry_run {
            let found = retagged::disagreement(&row.value, tags);
            return Ok(found.map(|_| Decision::Retagged(None)));
        }
        let (store, host) = (
            pass.source.store.as_ref(),
            pass.source.bastion_id.as_deref(),
        );
        let (repo, now) = (self.repo(), self.params.now);
        let found = retagged::check(store, blob, &repo, &row.value, tags, now, host).await?;
        let Some(alert) = found else {
            return Ok(None);
        };
        // Remembered until a successful run hands it to the outputs: a run failing later emits
        // nothing, and its retry finds the tags agreeing.
        alerts::remember(self.deps.ports.tables.as_ref(), &alert).await?;
        Ok(Some(Decision::Retagged(Some(Box::new(alert)))))
    }

    fn evidence(
        &self,
        pass: Pass<'_>,
        blob: &BlobRef,
        key: RecordingKey,
        row: Option<&Row>,
        keep: &Retention,
        props: &BlobProps,
    ) -> Tombstone {
        let account = pass.source.account();
        Tombstone {
            key,
            blob_url: row.map_or_else(
                || format!("https://{account}.blob.core.windows.net/{blob}"),
                |r| r.value.blob_url.clone(),
            ),
            catalogue_key: row.map(|r| r.value.key.id()),
            class: keep.class.clone(),
            retain_until: keep.until.clone(),
            sha256: row.and_then(|r| r.value.hash.as_ref().map(|h| h.sha256.clone())),
            invocation_id: self.params.invocation_id.clone(),
            reason: REASON_EXPIRED.to_owned(),
            etag: props.etag.clone(),
        }
    }

    async fn delete(
        &self,
        pass: Pass<'_>,
        blob: &BlobRef,
        evidence: &Tombstone,
        row: Option<Row>,
        item: Item,
    ) -> anyhow::Result<Decision> {
        let tables = self.deps.ports.tables.as_ref();
        tombstone::write_intent(tables, evidence).await?;
        // A hold set after our re-check moves `retainUntil` out of the range; the ETag misses it.
        let guard = expired_expr(&self.today);
        let ending = match pass
            .source
            .store
            .delete_guarded(blob, Some(&evidence.etag), Some(&guard))
            .await
        {
            Ok(()) => Ending::Deleted,
            Err(AzureError::NotFound) => Ending::AlreadyGone,
            Err(AzureError::PreconditionFailed) => {
                tombstone::drop_intent(tables, evidence).await?;
                return Ok(Decision::Changed);
            }
            Err(e) => return Err(e.into()),
        };
        self.finish(evidence, ending, row).await?;
        tracing::info!(blob = %blob, class = %item.class, retain_until = %item.retain_until, "blob deleted by retention");
        Ok(match ending {
            Ending::Deleted => Decision::Deleted(item),
            Ending::AlreadyGone => Decision::AlreadyGone,
        })
    }

    /// The row (read when not given), the deletion remembered for the digest, then the tombstone.
    pub(super) async fn finish(
        &self,
        evidence: &Tombstone,
        ending: Ending,
        row: Option<Row>,
    ) -> anyhow::Result<()> {
        let key = evidence
            .catalogue_key
            .as_deref()
            .and_then(RecordingKey::parse);
        let row = match (row, key) {
            (Some(r), _) => Some(r),
            (None, Some(k)) => self.repo().get(&k).await?,
            (None, None) => None,
        };
        // Tombstone last: it drops the intent, which lets a crashed run finish the rest.
        if let Some(r) = row {
            self.update_row(r, RowChange::Deleted(evidence)).await?;
        }
        let tables = self.deps.ports.tables.as_ref();
        announce::remember(tables, evidence).await?;
        tombstone::finalize(tables, evidence, ending, self.params.now).await?;
        Ok(())
    }

    pub(super) fn repo(&self) -> CatalogueRepo {
        self.deps.ports.catalogue()
    }
}
