//! The estate findings of one Bastion host, decided from what Resource Manager answered (pure): a
//! part not read is a `check-failed:<part>` finding, and what it decides keeps its last state.

mod checks;

use std::collections::BTreeSet;

use time::OffsetDateTime;

use crate::arm::{BastionHost, BlobService, Container, DiagnosticSetting};
use crate::azure::AzureError;
use crate::spine::kinds;

pub use super::level::Level;
pub use checks::{cors_gap, target_of};

/// One finding of one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable code, e.g. `recording-off`.
    pub code: String,
    /// Severity.
    pub level: Level,
    /// What was seen (plain text, from Resource Manager: data, never markup).
    pub evidence: String,
}

/// One part of the facts: read, failed, or not applicable (nothing to read for this host).
pub type Part<T> = Option<Result<T, AzureError>>;

/// What Resource Manager said about one host and its recording storage.
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    /// When it was read (a throttled part says until when).
    pub at: Option<OffsetDateTime>,
    /// The host resource.
    pub host: Part<BastionHost>,
    /// Its diagnostic settings.
    pub diagnostics: Part<Vec<DiagnosticSetting>>,
    /// The recording account's blob service (`None`: no recording source for this host).
    pub blob_service: Part<BlobService>,
    /// The recording container.
    pub container: Part<Container>,
    /// The recording account whose resource id `RECORDINGS_ACCOUNT_IDS` lacks (nothing read then).
    pub unknown_account: Option<String>,
    /// The recording sources this app watches (`account/container`), for the target's finding.
    pub watched: Vec<String>,
    /// Whether the identity the host records with may write its target.
    pub target_writable: Part<bool>,
    /// The recording account's blob service diagnostic settings (read with a custody workspace).
    pub blob_diagnostics: Part<Vec<DiagnosticSetting>>,
    /// The VMs of recent RDP sessions on this host that sign users in with Entra ID.
    pub entra_rdp_vms: Part<Vec<String>>,
    /// Whether its audit records arrive, from the rows the app wrote (`None`: not read).
    pub audit_trail: Part<crate::estate::trail::Trail>,
}

/// Where this product reads audit logs from (lower-case).
#[derive(Debug, Clone, Default)]
pub struct Sinks {
    /// Audit-log source accounts.
    pub accounts: BTreeSet<String>,
    /// Log Analytics workspaces read (resource ids).
    pub workspaces: BTreeSet<String>,
    /// The customer ids of the workspaces read (`AUDITLOGS_WORKSPACES`).
    pub customer_ids: BTreeSet<String>,
    /// The custody workspace's customer id (`CUSTODY_WORKSPACE_ID`).
    pub custody: Option<String>,
    /// The resource ids found to be the custody workspace.
    pub custody_workspaces: BTreeSet<String>,
}

/// The findings of one check, and the codes it decided (present or absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evaluation {
    /// Open now.
    pub findings: Vec<Finding>,
    /// Codes whose state this check knows: an open one not in `findings` has cleared.
    pub assessed: BTreeSet<String>,
}

impl Evaluation {
    /// Decides finding `code`: assessed, and open at its declared level with `evidence` when `on`.
    pub fn decide(&mut self, code: &str, on: bool, evidence: impl FnOnce() -> String) {
        self.decide_at(code, on, Level::of(code), evidence);
    }

    /// [`Evaluation::decide`] at `level`, one of the levels `code` is declared at.
    pub fn decide_at(
        &mut self,
        code: &str,
        on: bool,
        level: Level,
        evidence: impl FnOnce() -> String,
    ) {
        let declared = kinds::named(kinds::ESTATE_FINDING.name, code).map(|k| k.levels);
        debug_assert!(
            declared.is_some_and(|l| l.contains(&level.severity())),
            "{code}: undeclared code or level"
        );
        self.assessed.insert(code.to_owned());
        if on {
            self.findings.push(Finding {
                code: code.to_owned(),
                level,
                evidence: evidence(),
            });
        }
    }

    /// Finding `code` unless `field`'s `value` is `expected` (any case); the evidence names the value.
    fn decide_value(&mut self, code: &str, field: &str, value: &str, expected: &str) {
        let off = !value.eq_ignore_ascii_case(expected);
        let shown = if value.is_empty() { "absent" } else { value };
        self.decide(code, off, || format!("{field} is {shown}"));
    }

    /// The part's `check-failed` finding; `Some(value)` when it was read.
    fn part<'a, T>(
        &mut self,
        name: &str,
        part: &'a Part<T>,
        at: Option<OffsetDateTime>,
    ) -> Option<&'a T> {
        let code = format!("check-failed:{name}");
        if let Some(Err(e)) = part {
            let (level, evidence) = failure(name, e, at);
            self.decide_at(&code, true, level, || evidence);
            return None;
        }
        self.assessed.insert(code);
        part.as_ref()?.as_ref().ok()
    }

    /// [`Evaluation::part`] of a part whose grant is optional: a missing role is `info`, not `high`.
    fn optional_part<'a, T>(
        &mut self,
        name: &str,
        part: &'a Part<T>,
        at: Option<OffsetDateTime>,
    ) -> Option<&'a T> {
        if let Some(Err(e @ AzureError::Forbidden { .. })) = part {
            self.decide_at(&format!("check-failed:{name}"), true, Level::Info, || {
                format!(
                    "{name}: {e} (optional: grant it, e.g. with infra's bastionSessionTargetGroups, for this check)"
                )
            });
            return None;
        }
        self.part(name, part, at)
    }
}

