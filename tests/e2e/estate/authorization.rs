//! Who allowed each session, end to end: the real handler's `EstateCheck` reads PIM's schedules
//! from the loopback Resource Manager (the specification's example shapes, one item a page so
//! every list is followed through `nextLink`; one subscription's list refused, 403) and PIM's
//! `AuditLogs` rows from the Logs Query fake, and the sessions list answers
//! `?authorization=…` with each verdict and its record. A late `AuditLogs` row flips `none` to
//! `pim` at the next check. The notifications: `session.unauthorized` for each `none`,
//! `authorization.unknown` for the refused list, `shared-account` for one VM account two people
//! used, and `session.authorized` when the late row resolves a `none`.

use bastion_testkit::loganalytics::{FakeLogs, FakeRow, auditlogs};
use serde_json::{Value, json};

use super::Rig;
use super::doors::{CUSTOMER, check_at};
use super::fake_arm::{SUB, host_id};
use crate::harness::azurite;

/// A second subscription, whose schedules Resource Manager refuses (Reader not granted there).
pub(crate) const DENIED: &str = "99999999-8888-7777-6666-555555555555";

pub(crate) fn vm(sub: &str, name: &str) -> String {
    format!(
        "/subscriptions/{sub}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/{name}"
    )
}

/// An instance as `GetRoleAssignmentScheduleInstancesByScope.json` gives it.
pub(crate) fn instance(
    name: &str,
    who: (&str, &str),
    scope: &str,
    activated: bool,
    window: (&str, Option<&str>),
) -> Value {
    json!({"properties": {
        "originRoleAssignmentId": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"),
        "linkedRoleEligibilityScheduleId": if activated { json!("b1477448-2cc6-4ceb-93b4-54a202a89413") } else { Value::Null },
        "assignmentType": if activated { "Activated" } else { "Assigned" },
        "scope": scope,
        "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/c8d4ff99-41c3-41a8-9f60-21dfdad59608"),
        "principalId": who.0, "principalType": "User", "status": "Accepted",
        "roleAssignmentScheduleId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/RoleAssignmentSchedules/{name}"),
        "startDateTime": window.0, "endDateTime": window.1, "memberType": "Direct", "createdOn": window.0,
        "expandedProperties": {
            "scope": {"id": scope, "displayName": "rg-app", "type": "resourcegroup"},
            "roleDefinition": {"id": "c8d4ff99-41c3-41a8-9f60-21dfdad59608", "displayName": "Contributor", "type": "BuiltInRole"},
            "principal": {"id": who.0, "displayName": "User Account", "email": who.1, "type": "User"}}},
        "name": name,
        "id": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/RoleAssignmentScheduleInstances/{name}"),
        "type": "Microsoft.Authorization/RoleAssignmentScheduleInstances"})
}

/// A request as `GetRoleAssignmentScheduleRequestByScope.json` gives it, with a ticket.
fn request(name: &str, who: &str, scope: &str, start: &str) -> Value {
    json!({"properties": {
        "targetRoleAssignmentScheduleId": "pim-alice", "targetRoleAssignmentScheduleInstanceId": null,
        "scope": scope,
        "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/c8d4ff99-41c3-41a8-9f60-21dfdad59608"),
        "principalId": who, "principalType": "User", "requestType": "SelfActivate", "status": "Provisioned",
        "approvalId": null,
        "scheduleInfo": {"startDateTime": start, "expiration": {"type": "AfterDuration", "endDateTime": null, "duration": "PT8H"}},
        "ticketInfo": {"ticketNumber": "CHG0012345", "ticketSystem": "ServiceNow"},
        "justification": "kernel patching", "requestorId": who, "createdOn": start,
        "expandedProperties": {"principal": {"id": who, "displayName": "User Account", "email": "alice@contoso.com", "type": "User"}}},
        "name": name,
        "id": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/RoleAssignmentScheduleRequests/{name}"),
        "type": "Microsoft.Authorization/RoleAssignmentScheduleRequests"})
}

