//! Azure Resource Manager: the Bastion hosts, their diagnostic settings, and the recording
//! accounts' settings, behind [`ResourceManager`] (a trait object, so tests can fake it).

pub mod cidr;
pub mod client;
pub mod ids;
pub mod model;

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use crate::azure::AzureError;

pub use self::model::{
    ActiveSession, BastionHost, BlobService, Container, DiagnosticSetting, DisconnectResult,
    IpConfiguration, JitPolicy, ListedVm, NetworkInterface, NetworkSecurityGroup, RoleAssignment,
    RoleDefinition, RuleProperties, ScheduleInstance, ScheduleRequest, SecurityRule, SubResource,
    Subnet, VirtualMachine, VirtualNetwork,
};

/// `api-version` of `Microsoft.Network/bastionHosts`: the one with the recording target.
pub const BASTION_API: &str = "2026-01-01";
/// The version used where Resource Manager does not know [`BASTION_API`].
pub const BASTION_API_FALLBACK: &str = "2024-05-01";
/// `api-version` of the `Microsoft.Network` lists (NICs, NSGs, virtual networks).
pub const NETWORK_API: &str = "2024-05-01";
/// `api-version` of `Microsoft.Insights/diagnosticSettings`.
pub const DIAGNOSTICS_API: &str = "2021-05-01-preview";
/// `api-version` of PIM's `roleAssignmentScheduleInstances` and `roleAssignmentScheduleRequests`.
pub const SCHEDULES_API: &str = "2020-10-01";
/// `api-version` of `Microsoft.Storage` (accounts, blob services, containers).
pub const STORAGE_API: &str = "2023-05-01";

/// Requests out at once per lane at most (8 hosts, two parts each); the pacer lowers it.
pub const MAX_IN_FLIGHT: usize = 16;

