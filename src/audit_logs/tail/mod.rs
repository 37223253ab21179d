//! `AuditLogTail` (timer, every minute), one tick from the top: the active cursors, then the
//! stages in order, each a plain function returning what the next takes:
//! 1. list (`list.rs`): each host's listing compared with its cursors: the hour blobs that grew;
//! 2. read ([`blob`], oldest growth first, within the tick's allowance and the reading share of its
//!    time budget): per blob its cursor claimed, then chunk by chunk a ranged read parsed into a
//!    batch ([`read`]) and kept ([`keep`]: rows, failed logins, the cursor advanced); the growth
//!    left unread is marked;
//! 3. detect: the failed-login burst checks still unchecked.
//!
//! The join over what changed runs after the tick, by the entry point. Progress is saved as it
//! goes, so the next tick continues where this one stopped. A failing blob is logged and retried
//! next tick; the tick still ends with its report so its findings are delivered.

use time::OffsetDateTime;

use super::error::Error;
use super::path::{Host, hosts};
use super::repo::CursorRepo;
use crate::clock::Budget;

pub mod batch;
pub mod blob;
pub mod keep;
pub mod known;
pub mod list;
pub mod read;
pub mod register;
mod tailer;
mod unchanged;

pub use tailer::{Affected, BlobReport, Growth, Listed, Tailer, TickReport};
pub use unchanged::unchanged;

/// The `AuditLogTail` work unit that joins and detects over every host; the others are hosts
/// ([`Host::unit`]).
pub const JOINED: &str = "join-and-detections";

/// One host's part of a tick (an `AuditLogTail` work unit, [`Host::unit`]): its listing and
/// the reads of its hour blobs that grew; no detection. `known`: what its planner knew of its
/// cursors ([`known::of`]), with the planner's listing when it handed one (then the host is not
/// listed again); then no query of its cursors: a listing that agrees with it reads no cursor
/// row, one that differs reads the rows of the blobs that differ by their keys.
///
/// # Errors
/// [`Error`] when its cursors cannot be read.
pub async fn host(
    tail: &Tailer,
    unit: &str,
    known: &str,
    now: OffsetDateTime,
) -> Result<TickReport, Error> {
    let (settings, ports) = (&tail.settings, &tail.ports);
    let time = Budget::after(ports.clock.clone(), settings.tail_budget);
    let Some((source, path)) = Host::parse_unit(unit) else {
        return Ok(TickReport::default());
    };
    let listed = match known::host(source.clone(), &path, known) {
        Some((host, listed)) => list::known(tail, host, listed, now).await,
        None => {
            let repo = CursorRepo::new(ports.tables.clone());
            let name = path.rsplit('/').next().unwrap_or_default();
            let named = repo
                .active(now, settings.tail_look_back, Some(name))
                .await?;
            let of_unit = hosts(named).into_iter().filter(|h| h.source == source);
            let host = of_unit.filter(|h| h.path.host == path).collect();
            list::grown(tail, host, now).await
        }
    };
    let (report, left) = blob::read_grown(tail, listed, now, &time).await;
    keep::mark(tail, left).await;
    Ok(report)
}

#[cfg(test)]
mod tests;
