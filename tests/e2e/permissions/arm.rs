//! Resource Manager for the exercise: the real client (`arm::client::ArmClient`) against the estate
//! e2e's loopback fake, which shows every request it gets to the ledger. Each URL — the host, its
//! settings, the recording account, who may write the recording target, the watched
//! subscriptions' diagnostic settings (their Activity log), a session target's
//! extensions, a watched VM and its NIC in another group, a just-in-time policy whose request the
//! Activity log row does not show, the network lists of the resource groups
//! and of the `BYPASS_SCOPES` subscription (filed under the subscription: the grant a whole
//! subscription's list needs), `getActiveSessions` with its status monitor and result under `/locations/` (and, in
//! a second run, the specification's form under the host) and a next page, the disconnect — is
//! filed as the operation `permissions::ArmOperation::of_request` names, on the scope that
//! operation needs: a URL no operation knows is itself drift.

use std::sync::{Arc, Mutex};

use bastion_recordings::arm::ResourceManager;
use bastion_recordings::arm::client::ArmClient;
use bastion_recordings::azure::http::{Auth, Client};
use bastion_recordings::azure::{Policy, Timeouts};
use bastion_recordings::permissions::ArmOperation;
use bastion_recordings::permissions::arm::ScopeKind;
use serde_json::json;

use super::record::{BASTION, Ledger, RECORDINGS, Resource, WORKSPACES};
use crate::estate::fake_arm::{self, Estate, FakeArm, network};

/// The watched host and the recording account (names the exercise's stores use).
pub(super) const HOST_NAME: &str = "bas-hub-weu";
pub(super) const ACCOUNT_NAME: &str = "strec";
/// The workspace the host's diagnostic setting sends to.
const WORKSPACE: &str = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-law/providers/Microsoft.OperationalInsights/workspaces/law";
/// The subscription `BYPASS_SCOPES` names (its reads granted at subscription scope).
pub(super) const BYPASS_SUBSCRIPTION: &str = "22222222-3333-4444-5555-666666666666";
/// Its VMs' subscription: `vm-{i}` there is in `rg-bypass-{i}`.
const SUB: &str = crate::estate::fake_arm::SUB;
/// The Windows VM an RDP session reaches (Entra ID sign-in through its extension).
const VM: &str = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-app-weu/providers/Microsoft.Compute/virtualMachines/vm-win-01";

/// A session target of the audit log (so watched) that the Activity log shows moved into a group
/// of the `BYPASS_SCOPES` subscription, and that group.
pub(super) const MOVED_VM: &str = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-app-weu/providers/Microsoft.Compute/virtualMachines/vm-win-02";
pub(super) const MOVED_TO: &str =
    "/subscriptions/22222222-3333-4444-5555-666666666666/resourceGroups/rg-bypass-1";

pub(super) fn host() -> String {
    fake_arm::host_id(HOST_NAME)
}

pub(super) fn account() -> String {
    fake_arm::account_id(ACCOUNT_NAME)
}

/// The running fake and the URLs no operation knows.
pub(super) struct Arm {
    pub(super) fake: FakeArm,
    pub(super) unknown: Arc<Mutex<Vec<String>>>,
}