/// A PIM activation row of `AuditLogs` (its dynamic columns as objects; the fake sends them as
/// JSON text, as the query API does), `AdditionalDetails` in no particular order, ingested a minute
/// ago.
pub(super) fn activation(
    logs: &FakeLogs,
    id: &str,
    upn: &str,
    scope: &str,
    (from, until): (&str, &str),
) {
    let visible = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    logs.ingest(
        CUSTOMER,
        activation_row(id, upn, scope, (from, until), visible),
    );
}

/// The row of [`activation`], queryable (and ingested) from `visible`.
pub(super) fn activation_row(
    id: &str,
    upn: &str,
    scope: &str,
    (from, until): (&str, &str),
    visible: time::OffsetDateTime,
) -> FakeRow {
    let values = json!({"TenantId": "t", "Id": id, "TimeGenerated": from, "Category": "RoleManagement",
        "OperationName": "Add member to role completed (PIM activation)", "Result": "success",
        "ResultReason": "incident 42 follow-up", "LoggedByService": "PIM", "CorrelationId": id,
        "InitiatedBy": {"user": {"id": format!("oid-{upn}"), "userPrincipalName": upn}},
        "TargetResources": [{"id": "c8d4ff99-41c3-41a8-9f60-21dfdad59608", "displayName": "Contributor", "type": "Role"},
            {"id": scope, "displayName": "rg-app", "type": "Other"}],
        "AdditionalDetails": [{"key": "ExpirationTime", "value": until}, {"key": "RoleDefinitionOriginId", "value": "c8d4ff99"},
            {"key": "StartTime", "value": from}]});
    auditlogs::row(values.as_object().cloned().unwrap_or_default(), visible)
}

/// Host `b1`'s connects at 08:00: `(tunnel suffix, user e-mail, VM id)`, read by the handler.
pub(crate) async fn sessions_arrive(rig: &Rig, cs: &str, sessions: &[(&str, &str, String)]) {
    sessions_arrive_at(rig, cs, sessions, None).await;
}

/// [`sessions_arrive`], their rows written at `at` (`None`: the event fixture's time).
pub(crate) async fn sessions_arrive_at(
    rig: &Rig,
    cs: &str,
    sessions: &[(&str, &str, String)],
    at: Option<&str>,
) {
    sessions_arrive_in(rig, cs, sessions, ("2026-11-25T08", at)).await;
}

/// Host `b1`'s connects in `hour` (`2026-11-25T08`: at minute 0, 1, …, second 30), their rows
/// written at `at` (`None`: the event fixture's time).
pub(crate) async fn sessions_arrive_in(
    rig: &Rig,
    cs: &str,
    sessions: &[(&str, &str, String)],
    (hour, at): (&str, Option<&str>),
) {
    let local: Vec<(&str, &str, &str, String)> = (sessions.iter())
        .map(|(tunnel, email, vm)| (*tunnel, *email, "azureuser", vm.clone()))
        .collect();
    accounts_arrive_in(rig, cs, &local, (hour, at)).await;
}

