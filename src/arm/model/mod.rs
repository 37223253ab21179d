//! The Resource Manager answers the app reads, as the REST specifications document them (a
//! missing or `null` flag or list reads as its default).

mod access;
mod jit;
mod listed;
mod network;
mod nullable;
mod schedule;

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use nullable::nullable;

pub use access::{
    RoleAssignment, RoleAssignmentProperties, RoleDefinition, RoleDefinitionProperties,
    RolePermission,
};
pub use jit::{JitPolicy, JitPolicyProperties, JitRequest, JitRequestPort, JitRequestVm};
pub use listed::{ExtensionProperties, ListedExtension, ListedVm, Untold};
pub use network::{
    IpConfiguration, IpConfigurationProperties, NetworkInterface, NetworkSecurityGroup,
    NicProperties, NsgProperties, RuleProperties, SecurityRule, SubResource, Subnet,
    SubnetProperties, VirtualMachine, VirtualNetwork, VmNetworkProfile, VmProperties,
    VnetProperties,
};
pub use schedule::{
    Expanded, Expiration, Named, Schedule, ScheduleInfo, ScheduleInstance,
    ScheduleInstanceProperties, ScheduleRequest, ScheduleRequestProperties, TicketInfo,
};

/// Text that is not empty (the services write `""` for "none" in places, e.g. `workspaceId`).
fn present(v: Option<&String>) -> Option<&str> {
    v.map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// A `Microsoft.Network/bastionHosts` resource.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BastionHost {
    /// Resource id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `sku.name`: Basic, Standard, Premium, Developer.
    pub sku: Option<Sku>,
    /// `properties`.
    #[serde(deserialize_with = "nullable")]
    pub properties: BastionProperties,
    /// The host's own managed identity (api-version 2026-01-01).
    pub identity: Option<ResourceIdentity>,
}

/// A resource's `identity`: system-assigned (`principalId`) and user-assigned identities.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResourceIdentity {
    /// `SystemAssigned`, `UserAssigned`, both, or `None`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The system-assigned identity's object id.
    pub principal_id: Option<String>,
    /// User-assigned identities by resource id.
    #[serde(deserialize_with = "nullable")]
    pub user_assigned_identities: BTreeMap<String, Option<AssignedIdentity>>,
}

/// One user-assigned identity of a resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AssignedIdentity {
    /// Its object id.
    pub principal_id: Option<String>,
    /// Its client id.
    pub client_id: Option<String>,
}

/// `sku` of a host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Sku {
    /// Tier name.
    #[serde(default)]
    pub name: Option<String>,
}

/// `properties` of a host (the flags the checks read).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BastionProperties {
    /// `Succeeded`, `Updating`, `Failed`, …
    pub provisioning_state: Option<String>,
    /// The host's DNS name (the portal player's origin).
    pub dns_name: Option<String>,
    /// Session recording on.
    #[serde(deserialize_with = "nullable")]
    pub enable_session_recording: bool,
    /// Native client support (such sessions are never recorded).
    #[serde(deserialize_with = "nullable")]
    pub enable_tunneling: bool,
    /// Shareable links.
    #[serde(deserialize_with = "nullable")]
    pub enable_shareable_link: bool,
    /// Connect by IP address.
    #[serde(deserialize_with = "nullable")]
    pub enable_ip_connect: bool,
    /// Kerberos authentication.
    #[serde(deserialize_with = "nullable")]
    pub enable_kerberos: bool,
    /// Reachable only from private addresses.
    #[serde(deserialize_with = "nullable")]
    pub enable_private_only_bastion: bool,
    /// Copy and paste disabled.
    #[serde(deserialize_with = "nullable")]
    pub disable_copy_paste: bool,
    /// Where the host records (absent from older api-versions and SAS targets).
    pub session_recording_configuration: Option<RecordingConfiguration>,
    /// Its IP configurations (`properties.subnet.id`: its `AzureBastionSubnet`).
    #[serde(deserialize_with = "nullable")]
    pub ip_configurations: Vec<IpConfiguration>,
}

/// `properties.sessionRecordingConfiguration` of a host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RecordingConfiguration {
    /// `https://<account>.blob.<suffix>/<container>`.
    pub blob_container_uri: Option<String>,
    /// The identity Bastion writes with.
    pub identity: Option<RecordingIdentity>,
}