/// The `check-failed:<name>` finding of a part that failed with `e` at `at`: high when a role is
/// missing (named), medium otherwise; a throttled part says until when.
pub fn failure(name: &str, e: &AzureError, at: Option<OffsetDateTime>) -> (Level, String) {
    let level = match e {
        AzureError::Forbidden { .. } => Level::High,
        _ => Level::Medium,
    };
    let evidence = match (e, at) {
        (
            AzureError::Throttled {
                retry_after: Some(d),
            },
            Some(at),
        ) => {
            let until = time::Duration::try_from(*d).map_or(at, |d| at + d);
            format!(
                "{name}: throttled by Resource Manager until {}: not asked again in this run",
                crate::dates::format_utc(until)
            )
        }
        _ => format!("{name}: {e}"),
    };
    (level, evidence)
}

/// Decides the findings of one host.
pub fn evaluate(facts: &HostFacts, sinks: &Sinks) -> Evaluation {
    let mut ev = Evaluation::default();
    let at = facts.at;
    let mut dns = None;
    let mut recording = None;
    if let Some(h) = ev.part("host", &facts.host, at) {
        let p = &h.properties;
        let sku = h.sku_name();
        ev.decide_value("sku-not-premium", "sku.name", sku, "Premium");
        ev.decide("recording-off", !p.enable_session_recording, || {
            "enableSessionRecording is false".into()
        });
        ev.decide("native-client-on", p.enable_tunneling, || {
            "enableTunneling is true: native-client sessions are never recorded".into()
        });
        ev.decide("shareable-link-on", p.enable_shareable_link, || {
            "enableShareableLink is true".into()
        });
        ev.decide("ip-connect-on", p.enable_ip_connect, || {
            "enableIpConnect is true".into()
        });
        let state = p.provisioning_state.as_deref().unwrap_or_default();
        ev.decide_value("not-succeeded", "provisioningState", state, "Succeeded");
        dns = p.dns_name.clone().filter(|d| !d.trim().is_empty());
        checks::target(&mut ev, h, &facts.watched);
        recording = Some(p.enable_session_recording);
    }
    match recording {
        Some(true) => {
            checks::writable(&mut ev, facts);
            if let Some(vms) = ev.optional_part("entra-rdp", &facts.entra_rdp_vms, at) {
                ev.decide("entra-rdp-recording", !vms.is_empty(), || {
                    format!(
                        "RDP sessions of this host went to VM(s) signing users in with Microsoft Entra ID ({}): Microsoft documents that Entra ID authentication for RDP in the portal cannot be used together with graphical session recording",
                        vms.join(", ")
                    )
                });
            }
        }
        // Nothing is recorded: what only matters while recording is cleared.
        Some(false) => {
            let cleared = [
                "recording-target-not-writable",
                "entra-rdp-recording",
                "check-failed:recording-access",
                "check-failed:entra-rdp",
            ];
            ev.assessed.extend(cleared.map(str::to_owned));
        }
        None => {}
    }
    let trail = ev.part("audit-trail", &facts.audit_trail, at).cloned();
    if let Some(settings) = ev.part("diagnostics", &facts.diagnostics, at) {
        checks::audit_logs(&mut ev, settings, sinks, trail.as_ref());
    }
    if let Some(settings) = ev.part("blob-diagnostics", &facts.blob_diagnostics, at) {
        checks::custody_logs(&mut ev, settings, sinks);
    }
    ev.decide(
        "recording-account-unknown",
        facts.unknown_account.is_some(),
        || {
            format!(
                "the resource id of recording account {} is not in {}: versioning, immutability and CORS are not checked",
                facts.unknown_account.as_deref().unwrap_or_default(),
                super::settings::RECORDING_ACCOUNTS
            )
        },
    );
    if let Some(svc) = ev.part("blob-service", &facts.blob_service, at) {
        let p = &svc.properties;
        ev.decide("container-versioning", p.is_versioning_enabled, || {
            "blob versioning is on in the recording account (Bastion recording needs it off)".into()
        });
        if let Some(dns) = &dns {
            let gap = cors_gap(&p.cors.cors_rules, dns);
            ev.decide("cors-missing", gap.is_some(), || gap.unwrap_or_default());
        }
    }
    if let Some(c) = ev.part("container", &facts.container, at) {
        let p = &c.properties;
        let worm = p
            .immutable_storage_with_versioning
            .as_ref()
            .is_some_and(|e| e.enabled);
        ev.decide(
            "container-immutability",
            p.has_immutability_policy || worm,
            || {
                "the recording container has an immutability policy (Bastion recording needs none)"
                    .into()
            },
        );
    }
    ev
}

#[cfg(test)]
mod tests;
