//! The Resource Manager port's test double: a Resource Manager for the estate's
//! network read that grants the reads on resource groups only
//! (a subscription-wide list is refused, 403, as the deployment's grants would have it), in the
//! REST specification's example shapes (NIC, virtual network, NSG, VM `networkProfile`), and
//! records every request it gets.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Value, json};

use bastion_recordings::arm::{
    ActiveSession, BastionHost, BlobService, Container, DiagnosticSetting, DisconnectResult,
    NetworkInterface, NetworkSecurityGroup, ResourceManager, RoleAssignment, RoleDefinition,
    VirtualNetwork,
};
use bastion_recordings::azure::AzureError;

/// The watched Bastion host.
pub const HOST: &str =
    "/subscriptions/s1/resourcegroups/rg-hub/providers/microsoft.network/bastionhosts/b1";
const VNET: &str =
    "/subscriptions/s1/resourcegroups/rg-net/providers/microsoft.network/virtualnetworks/vnet";
const NSG: &str = "/subscriptions/s1/resourcegroups/rg-net/providers/microsoft.network/networksecuritygroups/nsg-app";

/// Each VM with the NIC ids its network profile names.
type Profiles = Arc<Mutex<Vec<(String, Vec<String>)>>>;

/// The fake; clones share everything.
#[derive(Clone, Default)]
pub struct Fake {
    /// Every request: `host`, `nics|vnets|nsgs [subscription-wide ]{scope}`, `get {id}`.
    pub asked: Arc<Mutex<Vec<String>>>,
    /// Resource ids whose GET fails (transiently).
    pub failing: Arc<Mutex<Vec<String>>>,
    /// Resource groups (lower-case) whose lists are refused (403: Reader not granted there).
    pub refused: Arc<Mutex<Vec<String>>>,
    nics: Arc<Mutex<Vec<Value>>>,
    vms: Profiles,
    /// Just-in-time policies, in the specification's GET example shape.
    pub policies: Arc<Mutex<Vec<Value>>>,
}

fn nic(group: &str, name: &str, vm: &str, public_ip: Option<&str>) -> Value {
    let id = format!(
        "/subscriptions/s1/resourcegroups/{group}/providers/microsoft.network/networkinterfaces/{name}"
    );
    let mut ipc = json!({"name": "ipconfig1", "id": format!("{id}/ipConfigurations/ipconfig1"),
        "properties": {"provisioningState": "Succeeded", "privateIPAddress": "10.0.1.4",
            "privateIPAllocationMethod": "Dynamic", "subnet": {"id": format!("{VNET}/subnets/app")},
            "primary": true, "privateIPAddressVersion": "IPv4"}});
    if let Some(p) = public_ip {
        ipc["properties"]["publicIPAddress"] = json!({"id": format!(
            "/subscriptions/s1/resourcegroups/{group}/providers/microsoft.network/publicipaddresses/{p}")});
    }
    json!({"name": name, "id": id, "location": "eastus", "type": "Microsoft.Network/networkInterfaces",
        "properties": {"provisioningState": "Succeeded", "ipConfigurations": [ipc],
            "enableIPForwarding": false, "primary": true, "virtualMachine": {"id": vm}}})
}

impl Fake {
    /// `n` VMs, VM `i` in group `rg-{i}` with its NIC there, every NIC in subnet `app` (NSG
    /// `nsg-app`: SSH/RDP from the Bastion subnet, denied from every other source ahead of
    /// `AllowVnetInBound`) of one virtual network in `rg-net`, which holds the host's
    /// `AzureBastionSubnet` too.
    pub fn groups_only(n: usize) -> Self {
        let fake = Self::default();
        for i in 0..n {
            let vm = fake.vm(i);
            let nic = nic(&format!("rg-{i}"), &format!("nic-{i}"), &vm, None);
            let id = nic["id"].as_str().unwrap_or_default().to_owned();
            fake.nics.lock().expect("nics").push(nic);
            fake.vms.lock().expect("vms").push((vm, vec![id]));
        }
        fake
    }

