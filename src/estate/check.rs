//! `EstateCheck`: reads a configured Bastion host from Resource Manager and its audit trail from
//! the tables ([`trail`]), decides its findings and records them ([`host`], one work unit a
//! host); what spans hosts is [`settle`]d once a period (the test kit's `estate::run` does a
//! whole period in one go).
//! One host's failure never hides another's findings.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use super::findings::{HostFacts, Sinks, evaluate};
use super::settings::EstateSettings;
use super::store;
use super::trail::{self, Window};
use crate::arm::ResourceManager;
use crate::ports::Ports;

/// How long one `EstateCheck` run (every 15 minutes) may call Resource Manager: a longer
/// `Retry-After` fails that part (`check-failed:<part>`) rather than hold the next runs up.
pub const BUDGET: std::time::Duration = std::time::Duration::from_secs(120);

/// What one check did.
#[derive(Debug, Default)]
pub struct Report {
    /// Findings open after the check.
    pub open: usize,
    /// Episodes opened or cleared.
    pub findings: Vec<crate::spine::Finding>,
    /// Hosts whose findings could not be stored (host id: error).
    pub failed: Vec<String>,
}

/// Where audit logs are read from: the sources' accounts and the workspaces `workspaces` name.
pub fn sinks(ports: &Ports, workspaces: &[String], custody: Option<&str>) -> Sinks {
    Sinks {
        custody: custody.map(str::to_ascii_lowercase),
        accounts: ports
            .sources
            .audit_logs()
            .iter()
            .map(|s| s.account().to_ascii_lowercase())
            .collect(),
        customer_ids: workspaces.iter().map(|w| w.to_ascii_lowercase()).collect(),
        ..Sinks::default()
    }
}

/// `sinks` with the workspaces of `facts`' diagnostic settings (one not looked up stays unmatched).
async fn with_workspaces(arm: &dyn ResourceManager, facts: &HostFacts, sinks: &Sinks) -> Sinks {
    let mut out = sinks.clone();
    if let (Some(custody), Some(Ok(settings))) = (&sinks.custody, &facts.blob_diagnostics) {
        let custody = |c: &str| c.eq_ignore_ascii_case(custody);
        let found = workspaces(arm, settings, custody, "a blob diagnostic setting").await;
        out.custody_workspaces.extend(found);
    }
    if let (false, Some(Ok(settings))) = (sinks.customer_ids.is_empty(), &facts.diagnostics) {
        let read = |c: &str| sinks.customer_ids.contains(&c.to_ascii_lowercase());
        let found = workspaces(arm, settings, read, "a diagnostic setting").await;
        out.workspaces.extend(found);
    }
    out
}

/// The workspaces of `settings` (lower-case resource ids) whose customer id passes `wanted`; one
/// not looked up is left out, and logged naming `what` (`workspaceId: ""` is no workspace:
/// nothing to look up).
pub(crate) async fn workspaces(
    arm: &dyn ResourceManager,
    settings: &[crate::arm::DiagnosticSetting],
    wanted: impl Fn(&str) -> bool,
    what: &str,
) -> BTreeSet<String> {
    let ids: BTreeSet<String> = settings
        .iter()
        .filter_map(|s| s.properties.workspace())
        .map(str::to_ascii_lowercase)
        .collect();
    let mut out = BTreeSet::new();
    for id in ids {
        match arm.workspace_customer_id(&id).await {
            Ok(Some(c)) if wanted(&c) => {
                out.insert(id);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "workspace of {what} not looked up"),
        }
    }
    out
}

/// One host's `EstateCheck` unit: reads the audit trail of the window, then checks `host` alone
/// (reading the storage as `shared` has not yet).
pub async fn host(
    ports: &Ports,
    arm: (&dyn ResourceManager, &super::shared::Reads),
    settings: &EstateSettings,
    host: &str,
    sinks: &Sinks,
    window: Window,
    now: OffsetDateTime,
) -> Report {
    let seen = trail::seen(ports.tables.as_ref(), window, now).await;
    checked(ports, arm, settings, host, sinks, (&seen, window), now).await
}

/// What spans hosts, once a period after (or before: one period late) the hosts' checks: each
/// watched container's waiting writes judged again against the identities recorded so far
/// (`identities::rejudged`, [`crate::catalogue::rejudge`]), then the episodes with no Sentinel
/// row yet recorded; why they could not all be.
pub async fn settle(ports: &Ports, now: OffsetDateTime) -> Option<String> {
    super::identities::rejudged(ports, now).await;
    store::record_changes(ports.tables.as_ref(), &ports.outbox)
        .await
        .err()
        .map(|e| e.to_string())
}

/// Checks `host` and records its findings (`seen`: the audit trail of the window, read once for
/// every host checked), then closes its own identities where it no longer
/// records (every configured host passed, only this one as read: no other host's rows close; a
/// host not read, or whose identity was not recorded, keeps its rows open).
pub async fn checked(
    ports: &Ports,
    (arm, shared): (&dyn ResourceManager, &super::shared::Reads),
    settings: &EstateSettings,
    host: &str,
    sinks: &Sinks,
    (seen, window): (&Result<trail::Seen, crate::azure::AzureError>, Window),
    now: OffsetDateTime,
) -> Report {
    let custody = sinks.custody.is_some();
    let read = super::host::read(ports, (arm, shared), settings, host, custody, now);
    let (mut facts, recorded) = read.await;
    let host_read = recorded && matches!(facts.host, Some(Ok(_)));
    facts.audit_trail = Some(match seen {
        Ok(seen) => trail::trail(ports.tables.as_ref(), seen, host, window, now).await,
        Err(e) => Err(e.clone()),
    });
    let ev = evaluate(&facts, &with_workspaces(arm, &facts, sinks).await);
    let subnets = facts.host.as_ref().and_then(|h| h.as_ref().ok());
    let subnets = subnets.map(crate::arm::BastionHost::subnet_ids);
    let tables = ports.tables.as_ref();
    let stored = store::apply_host(tables, host, &ev, subnets.as_ref(), now).await;
    let read: BTreeSet<String> = host_read
        .then(|| host.to_ascii_lowercase())
        .into_iter()
        .collect();
    super::identities::closed(ports, &settings.hosts, &read, now).await;
    let mut report = Report::default();
    match stored {
        Ok(n) => {
            report.open = ev.findings.len();
            report.findings = n;
        }
        Err(e) => (report.failed).push(format!("{}: {e}", crate::arm::resource_name(host))),
    }
    report
}
