//! "Other ways in": the doors onto the period's VMs that skip the Bastion recording, as the
//! estate check found them (table `estate`, every `door:*` episode of each VM in the period,
//! the earlier ones its rows keep too): each door, its VM,
//! the actor and caller address the Activity log named, when it opened and when it closed (or
//! that it is still open), in `otherdoors.csv`, the manifest's figures and the report; what
//! was read to find them (each subscription's Activity log: read, not read, or its read failed);
//! and how many VMs are reachable only through Bastion ([`super::reach`], `vmreach.csv`).

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;
use time::OffsetDateTime;

use super::manifest::FileEntry;
use super::writer::CsvFile;
use crate::arm::ids::subscription_of;
use crate::arm::resource_name;
use crate::dates::format_utc;
use crate::estate::bypass::doors::{JIT_FAILED, NOT_READ, READ_FAILED};
use crate::estate::bypass::episodes::{actor_of, of_rows};
use crate::estate::bypass::netdoors::NETWORK_FAILED;
use crate::estate::store::{self, Estate};
use crate::tables::TableStore;

/// The file of the doors.
pub const DOORS_FILE: &str = crate::spine::kinds::OTHER_DOORS;
/// Its columns, separated by spaces (pinned: a column added later goes at the end).
pub const DOOR_COLUMNS: &str =
    "door severity vm vmResourceId actor callerIp openedAt closedAt state evidence";

/// One door's episode on one VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DoorEntry {
    /// The finding code (`door:run-command`, `door:public-ip`, …).
    pub door: String,
    /// `high` or `medium`.
    pub severity: String,
    /// The VM's name.
    pub vm: String,
    /// The VM's resource id (lower-case).
    pub vm_resource_id: String,
    /// The caller the Activity log named (empty: none named).
    pub actor: String,
    /// The caller's address the Activity log named (empty: none named).
    pub caller_ip: String,
    /// When the estate check first saw it open.
    pub opened_at: String,
    /// When it saw it closed (`None`: still open when the pack was made).
    pub closed_at: Option<String>,
    /// What was seen.
    pub evidence: String,
}

/// How one subscription's Activity log was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityRead {
    /// The subscription id.
    pub subscription: String,
    /// `read`, `not-read` (no row of it reaches a workspace the app reads), `read-failed`, or
    /// `jit-policy-unread` (read, but a just-in-time policy a request needed was not).
    pub state: String,
    /// When a check last decided it.
    pub last_checked: String,
    /// Why, for every state but `read` (the finding's evidence).
    pub why: String,
}

/// The "Other ways in" section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OtherWays {
    /// Every episode open at some instant of the period (a door that opened and closed twice is
    /// two), VM, door and opening in order.
    pub doors: Vec<DoorEntry>,
    /// Each subscription's Activity log (empty: no check read or tried to read one).
    pub activity_log: Vec<ActivityRead>,
    /// VMs the estate check has decided (their network through Resource Manager, their Activity
    /// log), of those the section covers.
    pub vms_checked: usize,
    /// VMs (and, for a pack of every VM, scopes) whose network doors a failed Resource Manager
    /// read leaves undecided now (an open `check-failed:network`), resource id order.
    pub network_unread: Vec<NetworkUnread>,
    /// Of the VMs checked, how many are reachable on SSH/RDP only through Bastion, another way,
    /// or not known ([`super::reach`]).
    pub reach: super::reach::Reach,
    /// Each checked VM's reach (`vmreach.csv`).
    #[serde(skip)]
    pub reach_rows: Vec<super::reach::VmReach>,
}

/// A VM or scope whose network could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkUnread {
    /// The resource id.
    pub resource: String,
    /// Since when (the finding's first sight).
    pub since: String,
    /// The finding's evidence: the failed reads, and which doors they leave undecided.
    pub why: String,
}

