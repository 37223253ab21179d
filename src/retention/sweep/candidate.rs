//! One candidate returned by the range query: re-check, re-evaluate, then delete with evidence.
//!
//! The tag index is eventually consistent, so the query result is only a hint: the blob's current
//! tags, its ETag and (for recordings) its catalogue row are read again, and the blob is kept if any
//! of them — or the *current* policy — says so. Order of writes: intent → `If-Match` delete →
//! tombstone → catalogue `Status=deleted`; see [`crate::retention::tombstone`] for crash recovery.

use serde_json::Value;
use time::OffsetDateTime;

use super::{Decision, Item, Kind, Sweep};
use crate::catalogue::model::{CatalogueEntry, RecordingKey};
use crate::catalogue::repo::{CatalogueRepo, Versioned};
use crate::invocation::decode::format_utc;
use crate::retention::policy::{Policy, Retention, Subject};
use crate::retention::tags::{hold_tags, is_expired, is_held, later, retention_of};
use crate::retention::tombstone::{self, Ending, REASON_EXPIRED, Tombstone};
use crate::retention::{LEGAL_HOLD, TAG_CLASS, TAG_UNTIL};
use crate::storage::{BlobProps, BlobRef, StorageError, Tags};
use crate::tables::{TableError, WriteMode, get_str};

/// `Status` of a catalogue row whose blob the sweep deleted (the row stays as evidence).
pub const STATUS_DELETED: &str = "deleted";

type Row = Versioned<CatalogueEntry>;