/// `sessionRecordingConfiguration.identity`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RecordingIdentity {
    /// `SystemAssigned` or `UserAssigned`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The user-assigned identity's resource id.
    pub user_assigned_identity_id: Option<String>,
}

impl RecordingConfiguration {
    /// The target container's URI, when one is set.
    pub fn target(&self) -> Option<&str> {
        present(self.blob_container_uri.as_ref())
    }
}

impl BastionHost {
    /// The SKU name, empty when absent.
    pub fn sku_name(&self) -> &str {
        self.sku
            .as_ref()
            .and_then(|s| s.name.as_deref())
            .unwrap_or_default()
    }

    /// The ids (lower-case) of the subnets its IP configurations sit in: its
    /// `AzureBastionSubnet`.
    pub fn subnet_ids(&self) -> std::collections::BTreeSet<String> {
        (self.properties.ip_configurations.iter())
            .filter_map(|c| c.properties.subnet.as_ref())
            .map(|s| s.id.to_ascii_lowercase())
            .collect()
    }

    /// The object id of the identity Bastion records with, when the answer tells it.
    pub fn recording_principal(&self) -> Option<&str> {
        let config = self.properties.session_recording_configuration.as_ref()?;
        let who = config.identity.as_ref()?;
        let identity = self.identity.as_ref()?;
        let kind = who.kind.as_deref().unwrap_or_default();
        if kind.eq_ignore_ascii_case("UserAssigned") {
            let id = present(who.user_assigned_identity_id.as_ref())?;
            let found = identity
                .user_assigned_identities
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(id))?;
            return found
                .1
                .as_ref()
                .and_then(|a| present(a.principal_id.as_ref()));
        }
        present(identity.principal_id.as_ref())
    }
}

/// A `Microsoft.Insights/diagnosticSettings` resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct DiagnosticSetting {
    /// Setting name.
    pub name: String,
    /// Its properties.
    pub properties: DiagnosticProperties,
}

/// `properties` of a diagnostic setting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DiagnosticProperties {
    /// Destination storage account (resource id; `""` or absent: none).
    pub storage_account_id: Option<String>,
    /// Destination Log Analytics workspace (resource id; `""` or absent: none).
    pub workspace_id: Option<String>,
    /// `Dedicated`: resource-specific tables; `null` or absent (the default): `AzureDiagnostics`.
    pub log_analytics_destination_type: Option<String>,
    /// Log categories or category groups.
    #[serde(deserialize_with = "nullable")]
    pub logs: Vec<LogSetting>,
}

impl DiagnosticProperties {
    /// The destination storage account, if any.
    pub fn storage_account(&self) -> Option<&str> {
        present(self.storage_account_id.as_ref())
    }

    /// The destination workspace, if any (`workspaceId: ""` is none: nothing to look up).
    pub fn workspace(&self) -> Option<&str> {
        present(self.workspace_id.as_ref())
    }

    /// True when a workspace destination writes to the resource-specific tables.
    pub fn dedicated(&self) -> bool {
        self.log_analytics_destination_type
            .as_deref()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("Dedicated"))
    }
}

/// One entry of `logs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LogSetting {
    /// e.g. `BastionAuditLogs`.
    pub category: Option<String>,
    /// e.g. `audit`, `allLogs`.
    pub category_group: Option<String>,
    /// Whether it is sent.
    #[serde(deserialize_with = "nullable")]
    pub enabled: bool,
}

/// `Microsoft.Storage/storageAccounts/blobServices/default`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct BlobService {
    /// Its properties.
    pub properties: BlobServiceProperties,
}

/// `properties` of a blob service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BlobServiceProperties {
    /// Blob versioning.
    #[serde(deserialize_with = "nullable")]
    pub is_versioning_enabled: bool,
    /// CORS rules.
    #[serde(deserialize_with = "nullable")]
    pub cors: Cors,
}

/// `cors` of a blob service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Cors {
    /// Rules.
    #[serde(deserialize_with = "nullable")]
    pub cors_rules: Vec<CorsRule>,
}

/// One CORS rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CorsRule {
    /// Origins (`*` or full origins).
    #[serde(deserialize_with = "nullable")]
    pub allowed_origins: Vec<String>,
    /// Methods.
    #[serde(deserialize_with = "nullable")]
    pub allowed_methods: Vec<String>,
    /// Request headers allowed.
    #[serde(deserialize_with = "nullable")]
    pub allowed_headers: Vec<String>,
    /// Response headers exposed.
    #[serde(deserialize_with = "nullable")]
    pub exposed_headers: Vec<String>,
    /// Preflight cache time.
    pub max_age_in_seconds: Option<i64>,
}

