//! `EstateCheck`: reads every configured Bastion host from Resource Manager (a bounded number at
//! once, fewer as the remaining-request counts fall: the client's [`crate::rest::Pacer`]), decides
//! its findings and records them. One host's failure is that host's finding (or its table error in
//! the report) and never hides another host's findings.

use futures::StreamExt as _;
use serde_json::Value;
use time::OffsetDateTime;

use super::findings::{HostFacts, Sinks, evaluate};
use super::settings::EstateSettings;
use super::store;
use crate::arm::ResourceManager;
use crate::notify::Notification;
use crate::ports::Ports;

/// Hosts read at once at most: 100 hosts fit one tick; the pacer lowers the requests out below it.
pub const CONCURRENCY: usize = 8;

/// What one check did.
#[derive(Debug, Default)]
pub struct Report {
    /// Hosts checked.
    pub hosts: usize,
    /// Findings open after the check.
    pub open: usize,
    /// Episodes opened or cleared.
    pub notifications: Vec<Notification<Value>>,
    /// Hosts whose findings could not be stored (host id: error).
    pub failed: Vec<String>,
    /// Why the findings' Sentinel rows could not all be recorded (the next check records them).
    pub unexported: Option<String>,
}

/// Where audit logs are read from: the audit-log sources' accounts and the workspaces whose
/// customer ids are `workspaces`.
pub fn sinks(ports: &Ports, workspaces: &[String]) -> Sinks {
    Sinks {
        accounts: ports
            .sources
            .audit_logs()
            .iter()
            .map(|s| s.account().to_ascii_lowercase())
            .collect(),
        workspaces: std::collections::BTreeSet::new(),
        customer_ids: workspaces.iter().map(|w| w.to_ascii_lowercase()).collect(),
    }
}

/// `sinks` with the workspaces of `facts`' diagnostic settings whose customer id is read here.
/// A workspace that cannot be looked up stays unmatched (the finding then says so).
async fn with_workspaces(arm: &dyn ResourceManager, facts: &HostFacts, sinks: &Sinks) -> Sinks {
    let mut out = sinks.clone();
    if sinks.customer_ids.is_empty() {
        return out;
    }
    let Some(Ok(settings)) = &facts.diagnostics else {
        return out;
    };
    let ids: std::collections::BTreeSet<String> = settings
        .iter()
        .filter_map(|s| s.properties.workspace_id.as_deref())
        .map(str::to_ascii_lowercase)
        .filter(|w| !sinks.workspaces.contains(w))
        .collect();
    for id in ids {
        match arm.workspace_customer_id(&id).await {
            Ok(Some(c)) if sinks.customer_ids.contains(&c.to_ascii_lowercase()) => {
                out.workspaces.insert(id);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "workspace of a diagnostic setting not looked up"),
        }
    }
    out
}

/// Checks every host of `settings`.
pub async fn run(
    ports: &Ports,
    arm: &dyn ResourceManager,
    settings: &EstateSettings,
    sinks: &Sinks,
    now: OffsetDateTime,
) -> Report {
    let hosts = &settings.hosts;
    // Built eagerly: a lazily mapped stream of borrowing futures trips the `Send` check of the route.
    let checks: Vec<_> = hosts
        .iter()
        .map(|h| one(ports, arm, settings, h, sinks, now))
        .collect();
    let results: Vec<_> = futures::stream::iter(checks)
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut report = Report {
        hosts: hosts.len(),
        ..Report::default()
    };
    for (host, open, result) in results {
        match result {
            Ok(mut n) => {
                report.open += open;
                report.notifications.append(&mut n);
            }
            Err(e) => report
                .failed
                .push(format!("{}: {e}", store::host_name(host))),
        }
    }
    report
        .notifications
        .sort_by(|a, b| a.notification_id.cmp(&b.notification_id));
    if let Err(e) = store::export::record_changes(ports.tables.as_ref(), &ports.outbox).await {
        report.unexported = Some(e.to_string());
    }
    report
}

/// Checks one host: `(host, findings open, the notifications or the table error)`.
async fn one<'a>(
    ports: &Ports,
    arm: &dyn ResourceManager,
    settings: &EstateSettings,
    host: &'a str,
    sinks: &Sinks,
    now: OffsetDateTime,
) -> (
    &'a str,
    usize,
    Result<Vec<Notification<Value>>, crate::tables::TableError>,
) {
    let facts = read(ports, arm, settings, host).await;
    let ev = evaluate(&facts, &with_workspaces(arm, &facts, sinks).await);
    let open = ev.findings.len();
    (
        host,
        open,
        store::apply(ports.tables.as_ref(), host, &ev, now).await,
    )
}

/// Reads one host: the host, its diagnostic settings, and its recording source's blob service
/// and container (4 requests), the account's resource id taken from `RECORDINGS_ACCOUNT_IDS`.
pub async fn read(
    ports: &Ports,
    arm: &dyn ResourceManager,
    settings: &EstateSettings,
    host: &str,
) -> HostFacts {
    let (h, diagnostics) = tokio::join!(arm.bastion_host(host), arm.diagnostic_settings(host));
    let mut facts = HostFacts {
        host: Some(h),
        diagnostics: Some(diagnostics),
        ..HostFacts::default()
    };
    let name = store::host_name(host);
    let source = ports.sources.recordings().iter().find(|s| {
        s.bastion_id
            .as_deref()
            .is_some_and(|id| id.eq_ignore_ascii_case(host))
            || s.bastion
                .as_deref()
                .is_some_and(|b| b.eq_ignore_ascii_case(name))
    });
    let Some(source) = source else {
        return facts;
    };
    // Never a subscription-wide list: that needs read on every account of the subscription.
    let Some(account) = settings.account_id(source.account()) else {
        facts.unknown_account = Some(source.account().to_owned());
        return facts;
    };
    let (svc, container) = tokio::join!(
        arm.blob_service(account),
        arm.container(account, &source.container)
    );
    facts.blob_service = Some(svc);
    facts.container = Some(container);
    facts
}
