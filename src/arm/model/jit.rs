//! A just-in-time network access policy (`Microsoft.Security/locations/jitNetworkAccessPolicies`,
//! api-version 2020-01-01) as the REST specification's GET example has it: of its
//! `properties.requests[]`, each request's `virtualMachines[].ports[]` with the source asked for
//! (`allowedSourceAddressPrefix` or `allowedSourceAddressPrefixes`), `startTimeUtc` and
//! `requestor`.

use serde::Deserialize;

use super::nullable::nullable;

/// A just-in-time policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct JitPolicy {
    /// Resource id.
    pub id: String,
    /// `properties`.
    #[serde(deserialize_with = "nullable")]
    pub properties: JitPolicyProperties,
}

/// `properties` of a just-in-time policy (its configured VMs are not read).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JitPolicyProperties {
    /// The access requests made under it.
    #[serde(deserialize_with = "nullable")]
    pub requests: Vec<JitRequest>,
}

/// One access request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JitRequest {
    /// The VMs and ports it opened.
    #[serde(deserialize_with = "nullable")]
    pub virtual_machines: Vec<JitRequestVm>,
    /// When it was made (UTC).
    pub start_time_utc: Option<String>,
    /// Who made it.
    pub requestor: Option<String>,
}

/// One VM of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JitRequestVm {
    /// The VM's resource id.
    pub id: String,
    /// Its ports.
    #[serde(deserialize_with = "nullable")]
    pub ports: Vec<JitRequestPort>,
}

/// One port of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JitRequestPort {
    /// The port.
    pub number: Option<i64>,
    /// The one source asked for.
    pub allowed_source_address_prefix: Option<String>,
    /// The sources asked for (exclusive with the one).
    #[serde(deserialize_with = "nullable")]
    pub allowed_source_address_prefixes: Vec<String>,
    /// `Initiated` or `Revoked`.
    pub status: Option<String>,
}
