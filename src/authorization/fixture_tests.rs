//! The fixture: 864 sessions with their ground truth, every case the decision must get right,
//! decided from evidence in the sources' documented shapes (Resource Manager instances as the
//! REST specification's example `GetRoleAssignmentScheduleInstancesByScope.json` gives them,
//! `AuditLogs` rows in the table's columns with dynamic values as JSON text, as the Logs Query
//! API answers them; just-in-time requests as the Activity log's `initiate` body; each group's
//! members as Graph's transitive members list gives them; role definitions as the specification's
//! `GetRoleDefinitionAtScope.json` lists them; each VM's Entra ID login extension as the kept
//! shared-account state has its VM list's answer), all in one pool so one person's evidence never
//! decides another's session.

use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::auditlogs;
use super::decide::{Entra, Reads, Session, Verdict, decide};
use super::evidence::{Evidence, of_instance};
use super::members::Members;
use super::read::{Doors, jit_evidence};
use super::shared_store::{Account, Accounts, LIST_UNREAD, entra};
use crate::activity::events::{Event, JIT_INITIATE, Outcome};
use crate::arm::ScheduleInstance;
use crate::arm::cidr::AddrSet;
use crate::dates::format_utc_millis;
use crate::graph::members::Member;

const T0: OffsetDateTime = datetime!(2026-11-01 00:00 UTC);
const CASES: usize = 27;
const EACH: usize = 32;
const DENIED: &str = "99999999-0000-0000-0000-000000000403";
/// A subscription whose role definitions Resource Manager refused (its schedules read).
const NO_DEFINITIONS: &str = "99999999-0000-0000-0000-0000000d0403";
/// Built-in roles' GUIDs (Learn, "Azure built-in roles").
const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const NETWORK_CONTRIBUTOR: &str = "4d97b98b-1d4f-4787-a291-c67834d212e7";
/// A custom role joining subnets only (what a VM's NIC needs of its network): no network read.
const SUBNET_JOINER: &str = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd";
/// The role the instances name (a custom role in the specification's example).
const EXAMPLE_ROLE: &str = "c8d4ff99-41c3-41a8-9f60-21dfdad59608";
/// Virtual Machine User Login: the VM's children's reads and the login data action, not the VM's
/// read.
const VM_USER_LOGIN: &str = "fb879df8-f326-4884-b1cf-06f3ad86be52";
/// The cases of a role allowing only through Entra VM sign-in, each on a VM of its own: the
/// VM's login extension absent, present, not told.
const LOGIN_ONLY: [usize; 3] = [20, 21, 22];

fn sub(i: usize) -> String {
    if i % CASES == 13 {
        return DENIED.into();
    }
    if i % CASES == 19 {
        return NO_DEFINITIONS.into();
    }
    format!("{:08}-1111-2222-3333-444444444444", i % 5)
}

fn vm(i: usize) -> String {
    if LOGIN_ONLY.contains(&(i % CASES)) {
        return format!(
            "/subscriptions/{}/resourcegroups/rg-{}/providers/microsoft.compute/virtualmachines/login-{i}",
            sub(i),
            i % 7
        );
    }
    format!(
        "/subscriptions/{}/resourcegroups/rg-{}/providers/microsoft.compute/virtualmachines/vm-{}",
        sub(i),
        i % 7,
        i % 50
    )
}

fn start(i: usize) -> OffsetDateTime {
    T0 + Duration::minutes(37 * i as i64)
}

fn upn(i: usize) -> String {
    format!("user{i}@contoso.com")
}