/// [`sessions_arrive_in`], each `(tunnel, e-mail, VM account, VM)` signed in as its own account.
pub(crate) async fn accounts_arrive_in(
    rig: &Rig,
    cs: &str,
    sessions: &[(&str, &str, &str, String)],
    (hour, at): (&str, Option<&str>),
) {
    let (day, h) = hour.split_once('T').expect("a day and an hour");
    let mut ymd = day.split('-');
    let (y, m, d) = (ymd.next(), ymd.next(), ymd.next());
    let (y, m, d) = (
        y.unwrap_or_default(),
        m.unwrap_or_default(),
        d.unwrap_or_default(),
    );
    let name = format!(
        "resourceId={}/y={y}/m={m}/d={d}/h={h}/m=00/PT1H.json",
        host_id("b1").to_ascii_uppercase()
    );
    let mut lines = String::new();
    for (i, (tunnel, email, account, vm)) in sessions.iter().enumerate() {
        let record = json!({"time": format!("{hour}:{i:02}:30.000Z"), "resourceId": host_id("b1").to_ascii_uppercase(),
            "operationName": "Microsoft.Network/BastionHost/connect", "category": "BastionAuditLogs",
            "properties": {"userName": account, "userEmail": email, "protocol": "ssh", "clientIpAddress": "203.0.113.9",
                "targetResourceId": vm.to_ascii_uppercase(), "message": "Successfully Connected.",
                "tunnelId": format!("5f0c2d7e-8b1a-4c3e-9d2f-0000000{tunnel}")}});
        lines.push_str(&format!("{record}\n"));
    }
    super::audit_lines_arrive_at(rig, cs, &name, lines, at).await;
}

/// The Resource Manager budget's 5 minutes pass (table `authzbudget` as it would be then: no
/// call within the window; the checks' budget counts by the wall clock).
pub(crate) async fn budget_passes(rig: &Rig) {
    use bastion_recordings::config::Config;
    use bastion_recordings::tables::TableStore;
    use bastion_recordings::tables::rest::TableRestClient;
    let config = Config::from_lookup(&|k| rig.env.vars.get(k).cloned()).expect("config");
    let tables = TableRestClient::new(&config.storage.app, &config.table_prefix).expect("tables");
    tables
        .delete_table("authzbudget")
        .await
        .expect("budget aged");
}

/// A check at `first` (PIM's lists read, a role kept) and, the budget's window past, the next at
/// `second` (the roles' definitions listed, the lists waiting): what each told.
pub(crate) async fn check_and_list_roles(
    rig: &mut Rig,
    (first, second): (&str, &str),
) -> (Vec<(String, String, String)>, Vec<(String, String, String)>) {
    let told = check_at(rig, first).await;
    budget_passes(rig).await;
    (told, check_at(rig, second).await)
}