impl Arm {
    /// The fake estate: one recording host with a target its identity may write, a diagnostic
    /// setting sending to a workspace in resource-specific mode, two live sessions on two pages
    /// (one RDP to a VM with `AADLoginForWindows`), every request filed in `ledger`.
    pub(super) async fn start(ledger: &Ledger) -> Self {
        let mut e = Estate::default();
        e.add_healthy(
            HOST_NAME,
            ACCOUNT_NAME,
            super::exercise::RECORDINGS_CONTAINER,
            "stlogs",
        );
        let id = host().to_ascii_lowercase();
        e.diagnostics.insert(
            id.clone(),
            vec![json!({"id": format!("{}/providers/microsoft.insights/diagnosticSettings/to-law", host()),
                "type": "Microsoft.Insights/diagnosticSettings", "name": "to-law",
                "properties": {"storageAccountId": "", "workspaceId": WORKSPACE,
                    "logAnalyticsDestinationType": "Dedicated",
                    "logs": [{"categoryGroup": "audit", "enabled": true}], "metrics": []}})],
        );
        e.workspaces.insert(
            WORKSPACE.to_ascii_lowercase(),
            super::exercise::WORKSPACE.to_owned(),
        );
        // A group holds a role on the session targets' subscription (PIM for Groups on): the
        // authorization pass reads its memberships from Graph.
        let group = super::exercise::PIM_GROUP;
        e.schedules.insert(
            format!("/subscriptions/{SUB}"),
            (vec![json!({"properties": {"scope": format!("/subscriptions/{SUB}"),
                "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/c8d4ff99-41c3-41a8-9f60-21dfdad59608"),
                "principalId": group, "principalType": "Group", "assignmentType": "Assigned",
                "memberType": "Direct", "startDateTime": "2025-01-01T00:00:00Z", "endDateTime": null},
                "name": "g-admins", "type": "Microsoft.Authorization/RoleAssignmentScheduleInstances",
                "id": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/RoleAssignmentScheduleInstances/g-admins")})],
             Vec::new()),
        );
        // The session targets' subscription sends its Activity log there: its diagnostic
        // settings are read at the subscription.
        e.activity_log_to(SUB, super::exercise::WORKSPACE);
        let session = |id: &str, protocol: &str, vm: &str| {
            json!({"sessionId": id, "startTime": "2025-3-14T12:30:00.0000Z", "resourceType": "VM",
                "targetHostName": vm.rsplit('/').next(), "userName": "azureuser", "protocol": protocol,
                "targetIpAddress": "10.10.1.4", "targetResourceId": vm, "sessionDurationInMins": 2.0})
        };
        e.sessions.insert(
            id,
            vec![
                session(
                    "5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f",
                    "SSH",
                    &VM.replace("vm-win-01", "vm-app-01"),
                ),
                session("6a1d3e8f-9c2b-4d4f-8e3a-7b8c9d0e1f2a", "RDP", VM),
            ],
        );
        e.extensions
            .push(format!("{VM}/extensions/AADLoginForWindows").to_ascii_lowercase());
        // The other doors' network reads: the VM's NIC, its subnet's virtual network (the host's
        // Bastion subnet in it too) and its NSG, all in the session targets' group.
        let nsg = network::nsg_id("rg-app-weu", "nsg-app");
        let app = network::subnet_id("rg-app-weu", "vnet-app", "app");
        e.network = vec![
            network::vnet(
                "rg-app-weu",
                "vnet-app",
                "10.10.0.0/16",
                &[
                    ("AzureBastionSubnet", "10.10.0.0/26", None),
                    ("app", "10.10.1.0/24", Some(nsg.as_str())),
                ],
            ),
            network::nsg("rg-app-weu", "nsg-app", vec![]),
            network::nic(
                "rg-app-weu",
                "nic-win-01",
                VM,
                &app,
                "10.10.1.4",
                None,
                None,
            ),
        ];
        // The SSH session's VM has its NIC in another group, which no list reads: the check
        // reads it through the VM (`GET {vm}`, then `GET {nic}`).
        e.network.push(network::nic(
            "rg-net-weu",
            "nic-app-01",
            &VM.replace("vm-win-01", "vm-app-01"),
            &app,
            "10.10.1.5",
            None,
            None,
        ));
        // The just-in-time policy of the session targets' group: the Activity log's `initiate`
        // row carries no request body, so its requests are read (`GET {policy}`).
        e.network.push(network::jit_policy(
            "rg-app-weu",
            VM,
            "grace@contoso.com",
            "203.0.113.7",
            "2025-03-14T12:10:05.0000000Z",
        ));
        // The `BYPASS_SCOPES` subscription: a VM in each of 4 groups, each with its own virtual
        // network and NSG, so each kind is listed once for the subscription.
        for i in 0..4 {
            let rg = format!("rg-bypass-{i}");
            let nsg = network::nsg_id(&rg, "nsg");
            let subnet = network::subnet_id(&rg, "vnet", "default");
            let vm = format!(
                "/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/vm-{i}"
            );
            let jit = (i == 0).then(|| {
                network::jit_policy(
                    &rg,
                    &vm,
                    "grace@contoso.com",
                    "203.0.113.8",
                    "2025-03-14T12:10:05.0000000Z",
                )
            });
            for r in [
                network::vnet(
                    &rg,
                    "vnet",
                    "10.20.0.0/16",
                    &[("default", "10.20.1.0/24", Some(nsg.as_str()))],
                ),
                network::nsg(&rg, "nsg", vec![]),
                network::nic(&rg, "nic", &vm, &subnet, "10.20.1.4", None, None),
            ]
            .into_iter()
            .chain(jit)
            {
                e.network
                    .push(network::in_subscription(&r, BYPASS_SUBSCRIPTION));
            }
        }
        e.host(HOST_NAME)["properties"]["ipConfigurations"] = json!([{"name": "IpConf",
            "properties": {"subnet": {"id": network::subnet_id("rg-app-weu", "vnet-app", "AzureBastionSubnet")}}}]);
        // The moved VM answers its `vmId` at its new id.
        let moved = format!("{MOVED_TO}/providers/microsoft.compute/virtualmachines/vm-win-02");
        e.vm_ids.insert(
            moved.to_ascii_lowercase(),
            "5d2a7d0f-6a0e-4a8e-9f1e-2b3c4d5e6f70".into(),
        );
        e.lro = fake_arm::lro::Lro::Network;
        e.lro_polls = 1;
        e.page_size = 1;
        let unknown = Arc::new(Mutex::new(Vec::new()));
        let (l, u) = (ledger.clone(), unknown.clone());
        e.observer = Some(Arc::new(
            move |method: &str, path: &str| match ArmOperation::of_request(method, path) {
                Some((op, scope)) => {
                    // Anything the other-doors check reads under a BYPASS_SCOPES subscription (a
                    // network list for the whole subscription, a VM, a just-in-time policy) needs its
                    // grant at that subscription.
                    let bypass = scope
                        .to_ascii_lowercase()
                        .starts_with(&format!("/subscriptions/{BYPASS_SUBSCRIPTION}"));
                    let (conn, res) = match op.scope() {
                        ScopeKind::Host => (BASTION, Resource::BastionHost),
                        ScopeKind::Subscription => (BASTION, Resource::Subscription),
                        ScopeKind::Vm if bypass => (BASTION, Resource::BypassSubscription),
                        ScopeKind::Vm => (BASTION, Resource::Vm),
                        ScopeKind::Account => (RECORDINGS, Resource::Account),
                        ScopeKind::Workspace => (WORKSPACES, Resource::Workspace),
                    };
                    l.record(conn, res, op.into());
                }
                None => u.lock().expect("unknown").push(format!("{method} {path}")),
            },
        ));
        Self {
            fake: FakeArm::start(e).await,
            unknown,
        }
    }

    /// The real client over the fake.
    pub(super) fn client(&self) -> Arc<dyn ResourceManager> {
        let endpoint = self.fake.url.parse().expect("url");
        let http = Client::new(
            "arm",
            Some(&endpoint),
            Auth::None,
            Timeouts::CONTROL,
            Policy::CONTROL,
        );
        Arc::new(ArmClient::new(http.expect("http"), &self.fake.url).expect("client"))
    }
}
