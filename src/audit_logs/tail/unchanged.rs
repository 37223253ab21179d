//! The `AuditLogTail` planner's own look at each host before it plans the host's unit: one
//! listing per host, compared with the host's cursors as its unit would compare them
//! ([`super::list`]). A host whose listing shows nothing to do (no blob grown, none new, late,
//! gone or due to retire) is not planned: its unit would list it and stop, and its message, claim
//! and ending would cost the queue and the work table more than the listing itself.
//!
//! Nothing is missed: a blob grown in any watched hour (a late append to an hour already read
//! included), a blob without a cursor and a cursor without a blob all differ, so the host is
//! planned. Whatever the planner cannot tell (a listing that failed, or one not answered within
//! [`BUDGET`], past which the rest of the hosts are planned unlisted) is planned as before, and
//! its unit lists the host itself.

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

/// The units ([`Host::unit`]) of `hosts` whose listing at `now` shows nothing to do.
pub async fn unchanged(tail: &Tailer, hosts: &[Host], now: OffsetDateTime) -> BTreeSet<String> {
    let window = tail.settings.tail_look_back;
    let time = Budget::after(tail.ports.clock.clone(), BUDGET);
    let time = &time;
    futures::stream::iter(hosts.iter().cloned())
        .map(|host: Host| async move {
            if time.passed() {
                return None;
            }
            let items = list::list(tail, &host, now, window).await.ok()?;
            let unit = host.unit();
            list::compare(host, items, now, window)
                .is_empty()
                .then_some(unit)
        })
        .buffer_unordered(IN_FLIGHT)
        .filter_map(futures::future::ready)
        .collect()
        .await
}
