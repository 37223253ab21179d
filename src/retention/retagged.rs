//! Blob index tags changed outside the product (no event reports a tag write): the catalogue row
//! is the truth; a disagreement is recorded on the row, the tags restored, and one
//! `recording.retagged` raised with an id of the recording and the tags found.

use serde_json::json;
use time::OffsetDateTime;

use super::tags::TAG_HELD_FROM;
use crate::azure::AzureError;
use crate::catalogue::LEGAL_HOLD;
use crate::catalogue::policy::{HELD_UNTIL, TAG_CLASS, TAG_UNTIL};
use crate::catalogue::recording::{Recording, Retagged, STATUS_CATALOGUED};
use crate::catalogue::repo::CatalogueRepo;
use crate::dates::format_utc;
use crate::spine::kinds::RECORDING_RETAGGED;
use crate::spine::{Finding, Severity};
use crate::storage::{BlobRef, BlobStore, Tags};

/// The tags the product writes and compares.
pub const PRODUCT_TAGS: [&str; 3] = [TAG_CLASS, TAG_UNTIL, TAG_HELD_FROM];

/// The product's tags as `row` says they are; `None` when it claims none (not catalogued, no date).
pub fn expected(row: &Recording) -> Option<Tags> {
    if row.status != STATUS_CATALOGUED || row.retain_until.is_empty() {
        return None;
    }
    let mut tags = Tags::new();
    if row.held() {
        tags.insert(TAG_CLASS.to_owned(), LEGAL_HOLD.to_owned());
        tags.insert(TAG_UNTIL.to_owned(), HELD_UNTIL.to_owned());
        if let Some((class, until)) = &row.hold.from {
            tags.insert(TAG_HELD_FROM.to_owned(), format!("{class}/{until}"));
        }
    } else {
        tags.insert(TAG_CLASS.to_owned(), row.retention_class.clone());
        tags.insert(TAG_UNTIL.to_owned(), row.retain_until.clone());
    }
    Some(tags)
}

/// The product's tags among `tags` (other tags are the owner's business).
pub fn observed(tags: &Tags) -> Tags {
    tags.iter()
        .filter(|(k, _)| PRODUCT_TAGS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The product's tags found when they disagree with `row` (`heldFrom` unjudged when the held row
/// lacks it).
pub fn disagreement(row: &Recording, tags: &Tags) -> Option<Tags> {
    let want = expected(row)?;
    let mut found = observed(tags);
    let judged = |k: &str| k != TAG_HELD_FROM || !row.held() || want.contains_key(TAG_HELD_FROM);
    found.retain(|k, _| judged(k));
    (found != want).then(|| observed(tags))
}

/// The tags after restoring: `tags` with the product's keys as `row` says (other tags kept).
pub fn restored(row: &Recording, tags: &Tags) -> Option<Tags> {
    let want = expected(row)?;
    let mut out = tags.clone();
    if !row.held() {
        out.remove(TAG_HELD_FROM);
    }
    out.extend(want);
    Some(out)
}

/// `found` as `key=value` pairs joined by `&` (the row's `RetaggedFrom`, part of the fact).
pub fn spell(found: &Tags) -> String {
    found
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The `x-ms-if-tags` condition that the tags are still `found` (unquotable values left out).
pub fn unchanged_expr(found: &Tags) -> Option<String> {
    let terms: Vec<String> = found
        .iter()
        .filter(|(_, v)| !v.contains('\''))
        .map(|(k, v)| format!("\"{k}\" = '{v}'"))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" AND "))
}

/// What the change did, for the title, in fixed words (the values are in the facts).
pub fn what(row: &Recording, found: &Tags) -> &'static str {
    let until = found.get(TAG_UNTIL).map(String::as_str);
    if row.held() && found.get(TAG_CLASS).map(String::as_str) != Some(LEGAL_HOLD) {
        "legal hold was removed from its blob tags"
    } else if !row.held() && until.is_none_or(|u| u < row.retain_until.as_str()) {
        "retainUntil tag was moved earlier"
    } else {
        "retention tags were changed"
    }
}

/// `recording.retagged` (critical) for `row` and the tags `found`; `restored`: written back.
pub fn finding(
    row: &Recording,
    found: &Tags,
    restored: bool,
    at: OffsetDateTime,
    bastion_id: Option<&str>,
) -> Finding {
    let tag = |k: &str| found.get(k).cloned().unwrap_or_default();
    let data = json!({
        "recordingId": row.id(), "account": row.account, "bastionHost": row.source_bastion,
        "container": row.container, "blobName": row.blob_name, "blobUrl": row.blob_url,
        "retentionClass": row.retention_class, "retainUntil": row.retain_until,
        "legalHold": row.held(),
        "foundRetentionClass": tag(TAG_CLASS), "foundRetainUntil": tag(TAG_UNTIL),
        "foundHeldFrom": tag(TAG_HELD_FROM), "restored": restored,
    });
    let key = [row.id().as_str(), "\n", &spell(found)].concat();
    let f = Finding::new(
        &RECORDING_RETAGGED,
        key,
        format_utc(at),
        Severity::Critical,
        data,
    );
    f.portal(bastion_id).word("what", what(row, found))
}

/// Compares `tags` (just read) with `row`; a disagreement confirmed by a second read is recorded
/// on the row, the tags are restored if still as found, and the alert is returned either way.
/// `None`: they agree, the row claims nothing, or the blob or row is gone.
///
/// # Errors
/// Storage failures.
pub async fn check(
    store: &dyn BlobStore,
    blob: &BlobRef,
    repo: &CatalogueRepo,
    row: &Recording,
    tags: &Tags,
    now: OffsetDateTime,
    bastion_id: Option<&str>,
) -> Result<Option<Finding>, AzureError> {
    if disagreement(row, tags).is_none() {
        return Ok(None);
    }
    // Our own writers change one store, then the other: a first read may fall between.
    let tags = match store.get_tags(blob).await {
        Err(AzureError::NotFound) => return Ok(None),
        other => other?,
    };
    let Some(row) = repo.get(&row.key).await? else {
        return Ok(None);
    };
    let Some(found) = disagreement(&row.value, &tags) else {
        return Ok(None);
    };
    let record = Retagged {
        from: spell(&found),
        at: format_utc(now),
    };
    let (key, mut seen) = (row.value.key.clone(), None);
    let written = repo
        .update(&key, Some(row), |cur| {
            let cur = cur?;
            seen = Some(cur.clone());
            disagreement(cur, &tags)?;
            // Another path or instance recorded this very finding: kept with its time.
            if cur.retagged.as_ref().is_some_and(|r| r.from == record.from) {
                return None;
            }
            let mut r = cur.clone();
            r.retagged = Some(record.clone());
            Some(r)
        })
        .await?;
    let row = match (written, seen) {
        (Some(w), _) => w.value,
        (None, Some(cur)) if disagreement(&cur, &tags).is_some() => cur,
        // Gone, or changed meanwhile to agree with the tags: nothing to restore.
        _ => return Ok(None),
    };
    tracing::warn!(recording = %row.id(), found = %spell(&found), "blob index tags disagreed with the catalogue row");
    let cond = unchanged_expr(&found);
    let back = match restored(&row, &tags) {
        None => false,
        Some(new) => match store.set_tags(blob, &new, cond.as_deref()).await {
            Ok(()) => true,
            Err(AzureError::PreconditionFailed | AzureError::NotFound) => false,
            Err(e) => return Err(e),
        },
    };
    Ok(Some(finding(&row, &found, back, now, bastion_id)))
}

#[cfg(test)]
#[path = "retagged_tests.rs"]
mod tests;
