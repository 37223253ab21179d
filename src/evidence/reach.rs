//! How many of the pack's watched VMs are reachable on SSH/RDP only through Bastion, as the last
//! estate check decided their network: the one definition of the figure, counted for the
//! report and `manifest.json` (`figures.otherWaysIn.reach`) and listed VM by VM in `vmreach.csv`.
//!
//! A VM the estate check has decided (its `~checked` marker) is
//! - `bastion-only` when its last check decided both network doors (`door:network-path`: no
//!   path to TCP 22/3389 from anywhere but the Bastion subnet, reason outside or internal;
//!   `door:public-ip`: no public IP on its NICs) and neither is open;
//! - `other-ways` when either is open (whatever the last check could read);
//! - `unknown` otherwise: its last check did not decide its network (a failed read, the Bastion
//!   subnets not known, no NIC of it listed, no Resource Manager read), never counted as closed.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::arm::ids::vm_of;
use crate::arm::resource_name;
use crate::estate::bypass::netdoors::{NETWORK_FAILED, NETWORK_PATH, PUBLIC_IP};
use crate::estate::store::Estate;

/// The file of the VMs' reach.
pub const REACH_FILE: &str = "vmreach.csv";
/// Its columns (pinned: a column added later goes at the end).
pub const REACH_COLUMNS: [&str; 5] = ["vm", "vmResourceId", "reach", "lastChecked", "why"];

/// The figure: the checked VMs of the pack by how they can be reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reach {
    /// Reachable on SSH/RDP only through Bastion.
    pub bastion_only: usize,
    /// Reachable another way: an open network path or public IP.
    pub other_ways: usize,
    /// Not decided by the last check.
    pub unknown: usize,
}

/// One VM's reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VmReach {
    /// Its resource id (lower-case).
    pub vm: String,
    /// `bastion-only`, `other-ways` or `unknown`.
    pub reach: &'static str,
    /// When the estate check last decided it.
    pub last_checked: String,
    /// The open findings' evidence (`other-ways`), or why it is unknown.
    pub why: String,
}

/// Each checked VM of `vms` (`None`: every VM) by its reach, resource id order, and the counts.
pub fn of_estate(estate: &Estate, vms: Option<&BTreeSet<String>>) -> (Reach, Vec<VmReach>) {
    let mut out = Vec::new();
    let mut figure = Reach::default();
    for (host, at) in &estate.checked {
        let id = host.to_ascii_lowercase();
        if vm_of(&id).as_deref() != Some(id.as_str()) || vms.is_some_and(|v| !v.contains(&id)) {
            continue;
        }
        let open = |code: &str| {
            estate.rows.iter().find(|r| {
                r.host.eq_ignore_ascii_case(&id) && r.finding == code && r.status == "open"
            })
        };
        let doors: Vec<String> = [NETWORK_PATH, PUBLIC_IP]
            .iter()
            .filter_map(|c| open(c))
            .map(|r| format!("{}: {}", r.finding, r.evidence))
            .collect();
        let decided = estate
            .assessed
            .get(&id)
            .is_some_and(|a| a.contains(NETWORK_PATH) && a.contains(PUBLIC_IP));
        let (reach, why) = if !doors.is_empty() {
            figure.other_ways += 1;
            ("other-ways", doors.join("; "))
        } else if decided {
            figure.bastion_only += 1;
            ("bastion-only", String::new())
        } else {
            figure.unknown += 1;
            let why = open(NETWORK_FAILED).map_or_else(
                || "its last check did not decide its network doors".to_owned(),
                |r| r.evidence.clone(),
            );
            ("unknown", why)
        };
        out.push(VmReach {
            vm: id,
            reach,
            last_checked: at.clone(),
            why,
        });
    }
    out.sort_by(|a, b| a.vm.cmp(&b.vm));
    (figure, out)
}

/// One VM's CSV cells, in [`REACH_COLUMNS`] order.
pub fn cells(v: &VmReach) -> [String; 5] {
    let mut fields = serde_json::to_value(v).unwrap_or_default();
    fields["vmResourceId"] = v.vm.clone().into();
    fields["vm"] = resource_name(&v.vm).into();
    REACH_COLUMNS.map(|c| fields[c].as_str().unwrap_or_default().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estate::store::Row;

    const SUB: &str = "/subscriptions/s";

    fn vm(name: &str) -> String {
        format!("{SUB}/resourcegroups/rg/providers/microsoft.compute/virtualmachines/{name}")
    }

    fn open(host: &str, finding: &str) -> Row {
        Row {
            host: host.to_owned(),
            host_name: resource_name(host).to_owned(),
            finding: finding.to_owned(),
            severity: "medium".to_owned(),
            status: "open".to_owned(),
            first_seen: "2026-03-01T00:00:00.000Z".to_owned(),
            last_seen: "2026-03-01T00:00:00.000Z".to_owned(),
            resolved_at: None,
            evidence: format!("{finding} seen"),
            earlier: Vec::new(),
        }
    }

    #[test]
    fn a_vm_is_bastion_only_when_its_last_check_decided_both_network_doors_closed() {
        let both: BTreeSet<String> = [NETWORK_PATH, PUBLIC_IP, "door:run-command"]
            .map(str::to_owned)
            .into();
        let activity_only: BTreeSet<String> = ["door:run-command".to_owned()].into();
        let at = "2026-03-31T23:55:00.000Z".to_owned();
        let estate = Estate {
            rows: vec![
                open(&vm("b"), NETWORK_PATH),
                open(&vm("d"), NETWORK_FAILED),
                // A door of another kind does not make a VM reachable over the network.
                open(&vm("a"), "door:run-command"),
            ],
            checked: [vm("a"), vm("b"), vm("c"), vm("d"), SUB.to_owned()]
                .map(|h| (h, at.clone()))
                .into(),
            assessed: [
                (vm("a"), both.clone()),
                (vm("b"), both),
                (vm("c"), activity_only.clone()),
                (vm("d"), activity_only),
            ]
            .into(),
        };
        let (figure, rows) = of_estate(&estate, None);
        assert_eq!(
            figure,
            Reach {
                bastion_only: 1,
                other_ways: 1,
                unknown: 2
            }
        );
        let reach: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (resource_name(&r.vm), r.reach))
            .collect();
        assert_eq!(
            reach,
            [
                ("a", "bastion-only"),
                ("b", "other-ways"),
                ("c", "unknown"),
                ("d", "unknown")
            ]
        );
        assert!(rows[1].why.contains("door:network-path seen"));
        assert!(rows[2].why.contains("did not decide"));
        assert_eq!(rows[3].why, "check-failed:network seen");
        // A pack of some VMs counts only them.
        let only: BTreeSet<String> = [vm("a")].into();
        assert_eq!(of_estate(&estate, Some(&only)).0.bastion_only, 1);
        assert_eq!(of_estate(&estate, Some(&only)).1.len(), 1);
    }
}
