//! The Resource Manager port: the calls the estate checks, the live-session watch and the
//! authorization reads make, as a trait object (the client in `client/`, fakes in tests).

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use super::model::{
    ActiveSession, BastionHost, BlobService, Container, DiagnosticSetting, DisconnectResult,
    JitPolicy, ListedVm, NetworkInterface, NetworkSecurityGroup, RoleAssignment, RoleDefinition,
    ScheduleInstance, ScheduleRequest, VirtualNetwork,
};
use crate::azure::AzureError;

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