/// The section for `[from, to)`, of the VMs in `vms` (`None`: every VM), from the estate's rows:
/// a door belongs when its episode was open at some instant of the period.
pub fn of_estate(
    estate: Estate,
    from: OffsetDateTime,
    to: OffsetDateTime,
    vms: Option<&BTreeSet<String>>,
) -> OtherWays {
    let covered = |vm: &str| vms.is_none_or(|v| v.contains(vm));
    let is_vm = |id: &str| crate::arm::ids::vm_of(id).as_deref() == Some(id);
    let subscriptions: Option<BTreeSet<String>> =
        vms.map(|v| v.iter().filter_map(|vm| subscription_of(vm)).collect());
    let sub_covered = |s: &str| subscriptions.as_ref().is_none_or(|v| v.contains(s));
    let mut out = OtherWays::default();
    for (host, at) in &estate.checked {
        let id = host.to_ascii_lowercase();
        if is_vm(&id) && covered(&id) {
            out.vms_checked += 1;
        }
        let Some(sub) = subscription_of(&id).filter(|s| id == format!("/subscriptions/{s}")) else {
            continue;
        };
        if !sub_covered(&sub) {
            continue;
        }
        let finding = |code: &str| {
            estate.rows.iter().find(|r| {
                r.host.eq_ignore_ascii_case(host) && r.finding == code && r.status == "open"
            })
        };
        let (state, why) = match [NOT_READ, READ_FAILED, JIT_FAILED].map(finding) {
            [Some(r), ..] => ("not-read", r.evidence.clone()),
            [None, Some(r), _] => ("read-failed", r.evidence.clone()),
            [None, None, Some(r)] => ("jit-policy-unread", r.evidence.clone()),
            [None, None, None] => ("read", String::new()),
        };
        out.activity_log.push(ActivityRead {
            subscription: sub,
            state: state.to_owned(),
            last_checked: at.clone(),
            why,
        });
    }
    out.activity_log
        .sort_by(|a, b| a.subscription.cmp(&b.subscription));
    for r in estate.rows.iter().filter(|r| {
        let id = r.host.to_ascii_lowercase();
        r.finding == NETWORK_FAILED
            && r.status == "open"
            && (covered(&id) && (is_vm(&id) || vms.is_none()))
    }) {
        out.network_unread.push(NetworkUnread {
            resource: r.host.clone(),
            // As every time of the section: to the second.
            since: crate::dates::timestamp(&r.first_seen)
                .map_or_else(|| r.first_seen.clone(), format_utc),
            why: r.evidence.clone(),
        });
    }
    out.network_unread
        .sort_by(|a, b| a.resource.cmp(&b.resource));
    (out.reach, out.reach_rows) = super::reach::of_estate(&estate, vms);
    let episodes = of_rows(estate.rows.iter().cloned());
    for (vm, list) in episodes.iter().filter(|(vm, _)| covered(vm)) {
        for e in list {
            // Open at some instant of [from, to).
            if e.opened >= to || e.closed.is_some_and(|c| c < from) {
                continue;
            }
            let (actor, caller_ip) = actor_of(&e.evidence);
            out.doors.push(DoorEntry {
                door: e.door.clone(),
                severity: e.severity.clone(),
                vm: resource_name(vm).to_owned(),
                vm_resource_id: vm.clone(),
                actor,
                caller_ip,
                opened_at: format_utc(e.opened),
                closed_at: e.closed.map(format_utc),
                evidence: e.evidence.clone(),
            });
        }
    }
    out
}

/// Reads table `estate` and writes [`DOORS_FILE`] and [`super::reach::REACH_FILE`] into `dir`:
/// their manifest entries and the section.
///
/// # Errors
/// Table and I/O errors.
pub async fn write(
    dir: &Path,
    tables: &dyn TableStore,
    period: (OffsetDateTime, OffsetDateTime),
    vms: Option<&BTreeSet<String>>,
) -> anyhow::Result<([FileEntry; 2], OtherWays)> {
    use super::reach::{REACH_COLUMNS, REACH_FILE};
    let estate = store::list(tables).await?;
    let ways = of_estate(estate, period.0, period.1, vms);
    let columns: Vec<&str> = DOOR_COLUMNS.split(' ').collect();
    let mut csv = CsvFile::create(dir, DOORS_FILE, &columns)?;
    for d in &ways.doors {
        csv.row(&cells(d))?;
    }
    let mut reach = CsvFile::create(dir, REACH_FILE, &REACH_COLUMNS)?;
    for v in &ways.reach_rows {
        reach.row(&super::reach::cells(v))?;
    }
    Ok(([csv.finish()?, reach.finish()?], ways))
}

/// One door's CSV cells, in [`DOOR_COLUMNS`] order.
pub fn cells(d: &DoorEntry) -> Vec<String> {
    let mut fields = serde_json::to_value(d).unwrap_or_default();
    fields["state"] = d.closed_at.as_ref().map_or("open", |_| "closed").into();
    let cell = |c: &str| fields[c].as_str().unwrap_or_default().to_owned();
    DOOR_COLUMNS.split(' ').map(cell).collect()
}
