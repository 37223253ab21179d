//! What a host's check reads and decides: the facts Resource Manager answered ([`HostFacts`],
//! each [`Part`] read, failed or not applicable), where the product reads audit logs ([`Sinks`]),
//! and the findings decided ([`Evaluation`]), a part that failed included ([`failure`]).

use std::collections::BTreeSet;

use time::OffsetDateTime;

use crate::arm::{BastionHost, BlobService, Container, DiagnosticSetting};
use crate::azure::AzureError;
use crate::estate::level::Level;
use crate::spine::kinds;

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
    pub(super) fn decide_value(&mut self, code: &str, field: &str, value: &str, expected: &str) {
        let off = !value.eq_ignore_ascii_case(expected);
        let shown = if value.is_empty() { "absent" } else { value };
        self.decide(code, off, || format!("{field} is {shown}"));
    }

    /// The part's `check-failed` finding; `Some(value)` when it was read.
    pub(super) fn part<'a, T>(
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
    pub(super) fn optional_part<'a, T>(
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