/// An instance in the specification's example shape.
fn instance(
    i: usize,
    n: usize,
    scope: &str,
    principal: (&str, &str, &str),
    activated: bool,
    from: OffsetDateTime,
    until: Option<OffsetDateTime>,
) -> Evidence {
    let (id, email, kind) = principal;
    let v = json!({
        "properties": {
            "originRoleAssignmentId": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/ra-{i}-{n}"),
            "linkedRoleEligibilityScheduleId": if activated { json!(format!("el-{i}")) } else { Value::Null },
            "assignmentType": if activated { "Activated" } else { "Assigned" },
            "scope": scope,
            "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/c8d4ff99-41c3-41a8-9f60-21dfdad59608", sub(i)),
            "principalId": id, "principalType": kind, "status": "Accepted",
            "roleAssignmentScheduleId": format!("/subscriptions/{}/providers/Microsoft.Authorization/RoleAssignmentSchedules/sch-{i}-{n}", sub(i)),
            "startDateTime": format_utc_millis(from),
            "endDateTime": until.map(format_utc_millis),
            "memberType": "Direct", "createdOn": format_utc_millis(from),
            "expandedProperties": {
                "scope": {"id": scope, "displayName": "scope", "type": "resourcegroup"},
                "roleDefinition": {"id": "c8d4ff99-41c3-41a8-9f60-21dfdad59608", "displayName": "Contributor", "type": "BuiltInRole"},
                "principal": {"id": id, "displayName": "Someone", "email": email, "type": kind}
            }
        },
        "name": format!("inst-{i}-{n}"),
        "id": format!("/subscriptions/{}/providers/Microsoft.Authorization/RoleAssignmentScheduleInstances/inst-{i}-{n}", sub(i)),
        "type": "Microsoft.Authorization/RoleAssignmentScheduleInstances"
    });
    let parsed: ScheduleInstance = serde_json::from_value(v).unwrap_or_default();
    of_instance(&parsed, &sub(i))
}

fn person_instance(
    i: usize,
    n: usize,
    scope: &str,
    from: OffsetDateTime,
    until: Option<OffsetDateTime>,
    activated: bool,
) -> Evidence {
    let oid = format!("oid-{i}");
    instance(i, n, scope, (&oid, &upn(i), "User"), activated, from, until)
}

/// `e` naming role `guid` instead.
fn with_role(mut e: Evidence, guid: &str) -> Evidence {
    e.role = format!(
        "/subscriptions/{}/providers/microsoft.authorization/roledefinitions/{guid}",
        e.seen_under
    );
    e
}

