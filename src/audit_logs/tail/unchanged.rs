//! The `AuditLogTail` planner's own look at each host before it plans the host's unit: one
//! listing per host, compared with the host's cursors as its unit would compare them
//! ([`super::list`]). A host whose listing shows nothing to do (no blob grown, none new, late,
//! gone or due to retire) is not planned: its unit would list it and stop, and its message, claim
//! and ending would cost the queue and the work table more than the listing itself.
//!
//! Nothing is missed: a blob grown in any watched hour (a late append to an hour already read
//! included), a blob without a cursor and a cursor without a blob all differ, so the host is
//! planned. A host the planner cannot tell of (its listing failed, or [`BUDGET`] ran out before
//! it was listed) is planned as before, and its unit lists it itself. A host that grew costs a
//! listing more than before (the planner's and its unit's).

use std::collections::BTreeSet;

use futures::StreamExt as _;
use time::{Duration, OffsetDateTime};

use super::list;
use super::tailer::Tailer;
use crate::audit_logs::path::Host;
use crate::clock::Budget;

/// Hosts the planner lists at once.
const IN_FLIGHT: usize = 32;

/// How long the planner lists hosts: it returns in seconds, and the hosts not listed by then are
/// planned (their units list them).
const BUDGET: Duration = Duration::seconds(2);

/// How many of `hosts` were listed at `now`, and the units ([`Host::unit`]) of those whose
/// listing shows nothing to do.
pub async fn unchanged(
    tail: &Tailer,
    hosts: &[Host],
    now: OffsetDateTime,
) -> (usize, BTreeSet<String>) {
    let window = tail.settings.tail_look_back;
    let time = Budget::after(tail.ports.clock.clone(), BUDGET);
    let time = &time;
    let listed: Vec<(Option<bool>, String)> = futures::stream::iter(hosts.iter().cloned())
        .map(|host: Host| async move {
            let unit = host.unit();
            if time.passed() {
                return (None, unit);
            }
            let items = list::list(tail, &host, now, window).await.ok();
            let quiet = items.map(|items| list::compare(host, items, now, window).is_empty());
            (quiet, unit)
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let quiet = listed.iter().filter(|(q, _)| *q == Some(true));
    let units = quiet.map(|(_, u)| u.clone()).collect();
    (listed.iter().filter(|(q, _)| q.is_some()).count(), units)
}