/// The Resource Manager calls the estate checks and the live-session watch make.
#[async_trait]
pub trait ResourceManager: Send + Sync + 'static {
    /// The same calls, never waiting past `until`; `None` when there is nothing to bound (fakes).
    fn until(&self, _until: Instant) -> Option<Arc<dyn ResourceManager>> {
        None
    }
    /// How long a call about `resource_id` would wait now for a 429's pause of its throttle scope
    /// (this instance's, or one another instance recorded); `None` when it would not (fakes).
    async fn paused(&self, _resource_id: &str) -> Option<std::time::Duration> {
        None
    }
    /// `GET {host}`: the Bastion host.
    async fn bastion_host(&self, host_id: &str) -> Result<BastionHost, AzureError>;
    /// `GET {resource}/providers/Microsoft.Insights/diagnosticSettings`.
    async fn diagnostic_settings(
        &self,
        resource_id: &str,
    ) -> Result<Vec<DiagnosticSetting>, AzureError>;
    /// `GET {account}/blobServices/default`.
    async fn blob_service(&self, account_id: &str) -> Result<BlobService, AzureError>;
    /// `GET {account}/blobServices/default/containers/{container}`.
    async fn container(&self, account_id: &str, container: &str) -> Result<Container, AzureError>;
    /// `GET {workspace}`: its customer id (the id its queries use); `None` when not visible.
    async fn workspace_customer_id(&self, workspace_id: &str)
    -> Result<Option<String>, AzureError>;
    /// `GET {account}/blobServices/default/containers/{container}/providers/Microsoft.Authorization/roleAssignments`
    /// of `principal_id` (at, above or below the container).
    async fn role_assignments(
        &self,
        account_id: &str,
        container: &str,
        principal_id: &str,
    ) -> Result<Vec<RoleAssignment>, AzureError>;
    /// `GET {account}/providers/Microsoft.Authorization/roleDefinitions/{guid}` of a definition id.
    async fn role_definition(
        &self,
        account_id: &str,
        definition_id: &str,
    ) -> Result<RoleDefinition, AzureError>;
    /// `GET {vm}/extensions/{name}`: whether the VM has that extension.
    async fn vm_extension(&self, vm_id: &str, name: &str) -> Result<bool, AzureError>;
    /// `GET {scope}/providers/Microsoft.Network/networkInterfaces` (a resource group or a
    /// subscription): every page.
    async fn network_interfaces(&self, scope: &str) -> Result<Vec<NetworkInterface>, AzureError>;
    /// `GET {scope}/providers/Microsoft.Network/networkSecurityGroups`: every page.
    async fn security_groups(&self, scope: &str) -> Result<Vec<NetworkSecurityGroup>, AzureError>;
    /// `GET {scope}/providers/Microsoft.Network/virtualNetworks` (subnets inline): every page.
    async fn virtual_networks(&self, scope: &str) -> Result<Vec<VirtualNetwork>, AzureError>;
    /// `GET {vm}`: the ids of the NICs its network profile names (empty: the VM is gone).
    async fn vm_network_interfaces(&self, vm_id: &str) -> Result<Vec<String>, AzureError>;
    /// `GET {vm}`: its `properties.vmId` (`None`: the VM is not there). A Resource Manager that
    /// does not read VMs answers an error.
    async fn virtual_machine_id(&self, vm_id: &str) -> Result<Option<String>, AzureError> {
        not_here(vm_id, "VMs are not read")
    }
    /// `GET {vm}`: its `tags` (`None`: the VM is not there). A Resource Manager that does not read
    /// VMs answers an error.
    async fn vm_tags(
        &self,
        vm_id: &str,
    ) -> Result<Option<std::collections::BTreeMap<String, String>>, AzureError> {
        not_here(vm_id, "VMs are not read")
    }
    /// `GET {subscription}/providers/Microsoft.Compute/virtualMachines` ("Virtual Machines - List
    /// All"), every page: each VM with its extensions. A Resource Manager that does not list VMs
    /// answers an error.
    async fn virtual_machines(&self, subscription: &str) -> Result<Vec<ListedVm>, AzureError> {
        not_here(subscription, "VMs are not listed")
    }
    /// `GET {subscription}/providers/Microsoft.Authorization/roleAssignmentScheduleInstances`,
    /// every page: the active role assignments at, above and below the subscription. A Resource
    /// Manager that does not read them answers an error.
    async fn schedule_instances(
        &self,
        subscription: &str,
    ) -> Result<Vec<ScheduleInstance>, AzureError> {
        not_here(subscription, "schedules are not read")
    }
    /// `GET {subscription}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests`,
    /// every page.
    async fn schedule_requests(
        &self,
        subscription: &str,
    ) -> Result<Vec<ScheduleRequest>, AzureError> {
        not_here(subscription, "schedule requests are not read")
    }
    /// `GET {subscription}/providers/Microsoft.Authorization/roleDefinitions` (api-version
    /// 2022-04-01), every page: the role definitions applicable at the subscription and above. A
    /// Resource Manager that does not read them answers an error.
    async fn role_definitions(
        &self,
        subscription: &str,
    ) -> Result<Vec<RoleDefinition>, AzureError> {
        not_here(subscription, "role definitions are not listed")
    }
    /// `GET {nic}`: one network interface.
    async fn network_interface(&self, nic_id: &str) -> Result<NetworkInterface, AzureError>;
    /// `GET {policy}`: a just-in-time network access policy with its requests.
    async fn jit_policy(&self, policy_id: &str) -> Result<JitPolicy, AzureError>;
    /// `POST {host}/getActiveSessions`: every page of the long-running operation.
    async fn active_sessions(&self, host_id: &str) -> Result<Vec<ActiveSession>, AzureError>;
    /// `POST {host}/disconnectActiveSessions` for `session_ids`: each session's state.
    async fn disconnect_sessions(
        &self,
        host_id: &str,
        session_ids: &[String],
    ) -> Result<Vec<DisconnectResult>, AzureError>;
}

/// The answer of a Resource Manager that does not make a call: `{about}: {what} here`.
fn not_here<T>(about: &str, what: &str) -> Result<T, AzureError> {
    Err(AzureError::Transient(format!("{about}: {what} here")))
}

/// A `ResourceManager` bounded by `until` when it can be, else itself.
pub fn bounded(arm: &Arc<dyn ResourceManager>, until: Instant) -> Arc<dyn ResourceManager> {
    arm.until(until).unwrap_or_else(|| arm.clone())
}