/// The sessions of 2026-11-25 with `authorization` (`None`: every one): `email → item`.
async fn listed(rig: &Rig, authorization: Option<&str>) -> Vec<(String, Value)> {
    let filter = authorization
        .map(|a| format!("&authorization={a}"))
        .unwrap_or_default();
    let (status, page) = rig
        .handler
        .get_json(&format!(
            "/api/sessions?from=2026-11-25T00:00:00Z&to=2026-11-26T00:00:00Z{filter}"
        ))
        .await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().cloned().unwrap_or_default();
    let mut out: Vec<(String, Value)> = items
        .into_iter()
        .map(|i| (i["userEmail"].as_str().unwrap_or_default().to_owned(), i))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Each listed session's `(email, verdict)` (`undecided`: none yet).
fn verdicts(all: &[(String, Value)]) -> Vec<(&str, &str)> {
    (all.iter())
        .map(|(who, i)| {
            let verdict = i["authorization"].as_str().unwrap_or("undecided");
            (who.as_str(), verdict)
        })
        .collect()
}

#[tokio::test]
async fn each_session_gets_its_verdict_and_late_evidence_flips_none_to_pim() {
    let Some(cs) = azurite() else { return };
    let (logs, env) = super::doors::quiet_workspace().await;
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut rig = Rig::new(&cs, &env).await;
    let rg = format!("/subscriptions/{SUB}/resourceGroups/rg-app");
    let alice = "a3bb8764-cb92-4276-9d2a-ca1e895e55ea";
    rig.arm.with(|e| {
        e.page_size = 1;
        let instances = vec![
            instance("pim-alice", (alice, "Alice@Contoso.com"), &rg, true, ("2026-11-25T07:45:00Z", Some("2026-11-25T15:45:00Z"))),
            instance("standing-erin", ("oid-erin", "erin@contoso.com"), &format!("/subscriptions/{SUB}"), false, ("2025-01-01T00:00:00Z", None)),
            instance("pim-bob-later", ("oid-bob", "bob@contoso.com"), &rg, true, ("2026-11-25T08:30:00Z", Some("2026-11-25T09:30:00Z"))),
        ];
        let requests = vec![request("req-alice", alice, &rg, "2026-11-25T07:45:00Z")];
        e.schedules.insert(format!("/subscriptions/{SUB}"), (instances, requests));
        e.forbid.push(format!("/subscriptions/{DENIED}/providers/Microsoft.Authorization/roleAssignmentScheduleInstances"));
    });
    activation(
        &logs,
        "audit-dave",
        "dave@contoso.com",
        &rg.to_ascii_lowercase(),
        ("2026-11-25T07:00:00Z", "2026-11-25T08:10:00Z"),
    );
    let sessions = [
        ("00a", "alice@contoso.com", vm(SUB, "vm-a")),
        ("00b", "bob@contoso.com", vm(SUB, "vm-b")),
        ("00c", "carol@contoso.com", vm(DENIED, "vm-c")),
        ("00d", "dave@contoso.com", vm(SUB, "vm-d")),
        ("00e", "erin@contoso.com", vm(SUB, "vm-e")),
        ("00f", "frank@contoso.com", vm(SUB, "vm-a")),
    ];
    sessions_arrive(&rig, &cs, &sessions).await;
    // The first check reads the PIM lists (a role kept), the next the roles' definitions (the
    // lists waiting that pass): the sessions a role covers are decided then, the others first.
    let at = ("2026-11-25T08:45:00Z", "2026-11-25T09:00:00Z");
    let (mut said, second) = check_and_list_roles(&mut rig, at).await;
    said.extend(second.iter().filter(|s| s.0 != "shared-account").cloned());
    let kinds =
        |said: &[(String, String, String)], k: &str| said.iter().filter(|s| s.0 == k).count();
    assert_eq!(
        kinds(&said, "session.unauthorized"),
        2,
        "bob and frank: {said:?}"
    );
    assert_eq!(kinds(&said, "authorization.unknown"), 1, "{said:?}");
    assert_eq!(
        kinds(&said, "shared-account"),
        1,
        "azureuser on vm-a: {said:?}"
    );

    let all = listed(&rig, None).await;
    let verdicts = verdicts(&all);
    assert_eq!(
        verdicts,
        [
            ("alice@contoso.com", "pim"),
            ("bob@contoso.com", "none"),
            ("carol@contoso.com", "unknown"),
            ("dave@contoso.com", "pim"),
            ("erin@contoso.com", "standing"),
            ("frank@contoso.com", "none"),
        ],
        "{}",
        rig.handler.log_text()
    );
    let alice_record = &all[0].1["authorizationRecord"];
    assert_eq!(
        alice_record["ticket"], "ServiceNow:CHG0012345",
        "{alice_record}"
    );
    assert_eq!(alice_record["justification"], "kernel patching");
    assert_eq!(alice_record["from"], "2026-11-25T07:45:00.000Z");
    let carol = all[2].1["authorizationRecord"]["reasons"].to_string();
    assert!(
        carol.contains("Reader at subscription scope") && carol.contains(DENIED),
        "{carol}"
    );
    let dave = &all[3].1["authorizationRecord"];
    assert_eq!(dave["evidence"], json!(["audit-dave"]), "{dave}");
    // Every schedule list was followed to its last page.
    let asked = rig.arm.with(|e| e.requests.clone());
    let pages = asked
        .iter()
        .filter(|r| {
            r.to_ascii_lowercase()
                .contains("roleassignmentscheduleinstances")
        })
        .count();
    assert!(
        pages >= 4,
        "3 items a page each, and the refused list: {asked:?}"
    );

    let only_none: Vec<String> = listed(&rig, Some("none"))
        .await
        .into_iter()
        .map(|(w, _)| w)
        .collect();
    assert_eq!(only_none, ["bob@contoso.com", "frank@contoso.com"]);
    let (status, _) = rig
        .handler
        .get_json(
            "/api/sessions?from=2026-11-25T00:00:00Z&to=2026-11-26T00:00:00Z&authorization=maybe",
        )
        .await;
    assert_eq!(status, 400);

    // Bob's activation is seen only later in AuditLogs (its window covers his start): re-decided.
    activation(
        &logs,
        "audit-bob",
        "bob@contoso.com",
        &rg.to_ascii_lowercase(),
        ("2026-11-25T08:00:00Z", "2026-11-25T09:00:00Z"),
    );
    let said = check_at(&mut rig, "2026-11-25T09:15:00Z").await;
    assert_eq!(
        kinds(&said, "session.authorized"),
        1,
        "bob's resolved: {said:?}"
    );
    assert_eq!(
        kinds(&said, "session.unauthorized"),
        0,
        "frank's told once: {said:?}"
    );
    let bob = listed(&rig, Some("pim")).await;
    let who: Vec<&str> = bob.iter().map(|(w, _)| w.as_str()).collect();
    assert_eq!(
        who,
        ["alice@contoso.com", "bob@contoso.com", "dave@contoso.com"]
    );
}

/// A PIM activation held at the target VM's virtual network (the network of its NIC's subnet, as
/// the other doors' pass read it) allows the session: `pim`; one at another network does not:
/// `none`; a VM whose NICs were not read leaves a network's activation `unknown`, never `none`.
#[tokio::test]
async fn an_activation_at_the_vms_virtual_network_is_pim() {
    use super::fake_arm::network::{nic, subnet_id, vnet};
    let Some(cs) = azurite() else { return };
    let (_logs, env) = super::doors::quiet_workspace().await;
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut rig = Rig::new(&cs, &env).await;
    let network = |name: &str| {
        format!(
            "/subscriptions/{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/{name}"
        )
    };
    let window = ("2026-11-25T07:45:00Z", Some("2026-11-25T15:45:00Z"));
    rig.arm.with(|e| {
        let app = subnet_id("rg-net", "vnet-spoke", "app");
        e.network = vec![
            vnet(
                "rg-net",
                "vnet-spoke",
                "10.1.0.0/16",
                &[("app", "10.1.0.0/24", None)],
            ),
            nic(
                "rg-app",
                "nic-v",
                &vm(SUB, "vm-v"),
                &app,
                "10.1.0.4",
                None,
                None,
            ),
            nic(
                "rg-app",
                "nic-w",
                &vm(SUB, "vm-w"),
                &app,
                "10.1.0.5",
                None,
                None,
            ),
        ];
        let instances = vec![
            instance(
                "pim-vic",
                ("oid-vic", "vic@contoso.com"),
                &network("vnet-spoke"),
                true,
                window,
            ),
            instance(
                "pim-wes",
                ("oid-wes", "wes@contoso.com"),
                &network("vnet-other"),
                true,
                window,
            ),
            instance(
                "pim-xan",
                ("oid-xan", "xan@contoso.com"),
                &network("vnet-spoke"),
                true,
                window,
            ),
        ];
        e.schedules
            .insert(format!("/subscriptions/{SUB}"), (instances, Vec::new()));
    });
    let sessions = [
        ("0a1", "vic@contoso.com", vm(SUB, "vm-v")),
        ("0a2", "wes@contoso.com", vm(SUB, "vm-w")),
        ("0a3", "xan@contoso.com", vm(SUB, "vm-x")),
    ];
    sessions_arrive(&rig, &cs, &sessions).await;
    let at = ("2026-11-25T08:45:00Z", "2026-11-25T09:00:00Z");
    check_and_list_roles(&mut rig, at).await;
    let all = listed(&rig, None).await;
    let verdicts = verdicts(&all);
    assert_eq!(
        verdicts,
        [
            ("vic@contoso.com", "pim"),
            ("wes@contoso.com", "none"),
            ("xan@contoso.com", "unknown"),
        ],
        "{}",
        rig.handler.log_text()
    );
    let vic = all[0].1["authorizationRecord"]["evidence"].to_string();
    assert!(vic.contains("pim-vic") && !vic.contains("pim-xan"), "{vic}");
    let xan = all[2].1["authorizationRecord"]["reasons"].to_string();
    assert!(xan.contains("virtual network was not read"), "{xan}");
}

/// A just-in-time request covers a session only where it opened the session's port (SSH's 22)
/// to the Bastion subnet: heidi's request for `vm7` opened 22 from the subnet, so her SSH session
/// there is `jit`; grace's for `vm6` opened only RDP's 3389, so hers is not covered, and reads
/// `unknown` naming the port opened (the audit record names no port: a custom one cannot be
/// told from one never opened), never `jit`; ivan's for `vm8` opened 22 to a source outside the
/// subnet (a door, not an authorization), so his is `none`. The requests come as the Activity
/// log's `initiate` rows (their request bodies naming VM, port, source and end), read by the
/// doors' pass of the same check, which reads the Bastion subnet from the clean estate.
#[tokio::test]
async fn a_jit_request_covers_an_ssh_session_only_when_it_opened_port_22_to_the_bastion_subnet() {
    let Some(cs) = azurite() else { return };
    let (logs, mut rig) = super::doors::scoped_rig(&cs).await;
    rig.arm.with(super::network_doors::clean);
    let policy = format!(
        "/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Security/locations/westeurope/jitNetworkAccessPolicies/default"
    );
    let op = "Microsoft.Security/locations/jitNetworkAccessPolicies/initiate/action";
    let asked = [
        ("grace", "vm6", 3389, "10.0.1.0/26"),
        ("heidi", "vm7", 22, "10.0.1.0/26"),
        ("ivan", "vm8", 22, "203.0.113.0/24"),
    ];
    for (who, target, port, source) in asked {
        let body = json!({"virtualMachines": [{"id": vm(SUB, target), "ports": [{"number": port,
            "endTimeUtc": "2026-11-25T10:00:00Z", "allowedSourceAddressPrefix": source}]}],
            "justification": "patching"});
        let properties = json!({"statusCode": "Accepted", "eventCategory": "Administrative",
            "requestbody": body.to_string()});
        let caller = format!("{who}@contoso.com");
        let row = (op, "Success", who);
        let at = "2026-11-25T07:55:00Z";
        super::doors::activity_with(&logs, row, &caller, &policy, at, properties);
    }
    let sessions = [
        ("0c1", "grace@contoso.com", vm(SUB, "vm6")),
        ("0c2", "heidi@contoso.com", vm(SUB, "vm7")),
        ("0c3", "ivan@contoso.com", vm(SUB, "vm8")),
    ];
    sessions_arrive(&rig, &cs, &sessions).await;
    check_at(&mut rig, "2026-11-25T08:45:00Z").await;
    let all = listed(&rig, None).await;
    let verdicts = verdicts(&all);
    assert_eq!(
        verdicts,
        [
            ("grace@contoso.com", "unknown"),
            ("heidi@contoso.com", "jit"),
            ("ivan@contoso.com", "none"),
        ],
        "{}",
        rig.handler.log_text()
    );
    let grace = all[0].1["authorizationRecord"]["reasons"].to_string();
    assert!(
        grace.contains("opened port(s) [3389]") && grace.contains("not 22"),
        "{grace}"
    );
    let heidi = &all[1].1["authorizationRecord"];
    assert_eq!(heidi["from"], "2026-11-25T07:55:00.000Z", "{heidi}");
    assert_eq!(heidi["until"], "2026-11-25T10:00:00.000Z", "{heidi}");
    assert_eq!(heidi["justification"], "patching", "{heidi}");
}
