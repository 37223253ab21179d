//! The budget through whole passes: two Resource Manager calls per subscription in any 5 minutes
//! however the passes and instances fall; PIM's lists go before the subscription's VM list while a
//! session waits for them, but that list goes first once an hour while VMs are due; a session a
//! deferred list could cover stays undecided, never `none`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::decide::Verdict;
use super::read::Doors;
use super::settings::{AuthzSettings, Enforce};
use super::{Report, Sources, run};
use crate::arm::{
    ActiveSession, BastionHost, BlobService, Container, DiagnosticSetting, DisconnectResult,
    JitPolicy, ListedVm, NetworkInterface, NetworkSecurityGroup, ResourceManager, RoleAssignment,
    RoleDefinition, ScheduleInstance, ScheduleRequest, VirtualNetwork,
};
use crate::azure::AzureError;
use crate::catalogue::days::{DAYS_TABLE, DayRow};
use crate::catalogue::session::SessionRecord;
use crate::catalogue::session::outcome::CONNECTED;
use crate::ports::Ports;
use crate::testkit::clock::FixedClock;
use crate::testkit::tables::memory::InMemoryTables;

pub(super) const T0: OffsetDateTime = datetime!(2026-11-29 12:00 UTC);
pub(super) const VM: &str =
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm";
/// Reader's GUID.
pub(super) const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
/// Virtual Machine User Login's GUID.
const VM_USER_LOGIN: &str = "fb879df8-f326-4884-b1cf-06f3ad86be52";

/// Alice's activation of Reader at the VM's subscription, from an hour before `T0`, as
/// `GetRoleAssignmentScheduleInstancesByScope.json` gives an instance.
pub(super) fn activation() -> serde_json::Value {
    serde_json::json!({"properties": {"scope": "/subscriptions/s1", "assignmentType": "Activated",
        "roleDefinitionId": format!("/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/{READER}"),
        "principalId": "oid-alice", "principalType": "User", "status": "Accepted", "memberType": "Direct",
        "startDateTime": "2026-11-29T11:00:00Z", "endDateTime": "2026-11-29T19:00:00Z",
        "expandedProperties": {"principal": {"id": "oid-alice", "email": "alice@contoso.com", "type": "User"}}},
        "name": "act-alice", "type": "Microsoft.Authorization/RoleAssignmentScheduleInstances",
        "id": "/subscriptions/s1/providers/Microsoft.Authorization/RoleAssignmentScheduleInstances/act-alice"})
}

/// PIM lists read whole (empty, or the instances set), the VM listed without Entra login (or
/// with it, when set; its first lists failing as many times as asked), the role definitions
/// listed (or refused, 403); every call counted.
#[derive(Default)]
struct Arm(
    Mutex<Vec<String>>,
    Mutex<usize>,
    Mutex<Vec<serde_json::Value>>,
    Mutex<bool>,
    Mutex<bool>,
);

impl Arm {
    fn ask(&self, what: &str) {
        self.0.lock().expect("calls").push(what.to_owned());
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("calls"))
    }
}

fn not_here<T>() -> Result<T, AzureError> {
    Err(AzureError::Transient("not asked of this fake".into()))
}

