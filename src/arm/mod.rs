//! Azure Resource Manager: the Bastion hosts, their diagnostic settings, and the recording
//! accounts' settings, behind [`ResourceManager`] (a trait object, so tests can fake it).

pub mod cidr;
pub mod client;
pub mod ids;
pub mod model;
pub mod port;

use std::sync::Arc;
use std::time::Instant;

pub use self::model::{
    ActiveSession, BastionHost, BlobService, Container, DiagnosticSetting, DisconnectResult,
    IpConfiguration, JitPolicy, ListedVm, NetworkInterface, NetworkSecurityGroup, RoleAssignment,
    RoleDefinition, RuleProperties, ScheduleInstance, ScheduleRequest, SecurityRule, SubResource,
    Subnet, VirtualMachine, VirtualNetwork,
};
pub use self::port::ResourceManager;

/// Requests out at once per lane at most (8 hosts, two parts each); the pacer lowers it.
pub const MAX_IN_FLIGHT: usize = 16;

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
