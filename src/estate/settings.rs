//! `BASTION_HOSTS`, `ARM_ENDPOINT`, `BASTION_DISCONNECT`, `RECORDINGS_ACCOUNT_IDS`,
//! `ESTATE_AUDIT_SILENCE_HOURS`, `BYPASS_VM_LOOKBACK_DAYS`, `BYPASS_SCOPES`,
//! `BYPASS_INTERNAL_LEVEL`, `BYPASS_EXTENSION_ALLOW`.

use crate::arm::{is_bastion_id, is_storage_account_id};
use crate::estate::bypass::extensions::{DEFAULT_ALLOW, is_entry};
use crate::estate::level::Level;

/// The Bastion hosts to watch (comma-separated resource ids; [`NO_HOSTS`]: none).
pub const HOSTS: &str = "BASTION_HOSTS";
/// `BASTION_HOSTS=none`: the estate checks are off even when the sources name hosts by resource
/// id (a deployment without Resource Manager, the local demo).
pub const NO_HOSTS: &str = "none";
/// Resource Manager's endpoint (sovereign clouds, tests).
pub const ARM_ENDPOINT: &str = "ARM_ENDPOINT";
/// The recording accounts' resource ids (comma-separated): no read on the whole subscription.
pub const RECORDING_ACCOUNTS: &str = "RECORDINGS_ACCOUNT_IDS";
/// Subscriptions and resource groups whose VMs are watched too (comma-separated resource ids).
pub const BYPASS_SCOPES: &str = "BYPASS_SCOPES";
/// The level of a network path to 22/3389 from inside the virtual network (`info`, `medium`,
/// `high`).
pub const BYPASS_INTERNAL_LEVEL: &str = "BYPASS_INTERNAL_LEVEL";
/// VM extensions whose writes are no door (`Publisher/Type`, comma-separated; [`NO_HOSTS`]:
/// none, every extension is a door); unset: Microsoft's monitoring and security agents.
pub const EXTENSION_ALLOW: &str = "BYPASS_EXTENSION_ALLOW";
/// Public cloud Resource Manager.
pub const DEFAULT_ARM: &str = "https://management.azure.com";

/// The estate settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstateSettings {
    /// Host resource ids (empty: the estate checks are off).
    pub hosts: Vec<String>,
    /// Resource Manager's base URL (checked), no trailing slash.
    pub arm_endpoint: String,
    /// `BASTION_DISCONNECT`: the disconnect action enabled.
    pub disconnect: bool,
    /// `Microsoft.Storage/storageAccounts` resource ids of the recording accounts.
    pub recording_accounts: Vec<String>,
    /// `ESTATE_AUDIT_SILENCE_HOURS` (24): a host used in this long that sent no audit record in it
    /// is `audit-logs-silent`.
    pub audit_silence: time::Duration,
    /// `BYPASS_VM_LOOKBACK_DAYS` (90): a VM a watched host's session reached in this long is
    /// watched.
    pub bypass_lookback: time::Duration,
    /// `BYPASS_SCOPES`: `/subscriptions/{id}` or `/subscriptions/{id}/resourceGroups/{name}`
    /// whose VMs are watched besides the sessions' targets (lower-case, no trailing slash).
    pub bypass_scopes: Vec<String>,
    /// `BYPASS_INTERNAL_LEVEL`: the level of `door:network-path` for reason `internal`.
    pub bypass_internal_level: Level,
    /// `BYPASS_EXTENSION_ALLOW`: the `publisher/type` (lower-case) of the extensions whose writes
    /// are no door.
    pub extension_allow: Vec<String>,
}

