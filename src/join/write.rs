//! What a pass writes: each recording whose join changed (re-tagged first, its index rows around
//! it), and each affected session's recorded state.

use std::collections::BTreeSet;

use super::Join;
use crate::catalogue::index;
use crate::catalogue::recording::{Joined, Recording, SessionView};
use crate::catalogue::repo::{CatalogueRepo, Versioned};
use crate::dates::parse_date;
use crate::invocation::HandlerError;
use crate::retention::policy::{Subject, merge_tags};
use crate::storage::update_tags;
use crate::tables::TableError;

/// Recomputes the class of `r` with the session's fields (retention rules may match subscription,
/// resource group, VM, protocol, user); when it differs from the row's class, merges it into the
/// blob's tags (never shortening a date, never lifting a hold) and takes the effective class and
/// date into `r`.
///
/// # Errors
/// Storage failures (a vanished blob is not one: the row is left as is).
pub(super) async fn retag(
    join: &Join,
    r: &mut Recording,
    s: &SessionView,
) -> Result<(), HandlerError> {
    let metadata: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&r.metadata).unwrap_or_default();
    let given = |v: &str| Some(v).filter(|v| !v.is_empty()).map(str::to_owned);
    let (sub, rg, vm, protocol) = (
        given(&s.subscription),
        given(&s.resource_group),
        given(&s.target_vm),
        given(&s.protocol),
    );
    let users: Vec<&str> = [s.user_name.as_str(), s.user_email.as_str()]
        .into_iter()
        .filter(|u| !u.is_empty())
        .collect();
    let subject = Subject {
        container: &r.container,
        blob: &r.blob_name,
        metadata: Some(&metadata),
        subscription: sub.as_deref(),
        resource_group: rg.as_deref(),
        vm: vm.as_deref(),
        protocol: protocol.as_deref(),
        users,
    };
    if join.policy.class_for(&subject) == r.retention_class {
        return Ok(());
    }
    let created = parse_date(&r.key.pk).unwrap_or(r.blob_created.date());
    let computed = join
        .policy
        .classify(&subject, created.midnight().assume_utc());
    // A row of a source no longer configured keeps its tags (the sweep cannot reach it either).
    let Some(source) = join.ports.sources.of_row(r) else {
        return Ok(());
    };
    let blob = source.blob(r.blob_name.clone());
    if let Some(effective) = update_tags(&*source.store, &blob, false, |existing| {
        merge_tags(existing, &computed)
    })
    .await?
    {
        r.retention_class = effective.class;
        r.retain_until = effective.until;
    }
    Ok(())
}

/// A recording to write: the row as read and its new join.
pub(super) struct Planned {
    pub read: Versioned<Recording>,
    pub joined: Option<Joined>,
}

/// The index keys of a row.
fn keys(r: &Recording) -> BTreeSet<(String, String)> {
    index::keys(&r.to_entity()).into_iter().collect()
}

/// Writes `planned` (each conditionally on the row as read; one changed since gets the new join
/// on its current version, and keeps a re-tag only when its retention did not change meanwhile),
/// with the index rows of every written row and of `indexed` (recordings whose rows were written
/// joined elsewhere) upserted first and the rows the written ones no longer have deleted after.
/// Stops when `more()` says the time is up. Returns the rows written and whether it stopped early.
///
/// # Errors
/// Storage failures.
pub(super) async fn recordings(
    join: &Join,
    planned: Vec<Planned>,
    indexed: &[&Recording],
    more: impl Fn() -> bool,
) -> Result<(usize, bool), HandlerError> {
    let repo = CatalogueRepo::new(join.ports.tables.clone());
    let mut targets = Vec::with_capacity(planned.len());
    for p in planned {
        let mut target = p.read.value.clone();
        target.joined = p.joined;
        if let Some(s) = target.session().cloned() {
            retag(join, &mut target, &s).await?;
        }
        if target != p.read.value {
            targets.push((p.read, target));
        }
    }
    let mut added: BTreeSet<(String, String)> = indexed.iter().flat_map(|r| keys(r)).collect();
    for (read, target) in &targets {
        added.extend(keys(target).difference(&keys(&read.value)).cloned());
    }
    index::write(join.ports.tables.as_ref(), &added).await?;
    let (mut written, mut stale) = (0, BTreeSet::new());
    for (read, target) in targets {
        if written > 0 && !more() {
            return Ok((written, true));
        }
        let key = read.value.key.clone();
        let before = read.value.clone();
        let stored = repo
            .update(&key, Some(read), |cur| {
                let mut r = cur?.clone();
                r.joined.clone_from(&target.joined);
                let same_retention = r.retention_class == before.retention_class
                    && r.retain_until == before.retain_until;
                if same_retention {
                    r.retention_class.clone_from(&target.retention_class);
                    r.retain_until.clone_from(&target.retain_until);
                }
                (r != *cur?).then_some(r)
            })
            .await;
        match stored {
            Ok(Some(row)) => {
                written += 1;
                stale.extend(keys(&before).difference(&keys(&row.value)).cloned());
            }
            Ok(None) => {}
            // A row the service refuses fails the same way every time: left as it is.
            Err(e @ TableError::Rejected(_)) => {
                let cause = crate::telemetry::redact(&e.to_string());
                tracing::error!(recording = %key.id(), error.cause_chain = %cause, "the join's row was refused by the table service; left as it is");
            }
            Err(e) => return Err(e.into()),
        }
    }
    index::remove(join.ports.tables.as_ref(), &stale).await?;
    Ok((written, false))
}