    /// VM `i`'s id.
    pub fn vm(&self, i: usize) -> String {
        format!(
            "/subscriptions/s1/resourcegroups/rg-{i}/providers/microsoft.compute/virtualmachines/vm-{i}"
        )
    }

    /// Moves VM `i`'s NIC to `group` (with a public IP when given); the new NIC's id.
    pub fn nic_elsewhere(&self, i: usize, group: &str, public_ip: Option<&str>) -> String {
        let vm = self.vm(i);
        let moved = nic(group, &format!("nic-{i}-far"), &vm, public_ip);
        let id = moved["id"].as_str().unwrap_or_default().to_owned();
        let mut nics = self.nics.lock().expect("nics");
        nics.retain(|n| n["properties"]["virtualMachine"]["id"] != vm.as_str());
        nics.push(moved);
        for (v, ids) in self.vms.lock().expect("vms").iter_mut() {
            if *v == vm {
                *ids = vec![id.clone()];
            }
        }
        id
    }

    /// Every VM's id.
    pub fn vms(&self) -> Vec<String> {
        let vms = self.vms.lock().expect("vms");
        vms.iter().map(|(v, _)| v.clone()).collect()
    }

    fn ask(&self, what: String) {
        self.asked.lock().expect("asked").push(what);
    }

    /// A list of `kind` under `scope`: 403 for a subscription or a group in `refused`, else the
    /// items under the group.
    fn list<T: serde::de::DeserializeOwned>(
        &self,
        kind: &str,
        scope: &str,
        items: Vec<Value>,
    ) -> Result<Vec<T>, AzureError> {
        if scope.trim_matches('/').split('/').count() == 2 {
            self.ask(format!("{kind} subscription-wide {scope}"));
            return Err(AzureError::Forbidden {
                role: format!("Reader on {scope}"),
            });
        }
        self.ask(format!("{kind} {scope}"));
        if self
            .refused
            .lock()
            .expect("refused")
            .contains(&scope.to_ascii_lowercase())
        {
            return Err(AzureError::Forbidden {
                role: format!("Reader on {scope}"),
            });
        }
        let prefix = format!("{}/", scope.to_ascii_lowercase());
        items
            .into_iter()
            .filter(|v| v["id"].as_str().unwrap_or_default().starts_with(&prefix))
            .map(|v| serde_json::from_value(v).map_err(|e| AzureError::Transient(e.to_string())))
            .collect()
    }
}

fn not_canned<T>() -> Result<T, AzureError> {
    Err(AzureError::Transient("not canned".into()))
}