/// A resource's name: the last segment of its id.
pub fn resource_name(id: &str) -> &str {
    id.trim_end_matches('/').rsplit('/').next().unwrap_or(id)
}

/// The parts of a resource id: `(subscription, resource group, last name)`, when it has them.
pub fn id_parts(id: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
    let at = |key: &str| {
        parts
            .iter()
            .position(|p| p.eq_ignore_ascii_case(key))
            .and_then(|i| parts.get(i + 1).copied())
    };
    Some((at("subscriptions")?, at("resourceGroups")?, *parts.last()?))
}

/// True for exactly a Bastion host's resource id (any case) whose segments hold only the characters
/// Azure allows in names: such an id goes into a link or request path as it is.
pub fn is_bastion_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('/').collect();
    parts.len() == 9
        && parts[0].is_empty()
        && parts[1].eq_ignore_ascii_case("subscriptions")
        && parts[3].eq_ignore_ascii_case("resourceGroups")
        && parts[5].eq_ignore_ascii_case("providers")
        && parts[6].eq_ignore_ascii_case("Microsoft.Network")
        && parts[7].eq_ignore_ascii_case("bastionHosts")
        && parts[1..].iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_alphanumeric() || "-_.()".contains(c))
        })
}

/// The portal's *Session recordings* blade of a host [`is_bastion_id`] accepts (an undocumented
/// scheme: a portal change opens the host's overview instead).
pub fn portal_recordings_link(id: &str) -> Option<String> {
    is_bastion_id(id).then(|| format!("https://portal.azure.com/#@/resource{id}/sessionRecordings"))
}

/// True for a `Microsoft.Storage/storageAccounts/{name}` resource id (the account itself).
pub fn is_storage_account_id(id: &str) -> bool {
    let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
    id.starts_with("/subscriptions/")
        && id_parts(id).is_some()
        && parts.len() == 8
        && parts[5].eq_ignore_ascii_case("Microsoft.Storage")
        && parts[6].eq_ignore_ascii_case("storageAccounts")
        && !parts[7].is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_split_into_subscription_group_and_name() {
        let id = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/b1";
        assert_eq!(id_parts(id), Some(("s1", "rg", "b1")));
        assert!(is_bastion_id(id));
        assert!(!is_bastion_id("b1"));
        assert!(!is_bastion_id(
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a"
        ));
    }

    #[test]
    fn only_a_plain_bastion_id_makes_a_portal_link() {
        let base = "/subscriptions/s1/resourceGroups";
        let ok = format!("{base}/rg-Zoë_(1).x/providers/microsoft.network/BASTIONHOSTS/bas-1");
        assert_eq!(
            portal_recordings_link(&ok),
            Some(format!(
                "https://portal.azure.com/#@/resource{ok}/sessionRecordings"
            ))
        );
        for bad in [
            format!("{base}/rg/providers/Microsoft.Network/bastionHosts/b1/"),
            format!("{base}/rg/providers/Microsoft.Network/bastionHosts/b1/x/y"),
            format!("{base}/rg/providers/Microsoft.Network/bastionHosts/b1?x=https://evil.example"),
            format!("{base}/rg/providers/Microsoft.Network/bastionHosts/b1#@evil.example"),
            format!("{base}/rg/providers/Microsoft.Network/bastionHosts/<b>"),
            format!("{base}/r g/providers/Microsoft.Network/bastionHosts/b1"),
            format!("{base}//providers/Microsoft.Network/bastionHosts/b1"),
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/../../x"
                .into(),
            "https://evil.example/subscriptions/s1".into(),
        ] {
            assert_eq!(portal_recordings_link(&bad), None, "{bad}");
        }
    }

    #[test]
    fn only_an_account_itself_is_a_storage_account_id() {
        let id =
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a";
        assert!(is_storage_account_id(id));
        assert!(is_storage_account_id(&id.to_ascii_lowercase()));
        for bad in [
            "a",
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/",
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/blobServices/default",
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/a",
            "subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a",
        ] {
            assert!(!is_storage_account_id(bad), "{bad}");
        }
    }
}
