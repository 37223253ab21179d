//! `BASTION_HOSTS`, `ARM_ENDPOINT`, `BASTION_DISCONNECT`: which hosts the estate checks watch,
//! where Resource Manager is, and whether responders may disconnect sessions.

use crate::arm::is_bastion_id;

/// The Bastion hosts to watch (comma-separated resource ids).
pub const HOSTS: &str = "BASTION_HOSTS";
/// Resource Manager's endpoint (sovereign clouds, tests).
pub const ARM_ENDPOINT: &str = "ARM_ENDPOINT";
/// `true` enables the disconnect action.
pub const DISCONNECT: &str = "BASTION_DISCONNECT";
/// Public cloud Resource Manager.
pub const DEFAULT_ARM: &str = "https://management.azure.com";

/// The estate settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstateSettings {
    /// Host resource ids (empty: the estate checks are off).
    pub hosts: Vec<String>,
    /// Resource Manager's base URL (checked: https, or http on loopback when allowed), no
    /// trailing slash.
    pub arm_endpoint: String,
    /// Disconnect enabled.
    pub disconnect: bool,
}

impl EstateSettings {
    /// Reads the settings; `named` are the hosts the sources name by resource id (the default).
    /// Problems go to `errors`, naming the setting, never its value.
    pub fn read(
        r: &mut crate::setting::Reader<'_>,
        named: &[String],
        allow_insecure_loopback: bool,
    ) -> Self {
        let mut hosts: Vec<String> = Vec::new();
        let configured = r.get(HOSTS);
        let listed: Vec<String> = match &configured {
            Some(v) => v
                .split(',')
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
                .collect(),
            None => named.to_vec(),
        };
        for h in listed {
            if !is_bastion_id(&h) {
                r.problem(
                    HOSTS,
                    "comma-separated Microsoft.Network/bastionHosts resource ids",
                );
                break;
            }
            if !hosts.iter().any(|k| k.eq_ignore_ascii_case(&h)) {
                hosts.push(h);
            }
        }
        let endpoint = r
            .get(ARM_ENDPOINT)
            .unwrap_or_else(|| DEFAULT_ARM.to_owned());
        if let Err(why) = crate::rest::check_endpoint(&endpoint, allow_insecure_loopback) {
            r.problem(ARM_ENDPOINT, why);
        }
        let arm_endpoint = endpoint.trim_end_matches('/').to_owned();
        let disconnect = r.flag(DISCONNECT, false);
        Self {
            hosts,
            arm_endpoint,
            disconnect,
        }
    }

    /// The token scope: `{ARM_ENDPOINT}/.default`.
    pub fn scope(&self) -> String {
        format!("{}/.default", self.arm_endpoint)
    }
}
