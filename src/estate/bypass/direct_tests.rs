//! Which VMs whose NICs lie elsewhere a pass reads: the changed first, then the never read (the
//! one tried longest ago first), then the rotation's share; and which Activity log rows say a
//! remembered NIC may have changed.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use time::macros::datetime;

use super::{Memory, ROTATION_PASSES, changed, plan};
use crate::activity::events::ActivityRow;
use crate::arm::NetworkInterface;
use crate::estate::store::nics::Remembered;

/// Nothing remembered, the pass cap, the epoch (the network tests' memory too).
impl Default for Memory {
    fn default() -> Self {
        Self {
            known: BTreeMap::new(),
            changed: BTreeSet::new(),
            cap: super::MAX_VMS,
            now: time::OffsetDateTime::UNIX_EPOCH,
        }
    }
}

fn vm(i: usize) -> String {
    format!(
        "/subscriptions/s1/resourcegroups/rg-{i}/providers/microsoft.compute/virtualmachines/vm-{i}"
    )
}

fn nic_of(i: usize) -> NetworkInterface {
    serde_json::from_value(json!({
        "id": format!("/subscriptions/s1/resourcegroups/rg-far/providers/microsoft.network/networkinterfaces/nic-{i}"),
        "properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": {
            "publicIPAddress": {"id": format!("/subscriptions/s1/resourcegroups/rg-far/providers/microsoft.network/publicipaddresses/pip-{i}")}}}],
            "networkSecurityGroup": {"id": "/subscriptions/s1/resourcegroups/rg-far/providers/microsoft.network/networksecuritygroups/nsg-far"},
            "virtualMachine": {"id": vm(i)}}}))
    .expect("nic")
}

fn remembered(i: usize, read_hour: Option<u8>, tried_hour: u8) -> Remembered {
    let at = |h: u8| datetime!(2026-11-25 00:00 UTC) + time::Duration::hours(h.into());
    Remembered {
        vm: vm(i),
        nics: vec![nic_of(i)],
        read_at: read_hour.map(at),
        tried_at: at(tried_hour),
    }
}

#[test]
fn the_changed_go_first_then_the_never_read_oldest_tried_first_then_the_rotations_share() {
    let mut known = BTreeMap::new();
    // 0..16 read (0 longest ago), 20 and 21 tried and failed (21 longer ago), 30 never tried.
    for i in 0..16 {
        known.insert(vm(i), remembered(i, Some(u8::try_from(i).unwrap_or(0)), 0));
    }
    known.insert(vm(20), remembered(20, None, 9));
    known.insert(vm(21), remembered(21, None, 3));
    let mut vms: Vec<String> = (0..16).chain([20, 21, 30]).map(vm).collect();
    vms.reverse();
    let memory = Memory {
        known,
        changed: [vm(7)].into(),
        cap: 100,
        ..Memory::default()
    };
    let p = plan(&vms, &memory);
    // 15 remembered and unchanged: ceil(15 / 8) = 2 of them, read longest ago first.
    assert_eq!(15_usize.div_ceil(ROTATION_PASSES), 2);
    assert_eq!(p, [vm(7), vm(30), vm(21), vm(20), vm(0), vm(1)]);
    // The cap keeps the order's head.
    let capped = Memory { cap: 3, ..memory };
    assert_eq!(plan(&vms, &capped), [vm(7), vm(30), vm(21)]);
}

fn row(op: &str, resource: &str, at: time::OffsetDateTime) -> ActivityRow {
    ActivityRow {
        at,
        operation: op.to_owned(),
        status: "Success".into(),
        caller: "mallory@contoso.com".into(),
        caller_ip: "203.0.113.9".into(),
        resource: resource.to_ascii_lowercase(),
        subscription: "s1".into(),
        correlation: format!("c-{resource}"),
        properties: json!({}),
    }
}

#[test]
fn a_write_to_a_remembered_vm_its_nic_public_ip_or_nsg_since_its_read_marks_it_changed() {
    let read_at = datetime!(2026-11-25 10:00 UTC);
    let known: BTreeMap<String, Remembered> = (0..6)
        .map(|i| {
            let mut r = remembered(i, Some(10), 10);
            r.read_at = Some(read_at);
            (vm(i), r)
        })
        .collect();
    let nic = |i: usize| nic_of(i).id;
    let pip = |i: usize| {
        format!(
            "/subscriptions/s1/resourcegroups/rg-far/providers/microsoft.network/publicipaddresses/pip-{i}"
        )
    };
    let later = read_at + time::Duration::minutes(20);
    let rows = vec![
        row("microsoft.network/networkinterfaces/write", &nic(0), later),
        row("microsoft.network/publicipaddresses/write", &pip(1), later),
        row("microsoft.compute/virtualmachines/write", &vm(2), later),
        // Before the read (beyond the skew): already in what was read.
        row(
            "microsoft.network/networkinterfaces/write",
            &nic(3),
            read_at - time::Duration::hours(1),
        ),
        // Within the skew before the read: read again.
        row(
            "microsoft.network/networkinterfaces/delete",
            &nic(4),
            read_at - time::Duration::minutes(2),
        ),
        // Not a network change.
        row(
            "microsoft.compute/virtualmachines/runcommand/action",
            &vm(5),
            later,
        ),
    ];
    let got = changed(&rows, &known);
    assert_eq!(got, [vm(0), vm(1), vm(2), vm(4)].into());
    // An NSG write touches every remembered NIC behind that NSG.
    let nsg = "/subscriptions/s1/resourcegroups/rg-far/providers/microsoft.network/networksecuritygroups/nsg-far";
    let all = changed(
        &[row(
            "microsoft.network/networksecuritygroups/write",
            nsg,
            later,
        )],
        &known,
    );
    assert_eq!(all.len(), 6);
}