/// `Microsoft.Storage/storageAccounts/blobServices/containers/{name}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Container {
    /// Its properties.
    pub properties: ContainerProperties,
}

/// `properties` of a container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerProperties {
    /// A time-based immutability policy exists.
    #[serde(deserialize_with = "nullable")]
    pub has_immutability_policy: bool,
    /// Version-level immutability.
    pub immutable_storage_with_versioning: Option<Enabled>,
}

/// `{ "enabled": bool }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Enabled {
    /// The flag.
    pub enabled: bool,
}

/// One session of `getActiveSessions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ActiveSession {
    /// Session id.
    #[serde(deserialize_with = "nullable")]
    pub session_id: String,
    /// Start as the service wrote it (not RFC 3339 in its example; read by [`ActiveSession::started`]).
    #[serde(deserialize_with = "any_text")]
    pub start_time: Option<String>,
    /// VM, VMSS, …
    pub resource_type: Option<String>,
    /// Target host name.
    pub target_host_name: Option<String>,
    /// User (empty for native-client sessions with Entra ID sign-in).
    pub user_name: Option<String>,
    /// Target IP.
    pub target_ip_address: Option<String>,
    /// SSH or RDP.
    pub protocol: Option<String>,
    /// Target resource id.
    pub target_resource_id: Option<String>,
    /// Minutes so far.
    #[serde(deserialize_with = "lenient_number")]
    pub session_duration_in_mins: Option<f64>,
}

impl ActiveSession {
    /// The start, when it can be read ([`crate::dates::timestamp_lenient`]).
    pub fn started(&self) -> Option<time::OffsetDateTime> {
        self.start_time
            .as_deref()
            .and_then(crate::dates::timestamp_lenient)
    }
}

/// Any JSON value as text: a string as it is, `null` as none, anything else as its JSON.
fn any_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

/// One answer of `disconnectActiveSessions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DisconnectResult {
    /// Session id.
    pub session_id: String,
    /// The service's message.
    pub message: Option<String>,
    /// `Disconnected`, `Failed` or `NotFound`.
    pub state: String,
}

/// A number, or a number written as text; anything else is none.
fn lenient_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page of a list: `value` and `nextLink`.
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Page<T> {
        /// Items.
        #[serde(default = "Vec::new")]
        value: Vec<T>,
        /// The next page's absolute URL.
        #[serde(default)]
        next_link: Option<String>,
    }

    #[test]
    fn documented_shapes_parse() {
        let host: BastionHost = serde_json::from_value(serde_json::json!({
            "id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/bastionHosts/b",
            "name": "b", "sku": {"name": "Premium"}, "location": "westeurope",
            "properties": {"provisioningState": "Succeeded", "dnsName": "bst-1.bastion.azure.com",
                "enableTunneling": true, "enableSessionRecording": false, "scaleUnits": 2}
        }))
        .expect("host");
        assert_eq!(host.sku_name(), "Premium");
        assert!(host.properties.enable_tunneling && !host.properties.enable_session_recording);
        // The 2026-01-01 GET example's flags, some written null by other clients: defaults.
        let flags: BastionHost = serde_json::from_value(serde_json::json!({"properties": {
            "disableCopyPaste": true, "enableKerberos": true, "enablePrivateOnlyBastion": true,
            "enableIpConnect": null, "enableSessionRecording": null, "sessionRecordingConfiguration": null}}))
        .expect("flags");
        let p = &flags.properties;
        assert!(p.disable_copy_paste && p.enable_kerberos && p.enable_private_only_bastion);
        assert!(!p.enable_ip_connect && !p.enable_session_recording);
        assert!(p.session_recording_configuration.is_none());
        let page: Page<ActiveSession> = serde_json::from_str(include_str!(
            "../../../tests/fixtures/bastion-api/active-sessions.json"
        ))
        .expect("sessions");
        assert_eq!(page.value[0].protocol.as_deref(), Some("SSH"));
        assert!(page.next_link.is_none());
        let c: Container = serde_json::from_value(serde_json::json!({"properties": {
            "hasImmutabilityPolicy": true, "immutableStorageWithVersioning": {"enabled": false}}}))
        .expect("container");
        assert!(c.properties.has_immutability_policy);
    }
}