#[derive(Clone, Copy)]
enum RowChange<'a> {
    Lengthen(&'a Retention),
    Deleted(&'a Tombstone),
}

impl Sweep<'_> {
    /// Decides and acts on one candidate.
    pub(super) async fn candidate(&self, kind: Kind, blob: &BlobRef) -> anyhow::Result<Decision> {
        let store = self.store(kind);
        let props = match store.properties(blob).await {
            Err(StorageError::NotFound) => return Ok(Decision::AlreadyGone),
            other => other?,
        };
        let tags = match store.get_tags(blob).await {
            Err(StorageError::NotFound) => return Ok(Decision::AlreadyGone),
            other => other?,
        };
        if is_held(&tags) {
            return Ok(Decision::Held);
        }
        if !is_expired(&tags, &self.today) {
            return Ok(Decision::NotDue);
        }
        let Some(created) = props.created else {
            return Ok(Decision::Uncatalogued);
        };
        let key = RecordingKey::for_blob(created, &blob.container, &blob.name);
        let row = match kind {
            Kind::Recordings => match self.repo().get(&key).await? {
                Some(r) if r.value.status != STATUS_DELETED => Some(r),
                _ => return Ok(Decision::Uncatalogued),
            },
            Kind::AuditLogs => None,
        };
        if row.as_ref().is_some_and(row_held) {
            // The row knows of a hold the tags have not caught up with: the hold wins, tags repaired.
            if !self.params.dry_run {
                store.set_tags(blob, &hold_tags(&tags), None).await?;
            }
            return Ok(Decision::Held);
        }
        let keep = self.keep(kind, &tags, row.as_ref(), created);
        if keep.until.as_str() >= self.today.as_str() {
            return self.lengthen(kind, blob, &tags, row, &keep).await;
        }
        let item = Item {
            blob: blob.to_string(),
            class: keep.class.clone(),
            retain_until: keep.until.clone(),
        };
        if self.params.dry_run {
            return Ok(Decision::WouldDelete(item));
        }
        let evidence = self.evidence(kind, blob, key, row.as_ref(), &keep, &props);
        self.delete(kind, blob, &evidence, row, item).await
    }

    /// The retention that applies now: the latest of the tags, the catalogue row and the current
    /// policy (a policy change may lengthen, never shorten; unknown classes are ignored rather than
    /// treated as holds, so removing a class from the policy does not make blobs immortal). A row
    /// pinned by an explicit override (`RetentionOverride`) is not re-evaluated against the policy.
    fn keep(
        &self,
        kind: Kind,
        tags: &Tags,
        row: Option<&Row>,
        created: OffsetDateTime,
    ) -> Retention {
        let policy = &*self.state.policy;
        let mut keep = retention_of(tags).unwrap_or_else(|| Retention {
            class: String::new(),
            until: String::new(),
        });
        if let Some(r) = row.filter(|r| !r.value.retain_until.is_empty()) {
            keep = later(
                keep,
                Retention {
                    class: r.value.retention_class.clone(),
                    until: r.value.retain_until.clone(),
                },
            );
        }
        if row
            .is_some_and(|r| r.raw.get("RetentionOverride").and_then(Value::as_bool) == Some(true))
        {
            return keep;
        }
        let current = keep.class.clone();
        for class in [
            Some(current.as_str()),
            self.policy_class(kind, row).as_deref(),
        ]
        .into_iter()
        .flatten()
        {
            if let Some(r) = known_until(policy, class, created) {
                keep = later(keep, r);
            }
        }
        keep
    }

    fn policy_class(&self, kind: Kind, row: Option<&Row>) -> Option<String> {
        match kind {
            Kind::AuditLogs => Some(self.state.config.retention.audit_logs_class.clone()),
            Kind::Recordings => row.map(|r| {
                let meta: std::collections::BTreeMap<String, String> =
                    serde_json::from_str(&r.value.metadata).unwrap_or_default();
                let users: Vec<&str> = ["UserName", "UserEmail"]
                    .iter()
                    .filter_map(|k| get_str(&r.raw, k))
                    .collect();
                let subject = Subject {
                    container: &r.value.container,
                    blob: &r.value.blob_name,
                    metadata: Some(&meta),
                    vm: get_str(&r.raw, "TargetVm"),
                    protocol: get_str(&r.raw, "Protocol"),
                    subscription: get_str(&r.raw, "TargetSubscriptionId"),
                    resource_group: get_str(&r.raw, "TargetResourceGroup"),
                    users,
                };
                self.state.policy.class_for(&subject).to_owned()
            }),
        }
    }

    /// Writes the longer retention to the tags (conditioned on the `retain-until` just read, so a
    /// hold set meanwhile is never overwritten: 412 → `Changed`) and to the catalogue row.
    async fn lengthen(
        &self,
        kind: Kind,
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
            match self.store(kind).set_tags(blob, &new, cond.as_deref()).await {
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

    fn evidence(
        &self,
        kind: Kind,
        blob: &BlobRef,
        key: RecordingKey,
        row: Option<&Row>,
        keep: &Retention,
        props: &BlobProps,
    ) -> Tombstone {
        let account = self.store(kind).account().to_owned();
        Tombstone {
            key,
            blob_url: row.map_or_else(
                || format!("https://{account}.blob.core.windows.net/{blob}"),
                |r| r.value.blob_url.clone(),
            ),
            catalogue_key: row.map(|r| r.value.key.id()),
            class: keep.class.clone(),
            retain_until: keep.until.clone(),
            sha256: row.and_then(|r| {
                ["Sha256", "ContentSha256"]
                    .iter()
                    .find_map(|k| get_str(&r.raw, k))
                    .map(str::to_owned)
            }),
            invocation_id: self.params.invocation_id.clone(),
            reason: REASON_EXPIRED.to_owned(),
            etag: props.etag.clone(),
        }
    }

    async fn delete(
        &self,
        kind: Kind,
        blob: &BlobRef,
        evidence: &Tombstone,
        row: Option<Row>,
        item: Item,
    ) -> anyhow::Result<Decision> {
        let tables = self.state.tables.as_ref();
        tombstone::write_intent(tables, evidence).await?;
        let ending = match self.store(kind).delete_if_match(blob, &evidence.etag).await {
            Ok(()) => Ending::Deleted,
            Err(StorageError::NotFound) => Ending::AlreadyGone,
            Err(StorageError::PreconditionFailed) => {
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

    /// Tombstone, then the catalogue row (read again when not given), then the intent is dropped.
    pub(super) async fn finish(
        &self,
        evidence: &Tombstone,
        ending: Ending,
        row: Option<Row>,
    ) -> anyhow::Result<()> {
        let row = match (
            row,
            evidence
                .catalogue_key
                .as_deref()
                .and_then(RecordingKey::parse),
        ) {
            (Some(r), _) => Some(r),
            (None, Some(k)) => self.repo().get(&k).await?,
            (None, None) => None,
        };
        // The row first: the tombstone write drops the intent, and the intent is what lets a crashed
        // run come back to a row still marked `catalogued`.
        if let Some(r) = row {
            self.update_row(r, RowChange::Deleted(evidence)).await?;
        }
        tombstone::finalize(
            self.state.tables.as_ref(),
            evidence,
            ending,
            self.params.now,
        )
        .await?;
        Ok(())
    }

    /// ETag-conditional rewrite keeping every other property; on a race, re-reads and decides again
    /// (a hold that arrived meanwhile is never overwritten by a lengthening).
    async fn update_row(&self, mut r: Row, change: RowChange<'_>) -> anyhow::Result<()> {
        let repo = self.repo();
        for _ in 0..5 {
            let (mut entry, mut base) = (r.value.clone(), r.raw.clone());
            match change {
                RowChange::Lengthen(k) => {
                    if row_held(&r) || r.value.retain_until.as_str() >= k.until.as_str() {
                        return Ok(());
                    }
                    entry.retention_class = k.class.clone();
                    entry.retain_until = k.until.clone();
                }
                RowChange::Deleted(t) => {
                    if r.value.status == STATUS_DELETED {
                        return Ok(());
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
            match repo
                .write(&entry, Some(&base), WriteMode::IfMatch(r.etag.clone()))
                .await
            {
                Ok(_) | Err(TableError::NotFound) => return Ok(()),
                Err(TableError::PreconditionFailed) => match repo.get(&r.value.key).await? {
                    Some(fresh) => r = fresh,
                    None => return Ok(()),
                },
                Err(e) => return Err(e.into()),
            }
        }
        anyhow::bail!("catalogue row {} kept changing", r.value.key.id())
    }

    pub(super) fn repo(&self) -> CatalogueRepo {
        CatalogueRepo::new(self.state.tables.clone())
    }
}

/// True when the catalogue row records a legal hold.
pub fn row_held(r: &Row) -> bool {
    r.value.retention_class == LEGAL_HOLD
        || r.raw
            .get("LegalHold")
            .and_then(Value::as_bool)
            .unwrap_or(false)
}

/// The retain-until of `class` if the policy defines it with a number of days.
fn known_until(policy: &Policy, class: &str, created: OffsetDateTime) -> Option<Retention> {
    let c = policy.classes.get(class)?;
    (!c.hold && c.days.is_some()).then(|| Retention {
        class: class.to_owned(),
        until: policy.until_for(class, created.date()),
    })
}