impl EstateSettings {
    /// Reads the settings; `named` (the sources' hosts) is the default. Problems go to `r`.
    pub fn read(
        r: &mut crate::setting::Reader<'_>,
        named: &[String],
        allow_insecure_loopback: bool,
    ) -> Self {
        let hosts = list(
            r,
            HOSTS,
            Some(named.join(",")),
            |h| is_bastion_id(h).then_some(h),
            "comma-separated Microsoft.Network/bastionHosts resource ids",
        );
        let endpoint = r
            .get(ARM_ENDPOINT)
            .unwrap_or_else(|| DEFAULT_ARM.to_owned());
        if let Err(why) = crate::azure::endpoint::check_endpoint(&endpoint, allow_insecure_loopback)
        {
            r.problem(ARM_ENDPOINT, why);
        }
        let arm_endpoint = endpoint.trim_end_matches('/').to_owned();
        let disconnect = r.flag("BASTION_DISCONNECT", false);
        let recording_accounts = list(
            r,
            RECORDING_ACCOUNTS,
            None,
            |id| Some(id.trim_end_matches('/')).filter(|id| is_storage_account_id(id)),
            "comma-separated Microsoft.Storage/storageAccounts resource ids",
        );
        let hours = r.number("ESTATE_AUDIT_SILENCE_HOURS", 24, 1..=24 * 30);
        let days = r.number("BYPASS_VM_LOOKBACK_DAYS", 90, 1..=366);
        let scopes = list(
            r,
            BYPASS_SCOPES,
            None,
            |id| Some(id.trim_end_matches('/')).filter(|id| is_scope(id)),
            "comma-separated /subscriptions/{id} or /subscriptions/{id}/resourceGroups/{name}",
        );
        let internal = r
            .get(BYPASS_INTERNAL_LEVEL)
            .map_or(Some(Level::Medium), |v| {
                Level::parse(&v.trim().to_ascii_lowercase())
            });
        if internal.is_none() {
            r.problem(BYPASS_INTERNAL_LEVEL, "info, medium or high");
        }
        let mut extension_allow: Vec<String> = list(
            r,
            EXTENSION_ALLOW,
            Some(DEFAULT_ALLOW.join(",")),
            |e| is_entry(e).then_some(e),
            "comma-separated Publisher/Type extension names, or none",
        );
        for e in &mut extension_allow {
            e.make_ascii_lowercase();
        }
        extension_allow.sort();
        Self {
            hosts,
            arm_endpoint,
            disconnect,
            recording_accounts,
            audit_silence: time::Duration::hours(hours),
            bypass_lookback: time::Duration::days(days),
            bypass_scopes: scopes.iter().map(|s| s.to_ascii_lowercase()).collect(),
            bypass_internal_level: internal.unwrap_or(Level::Medium),
            extension_allow,
        }
    }

    /// The resource id of recording account `name` (account names are unique in Azure).
    pub fn account_id(&self, name: &str) -> Option<&str> {
        self.recording_accounts
            .iter()
            .map(String::as_str)
            .find(|id| crate::arm::resource_name(id).eq_ignore_ascii_case(name))
    }

    /// The token scope: `{ARM_ENDPOINT}/.default`.
    pub fn scope(&self) -> String {
        format!("{}/.default", self.arm_endpoint)
    }
}

/// Setting `name`'s comma-separated entries (`default` when unset, then none for `none`), each
/// trimmed, as `entry` takes it, once in any case: none and a problem saying `expected` when
/// `entry` refuses one.
fn list(
    r: &mut crate::setting::Reader<'_>,
    name: &str,
    default: Option<String>,
    entry: fn(&str) -> Option<&str>,
    expected: &str,
) -> Vec<String> {
    let text = match (r.get(name), default) {
        (Some(v), Some(_)) if v.eq_ignore_ascii_case(NO_HOSTS) => return Vec::new(),
        (v, default) => v.or(default).unwrap_or_default(),
    };
    let mut out: Vec<String> = Vec::new();
    for e in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some(e) = entry(e) else {
            r.problem(name, expected);
            return Vec::new();
        };
        if !out.iter().any(|k| k.eq_ignore_ascii_case(e)) {
            out.push(e.to_owned());
        }
    }
    out
}

/// True for `/subscriptions/{id}` and `/subscriptions/{id}/resourceGroups/{name}` (any case).
pub fn is_scope(id: &str) -> bool {
    let parts: Vec<&str> = id.split('/').collect();
    let named = |p: &&str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_alphanumeric() || "-_.()".contains(c))
    };
    match parts.as_slice() {
        ["", s, sub] => s.eq_ignore_ascii_case("subscriptions") && named(sub),
        ["", s, sub, g, rg] => {
            s.eq_ignore_ascii_case("subscriptions")
                && named(sub)
                && g.eq_ignore_ascii_case("resourceGroups")
                && named(rg)
        }
        _ => false,
    }
}

#[cfg(test)]
impl EstateSettings {
    /// The tests' settings: `hosts` checked at the public Resource Manager, the defaults otherwise
    /// (24 hours of audit silence, 90 days of look-back, no bypass scopes).
    pub(crate) fn of_hosts(hosts: Vec<String>) -> Self {
        Self::read(&mut crate::setting::Reader::new(&|_| None), &hosts, false)
    }
}
