//! The authorization bench's estate: its sessions, the PIM activations drawn for them (which
//! role, held where) in the instance list's shape, and the rule by which the bench's truth counts
//! a role for a session.

use std::collections::BTreeSet;

use bastion_recordings::catalogue::days::DayRow;
use bastion_recordings::dates::format_utc_millis;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::TICK;

pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// An activation: its arrival in the instance list, its window's start and end.
pub(crate) type Window = (OffsetDateTime, OffsetDateTime, OffsetDateTime);

/// Where an activation's role is held and which: `Contributor` at the subscription (every
/// action but the authorization writes), Virtual Machine User Login at the subscription (the
/// login data action only: it counts for a session signed in with Entra ID, a UPN on a VM showing
/// the Entra ID login extension), or Reader at a virtual network of the subscription (it counts
/// where that network is the session's VM's, `Doors::networks`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Held {
    Contributor,
    VmLogin,
    /// The network's index in the subscription ([`vnet`]).
    VnetReader(u64),
}

/// Virtual Machine User Login's definition GUID (its data action
/// `Microsoft.Compute/virtualMachines/login/action`).
pub(crate) const VM_USER_LOGIN: &str = "fb879df8-f326-4884-b1cf-06f3ad86be52";
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const CONTRIBUTOR: &str = "c8d4ff99-41c3-41a8-9f60-21dfdad59608";

/// One session: its row, its VM's number, and the activation drawn for it (`None`: not drawn
/// covered; with the role it holds where, which may not count for it: [`counts`]).
pub(crate) struct Planned {
    pub(crate) row: DayRow,
    pub(crate) vm: u64,
    pub(crate) activation: Option<Window>,
    pub(crate) held: Held,
}

/// Virtual networks a subscription: VM `vm` lies in network `(vm / subscriptions) % VNETS`.
pub(crate) const VNETS: u64 = 4;

/// The id of network `n` of subscription `s` (lower-case, as the doors' pass gives it).
pub(crate) fn vnet(s: &str, n: u64) -> String {
    format!(
        "/subscriptions/{s}/resourcegroups/rg-net/providers/microsoft.network/virtualnetworks/vnet-{n}"
    )
}

/// Whether a role held as `held` counts for session `p` (the bench's truth): Contributor always;
/// VM User Login on a VM with the Entra ID login extension (`entra_vms`) signed in with a UPN;
/// a Reader at the session's VM's own network.
pub(crate) fn counts(held: Held, p: &Planned, entra_vms: &BTreeSet<String>, a: &Args) -> bool {
    match held {
        Held::Contributor => true,
        Held::VmLogin => {
            p.row.user_name.contains('@')
                && entra_vms.contains(&p.row.target_resource_id.to_ascii_lowercase())
        }
        Held::VnetReader(n) => (p.vm / a.subscriptions) % VNETS == n,
    }
}

fn sub(i: u64) -> String {
    format!("00000000-0000-0000-0000-{i:012}")
}

