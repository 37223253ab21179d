//! Other doors onto the watched VMs: every way in that skips the Bastion recording and that the
//! Activity log shows (Run Command, VMAccess/CustomScript extensions, serial console), read from
//! `AzureActivity` in the workspaces the app reads, once per `EstateCheck`. The findings are the
//! estate's (table `estate`, one partition per VM, and one per subscription for
//! `activity-log-not-read`): same episodes, same announcements, same export.

pub mod activity;
pub mod doors;
pub mod read;

use std::collections::BTreeSet;

use serde_json::Value;
use time::OffsetDateTime;

use self::doors::{Watched, vm_of};
use super::settings::EstateSettings;
use super::store;
use crate::catalogue::days::{Span, started_within};
use crate::loganalytics::LogsQuery;
use crate::notify::Notification;
use crate::ports::Ports;
use crate::tables::TableStore;

/// How far back a use keeps its door's finding open: a day of the Activity log (late rows of the
/// last day are still read; a use older than this clears).
pub const USE_WINDOW: time::Duration = time::Duration::hours(24);
/// How long a subscription may show no Activity log row before `activity-log-not-read` (days).
pub const SILENCE_DAYS: i64 = 7;

/// What one pass did.
#[derive(Debug, Default)]
pub struct Report {
    /// VMs decided.
    pub vms: usize,
    /// Findings open after the pass (VMs and subscriptions).
    pub open: usize,
    /// Episodes opened or cleared.
    pub notifications: Vec<Notification<Value>>,
    /// What could not be read or stored.
    pub failed: Vec<String>,
}

/// The watched VMs: the targets of the watched hosts' sessions that started in the lookback
/// (the catalogue's day rows), and the scopes.
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
        .map(|h| store::host_name(h).to_ascii_lowercase())
        .collect();
    let span = Span {
        from: now - settings.bypass_lookback,
        until: now,
    };
    let vms = started_within(tables, span, &[])
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

/// Reads the Activity log of the watched VMs' subscriptions from `workspaces` (customer ids) and
/// records each VM's doors and each subscription's `activity-log-not-read`.
pub async fn run(
    ports: &Ports,
    logs: &dyn LogsQuery,
    settings: &EstateSettings,
    workspaces: &[String],
    now: OffsetDateTime,
) -> Report {
    let mut report = Report::default();
    let tables = ports.tables.as_ref();
    let watched = match watched(tables, settings, now).await {
        Ok(w) => w,
        Err(e) => {
            report.failed.push(format!("watched VMs not read: {e}"));
            return report;
        }
    };
    if watched.is_empty() {
        return report;
    }
    let subscriptions = watched.subscriptions();
    let doors_span = (now - USE_WINDOW, now);
    let silence_span = (now - time::Duration::days(SILENCE_DAYS), now);
    let read = read::read(logs, workspaces, doors_span, silence_span).await;
    let mut decided = Vec::new();
    match read {
        Err(e) => {
            for sub in &subscriptions {
                decided.push((doors::subscription_id(sub), doors::read_failed(&e, now)));
            }
        }
        Ok(read) => {
            let events = activity::fold(&read.rows);
            // VMs with a finding stored (a scope's VM no event names now) are decided too, so a
            // door clears.
            let stored = match store::list(tables).await {
                Ok(estate) => estate.rows.into_iter().map(|r| r.host.to_ascii_lowercase()),
                Err(e) => {
                    report.failed.push(format!("estate rows not read: {e}"));
                    return report;
                }
            };
            let mut vms: BTreeSet<String> = watched.vms.clone();
            vms.extend(
                events
                    .iter()
                    .filter_map(|e| doors::door_of(e).map(|(_, vm)| vm))
                    .chain(stored.filter_map(|h| vm_of(&h)))
                    .filter(|vm| watched.covers(vm)),
            );
            // A VM whose subscription's Activity log is not read keeps its doors' last state.
            vms.retain(|vm| {
                doors::subscription_of(vm).is_some_and(|s| read.latest.contains_key(&s))
            });
            if read.capped {
                tracing::warn!("more AzureActivity rows than one read takes: the oldest were read");
            }
            for sub in &subscriptions {
                let ev = doors::subscription(sub, &read.latest, workspaces.len(), SILENCE_DAYS);
                decided.push((doors::subscription_id(sub), ev));
            }
            report.vms = vms.len();
            decided.extend(doors::evaluate(&vms, &events));
        }
    }
    for (id, ev) in decided {
        report.open += ev.findings.len();
        match store::apply(tables, &id, &ev, now).await {
            Ok(mut n) => report.notifications.append(&mut n),
            Err(e) => report
                .failed
                .push(format!("{}: {e}", store::host_name(&id))),
        }
    }
    report
        .notifications
        .sort_by(|a, b| a.notification_id.cmp(&b.notification_id));
    if let Err(e) = store::export::record_changes(tables, &ports.outbox).await {
        report
            .failed
            .push(format!("Sentinel rows not recorded: {e}"));
    }
    report
}

#[cfg(test)]
mod tests;