/// A role definition in the list's shape (the specification's `GetRoleDefinitionAtScope.json`).
fn definition(guid: &str, name: &str, actions: &[&str], not_actions: &[&str]) -> Value {
    json!({"properties": {"roleName": name, "type": "BuiltInRole", "description": name,
        "assignableScopes": ["/"], "permissions": [{"actions": actions, "notActions": not_actions,
        "dataActions": [], "notDataActions": []}]},
        "id": format!("/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
        "type": "Microsoft.Authorization/roleDefinitions", "name": guid})
}

/// Every subscription's definitions as listed (one list answer), but [`NO_DEFINITIONS`]'s,
/// refused.
fn definitions() -> std::collections::BTreeMap<String, super::roles::Definitions> {
    let list = json!({"value": [
        definition(CONTRIBUTOR, "Contributor", &["*"], &["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action"]),
        definition(EXAMPLE_ROLE, "Example", &["*"], &["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write"]),
        definition(READER, "Reader", &["*/read"], &[]),
        definition(NETWORK_CONTRIBUTOR, "Network Contributor", &["Microsoft.Authorization/*/read", "Microsoft.Network/*", "Microsoft.Resources/subscriptions/resourceGroups/read"], &[]),
        definition(VM_USER_LOGIN, "Virtual Machine User Login", &["Microsoft.Network/publicIPAddresses/read", "Microsoft.Network/virtualNetworks/read", "Microsoft.Network/loadBalancers/read", "Microsoft.Network/networkInterfaces/read", "Microsoft.Compute/virtualMachines/*/read", "Microsoft.HybridCompute/machines/*/read", "Microsoft.HybridConnectivity/endpoints/listCredentials/action"], &[]),
        definition(SUBNET_JOINER, "Subnet joiner", &["Microsoft.Network/virtualNetworks/subnets/join/action"], &[]),
    ]});
    let mut list = list;
    list["value"][4]["properties"]["permissions"][0]["dataActions"] = json!([
        "Microsoft.Compute/virtualMachines/login/action",
        "Microsoft.HybridCompute/machines/login/action"
    ]);
    let items: Vec<crate::arm::RoleDefinition> =
        serde_json::from_value(list["value"].clone()).expect("definitions");
    let listed = super::roles::Definitions::of(&items, T0);
    let mut out: std::collections::BTreeMap<String, super::roles::Definitions> =
        (0..5).map(|k| (sub(k), listed.clone())).collect();
    out.insert(DENIED.into(), listed);
    let refused = format!(
        "role definitions of /subscriptions/{NO_DEFINITIONS} not read: 403 Reader at subscription scope (/subscriptions/{NO_DEFINITIONS}), or Microsoft.Authorization/roleDefinitions/read there"
    );
    out.insert(
        NO_DEFINITIONS.into(),
        super::roles::Definitions {
            failed: Some((T0, refused)),
            ..super::roles::Definitions::default()
        },
    );
    out
}

/// The virtual network of VM `vm(i)` (its NICs' subnets), in the subscription's network group.
fn vnet(i: usize) -> String {
    format!(
        "/subscriptions/{}/resourcegroups/rg-net/providers/microsoft.network/virtualnetworks/vnet-{}",
        sub(i),
        i % 7
    )
}

fn rg(i: usize) -> String {
    format!("/subscriptions/{}/resourcegroups/rg-{}", sub(i), i % 7)
}

/// An `AuditLogs` row of person `i` as the Logs Query API answers it (dynamic columns as JSON
/// text), read.
fn audit(i: usize, op: &str, targets: Value, details: Value, at: OffsetDateTime) -> Evidence {
    let by = json!({"user": {"id": format!("oid-{i}"), "userPrincipalName": upn(i), "displayName": "Someone"}});
    audit_by(i, op, &by, (targets, details), at)
}

/// An `AuditLogs` row initiated `by` (its `InitiatedBy`), read.
fn audit_by(
    i: usize,
    op: &str,
    by: &Value,
    (targets, details): (Value, Value),
    at: OffsetDateTime,
) -> Evidence {
    let columns: Vec<String> = [
        "TenantId",
        "Id",
        "TimeGenerated",
        "OperationName",
        "Category",
        "Result",
        "ResultReason",
        "LoggedByService",
        "InitiatedBy",
        "TargetResources",
        "AdditionalDetails",
        "CorrelationId",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let row = vec![
        json!("tenant"),
        json!(format!("Directory_{i}_{op}")),
        json!(format_utc_millis(at)),
        json!(op),
        json!("RoleManagement"),
        json!("success"),
        json!("maintenance window"),
        json!("PIM"),
        json!(by.to_string()),
        json!(targets.to_string()),
        json!(details.to_string()),
        json!(format!("corr-{i}")),
    ];
    auditlogs::read(&columns, &row).unwrap_or_default()
}

fn details(from: OffsetDateTime, until: OffsetDateTime) -> Value {
    // Deliberately not in the order of another category: read by key.
    json!([{"key": "ExpirationTime", "value": format_utc_millis(until)}, {"key": "RoleDefinitionOriginId", "value": "c8d4ff99"}, {"key": "StartTime", "value": format_utc_millis(from)}])
}

fn jit_event(i: usize, at: OffsetDateTime, source: &str) -> Event {
    let body = json!({"virtualMachines": [{"id": vm(i), "ports": [{"number": 22, "allowedSourceAddressPrefix": source, "endTimeUtc": format_utc_millis(at + Duration::hours(3))}]}], "justification": "JIT for patching"});
    Event {
        operation: JIT_INITIATE.to_owned(),
        resource: format!(
            "/subscriptions/{}/resourcegroups/rg-{}/providers/microsoft.security/locations/westeurope/jitnetworkaccesspolicies/default",
            sub(i),
            i % 7
        ),
        correlation: format!("corr-jit-{i}"),
        outcome: Outcome::Succeeded,
        at,
        caller: upn(i),
        caller_ip: "203.0.113.9".into(),
        properties: json!({"requestbody": body.to_string()}),
        jit: None,
    }
}

/// The fixture: the sessions with their truth, the evidence pool, the doors and the reads.
fn fixture() -> (Vec<(Session, Verdict)>, Vec<Evidence>, Doors, Reads) {
    let mut sessions = Vec::new();
    let mut pool = Vec::new();
    let mut events = Vec::new();
    let mut accounts = Accounts::new();
    let mut networks = super::decide::Networks::default();
    for i in 0..CASES * EACH {
        let t = start(i);
        let m = Duration::minutes;
        let mut s = Session {
            upn: upn(i),
            object_id: String::new(),
            vm: vm(i),
            start: Some(t),
            protocol: String::new(),
            host: format!("b-{}", i % 3),
            entra: Entra::No,
        };
        // Its VM account and its VM's extensions as last read: a login-only case's by its case
        // (absent, present; not told: never read, or its VM list refused), every other VM's by
        // its name (its cover not depending on the login action, decided as ever whatever they
        // say), and the account in UPN form but one session in four (a local account).
        let case = i % CASES;
        let account = match (i / CASES) % 4 {
            0 if !LOGIN_ONLY.contains(&case) => "azureuser".to_owned(),
            _ => upn(i),
        };
        let told = match case {
            20 => Some("absent".to_owned()),
            21 => Some("present".to_owned()),
            22 if (i / CASES).is_multiple_of(2) => None,
            22 => Some(format!("{LIST_UNREAD}403 Reader at subscription scope")),
            _ => match (i % 50) % 3 {
                0 => Some("present".to_owned()),
                1 => Some("absent".to_owned()),
                _ => None,
            },
        };
        let state = Account {
            entra: told.clone().unwrap_or_default(),
            entra_at: told.map(|_| T0),
            ..Account::default()
        };
        accounts.insert((s.vm.clone(), account.clone()), state);
        s.entra = entra(&accounts, (&s.vm, &account), true);
        let truth = match i % CASES {
            0 => {
                pool.push(person_instance(
                    i,
                    0,
                    &rg(i),
                    t - m(30),
                    Some(t + m(450)),
                    true,
                ));
                Verdict::Pim
            }
            1 => {
                pool.push(person_instance(
                    i,
                    0,
                    &rg(i),
                    t + m(20),
                    Some(t + m(500)),
                    true,
                ));
                Verdict::None
            }
            2 => {
                pool.push(person_instance(
                    i,
                    0,
                    &vm(i),
                    t - m(420),
                    Some(t + m(60)),
                    true,
                ));
                Verdict::Pim
            }
            3 => {
                s.upn = upn(i).to_uppercase();
                pool.push(person_instance(
                    i,
                    0,
                    &rg(i),
                    t - m(5),
                    Some(t + m(60)),
                    true,
                ));
                Verdict::Pim
            }
            4 => {
                s.upn = format!("user{i}_fabrikam.com#EXT#@contoso.onmicrosoft.com");
                let e = instance(
                    i,
                    0,
                    &rg(i),
                    ("guest-oid", &format!("user{i}@fabrikam.com"), "User"),
                    true,
                    t - m(10),
                    Some(t + m(60)),
                );
                pool.push(e);
                Verdict::Pim
            }
            5 => {
                pool.push(person_instance(
                    i,
                    0,
                    &rg(i),
                    t + m(4),
                    Some(t + m(60)),
                    true,
                ));
                Verdict::Pim
            }
            6 => {
                pool.push(person_instance(
                    i,
                    0,
                    &rg(i),
                    t - m(120),
                    Some(t - m(4)),
                    true,
                ));
                Verdict::Pim
            }
            7 => {
                pool.push(person_instance(
                    i,
                    0,
                    &rg(i),
                    t + m(6),
                    Some(t + m(60)),
                    true,
                ));
                Verdict::None
            }
            8 => {
                let group = format!("grp-{i}");
                pool.push(instance(
                    i,
                    0,
                    &format!("/subscriptions/{}", sub(i)),
                    (&group, "", "Group"),
                    false,
                    t - Duration::days(90),
                    None,
                ));
                let targets = json!([{"id": group, "displayName": "VM operators", "type": "Group"}, {"id": format!("oid-{i}"), "userPrincipalName": upn(i), "type": "User"}]);
                pool.push(audit(
                    i,
                    "Add member to group completed (PIM activation)",
                    targets,
                    details(t - m(15), t + m(105)),
                    t - m(15),
                ));
                Verdict::PimGroup
            }
            9 => {
                events.push(jit_event(i, t - m(2), "10.0.0.0/26"));
                Verdict::Jit
            }
            10 => {
                pool.push(person_instance(
                    i,
                    0,
                    &rg(i),
                    t - m(60),
                    Some(t + m(60)),
                    true,
                ));
                pool.push(person_instance(
                    i,
                    1,
                    &vm(i),
                    t - m(20),
                    Some(t + m(100)),
                    true,
                ));
                Verdict::Pim
            }
            11 => {
                s.upn = String::new();
                pool.push(person_instance(
                    i,
                    0,
                    &rg(i),
                    t - m(30),
                    Some(t + m(60)),
                    true,
                ));
                Verdict::Unknown
            }
            12 => {
                let targets = json!([{"id": "c8d4ff99-41c3-41a8-9f60-21dfdad59608", "displayName": "Contributor", "type": "Role"}, {"id": rg(i), "displayName": "rg", "type": "Other"}]);
                pool.push(audit(
                    i,
                    "Add member to role completed (PIM activation)",
                    targets,
                    details(t - m(50), t + m(10)),
                    t - m(50),
                ));
                Verdict::Pim
            }
            13 => Verdict::Unknown,
            14 => {
                pool.push(person_instance(
                    i,
                    0,
                    &rg(i),
                    t - Duration::days(400),
                    None,
                    false,
                ));
                Verdict::Standing
            }
            16 => {
                // A plain member of a group holding a standing role on the VM's group.
                pool.push(instance(
                    i,
                    0,
                    &rg(i),
                    (&format!("grp-{i}"), "", "Group"),
                    false,
                    t - Duration::days(30),
                    None,
                ));
                Verdict::Standing
            }
            17 => {
                // An activation of a role granting no VM read (Network Contributor) at the
                // VM's group: it does not allow the connection.
                let e = person_instance(i, 0, &rg(i), t - m(30), Some(t + m(60)), true);
                pool.push(with_role(e, NETWORK_CONTRIBUTOR));
                Verdict::None
            }
            18 => {
                // Reader activated at the session's Bastion host: its read is what it grants.
                let host = format!(
                    "/subscriptions/{}/resourcegroups/rg-hub/providers/microsoft.network/bastionhosts/b-{}",
                    sub(i),
                    i % 3
                );
                let e = person_instance(i, 0, &host, t - m(30), Some(t + m(60)), true);
                pool.push(with_role(e, READER));
                // Another host's activation does not count.
                let other = host.replace("bastionhosts/b-", "bastionhosts/other-");
                let e = person_instance(i, 1, &other, t - m(30), Some(t + m(60)), true);
                pool.push(with_role(e, READER));
                Verdict::Pim
            }
            19 => {
                // An activation whose role's definition could not be read (403).
                pool.push(person_instance(
                    i,
                    0,
                    &rg(i),
                    t - m(30),
                    Some(t + m(60)),
                    true,
                ));
                Verdict::Unknown
            }
            20..=22 => {
                // Virtual Machine User Login activated at the VM: it allows the session only
                // through Entra VM sign-in, as the VM's extension tells it.
                let e = person_instance(i, 0, &vm(i), t - m(30), Some(t + m(60)), true);
                pool.push(with_role(e, VM_USER_LOGIN));
                match case {
                    20 => Verdict::None,
                    21 => Verdict::Pim,
                    _ => Verdict::Unknown,
                }
            }
            23 => {
                // Reader activated at the VM's virtual network: its read is what it grants.
                let e = person_instance(i, 0, &vnet(i), t - m(30), Some(t + m(60)), true);
                pool.push(with_role(e, READER));
                Verdict::Pim
            }
            24 => {
                // Reader at another virtual network.
                let other = vnet(i).replace("/vnet-", "/vnet-other-");
                let e = person_instance(i, 0, &other, t - m(30), Some(t + m(60)), true);
                pool.push(with_role(e, READER));
                Verdict::None
            }
            25 => {
                // A role at the VM's network that joins subnets only, reading no network.
                let e = person_instance(i, 0, &vnet(i), t - m(30), Some(t + m(60)), true);
                pool.push(with_role(e, SUBNET_JOINER));
                Verdict::None
            }
            26 => {
                // A VM whose NICs the doors' pass could not read, and Reader at a network of
                // its subscription: that network may be the VM's.
                s.vm = vm(i).replace("/vm-", &format!("/vm-unread-{i}-"));
                let why = format!("{}: 403 AuthorizationFailed", rg(i));
                networks.unread.insert(s.vm.clone(), why);
                let e = person_instance(i, 0, &vnet(i), t - m(30), Some(t + m(60)), true);
                pool.push(with_role(e, READER));
                Verdict::Unknown
            }
            _ => {
                // Noise that must not count: JIT to a source outside the Bastion subnet, an
                // activation on another group, and the approval of nothing here.
                events.push(jit_event(i, t - m(2), "203.0.113.0/24"));
                pool.push(person_instance(
                    i,
                    0,
                    &format!("/subscriptions/{}/resourcegroups/rg-elsewhere", sub(i)),
                    t - m(10),
                    Some(t + m(60)),
                    true,
                ));
                Verdict::None
            }
        };
        if i % CASES != 26 {
            networks.of.insert(vm(i), [vnet(i)].into());
        }
        sessions.push((s, truth));
    }
    let doors = Doors {
        unread: None,
        events,
        bastion: AddrSet::prefix("10.0.0.0/26"),
        networks,
    };
    let mut reads = Reads {
        failed: vec![(
            DENIED.into(),
            format!(
                "PIM schedule instances of /subscriptions/{DENIED} not read: 403 Reader at subscription scope"
            ),
        )],
        groups_read: true,
        roles: definitions(),
        networks: doors.networks.clone(),
        ..Reads::default()
    };
    pool.extend(jit_evidence(&doors, &mut reads));
    // Every group holding a role was read: its one member the person of its case (an activated
    // member of case 8's group, a plain member of case 16's).
    for e in pool.iter().filter(|e| e.group_principal) {
        let i: usize = e
            .principal
            .trim_start_matches("grp-")
            .parse()
            .expect("group");
        let member = Member {
            id: format!("oid-{i}"),
            user_principal_name: Some(upn(i)),
        };
        let read = Members::new(T0, &[member]);
        reads.members.insert(e.principal.clone(), read);
    }
    (sessions, pool, doors, reads)
}

#[test]
fn every_session_of_the_fixture_is_decided_right() {
    let (sessions, pool, _, reads) = fixture();
    assert!(sessions.len() >= 640);
    let mut wrong = Vec::new();
    let mut by = std::collections::BTreeMap::new();
    for (i, (s, truth)) in sessions.iter().enumerate() {
        let r = decide(s, &pool, &reads, None);
        *by.entry(truth.as_str()).or_insert(0) += 1;
        if r.verdict != *truth {
            wrong.push(format!(
                "#{i} case {}: {:?} ≠ {:?} ({:?})",
                i % CASES,
                r.verdict,
                truth,
                r.reasons
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong: {:#?}",
        wrong.len(),
        &wrong[..wrong.len().min(20)]
    );
    for v in ["pim", "pim-group", "jit", "standing", "none", "unknown"] {
        assert!(by.get(v).copied().unwrap_or(0) >= EACH, "{v}: {by:?}");
    }
}

#[test]
fn the_records_carry_their_evidence_and_windows() {
    let (sessions, pool, _, reads) = fixture();
    // Overlapping windows: both named, the latest start the window.
    let (s, _) = &sessions[10];
    let r = decide(s, &pool, &reads, None);
    assert_eq!(r.evidence.len(), 2, "{r:?}");
    assert_eq!(r.from, s.start.map(|t| t - Duration::minutes(20)));
    // The group: the membership row and the group's assignment.
    let r = decide(&sessions[8].0, &pool, &reads, None);
    assert!(
        r.evidence.iter().any(|e| e.starts_with("directory_8_")),
        "{r:?}"
    );
    assert!(r.evidence.iter().any(|e| e.contains("inst-8-0")), "{r:?}");
    // A plain member: standing through the group, the membership naming it and its role.
    let r = decide(&sessions[16].0, &pool, &reads, None);
    assert_eq!(r.verdict, Verdict::Standing, "{r:?}");
    assert!(
        r.evidence.contains(&"member:grp-16:oid-16".to_owned()),
        "{r:?}"
    );
    assert!(r.evidence.iter().any(|e| e.contains("inst-16-0")), "{r:?}");
    // Just-in-time: its justification and window end from the body.
    let r = decide(&sessions[9].0, &pool, &reads, None);
    assert_eq!(r.justification, "JIT for patching");
    assert_eq!(
        r.until,
        sessions[9].0.start.map(|t| t + Duration::minutes(178))
    );
    // The AuditLogs-only window: justification from ResultReason.
    let r = decide(&sessions[12].0, &pool, &reads, None);
    assert_eq!(
        (r.verdict, r.justification.as_str()),
        (Verdict::Pim, "maintenance window")
    );
    // The 403: said, never none.
    let r = decide(&sessions[13].0, &pool, &reads, None);
    assert!(r.reasons.iter().any(|x| x.contains("403")), "{r:?}");
    // A login-only role where the VM's extensions are not told: `unknown`, naming the VM list's
    // read (never read; its list refused).
    for (i, why) in [(22, "not read yet"), (22 + CASES, "403")] {
        let r = decide(&sessions[i].0, &pool, &reads, None);
        assert!(
            r.reasons
                .iter()
                .any(|x| x.contains(why) && x.contains("Microsoft.Compute/virtualMachines/read")),
            "{r:?}"
        );
    }
}

#[test]
fn late_evidence_flips_none_to_pim() {
    let (sessions, mut pool, _, reads) = fixture();
    let late: Vec<usize> = (0..sessions.len()).filter(|i| i % CASES == 15).collect();
    for &i in &late {
        assert_eq!(
            decide(&sessions[i].0, &pool, &reads, None).verdict,
            Verdict::None
        );
    }
    for &i in &late {
        let t = start(i);
        let targets = json!([{"id": EXAMPLE_ROLE, "displayName": "Contributor", "type": "Role"}, {"id": vm(i), "type": "Other"}]);
        pool.push(audit(
            i,
            "Add member to role completed (PIM activation)",
            targets,
            details(t - Duration::minutes(3), t + Duration::hours(1)),
            t,
        ));
    }
    for &i in &late {
        assert_eq!(
            decide(&sessions[i].0, &pool, &reads, None).verdict,
            Verdict::Pim,
            "#{i}"
        );
    }
}

/// The approver: the user who initiated the `AuditLogs` approval of the person's request (its
/// `User` target) for the window's role, given at most 24 hours before the window, named on the
/// record with the approval's id; an approval of another person, of another role, or older, is
/// not the window's.
#[test]
fn the_approver_is_the_approval_of_the_persons_request_for_the_windows_role() {
    let (sessions, pool, _, reads) = fixture();
    let (s, _) = &sessions[0];
    let t = start(0);
    let role = "c8d4ff99-41c3-41a8-9f60-21dfdad59608";
    let approval = |who: &str, role: &str, at: OffsetDateTime, n: usize| {
        let by = json!({"user": {"id": format!("oid-approver-{n}"), "userPrincipalName": format!("approver{n}@contoso.com")}});
        let targets = json!([{"id": role, "displayName": "Contributor", "type": "Role"},
            {"id": format!("oid-{who}"), "userPrincipalName": who, "type": "User"}]);
        let op = format!("Add member to role request approved (PIM activation) {n}");
        audit_by(0, &op, &by, (targets, json!([])), at)
    };
    let other = "c8d4ff99-0000-0000-0000-000000000000";
    // The window (case 0) began 30 minutes before the start.
    let noise = [
        approval(&upn(1), role, t - Duration::minutes(40), 1),
        approval(&upn(0), other, t - Duration::minutes(40), 2),
        approval(
            &upn(0),
            role,
            t - Duration::minutes(30) - Duration::hours(25),
            3,
        ),
    ];
    let mut with = pool.clone();
    with.extend(noise.iter().cloned());
    let r = decide(s, &with, &reads, None);
    assert_eq!(
        (r.verdict, r.approver.as_str()),
        (Verdict::Pim, ""),
        "{r:?}"
    );
    with.push(approval(&upn(0), role, t - Duration::minutes(35), 4));
    let r = decide(s, &with, &reads, None);
    assert_eq!(r.approver, "approver4@contoso.com", "{r:?}");
    assert!(
        r.evidence.iter().any(|e| e.ends_with("(pim activation) 4")),
        "{r:?}"
    );
}

/// A role whose definition was refused leaves the session it alone could cover `unknown`, naming
/// the role and the permission; a role granting no VM read does not count (`none`); Reader at
/// the session's Bastion host counts, another host's does not; Reader at the VM's virtual network
/// counts, and leaves the session `unknown` when the VM's networks were not read.
#[test]
fn roles_count_by_their_definitions_and_an_unread_one_is_unknown() {
    let (sessions, pool, _, reads) = fixture();
    let r = decide(&sessions[19].0, &pool, &reads, None);
    assert_eq!(r.verdict, Verdict::Unknown);
    assert!(
        r.reasons.iter().any(|w| w.contains(EXAMPLE_ROLE)
            && w.contains("Microsoft.Authorization/roleDefinitions/read")),
        "{r:?}"
    );
    let r = decide(&sessions[17].0, &pool, &reads, None);
    assert_eq!((r.verdict, r.reasons.len()), (Verdict::None, 0), "{r:?}");
    let r = decide(&sessions[18].0, &pool, &reads, None);
    assert_eq!(r.verdict, Verdict::Pim);
    assert_eq!(r.evidence.len(), 1, "{r:?}");
    assert!(r.evidence[0].ends_with("inst-18-0"), "{r:?}");
    // Reader at the VM's virtual network counts; at another network, or a role joining subnets
    // only, not; the VM's networks not read, a network's Reader leaves it unknown, naming why.
    let r = decide(&sessions[23].0, &pool, &reads, None);
    assert_eq!(r.verdict, Verdict::Pim, "{r:?}");
    assert!(r.evidence[0].ends_with("inst-23-0"), "{r:?}");
    for i in [24, 25] {
        let r = decide(&sessions[i].0, &pool, &reads, None);
        assert_eq!(
            (r.verdict, r.reasons.len()),
            (Verdict::None, 0),
            "#{i}: {r:?}"
        );
    }
    let r = decide(&sessions[26].0, &pool, &reads, None);
    assert_eq!(r.verdict, Verdict::Unknown);
    assert!(
        r.reasons.iter().any(|w| w.contains(&vnet(26))
            && w.contains("virtual network was not read")
            && w.contains("403 AuthorizationFailed")),
        "{r:?}"
    );
}