/// The `i`th session, starting at `start`.
/// `kinds` draws, with `--entra-share` above 0 only, where each activation's role is held (so a
/// run without it draws what it always drew).
pub(crate) fn session(
    i: u64,
    start: OffsetDateTime,
    rng: &mut Rng,
    kinds: &mut Rng,
    a: &Args,
) -> Planned {
    // A person works in one subscription, on its VMs.
    let person = rng.below((a.rate / 20).max(1));
    let in_sub = (2 * a.hosts / a.subscriptions).max(1);
    let vm = rng.below(in_sub) * a.subscriptions + person % a.subscriptions;
    let s = sub(vm % a.subscriptions);
    let row = DayRow {
        tunnel_id: format!("t-{i:08}"),
        start,
        end: Some(start + time::Duration::minutes(30)),
        host: format!("bas-{:04}", vm / 2),
        vm: format!("vm-{vm:05}"),
        // `--entra-share` percent of people sign in with their UPN (Entra ID), the rest as
        // `azureuser`.
        user_name: if person % 100 < a.entra {
            format!("p{person}@contoso.com")
        } else {
            "azureuser".into()
        },
        user_email: format!("p{person}@contoso.com"),
        protocol: "SSH".into(),
        outcome: "connected".into(),
        client_ip: "10.0.0.4".into(),
        target_resource_id: format!(
            "/subscriptions/{s}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm-{vm:05}"
        ),
        subscription: s,
        resource_group: "rg-app".into(),
        duration_ms: Some(1_800_000),
        end_arrived_at: None,
        written: None,
        recorded: true,
        recording_ids: vec![],
        recorded_by: "exact".into(),
        replaced: false,
        unrecorded_notified: false,
        joined: true,
        pending: None,
        review: None,
        authorization: String::new(),
        authorization_record: String::new(),
    };
    let activation = (rng.below(100) < a.pim).then(|| {
        let from = start - time::Duration::minutes(rng.below(60) as i64);
        let late = rng.below(10) == 0;
        let arrival = if late {
            start + time::Duration::seconds(rng.below(TICK.whole_seconds() as u64) as i64)
        } else {
            from
        };
        (arrival, from, from + time::Duration::hours(8))
    });
    // Of the activations, `--entra-share` percent of VM User Login, as many of a Reader at the
    // session's VM's network, the rest Contributor.
    let held = match activation.is_some() && a.entra > 0 {
        true => match kinds.below(100) {
            k if k < a.entra => Held::VmLogin,
            k if k < 2 * a.entra => Held::VnetReader((vm / a.subscriptions) % VNETS),
            _ => Held::Contributor,
        },
        false => Held::Contributor,
    };
    Planned {
        row,
        vm,
        activation,
        held,
    }
}

/// An instance as `GetRoleAssignmentScheduleInstancesByScope.json` gives it.
pub(crate) fn instance(n: usize, p: &Planned) -> Value {
    let (_, from, until) = p.activation.unwrap();
    let (s, who) = (&p.row.subscription, &p.row.user_email);
    let (guid, name) = match p.held {
        Held::Contributor => (CONTRIBUTOR, "Contributor"),
        Held::VmLogin => (VM_USER_LOGIN, "Virtual Machine User Login"),
        Held::VnetReader(_) => (READER, "Reader"),
    };
    let (scope, kind) = match p.held {
        Held::VnetReader(n) => (vnet(s, n), "virtualnetwork"),
        _ => (format!("/subscriptions/{s}"), "subscription"),
    };
    let role =
        format!("/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}");
    json!({"properties": {
        "originRoleAssignmentId": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/a{n}"),
        "linkedRoleEligibilityScheduleId": "b1477448-2cc6-4ceb-93b4-54a202a89413",
        "assignmentType": "Activated", "scope": scope, "roleDefinitionId": role,
        "principalId": format!("oid-{who}"), "principalType": "User", "status": "Accepted",
        "roleAssignmentScheduleId": format!("{scope}/providers/Microsoft.Authorization/RoleAssignmentSchedules/s{n}"),
        "startDateTime": format_utc_millis(from), "endDateTime": format_utc_millis(until),
        "memberType": "Direct", "createdOn": format_utc_millis(from),
        "expandedProperties": {
            "scope": {"id": scope, "displayName": "sub", "type": kind},
            "roleDefinition": {"id": guid, "displayName": name, "type": "BuiltInRole"},
            "principal": {"id": format!("oid-{who}"), "displayName": "User", "email": who, "type": "User"}}},
        "name": format!("i{n}"),
        "id": format!("{scope}/providers/Microsoft.Authorization/RoleAssignmentScheduleInstances/i{n}"),
        "type": "Microsoft.Authorization/RoleAssignmentScheduleInstances"})
}

pub(crate) struct Args {
    pub(crate) hosts: u64,
    pub(crate) rate: u64,
    pub(crate) subscriptions: u64,
    pub(crate) pim: u64,
    pub(crate) entra: u64,
}
