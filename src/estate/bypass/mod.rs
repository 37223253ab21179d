//! Other doors onto the watched VMs: every way in that skips the Bastion recording. Run
//! Command, VM extensions not on `BYPASS_EXTENSION_ALLOW`, serial console and just-in-time access
//! to another source are read from `AzureActivity` in the workspaces the app reads (whether each
//! subscription's log flows there: its diagnostic settings, [`flow`]); a network path to
//! 22/3389 from anywhere but the Bastion subnet and a public IP on a NIC through Resource Manager
//! (and, from the Activity log, either opened and closed between two checks); once per
//! `EstateCheck`. A watched VM that moves is followed ([`moves`]). The findings are the
//! estate's (table `estate`, one partition per VM under its current resource id, and one per
//! subscription for `activity-log-not-read` and `check-failed:activity-log`): same episodes, same
//! announcements, same export.

pub mod between;
pub mod direct;
pub mod doors;
pub mod episodes;
pub mod extensions;
pub mod flow;
pub mod moves;
pub mod netdoors;
pub mod network;
pub mod nsg;
mod pass;
pub mod rules;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::future::OptionFuture;
use time::OffsetDateTime;

use self::doors::Watched;
use self::flow::SILENCE_DAYS;
use self::pass::{Pass, activity_pass};
use super::settings::EstateSettings;
use super::store;
use crate::activity::{events, read};
use crate::arm::ids::vm_of;
use crate::arm::{ResourceManager, cidr};
use crate::catalogue::days::{self, Span};
use crate::estate::findings::Evaluation;
use crate::loganalytics::LogsQuery;
use crate::ports::Ports;
use crate::tables::TableStore;

/// How far back a use keeps its door's finding open: a day of the Activity log (late rows of the
/// last day are still read; a use older than this clears).
pub const USE_WINDOW: time::Duration = time::Duration::hours(24);

/// What one pass did.
#[derive(Debug, Default)]
pub struct Report {
    /// VMs decided.
    pub vms: usize,
    /// Findings open after the pass (VMs and subscriptions).
    pub open: usize,
    /// Episodes opened or cleared.
    pub findings: Vec<crate::spine::Finding>,
    /// What could not be read or stored.
    pub failed: Vec<String>,
    /// Resource Manager requests the network read made.
    pub arm_requests: usize,
    /// VMs whose network doors were decided from NICs remembered from an earlier pass.
    pub nics_remembered: usize,
    /// The just-in-time requests the Activity log showed (who allowed a session, too).
    pub jit_events: Vec<events::Event>,
    /// Why the Activity log was not read whole (`None`: it was).
    pub activity_unread: Option<String>,
    /// The watched hosts' Bastion subnets, when the network was read.
    pub bastion: Option<cidr::AddrSet>,
    /// The virtual networks of the watched VMs whose NICs were read or remembered (lower-case
    /// VM id → lower-case network ids, from their IP configurations' subnets).
    pub vnets: BTreeMap<String, BTreeSet<String>>,
    /// The watched VMs whose NICs were not read (lower-case id → why): their networks are not
    /// known, which is not having none.
    pub vnets_unread: BTreeMap<String, String>,
}

/// The watched VMs: the targets of the watched hosts' sessions that started in the lookback
/// (the catalogue's day rows, read by one partition-range query), and the scopes.
///
/// # Errors
/// Table errors.
pub async fn watched(
    tables: &dyn TableStore,
    settings: &EstateSettings,
    now: OffsetDateTime,
) -> Result<Watched, crate::azure::AzureError> {
    let hosts: BTreeSet<String> = settings
        .hosts
        .iter()
        .map(|h| crate::arm::resource_name(h).to_ascii_lowercase())
        .collect();
    let span = Span {
        from: now - settings.bypass_lookback,
        until: now,
    };
    // One query over the lookback's day partitions, not one per day (90 calls every tick).
    let vms = days::scan(tables, span, Vec::new())
        .await?
        .into_iter()
        .filter(|r| hosts.contains(&r.host.to_ascii_lowercase()))
        .filter_map(|r| vm_of(&r.target_resource_id))
        .collect();
    Ok(Watched {
        vms,
        scopes: settings.bypass_scopes.clone(),
    })
}

