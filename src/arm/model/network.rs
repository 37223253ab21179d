//! The network resources the other-doors check reads, in the shapes of the `Microsoft.Network`
//! REST specification's list examples: network interfaces (their IP configurations' subnet and
//! public IP, their NSG and VM), network security groups (their rules) and virtual networks
//! (their subnets' prefixes and NSG); and of a virtual machine (the `Microsoft.Compute` GET
//! example's shape) only the NICs its `networkProfile` names.

use serde::{Deserialize, Serialize};

use super::nullable::nullable;

/// A reference to another resource (`{"id": …}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct SubResource {
    /// Its resource id.
    pub id: String,
}

/// An IP configuration of a NIC or a Bastion host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct IpConfiguration {
    /// Its name.
    pub name: String,
    /// `properties`.
    #[serde(deserialize_with = "nullable")]
    pub properties: IpConfigurationProperties,
}

/// `properties` of an IP configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IpConfigurationProperties {
    /// The private address (may carry a `/length` for a prefix).
    #[serde(rename = "privateIPAddress")]
    pub private_ip_address: Option<String>,
    /// The subnet.
    pub subnet: Option<SubResource>,
    /// The public IP address resource, when one is attached.
    #[serde(rename = "publicIPAddress")]
    pub public_ip_address: Option<SubResource>,
}

/// A `Microsoft.Network/networkInterfaces` resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct NetworkInterface {
    /// Resource id.
    pub id: String,
    /// `etag`: changes whenever the NIC does (absent from some answers).
    pub etag: Option<String>,
    /// `properties`.
    #[serde(deserialize_with = "nullable")]
    pub properties: NicProperties,
}

/// `properties` of a NIC.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NicProperties {
    /// Its IP configurations.
    #[serde(deserialize_with = "nullable")]
    pub ip_configurations: Vec<IpConfiguration>,
    /// The NIC's own NSG.
    pub network_security_group: Option<SubResource>,
    /// The VM it is attached to.
    pub virtual_machine: Option<SubResource>,
}

/// A `Microsoft.Network/networkSecurityGroups` resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct NetworkSecurityGroup {
    /// Resource id.
    pub id: String,
    /// `properties`.
    #[serde(deserialize_with = "nullable")]
    pub properties: NsgProperties,
}

/// `properties` of an NSG: its own rules (the default rules are the same in every NSG).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NsgProperties {
    /// The rules written to it.
    #[serde(deserialize_with = "nullable")]
    pub security_rules: Vec<SecurityRule>,
}

/// One security rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SecurityRule {
    /// Its name.
    pub name: String,
    /// `properties`.
    #[serde(deserialize_with = "nullable")]
    pub properties: RuleProperties,
}

/// `properties` of a security rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RuleProperties {
    /// `Tcp`, `Udp`, `Icmp`, `Esp`, `Ah` or `*`.
    pub protocol: String,
    /// `Allow` or `Deny`.
    pub access: String,
    /// `Inbound` or `Outbound`.
    pub direction: String,
    /// 100–4096: the lower is decided first.
    pub priority: i64,
    /// A port, a range `a-b`, or `*`.
    pub destination_port_range: Option<String>,
    /// Ports and ranges.
    #[serde(deserialize_with = "nullable")]
    pub destination_port_ranges: Vec<String>,
    /// A CIDR, an address, `*` or a service tag.
    pub source_address_prefix: Option<String>,
    /// CIDRs, addresses or service tags.
    #[serde(deserialize_with = "nullable")]
    pub source_address_prefixes: Vec<String>,
    /// Application security groups as the source.
    #[serde(deserialize_with = "nullable")]
    pub source_application_security_groups: Vec<SubResource>,
    /// A CIDR, an address, `*` or a service tag.
    pub destination_address_prefix: Option<String>,
    /// CIDRs, addresses or service tags.
    #[serde(deserialize_with = "nullable")]
    pub destination_address_prefixes: Vec<String>,
    /// Application security groups as the destination.
    #[serde(deserialize_with = "nullable")]
    pub destination_application_security_groups: Vec<SubResource>,
}

/// A `Microsoft.Network/virtualNetworks` resource (its subnets inline).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct VirtualNetwork {
    /// Resource id.
    pub id: String,
    /// `properties`.
    #[serde(deserialize_with = "nullable")]
    pub properties: VnetProperties,
}

/// `properties` of a virtual network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct VnetProperties {
    /// Its subnets.
    #[serde(deserialize_with = "nullable")]
    pub subnets: Vec<Subnet>,
}

/// A subnet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Subnet {
    /// Resource id.
    pub id: String,
    /// Name (`AzureBastionSubnet` for a Bastion host's).
    pub name: String,
    /// `properties`.
    #[serde(deserialize_with = "nullable")]
    pub properties: SubnetProperties,
}

/// `properties` of a subnet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubnetProperties {
    /// Its prefix.
    pub address_prefix: Option<String>,
    /// Its prefixes (IPv4 and IPv6).
    #[serde(deserialize_with = "nullable")]
    pub address_prefixes: Vec<String>,
    /// The subnet's NSG.
    pub network_security_group: Option<SubResource>,
}

impl Subnet {
    /// Every prefix it has.
    pub fn prefixes(&self) -> Vec<String> {
        let p = &self.properties;
        let mut all: Vec<String> = p.address_prefix.iter().cloned().collect();
        all.extend(p.address_prefixes.iter().cloned());
        all.sort();
        all.dedup();
        all
    }
}

/// The part of a `Microsoft.Compute/virtualMachines` GET the product reads: the NICs of
/// `properties.networkProfile.networkInterfaces` (other doors), `vmId` (moves) and `tags`
/// (authorization enforcement).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct VirtualMachine {
    /// `properties`.
    #[serde(deserialize_with = "nullable")]
    pub properties: VmProperties,
    /// `tags`: name to value (names are case-insensitive in Azure).
    #[serde(deserialize_with = "nullable")]
    pub tags: std::collections::BTreeMap<String, String>,
}

/// `properties` of a VM, as far as read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VmProperties {
    /// `vmId`: the VM's unique id, kept across a move to another group or subscription.
    pub vm_id: Option<String>,
    /// Its network profile.
    #[serde(deserialize_with = "nullable")]
    pub network_profile: VmNetworkProfile,
}

/// `networkProfile` of a VM.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VmNetworkProfile {
    /// The NICs attached (their ids).
    #[serde(deserialize_with = "nullable")]
    pub network_interfaces: Vec<SubResource>,
}
