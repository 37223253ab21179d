//! The `AuditLogTail` planner's own look at each host before it plans the host's unit: one
//! listing per host, compared with the host's cursors as its unit would compare them
//! ([`super::list`]). A host whose listing shows nothing to do (no blob grown, none new, late,
//! gone or due to retire) is not planned: its unit would list it and stop, and its message, claim
//! and ending would cost the queue and the work table more than the listing itself. A host whose
//! listing shows work is planned with that listing ([`super::known`]), so its unit does not list
//! it again.
//!
//! Nothing is missed: a blob grown in any watched hour (a late append to an hour already read
//! included), a blob without a cursor and a cursor without a blob all differ, so the host is
//! planned. A host the planner cannot tell of (its listing failed, or [`BUDGET`] ran out before
//! it was listed) is planned as before, and its unit lists it itself.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt as _;
use time::{Duration, OffsetDateTime};

use super::list;
use super::tailer::Tailer;
use crate::audit_logs::path::Host;
use crate::clock::Budget;
use crate::storage::BlobItem;

/// Hosts the planner lists at once.
const IN_FLIGHT: usize = 32;

/// How long the planner starts listings of hosts: a timer's tick only plans, and returns well
/// under a second (its other calls: the cursors' query, the units' rows, the planning record and
/// a transaction a hundred units). A listing of a host's watched hours is one request of a few
/// tens of milliseconds on Azure (a page of at most 5,000 names), so with [`IN_FLIGHT`] at once a
/// quarter of a second lists some hundreds of hosts; those not started by then are planned and
/// list themselves, costing their message and claim, not a missed read.
const BUDGET: Duration = Duration::milliseconds(250);

/// What the planner's look at `hosts` at `now` found: the units ([`Host::unit`]) of those whose
/// listing shows nothing to do, and the listings of those listed that show work (by unit). A
/// host in neither was not listed (its listing failed, or the budget ran out).
pub async fn unchanged(
    tail: &Tailer,
    hosts: &[Host],
    now: OffsetDateTime,
) -> (BTreeSet<String>, BTreeMap<String, Vec<BlobItem>>) {
    let window = tail.settings.tail_look_back;
    let time = Budget::after(tail.ports.clock.clone(), BUDGET);
    let time = &time;
    type Looked = (String, bool, Vec<BlobItem>);
    let listed: Vec<Looked> = futures::stream::iter(hosts.iter().cloned())
        .map(|host: Host| async move {
            let unit = host.unit();
            if time.passed() {
                return None;
            }
            let items = list::list(tail, &host, now, window).await.ok()?;
            let quiet = list::compare(host, items.clone(), now, window).is_empty();
            Some((unit, quiet, items))
        })
        .buffer_unordered(IN_FLIGHT)
        .filter_map(futures::future::ready)
        .collect()
        .await;
    let (quiet, work): (Vec<Looked>, Vec<Looked>) = listed.into_iter().partition(|(_, q, _)| *q);
    let quiet = quiet.into_iter().map(|(u, _, _)| u).collect();
    (quiet, work.into_iter().map(|(u, _, i)| (u, i)).collect())
}
