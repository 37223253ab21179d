//! The Activity log part of a pass: the events read (a moved VM's under its new id), and the
//! VMs' and subscriptions' evaluations, each subscription's judged by what was read of it and its
//! diagnostic settings ([`super::flow`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use time::OffsetDateTime;

use super::doors::{self, Watched};
use super::flow;
use super::moves;
use crate::activity::events::{self, Event};
use crate::activity::{jit, read};
use crate::arm::ResourceManager;
use crate::arm::cidr::AddrSet;
use crate::arm::ids::{subscription_of, vm_of};
use crate::estate::findings::Evaluation;
use crate::estate::store;
use crate::tables::TableStore;

/// What the Activity log part reads besides the rows.
pub(super) struct Pass<'a> {
    pub(super) tables: &'a dyn TableStore,
    pub(super) arm: Option<&'a Arc<dyn ResourceManager>>,
    pub(super) watched: &'a Watched,
    /// The workspaces read (customer ids).
    pub(super) workspaces: &'a [String],
    /// The Bastion subnets (`None`: not known).
    pub(super) bastion: Option<&'a AddrSet>,
    /// Each subscription's diagnostic settings as read (`None`: Resource Manager not read).
    pub(super) flows: Option<&'a BTreeMap<String, flow::Flow>>,
    /// `BYPASS_EXTENSION_ALLOW`.
    pub(super) allow: &'a [String],
    /// The VMs that moved, by their old id.
    pub(super) moved: &'a BTreeMap<String, crate::estate::store::moved::Moved>,
    /// The subscriptions whose Activity log was asked for (a VM moved into another one this
    /// pass has its doors unknown until the next).
    pub(super) queried: &'a BTreeSet<String>,
    pub(super) now: OffsetDateTime,
}

impl Pass<'_> {
    /// Subscription `sub`'s findings over what was `seen`, and whether its doors may clear.
    fn subscription(&self, sub: &str, seen: flow::Seen<'_>) -> (String, Evaluation, bool) {
        let settings = self.flows.and_then(|f| f.get(sub));
        let (ev, known) = flow::evaluate(sub, seen, settings, self.now);
        (doors::subscription_id(sub), ev, known)
    }
}

/// The Activity log part: the events read, and the VMs' and subscriptions' evaluations. A VM of a
/// subscription whose Activity log is not known to flow, or was not read whole, has its doors
/// unknown: a use opens a door, none clears; a read that failed decides none of them.
pub(super) async fn activity_pass(
    p: &Pass<'_>,
    read: Result<read::Read, crate::azure::AzureError>,
) -> Result<(Vec<Event>, Vec<(String, Evaluation)>), String> {
    let subscriptions = p.queried;
    let mut decided = Vec::new();
    let seen = flow::Seen {
        latest: None,
        error: None,
        incomplete: &[],
        workspaces: p.workspaces.len(),
    };
    let read = match read {
        Ok(read) => read,
        Err(e) => {
            for sub in subscriptions {
                let seen = flow::Seen {
                    error: Some(&e),
                    ..seen
                };
                let (id, ev, _) = p.subscription(sub, seen);
                decided.push((id, ev));
            }
            return Ok((Vec::new(), decided));
        }
    };
    for why in &read.incomplete {
        tracing::warn!(why = %why, "the Activity log was not read whole: check-failed:activity-log");
    }
    let mut events = events::fold(&read.rows);
    moves::rewrite(&mut events, p.moved);
    // A just-in-time request whose row carries no body: its policy's requests. A policy not read
    // is its subscription's finding, and its VMs' just-in-time doors keep their state.
    let mut unread = BTreeSet::new();
    if let Some(arm) = p.arm {
        for u in jit::complete(arm, &mut events).await {
            tracing::warn!(policy = %u.policy, error = %u.error, "just-in-time policy not read");
            if let Some(sub) = subscription_of(&u.policy) {
                decided.push((
                    doors::subscription_id(&sub),
                    doors::policy_failed(&u, p.now),
                ));
                unread.insert(sub);
            }
        }
    }
    // VMs with a finding stored (a scope's VM no event names now) are decided too, so a door
    // clears.
    let stored = match store::list(p.tables).await {
        Ok(estate) => estate.rows.into_iter().map(|r| r.host.to_ascii_lowercase()),
        Err(e) => return Err(format!("estate rows not read: {e}")),
    };
    let mut vms: BTreeSet<String> = p.watched.vms.clone();
    vms.extend(
        events
            .iter()
            .flat_map(|e| doors::doors_of(e).into_iter().map(|(_, vm)| vm))
            .chain(stored.filter_map(|h| vm_of(&h)))
            .filter(|vm| p.watched.covers(vm)),
    );
    let mut known = BTreeSet::new();
    for sub in subscriptions {
        let seen = flow::Seen {
            latest: Some(&read.latest),
            incomplete: &read.incomplete,
            ..seen
        };
        let (id, ev, flows) = p.subscription(sub, seen);
        if flows {
            known.insert(sub.clone());
        }
        decided.push((id, ev));
    }
    let mut evaluated = doors::evaluate(&vms, &events, p.bastion, p.allow);
    for (vm, ev) in &mut evaluated {
        let sub = subscription_of(vm);
        if sub.as_ref().is_some_and(|s| unread.contains(s)) {
            doors::keep_jit(ev);
        }
        if !sub.is_some_and(|s| known.contains(&s)) {
            flow::open_only(ev);
        }
    }
    decided.extend(evaluated);
    Ok((events, decided))
}
