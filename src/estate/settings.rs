//! `BASTION_HOSTS`, `ARM_ENDPOINT`, `BASTION_DISCONNECT`, `RECORDINGS_ACCOUNT_IDS`,
//! `ESTATE_AUDIT_SILENCE_HOURS`.

use crate::arm::{is_bastion_id, is_storage_account_id};

/// The Bastion hosts to watch (comma-separated resource ids).
pub const HOSTS: &str = "BASTION_HOSTS";
/// Resource Manager's endpoint (sovereign clouds, tests).
pub const ARM_ENDPOINT: &str = "ARM_ENDPOINT";
/// `true` enables the disconnect action.
pub const DISCONNECT: &str = "BASTION_DISCONNECT";
/// The recording accounts' resource ids (comma-separated): no read on the whole subscription.
pub const RECORDING_ACCOUNTS: &str = "RECORDINGS_ACCOUNT_IDS";
/// How long a used host may send no audit record before `audit-logs-silent` (hours).
pub const AUDIT_SILENCE: &str = "ESTATE_AUDIT_SILENCE_HOURS";
/// Its default: a day.
pub const DEFAULT_AUDIT_SILENCE_HOURS: i64 = 24;
/// Public cloud Resource Manager.
pub const DEFAULT_ARM: &str = "https://management.azure.com";

/// The estate settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstateSettings {
    /// Host resource ids (empty: the estate checks are off).
    pub hosts: Vec<String>,
    /// Resource Manager's base URL (checked), no trailing slash.
    pub arm_endpoint: String,
    /// Disconnect enabled.
    pub disconnect: bool,
    /// `Microsoft.Storage/storageAccounts` resource ids of the recording accounts.
    pub recording_accounts: Vec<String>,
    /// `ESTATE_AUDIT_SILENCE_HOURS`: a host used in this long that sent no audit record in it is
    /// `audit-logs-silent`.
    pub audit_silence: time::Duration,
}

impl EstateSettings {
    /// Reads the settings; `named` (the sources' hosts) is the default. Problems go to `r`.
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
        if let Err(why) = crate::azure::endpoint::check_endpoint(&endpoint, allow_insecure_loopback)
        {
            r.problem(ARM_ENDPOINT, why);
        }
        let arm_endpoint = endpoint.trim_end_matches('/').to_owned();
        let disconnect = r.flag(DISCONNECT, false);
        let recording_accounts = Self::account_ids(r);
        let hours = r.number(AUDIT_SILENCE, DEFAULT_AUDIT_SILENCE_HOURS, 1..=24 * 30);
        Self {
            hosts,
            arm_endpoint,
            disconnect,
            recording_accounts,
            audit_silence: time::Duration::hours(hours),
        }
    }

    /// `RECORDINGS_ACCOUNT_IDS`: every entry a storage account resource id, or a problem.
    fn account_ids(r: &mut crate::setting::Reader<'_>) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for id in r.get(RECORDING_ACCOUNTS).unwrap_or_default().split(',') {
            let id = id.trim().trim_end_matches('/');
            if id.is_empty() {
                continue;
            }
            if !is_storage_account_id(id) {
                r.problem(
                    RECORDING_ACCOUNTS,
                    "comma-separated Microsoft.Storage/storageAccounts resource ids",
                );
                return Vec::new();
            }
            if !ids.iter().any(|k| k.eq_ignore_ascii_case(id)) {
                ids.push(id.to_owned());
            }
        }
        ids
    }

    /// The resource id of recording account `name` (account names are unique in Azure).
    pub fn account_id(&self, name: &str) -> Option<&str> {
        self.recording_accounts
            .iter()
            .map(String::as_str)
            .find(|id| id_name(id).eq_ignore_ascii_case(name))
    }

    /// The token scope: `{ARM_ENDPOINT}/.default`.
    pub fn scope(&self) -> String {
        format!("{}/.default", self.arm_endpoint)
    }
}

/// The last segment of a resource id: the resource's name.
fn id_name(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or_default()
}
