//! Re-tagging a recording once its session is known: retention rules may match session fields
//! (subscription, resource group, VM, protocol, user/e-mail). The merge never shortens an existing
//! `retain-until` and never lifts a hold (`retention::policy::merge_tags`).

use std::collections::BTreeMap;

use super::Joiner;
use crate::audit_logs::sessions::SessionRecord;
use crate::catalogue::model::CatalogueEntry;
use crate::dates::parse_date;
use crate::invocation::HandlerError;
use crate::retention::policy::{Subject, merge_tags};
use crate::storage::update_tags;

/// Recomputes the class of `entry` with the session's fields; when it differs from the row's class,
/// merges it into the blob's tags and updates the row's `RetentionClass`/`RetainUntil`.
///
/// # Errors
/// `Retryable` on storage failures (a vanished blob is not an error: the row is left as is).
pub async fn retag(
    join: &Joiner,
    entry: &mut CatalogueEntry,
    s: &SessionRecord,
) -> Result<(), HandlerError> {
    let metadata: BTreeMap<String, String> =
        serde_json::from_str(&entry.metadata).unwrap_or_default();
    let subject = Subject {
        container: &entry.container,
        blob: &entry.blob_name,
        metadata: Some(&metadata),
        subscription: given(&s.subscription),
        resource_group: given(&s.resource_group),
        vm: given(&s.target_vm),
        protocol: given(&s.protocol),
        users: s.users(),
    };
    if join.policy.class_for(&subject) == entry.retention_class {
        return Ok(());
    }
    let created = parse_date(&entry.key.pk).unwrap_or(entry.blob_created.date());
    let computed = join
        .policy
        .classify(&subject, created.midnight().assume_utc());
    // A row of a source no longer configured keeps its tags (the sweep cannot reach it either).
    let Some(source) = join.ports.sources.of_row(entry) else {
        return Ok(());
    };
    let blob = source.blob(entry.blob_name.clone());
    let Some(effective) = update_tags(&*source.store, &blob, false, |existing| {
        merge_tags(existing, &computed)
    })
    .await?
    else {
        return Ok(());
    };
    entry.retention_class = effective.class;
    entry.retain_until = effective.until;
    Ok(())
}

/// A session field, `None` when the audit log left it empty.
fn given(v: &str) -> Option<&str> {
    (!v.is_empty()).then_some(v)
}