/// Reads the watched VMs' network through Resource Manager (`arm`: doors 4 and 5, and the
/// Bastion subnets) and the Activity log of their subscriptions from `workspaces` (customer
/// ids; doors 1–3 and 6, and each subscription's `activity-log-not-read`), and records each
/// VM's doors. Either source may be absent (`None`, or no workspace): its doors stay undecided.
pub async fn run(
    ports: &Ports,
    logs: Option<&dyn LogsQuery>,
    arm: Option<&Arc<dyn ResourceManager>>,
    settings: &EstateSettings,
    workspaces: &[String],
    now: OffsetDateTime,
) -> Report {
    let mut report = Report {
        activity_unread: Some("no workspace is read".into()),
        ..Report::default()
    };
    let tables = ports.tables.as_ref();
    let mut watched = match watched(tables, settings, now).await {
        Ok(w) => w,
        Err(e) => {
            report.failed.push(format!("watched VMs not read: {e}"));
            return report;
        }
    };
    if watched.is_empty() {
        return report;
    }
    // The Activity log first: its rows say which remembered NICs to read again.
    let logs = logs.filter(|_| !workspaces.is_empty());
    let subscriptions = watched.subscriptions();
    let subs: Vec<String> = subscriptions.iter().cloned().collect();
    let doors_span = (now - USE_WINDOW, now);
    let silence_span = (now - time::Duration::days(SILENCE_DAYS), now);
    let read = logs.map(|logs| read::read(logs, workspaces, &subs, doors_span, silence_span));
    let activity = OptionFuture::from(read).await;
    report.activity_unread = match &activity {
        Some(Ok(r)) if r.incomplete.is_empty() => None,
        Some(Ok(r)) => Some(r.incomplete.join("; ")),
        Some(Err(e)) => Some(e.to_string()),
        None => report.activity_unread.take(),
    };
    // A watched VM that moved is watched where it is now, its findings carried there.
    let events_read = match &activity {
        Some(Ok(read)) => events::fold(&read.rows),
        _ => Vec::new(),
    };
    let (moved, failed) = moves::follow(tables, arm, &events_read, &mut watched).await;
    report.failed.extend(failed);
    // Whether each subscription's Activity log flows to a workspace read: its settings.
    let flows = match arm.filter(|_| activity.is_some()) {
        Some(arm) => Some(flow::read(arm.as_ref(), &subscriptions, workspaces).await),
        None => None,
    };
    let report_to = &mut report;
    let pass = arm.map(|arm| {
        network_pass(
            tables,
            arm,
            settings,
            &watched,
            activity.as_ref(),
            now,
            report_to,
        )
    });
    let net = OptionFuture::from(pass).await;
    let bastion = net.as_ref().and_then(|n| n.bastion.as_ref());
    report.bastion = bastion.cloned();
    (report.vnets, report.vnets_unread) = match &net {
        Some(n) => n.vnets(&watched.vms),
        None => (
            BTreeMap::new(),
            (watched.vms.iter())
                .map(|vm| (vm.clone(), "Resource Manager is not set up".to_owned()))
                .collect(),
        ),
    };
    let mut decided: BTreeMap<String, Evaluation> = BTreeMap::new();
    let mut events = Vec::new();
    let mut past = Vec::new();
    if let Some(read) = activity {
        let pass = Pass {
            tables,
            arm,
            watched: &watched,
            workspaces,
            bastion,
            flows: flows.as_ref(),
            allow: &settings.extension_allow,
            moved: &moved,
            queried: &subscriptions,
            now,
        };
        match activity_pass(&pass, read).await {
            Ok((e, d)) => {
                events = e;
                merge(&mut decided, d);
                report.jit_events = events
                    .iter()
                    .filter(|e| e.operation == events::JIT_INITIATE)
                    .cloned()
                    .collect();
            }
            Err(e) => {
                report.activity_unread = Some(e.clone());
                report.failed.push(e);
                return report;
            }
        }
    }
    if let Some(n) = &net {
        let mut vms = watched.vms.clone();
        vms.extend(
            n.nics
                .iter()
                .filter_map(|c| c.properties.virtual_machine.as_ref())
                .map(|v| v.id.to_ascii_lowercase()),
        );
        let internal = settings.bypass_internal_level;
        past = between::episodes(&vms, n, &events, internal);
        let mut net_decided = Vec::new();
        for vm in vms {
            let ev = netdoors::evaluate(&vm, n, &events, internal);
            if ev.is_none() && !n.unread(&vm) {
                report
                    .failed
                    .push(format!("{vm}: no network interface of it was listed"));
            }
            // A door a failed read leaves undecided is said, on the VM.
            let failed = netdoors::failed(&vm, n, ev.as_ref(), now);
            net_decided.extend(ev.map(|ev| (vm.clone(), ev)));
            net_decided.push((vm, failed));
        }
        // And on each scope, for the VMs under it no list could name.
        for scope in &watched.scopes {
            let scope = scope.to_ascii_lowercase();
            net_decided.push((scope.clone(), netdoors::failed(&scope, n, None, now)));
        }
        merge(&mut decided, net_decided);
    }
    report.vms = decided
        .keys()
        .filter(|k| vm_of(k).as_deref() == Some(k.as_str()))
        .count();
    for (id, ev) in decided {
        report.open += ev.findings.len();
        match store::apply_host(tables, &id, &ev, None, now).await {
            Ok(mut n) => report.findings.append(&mut n),
            Err(e) => report
                .failed
                .push(format!("{}: {e}", crate::arm::resource_name(&id))),
        }
    }
    // Opened and closed between two checks: recorded as closed episodes, once.
    for p in past {
        match store::record_past(tables, &p.vm, &p.finding, p.span, now).await {
            Ok(mut n) => report.findings.append(&mut n),
            Err(e) => report
                .failed
                .push(format!("{}: {e}", crate::arm::resource_name(&p.vm))),
        }
    }
    report
        .findings
        .sort_by_cached_key(crate::spine::Finding::id);
    if let Err(e) = store::record_changes(tables, &ports.outbox).await {
        report
            .failed
            .push(format!("Sentinel rows not recorded: {e}"));
    }
    report
}