#[async_trait]
impl ResourceManager for Fake {
    async fn bastion_host(&self, _: &str) -> Result<BastionHost, AzureError> {
        self.ask("host".into());
        serde_json::from_value(
            json!({"id": HOST, "properties": {"ipConfigurations": [{"name": "IpConf",
            "properties": {"subnet": {"id": format!("{VNET}/subnets/AzureBastionSubnet")}}}]}}),
        )
        .map_err(|e| AzureError::Transient(e.to_string()))
    }
    async fn diagnostic_settings(&self, _: &str) -> Result<Vec<DiagnosticSetting>, AzureError> {
        not_canned()
    }
    async fn workspace_customer_id(&self, _: &str) -> Result<Option<String>, AzureError> {
        not_canned()
    }
    async fn blob_service(&self, _: &str) -> Result<BlobService, AzureError> {
        not_canned()
    }
    async fn container(&self, _: &str, _: &str) -> Result<Container, AzureError> {
        not_canned()
    }
    async fn role_assignments(
        &self,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<Vec<RoleAssignment>, AzureError> {
        not_canned()
    }
    async fn role_definition(&self, _: &str, _: &str) -> Result<RoleDefinition, AzureError> {
        not_canned()
    }
    async fn vm_extension(&self, _: &str, _: &str) -> Result<bool, AzureError> {
        not_canned()
    }
    async fn network_interfaces(&self, scope: &str) -> Result<Vec<NetworkInterface>, AzureError> {
        let nics = self.nics.lock().expect("nics").clone();
        self.list("nics", scope, nics)
    }
    async fn security_groups(&self, scope: &str) -> Result<Vec<NetworkSecurityGroup>, AzureError> {
        let rule = |name: &str, access: &str, priority: u32, source: &str| {
            json!({"name": name, "properties": {"protocol": "Tcp", "sourcePortRange": "*",
                "destinationPortRanges": ["22", "3389"], "sourceAddressPrefix": source,
                "destinationAddressPrefix": "*", "access": access, "priority": priority,
                "direction": "Inbound"}})
        };
        let rules = [
            rule("bastion-in", "Allow", 100, "10.0.0.0/26"),
            rule("deny-rest", "Deny", 4000, "*"),
        ];
        let nsg = json!({"name": "nsg-app", "id": NSG, "type": "Microsoft.Network/networkSecurityGroups",
            "properties": {"provisioningState": "Succeeded", "securityRules": rules}});
        self.list("nsgs", scope, vec![nsg])
    }
    async fn virtual_networks(&self, scope: &str) -> Result<Vec<VirtualNetwork>, AzureError> {
        let vnet = json!({"name": "vnet", "id": VNET, "type": "Microsoft.Network/virtualNetworks",
            "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}, "subnets": [
                {"name": "AzureBastionSubnet", "id": format!("{VNET}/subnets/AzureBastionSubnet"),
                    "properties": {"addressPrefix": "10.0.0.0/26"}},
                {"name": "app", "id": format!("{VNET}/subnets/app"),
                    "properties": {"addressPrefix": "10.0.1.0/24", "networkSecurityGroup": {"id": NSG}}}]}});
        self.list("vnets", scope, vec![vnet])
    }
    async fn vm_network_interfaces(&self, vm_id: &str) -> Result<Vec<String>, AzureError> {
        self.ask(format!("get {vm_id}"));
        Ok(self
            .vms
            .lock()
            .expect("vms")
            .iter()
            .find(|(v, _)| v.eq_ignore_ascii_case(vm_id))
            .map(|(_, n)| n.clone())
            .unwrap_or_default())
    }
    async fn network_interface(&self, nic_id: &str) -> Result<NetworkInterface, AzureError> {
        self.ask(format!("get {nic_id}"));
        if self
            .failing
            .lock()
            .expect("failing")
            .contains(&nic_id.to_ascii_lowercase())
        {
            return Err(AzureError::Transient("refused by the test".into()));
        }
        let nics = self.nics.lock().expect("nics").clone();
        let found = nics.into_iter().find(|n| n["id"] == nic_id);
        match found {
            Some(n) => serde_json::from_value(n).map_err(|e| AzureError::Transient(e.to_string())),
            None => Err(AzureError::NotFound),
        }
    }
    async fn jit_policy(
        &self,
        policy_id: &str,
    ) -> Result<bastion_recordings::arm::JitPolicy, AzureError> {
        self.ask(format!("get {policy_id}"));
        let policies = self.policies.lock().expect("policies").clone();
        match policies.into_iter().find(|p| {
            p["id"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(policy_id))
        }) {
            Some(p) => serde_json::from_value(p).map_err(|e| AzureError::Transient(e.to_string())),
            None => Err(AzureError::NotFound),
        }
    }
    async fn active_sessions(&self, _: &str) -> Result<Vec<ActiveSession>, AzureError> {
        not_canned()
    }
    async fn disconnect_sessions(
        &self,
        _: &str,
        _: &[String],
    ) -> Result<Vec<DisconnectResult>, AzureError> {
        not_canned()
    }
}
