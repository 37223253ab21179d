//! The Resource Manager answers the app reads, in the shapes the REST specifications document
//! (only the fields used; everything else is ignored, and a missing flag reads as its default).

use serde::{Deserialize, Serialize};

/// A `Microsoft.Network/bastionHosts` resource.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BastionHost {
    /// Resource id.
    #[serde(default)]
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// `sku.name`: Basic, Standard, Premium, Developer.
    #[serde(default)]
    pub sku: Option<Sku>,
    /// `properties`.
    #[serde(default)]
    pub properties: BastionProperties,
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
    pub enable_session_recording: bool,
    /// Native client support (such sessions are never recorded).
    pub enable_tunneling: bool,
    /// Shareable links.
    pub enable_shareable_link: bool,
    /// Connect by IP address.
    pub enable_ip_connect: bool,
}

impl BastionHost {
    /// The SKU name, empty when absent.
    pub fn sku_name(&self) -> &str {
        self.sku
            .as_ref()
            .and_then(|s| s.name.as_deref())
            .unwrap_or_default()
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
    /// Destination storage account (resource id).
    pub storage_account_id: Option<String>,
    /// Destination Log Analytics workspace (resource id).
    pub workspace_id: Option<String>,
    /// Log categories or category groups.
    pub logs: Vec<LogSetting>,
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
    pub is_versioning_enabled: bool,
    /// CORS rules.
    pub cors: Cors,
}

/// `cors` of a blob service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Cors {
    /// Rules.
    pub cors_rules: Vec<CorsRule>,
}

/// One CORS rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CorsRule {
    /// Origins (`*` or full origins).
    pub allowed_origins: Vec<String>,
    /// Methods.
    pub allowed_methods: Vec<String>,
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
    pub session_id: String,
    /// Start (RFC 3339).
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
    pub session_duration_in_mins: Option<f64>,
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

/// A page of a list: `value` and `nextLink`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// Items.
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    /// The next page's absolute URL.
    #[serde(default)]
    pub next_link: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let page: Page<ActiveSession> = serde_json::from_str(include_str!(
            "../../tests/fixtures/bastion-api/active-sessions.json"
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