/// The network part: the lists and the NICs read one by one (what earlier passes remembered of
/// them used unless the Activity log `activity` read, or the rotation, says to read them again),
/// and what was read remembered.
async fn network_pass(
    tables: &dyn TableStore,
    arm: &Arc<dyn ResourceManager>,
    settings: &EstateSettings,
    watched: &Watched,
    activity: Option<&Result<read::Read, crate::azure::AzureError>>,
    now: OffsetDateTime,
    report: &mut Report,
) -> network::Network {
    let mut known = match store::nics::remembered(tables).await {
        Ok(k) => k,
        Err(e) => {
            // Nothing remembered: every such NIC is read (within the cap).
            report.failed.push(format!("remembered NICs not read: {e}"));
            BTreeMap::new()
        }
    };
    // A VM no longer watched: what was remembered of it goes.
    let gone: Vec<String> = known
        .keys()
        .filter(|vm| !watched.covers(vm))
        .cloned()
        .collect();
    for vm in gone {
        known.remove(&vm);
        if let Err(e) = store::forget(tables, &vm).await {
            report
                .failed
                .push(format!("{vm}: remembered NICs not removed: {e}"));
        }
    }
    let changed = match activity {
        Some(Ok(read)) => direct::changed(&read.rows, &known),
        _ => BTreeSet::new(),
    };
    let memory = direct::Memory {
        known,
        changed,
        cap: direct::MAX_VMS,
        now,
    };
    // The Bastion subnets the hosts' own checks of this tick (sharing its time) read.
    let stored = store::subnets::since(tables, now)
        .await
        .unwrap_or_else(|e| {
            report
                .failed
                .push(format!("stored Bastion subnets not read: {e}"));
            BTreeMap::new()
        });
    let net = network::read(arm, &settings.hosts, &stored, watched, &memory).await;
    report.arm_requests = net.requests;
    report.nics_remembered = net.remembered;
    report
        .failed
        .extend(net.failed.iter().map(|f| format!("network not read: {f}")));
    for r in &net.remember {
        if let Err(e) = store::put(tables, store::nics::entity(r)).await {
            report
                .failed
                .push(format!("{}: NICs not remembered: {e}", r.vm));
        }
    }
    net
}

/// Adds `more` to `into`, one evaluation per resource.
fn merge(
    into: &mut BTreeMap<String, Evaluation>,
    more: impl IntoIterator<Item = (String, Evaluation)>,
) {
    for (id, ev) in more {
        let e = into.entry(id).or_default();
        e.findings.extend(ev.findings);
        e.assessed.extend(ev.assessed);
    }
}

#[cfg(test)]
mod read_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod watched_tests;
