//! What a pass writes: each recording whose join changed (re-tagged first, its index rows around
//! it), and each affected session's recorded state; and the pass's lease.
//!
//! One join pass at a time, across instances: the lease row of table `joinstate`
//! ([`crate::tables::lease`]), which also keeps the pass's cursor over the recordings' rejoin times.
//! Why a lease: a pass writes each session's recorded state from the recordings it read. Two
//! passes overlapping in time could write in the other order than they read (the one that read
//! first writing last), leaving a session's state without a recording that had joined it.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use super::reads::Join;
use crate::azure::AzureError;
use crate::catalogue::key::{index_keys, put_index, remove_index};
use crate::catalogue::policy::retag;
use crate::catalogue::recording::{Joined, Recording};
use crate::catalogue::repo::Versioned;
use crate::dates::{format_utc_millis, timestamp};
use crate::tables::{Entity, Stored, TableStore, get_str, ops};

/// A recording to write: the row as read and its new join.
pub(super) struct Planned {
    pub read: Versioned<Recording>,
    pub joined: Option<Joined>,
}

/// The index keys of a row.
fn keys(r: &Recording) -> BTreeSet<(String, String)> {
    index_keys(&r.key, r).into_iter().collect()
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
) -> Result<(usize, bool), AzureError> {
    let repo = join.ports.catalogue();
    let mut targets = Vec::with_capacity(planned.len());
    for p in planned {
        let mut target = p.read.value.clone();
        target.joined = p.joined;
        if target.session().is_some() {
            retag(&join.policy, &join.ports.sources, &mut target).await?;
        }
        if target != p.read.value {
            targets.push((p.read, target));
        }
    }
    let mut added: BTreeSet<(String, String)> = indexed.iter().flat_map(|r| keys(r)).collect();
    for (read, target) in &targets {
        added.extend(keys(target).difference(&keys(&read.value)).cloned());
    }
    put_index(join.ports.tables.as_ref(), &added).await?;
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
            Err(e @ AzureError::Rejected { .. }) => {
                let cause = crate::telemetry::redact(&e.to_string());
                tracing::error!(recording = %key.id(), error.cause_chain = %cause, "the join's row was refused by the table service; left as it is");
            }
            Err(e) => return Err(e),
        }
    }
    remove_index(join.ports.tables.as_ref(), &stale).await?;
    Ok((written, false))
}

/// Table of the join's own state.
pub(super) const STATE_TABLE: &str = "joinstate";
/// The lease row.
pub(super) const LEASE_ROW: (&str, &str) = ("join", "pass");

/// The lease row as read, and the cursor it keeps: recordings whose rejoin time (`JoinDue`) is later were not
/// decided by a pass yet.
///
/// # Errors
/// Table errors.
pub(super) async fn read_lease(
    tables: &dyn TableStore,
) -> Result<(Option<Stored>, Option<OffsetDateTime>), AzureError> {
    let row = ops::get(tables, STATE_TABLE, LEASE_ROW.0, LEASE_ROW.1).await?;
    let cursor = row
        .as_ref()
        .and_then(|r| timestamp(get_str(&r.entity, "DueCursor")?));
    Ok((row, cursor))
}

/// The properties that record `cursor`.
pub(super) fn lease_cursor(cursor: OffsetDateTime) -> Entity {
    crate::tables::entity(serde_json::json!({"DueCursor": format_utc_millis(cursor)}))
}