#[async_trait]
impl ResourceManager for Arm {
    async fn schedule_instances(&self, _: &str) -> Result<Vec<ScheduleInstance>, AzureError> {
        self.ask("instances");
        let items = self.2.lock().expect("instances").clone();
        Ok(serde_json::from_value(serde_json::Value::Array(items)).expect("instances"))
    }
    async fn schedule_requests(&self, _: &str) -> Result<Vec<ScheduleRequest>, AzureError> {
        self.ask("requests");
        Ok(Vec::new())
    }
    async fn virtual_machines(&self, _: &str) -> Result<Vec<ListedVm>, AzureError> {
        self.ask("vms");
        let mut failing = self.1.lock().expect("failing");
        if *failing > 0 {
            *failing -= 1;
            return Err(AzureError::Transient("503 ServiceUnavailable".into()));
        }
        let mut page = serde_json::json!([{"id": VM, "resources": [{"name": "AzureMonitorLinuxAgent",
            "properties": {"publisher": "Microsoft.Azure.Monitor", "type": "AzureMonitorLinuxAgent"}}]}]);
        if *self.4.lock().expect("entra") {
            let resources = page[0]["resources"].as_array_mut().expect("resources");
            resources.push(serde_json::json!({"name": "AADSSHLoginForLinux",
                "properties": {"publisher": "Microsoft.Azure.ActiveDirectory", "type": "AADSSHLoginForLinux"}}));
        }
        Ok(serde_json::from_value(page).expect("vms"))
    }
    async fn role_definitions(&self, scope: &str) -> Result<Vec<RoleDefinition>, AzureError> {
        self.ask("definitions");
        if *self.3.lock().expect("refused") {
            let role = crate::permissions::ArmOperation::ListRoleDefinitions.missing(scope);
            return Err(AzureError::Forbidden { role });
        }
        // The list as `GetRoleDefinitionAtScope.json` (api-version 2022-04-01) gives it: Reader,
        // and Virtual Machine User Login (the VM's children's reads, the login data action).
        let page = serde_json::json!([{"properties": {"roleName": "Reader", "type": "BuiltInRole",
            "description": "View all resources", "assignableScopes": ["/"],
            "permissions": [{"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []}]},
            "id": format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/{READER}"),
            "type": "Microsoft.Authorization/roleDefinitions", "name": READER},
            {"properties": {"roleName": "Virtual Machine User Login", "type": "BuiltInRole",
            "description": "View Virtual Machines in the portal and login as a regular user.", "assignableScopes": ["/"],
            "permissions": [{"actions": ["Microsoft.Network/networkInterfaces/read", "Microsoft.Compute/virtualMachines/*/read"],
                "notActions": [], "dataActions": ["Microsoft.Compute/virtualMachines/login/action"], "notDataActions": []}]},
            "id": format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/{VM_USER_LOGIN}"),
            "type": "Microsoft.Authorization/roleDefinitions", "name": VM_USER_LOGIN}]);
        Ok(serde_json::from_value(page).expect("definitions"))
    }
    async fn vm_extension(&self, _: &str, _: &str) -> Result<bool, AzureError> {
        not_here()
    }
    async fn bastion_host(&self, _: &str) -> Result<BastionHost, AzureError> {
        not_here()
    }
    async fn diagnostic_settings(&self, _: &str) -> Result<Vec<DiagnosticSetting>, AzureError> {
        not_here()
    }
    async fn blob_service(&self, _: &str) -> Result<BlobService, AzureError> {
        not_here()
    }
    async fn container(&self, _: &str, _: &str) -> Result<Container, AzureError> {
        not_here()
    }
    async fn workspace_customer_id(&self, _: &str) -> Result<Option<String>, AzureError> {
        not_here()
    }
    async fn role_assignments(
        &self,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<Vec<RoleAssignment>, AzureError> {
        not_here()
    }
    async fn role_definition(&self, _: &str, _: &str) -> Result<RoleDefinition, AzureError> {
        not_here()
    }
    async fn network_interfaces(&self, _: &str) -> Result<Vec<NetworkInterface>, AzureError> {
        not_here()
    }
    async fn security_groups(&self, _: &str) -> Result<Vec<NetworkSecurityGroup>, AzureError> {
        not_here()
    }
    async fn virtual_networks(&self, _: &str) -> Result<Vec<VirtualNetwork>, AzureError> {
        not_here()
    }
    async fn vm_network_interfaces(&self, _: &str) -> Result<Vec<String>, AzureError> {
        not_here()
    }
    async fn network_interface(&self, _: &str) -> Result<NetworkInterface, AzureError> {
        not_here()
    }
    async fn jit_policy(&self, _: &str) -> Result<JitPolicy, AzureError> {
        not_here()
    }
    async fn active_sessions(&self, _: &str) -> Result<Vec<ActiveSession>, AzureError> {
        not_here()
    }
    async fn disconnect_sessions(
        &self,
        _: &str,
        _: &[String],
    ) -> Result<Vec<DisconnectResult>, AzureError> {
        not_here()
    }
}

/// A successful session of `email` as `root` on the VM, started at `start`.
pub(super) async fn session(
    tables: &InMemoryTables,
    tunnel: &str,
    email: &str,
    start: OffsetDateTime,
) {
    session_as(tables, (tunnel, "root"), email, start).await;
}

/// A successful session of `email` as `account` on the VM, started at `start`.
async fn session_as(
    tables: &InMemoryTables,
    (tunnel, account): (&str, &str),
    email: &str,
    start: OffsetDateTime,
) {
    let mut s = SessionRecord::new(tunnel);
    s.session_start = Some(start);
    (s.target_resource_id, s.target_vm) = (VM.into(), "vm".into());
    (s.user_name, s.user_email, s.outcome) = (account.into(), email.into(), CONNECTED.into());
    let row = DayRow::of(&s).expect("row").to_entity();
    let mode = crate::tables::WriteMode::Upsert;
    crate::tables::ops::write_creating_table(tables, DAYS_TABLE, &row, mode)
        .await
        .expect("written");
}

pub(super) fn verdicts(r: &Report) -> Vec<(&str, Verdict)> {
    r.decided
        .iter()
        .map(|(t, d)| (t.as_str(), d.verdict))
        .collect()
}

/// In-memory tables, a clock that moves only when told, and the ports over both.
pub(super) fn rig() -> (Arc<InMemoryTables>, Arc<FixedClock>, Ports) {
    let tables = Arc::new(InMemoryTables::new());
    let clock = Arc::new(FixedClock::new(T0));
    let ports = Ports {
        tables: tables.clone(),
        clock: clock.clone(),
        ..crate::testkit::fakes().state.ports.clone()
    };
    (tables, clock, ports)
}

pub(super) fn sources<'a>(arm: &'a dyn ResourceManager, doors: &'a Doors) -> Sources<'a> {
    Sources {
        arm: Some(arm),
        logs: None,
        workspaces: &[],
        doors,
        groups: None,
        signin_mfa: false,
    }
}

pub(super) fn settings() -> AuthzSettings {
    AuthzSettings {
        ticket_pattern: None,
        shared_days: 30,
        enforce: Enforce::Report,
        grace: Duration::minutes(15),
        pim_groups: false,
        signin_mfa: false,
    }
}

/// No window of [`super::budget::WINDOW`] holds more than two of `calls` (`case` names the run).
fn within_budget(calls: &[(OffsetDateTime, String)], case: &str) {
    for (at, _) in calls {
        let within = (calls.iter()).filter(|(t, _)| *t >= *at && *t < *at + super::budget::WINDOW);
        assert!(within.count() <= 2, "{case}: {calls:?}");
    }
}

/// The `entraLogin` of the `shared-account` findings of `r`.
fn entra(r: &Report) -> Vec<String> {
    (r.found.iter())
        .filter(|f| f.kind.name == "shared-account")
        .map(|f| {
            f.evidence["entraLogin"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_vm_list_takes_one_pass_an_hour_from_waiting_lists_and_a_deferred_session_is_undecided()
{
    let (tables, clock, ports) = rig();
    let (arm, doors) = (Arm::default(), Doors::default());
    let sources = sources(&arm, &doors);
    let (settings, every) = (settings(), BTreeSet::new());
    // Each pass at its own time, its calls made at once.
    let pass = |at| {
        clock.set(at);
        run(&ports, &sources, &every, &settings, at)
    };
    let minutes = Duration::minutes;
    // Two people as `root` on one VM: a shared account, whose VM's extensions are due.
    session(&tables, "t-alice", "alice@contoso.com", T0 - minutes(10)).await;
    session(&tables, "t-bob", "bob@contoso.com", T0 - minutes(8)).await;
    // First pass: the lists (never read) first, both places; the VM list waits, unread.
    let first = pass(T0).await;
    assert_eq!(arm.take(), ["instances", "requests"]);
    let settled = [("t-alice", Verdict::None), ("t-bob", Verdict::None)];
    assert_eq!(verdicts(&first), settled);
    assert!(first.failed.is_empty(), "{:?}", first.failed);
    let unread = "unknown: not read yet (its subscription's Resource Manager budget)";
    assert_eq!(entra(&first), [unread]);
    // Another instance's pass in the same 5 minutes, a new session arrived: the budget is
    // spent, nothing is called; the session stays undecided (not `none`, not `unknown`).
    session(&tables, "t-carol", "carol@contoso.com", T0 + minutes(1)).await;
    let again = pass(T0 + minutes(4)).await;
    assert_eq!(
        arm.take(),
        Vec::<String>::new(),
        "no third call in 5 minutes"
    );
    assert_eq!((again.deferred, verdicts(&again)), (1, settled.to_vec()));
    assert!(
        (again.found.iter()).all(|f| f.kind.name != "authorization.unknown"),
        "{:?}",
        again.found
    );
    // The next pass: carol waits for the lists, but the VM list was never read: it goes first,
    // one call for every VM; carol stays undecided one more pass.
    let second = pass(T0 + minutes(15)).await;
    assert_eq!(arm.take(), ["vms"], "the VM list, no PIM list");
    assert_eq!((second.deferred, verdicts(&second)), (1, settled.to_vec()));
    assert_eq!(entra(&second), ["absent"]);
    // Then a session waits again (dave): the VM list was read within the hour, the lists go.
    session(&tables, "t-dave", "dave@contoso.com", T0 + minutes(20)).await;
    let third = pass(T0 + minutes(30)).await;
    assert_eq!(arm.take(), ["instances", "requests"]);
    let all = [
        settled.as_slice(),
        &[("t-carol", Verdict::None), ("t-dave", Verdict::None)],
    ]
    .concat();
    assert_eq!((third.deferred, verdicts(&third)), (0, all));
    // The VM read is kept with its time: still `absent`, not read again within the day.
    assert_eq!(entra(&third), ["absent"]);
}

/// A slow pass: started at `T0` (its `now`), its calls made 6 minutes later by the clock. The
/// next pass, started then, finds the budget spent: its calls would be the third and fourth in
/// 5 minutes of real time (counted at the pass's own `now`, they were let through).
#[tokio::test]
async fn a_slow_passs_calls_count_when_made_not_when_the_pass_began() {
    let (tables, clock, ports) = rig();
    let (arm, doors) = (Arm::default(), Doors::default());
    let sources = sources(&arm, &doors);
    let (settings, every) = (settings(), BTreeSet::new());
    session(
        &tables,
        "t-alice",
        "alice@contoso.com",
        T0 - Duration::minutes(10),
    )
    .await;
    let late = T0 + Duration::minutes(6);
    clock.set(late);
    let slow = run(&ports, &sources, &every, &settings, T0).await;
    assert_eq!(arm.take(), ["instances", "requests"]);
    assert!(slow.failed.is_empty(), "{:?}", slow.failed);
    let next = run(&ports, &sources, &every, &settings, late).await;
    assert_eq!(
        arm.take(),
        Vec::<String>::new(),
        "the slow pass's calls were made at {late}: none left until 5 minutes after"
    );
    assert_eq!(verdicts(&next), [("t-alice", Verdict::None)]);
    clock.set(late + super::budget::WINDOW);
    let after = run(
        &ports,
        &sources,
        &every,
        &settings,
        late + super::budget::WINDOW,
    )
    .await;
    assert_eq!(arm.take(), ["instances", "requests"]);
    assert!(after.failed.is_empty(), "{:?}", after.failed);
}

/// A VM list that failed is read again at the next pass whose budget allows it (not a day later):
/// its VMs `unknown` only till then, within two calls per subscription per 5 minutes.
#[tokio::test]
async fn a_failed_vm_list_is_read_again_at_the_next_pass_with_budget() {
    let (tables, clock, ports) = rig();
    let (arm, doors) = (Arm::default(), Doors::default());
    *arm.1.lock().expect("failing") = 1;
    let sources = sources(&arm, &doors);
    let (settings, every) = (settings(), BTreeSet::new());
    let pass = |at| {
        clock.set(at);
        run(&ports, &sources, &every, &settings, at)
    };
    let minutes = Duration::minutes;
    session(&tables, "t-alice", "alice@contoso.com", T0 - minutes(10)).await;
    session(&tables, "t-bob", "bob@contoso.com", T0 - minutes(8)).await;
    // The lists first (never read), then the VM list, which fails: its VM `unknown`.
    pass(T0).await;
    assert_eq!(arm.take(), ["instances", "requests"]);
    let failed = pass(T0 + minutes(5)).await;
    assert_eq!(arm.take(), ["vms"]);
    let told = entra(&failed);
    assert!(
        told.len() == 1 && told[0].starts_with(super::shared_store::LIST_UNREAD),
        "{told:?}"
    );
    // Within the same 5 minutes the budget has one call left: the list is read again.
    let again = pass(T0 + minutes(7)).await;
    assert_eq!(arm.take(), ["vms"], "read again, not a day later");
    assert_eq!(entra(&again), ["absent"]);
    // Read whole: not again within the day, and never a third call in 5 minutes.
    pass(T0 + minutes(8)).await;
    pass(T0 + minutes(20)).await;
    let calls = arm.take();
    assert!(!calls.contains(&"vms".to_owned()), "{calls:?}");
}

/// Role definitions within the budget: listed (one call) the pass after a role is first kept,
/// before the PIM lists, which wait that pass; the session the role covers waits undecided
/// meanwhile, then is `pim`; a day on, listed again. Refused (403), the session is `unknown`
/// naming the role and the permission, and the list is asked again only an hour on, the PIM lists
/// going in between. Never more than 2 calls in 5 minutes.
#[tokio::test]
async fn definitions_are_listed_within_the_budget_and_a_refused_list_is_unknown() {
    for refused in [false, true] {
        let (tables, clock, ports) = rig();
        let (arm, doors) = (Arm::default(), Doors::default());
        arm.2.lock().expect("instances").push(activation());
        *arm.3.lock().expect("refused") = refused;
        let sources = sources(&arm, &doors);
        let (settings, every) = (settings(), BTreeSet::new());
        let mut calls: Vec<(OffsetDateTime, String)> = Vec::new();
        let mut pass = async |at: OffsetDateTime| {
            clock.set(at);
            let r = run(&ports, &sources, &every, &settings, at).await;
            calls.extend(arm.take().into_iter().map(|c| (at, c)));
            r
        };
        let minutes = Duration::minutes;
        session(&tables, "t-alice", "alice@contoso.com", T0 - minutes(10)).await;
        // The lists first: the role is seen, its definition not listed yet: alice waits.
        let first = pass(T0).await;
        assert_eq!(
            (first.deferred, first.decided.len()),
            (1, 0),
            "{:?}",
            first.decided
        );
        // Next pass: the definitions first, one call; the lists wait.
        let second = pass(T0 + minutes(15)).await;
        let want = if refused {
            Verdict::Unknown
        } else {
            Verdict::Pim
        };
        assert_eq!(verdicts(&second), [("t-alice", want)]);
        if refused {
            let why = &second.decided[0].1.reasons;
            assert!(
                why.iter().any(|w| w.contains(READER)
                    && w.contains("Microsoft.Authorization/roleDefinitions/read")),
                "{why:?}"
            );
        }
        // A later session the role covers is decided from the kept definitions.
        session(&tables, "t-alice-2", "alice@contoso.com", T0 + minutes(20)).await;
        let third = pass(T0 + minutes(30)).await;
        let later: Vec<_> = (third.decided.iter())
            .filter(|(t, _)| t == "t-alice-2")
            .map(|(_, r)| (r.verdict, r.reasons.clone()))
            .collect();
        assert_eq!(later.len(), 1, "{:?}", third.decided);
        assert_eq!(later[0].0, want, "{later:?}");
        for k in 3..=8 {
            pass(T0 + minutes(15 * k)).await;
        }
        pass(T0 + Duration::days(1) + minutes(30)).await;
        let asked = |what: &str| -> Vec<OffsetDateTime> {
            (calls.iter())
                .filter(|(_, c)| c == what)
                .map(|(t, _)| *t)
                .collect()
        };
        let defs = asked("definitions");
        let lists = asked("instances");
        if refused {
            // At 15 minutes, then an hour later; the lists between.
            assert_eq!(defs[..2], [T0 + minutes(15), T0 + minutes(75)], "{calls:?}");
            assert!(lists.contains(&(T0 + minutes(30))), "{calls:?}");
        } else {
            // At 15 minutes, and again after a day.
            assert_eq!(
                defs,
                [T0 + minutes(15), T0 + Duration::days(1) + minutes(30)]
            );
            assert_eq!(lists.len(), 8, "{calls:?}");
        }
        assert!(!lists.contains(&(T0 + minutes(15))), "{calls:?}");
        within_budget(&calls, "");
    }
}

/// A login-only role (Virtual Machine User Login activated at the subscription) and one session
/// of its person: as `alice@contoso.com` (UPN form) the pass after the role is kept lists the
/// role definitions and the VM list (two calls, the PIM lists waiting): `pim` where the VM has
/// `AADSSHLoginForLinux`, `none` where it has not; that list failing, `unknown` naming it, then
/// told at the next pass with budget. As `root` no VM list is ever read, and the role does not
/// count: `none`.
#[tokio::test]
async fn a_login_only_role_counts_as_the_vm_list_tells_and_a_local_account_reads_none() {
    let minutes = Duration::minutes;
    let cases = [
        ("alice@contoso.com", true, 0, [Verdict::Pim, Verdict::Pim]),
        (
            "alice@contoso.com",
            false,
            0,
            [Verdict::None, Verdict::None],
        ),
        (
            "alice@contoso.com",
            true,
            1,
            [Verdict::Unknown, Verdict::Pim],
        ),
        ("root", true, 0, [Verdict::None, Verdict::None]),
    ];
    for (account, present, failing, want) in cases {
        let (tables, clock, ports) = rig();
        let (arm, doors) = (Arm::default(), Doors::default());
        let mut role = activation();
        role["properties"]["roleDefinitionId"] = format!(
            "/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/{VM_USER_LOGIN}"
        )
        .into();
        arm.2.lock().expect("instances").push(role);
        *arm.4.lock().expect("entra") = present;
        *arm.1.lock().expect("failing") = failing;
        let sources = sources(&arm, &doors);
        let (settings, every) = (settings(), BTreeSet::new());
        let mut calls: Vec<(OffsetDateTime, String)> = Vec::new();
        let mut pass = async |at: OffsetDateTime| {
            clock.set(at);
            let r = run(&ports, &sources, &every, &settings, at).await;
            calls.extend(arm.take().into_iter().map(|c| (at, c)));
            r
        };
        let case = format!("{account}, extension {present}, failing {failing}");
        session_as(
            &tables,
            ("t-alice", account),
            "alice@contoso.com",
            T0 - minutes(10),
        )
        .await;
        // The lists first (the role seen, its definition not listed yet: alice waits).
        let first = pass(T0).await;
        assert_eq!((first.deferred, first.decided.len()), (1, 0), "{case}");
        let second = pass(T0 + minutes(15)).await;
        assert_eq!(verdicts(&second), [("t-alice", want[0])], "{case}");
        if want[0] == Verdict::Unknown {
            let why = &second.decided[0].1.reasons;
            assert!(
                why.iter().any(|w| w.contains(VM_USER_LOGIN)
                    && w.contains("VM list not read")
                    && w.contains("Microsoft.Compute/virtualMachines/read")),
                "{case}: {why:?}"
            );
        }
        let third = pass(T0 + minutes(30)).await;
        let now: Vec<_> = verdicts(&third)
            .into_iter()
            .filter(|(t, _)| *t == "t-alice")
            .collect();
        // Re-decided only where it was `unknown`; otherwise as it was.
        let last = now.first().map_or(want[0], |(_, v)| *v);
        assert_eq!(last, want[1], "{case}: {:?}", third.decided);
        for k in 3..=8 {
            pass(T0 + minutes(15 * k)).await;
        }
        let vms: Vec<_> = calls
            .iter()
            .filter(|(_, c)| c == "vms")
            .map(|(t, _)| *t)
            .collect();
        let expected = match (account, failing) {
            ("root", _) => vec![],
            (_, 0) => vec![T0 + minutes(15)],
            _ => vec![T0 + minutes(15), T0 + minutes(30)],
        };
        assert_eq!(vms, expected, "{case}: {calls:?}");
        within_budget(&calls, &case);
    }
}
