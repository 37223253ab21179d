//! `EstateCheck`: reads every configured Bastion host from Resource Manager (a few at once) and
//! its audit trail from the tables ([`trail`]), decides its findings and records them; one host's
//! failure never hides another's findings.

use std::collections::BTreeSet;

use futures::StreamExt as _;
use serde_json::Value;
use time::OffsetDateTime;

use super::findings::{HostFacts, Sinks, evaluate, target_of};
use super::settings::EstateSettings;
use super::store;
use super::trail::{self, Window};
use crate::arm::ResourceManager;
use crate::notify::Notification;
use crate::ports::Ports;

/// Hosts read at once at most: 100 hosts fit one tick; the pacer lowers the requests out below it.
pub const CONCURRENCY: usize = 8;
/// How long one `EstateCheck` run (every 15 minutes) may call Resource Manager: a longer
/// `Retry-After` fails that part (`check-failed:<part>`) rather than hold the next runs up.
pub const BUDGET: std::time::Duration = std::time::Duration::from_secs(120);

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

/// Where audit logs are read from: the sources' accounts and the workspaces `workspaces` name.
pub fn sinks(ports: &Ports, workspaces: &[String], custody: Option<&str>) -> Sinks {
    Sinks {
        custody: custody.map(str::to_ascii_lowercase),
        custody_workspaces: BTreeSet::new(),
        accounts: ports
            .sources
            .audit_logs()
            .iter()
            .map(|s| s.account().to_ascii_lowercase())
            .collect(),
        workspaces: BTreeSet::new(),
        customer_ids: workspaces.iter().map(|w| w.to_ascii_lowercase()).collect(),
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

/// Checks every host of `settings`; `window` bounds the audit trail's evidence.
pub async fn run(
    ports: &Ports,
    arm: &dyn ResourceManager,
    settings: &EstateSettings,
    sinks: &Sinks,
    window: Window,
    now: OffsetDateTime,
) -> Report {
    let hosts = &settings.hosts;
    // Read once for every host: the day rows and recordings of the window.
    let seen = trail::seen(ports.tables.as_ref(), window, now).await;
    let evidence = Evidence {
        seen: &seen,
        window,
    };
    // Built eagerly: a lazily mapped stream of borrowing futures trips the `Send` check of the route.
    let checks: Vec<_> = hosts
        .iter()
        .map(|h| one(ports, arm, settings, h, sinks, &evidence, now))
        .collect();
    let results: Vec<_> = futures::stream::iter(checks)
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut report = Report {
        hosts: hosts.len(),
        ..Report::default()
    };
    let read: BTreeSet<String> = results
        .iter()
        .filter(|r| r.3)
        .map(|r| r.0.to_ascii_lowercase())
        .collect();
    super::identities::settled(ports, hosts, &read, now).await;
    for (host, open, result, _) in results {
        match result {
            Ok(mut n) => {
                report.open += open;
                report.notifications.append(&mut n);
            }
            Err(e) => report
                .failed
                .push(format!("{}: {e}", crate::arm::resource_name(host))),
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

/// What one run read of the audit trail, and over which window.
struct Evidence<'a> {
    seen: &'a Result<trail::Seen, crate::azure::AzureError>,
    window: Window,
}

/// Checks one host: `(host, findings open, the notifications or the table error, whether the
/// host itself was read and its recording identity, if it records into a watched container,
/// recorded)`.
async fn one<'a>(
    ports: &Ports,
    arm: &dyn ResourceManager,
    settings: &EstateSettings,
    host: &'a str,
    sinks: &Sinks,
    evidence: &Evidence<'_>,
    now: OffsetDateTime,
) -> (
    &'a str,
    usize,
    Result<Vec<Notification<Value>>, crate::azure::AzureError>,
    bool,
) {
    let (mut facts, recorded) =
        read(ports, arm, settings, host, sinks.custody.is_some(), now).await;
    // A host whose identity was not recorded counts as not read: its rows stay open.
    let host_read = recorded && matches!(facts.host, Some(Ok(_)));
    facts.audit_trail = Some(match evidence.seen {
        Ok(seen) => {
            let tables = ports.tables.as_ref();
            trail::trail(tables, seen, host, evidence.window, now).await
        }
        Err(e) => Err(e.clone()),
    });
    let ev = evaluate(&facts, &with_workspaces(arm, &facts, sinks).await);
    let open = ev.findings.len();
    (
        host,
        open,
        store::apply(ports.tables.as_ref(), host, &ev, now).await,
        host_read,
    )
}

/// Reads one host: it and its diagnostic settings; the blob service and container of the source
/// it records into (else the one labelled with it) and who may write there; and the VMs of its
/// recent RDP sessions that sign in with Entra ID. With them, false when the host's recording
/// identity was read but could not be recorded (a table error).
pub async fn read(
    ports: &Ports,
    arm: &dyn ResourceManager,
    settings: &EstateSettings,
    host: &str,
    custody: bool,
    now: OffsetDateTime,
) -> (HostFacts, bool) {
    let (h, diagnostics) = tokio::join!(arm.bastion_host(host), arm.diagnostic_settings(host));
    let recordings = ports.sources.recordings();
    let mut facts = HostFacts {
        at: Some(now),
        watched: recordings
            .iter()
            .map(|s| format!("{}/{}", s.account(), s.container).to_ascii_lowercase())
            .collect(),
        diagnostics: Some(diagnostics),
        ..HostFacts::default()
    };
    let read = h.as_ref().ok();
    let target = read
        .and_then(|h| h.properties.session_recording_configuration.as_ref())
        .and_then(|c| c.target())
        .and_then(target_of);
    let principal = read.and_then(|h| h.recording_principal().map(str::to_owned));
    let recording_on = read.is_some_and(|h| h.properties.enable_session_recording);
    facts.host = Some(h);
    let name = crate::arm::resource_name(host);
    let targeted = target
        .as_ref()
        .and_then(|(a, c)| recordings.iter().find(|s| s.is(a, c)));
    let source = targeted.or_else(|| {
        recordings.iter().find(|s| {
            s.bastion_id
                .as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(host))
                || s.bastion
                    .as_deref()
                    .is_some_and(|b| b.eq_ignore_ascii_case(name))
        })
    });
    if recording_on {
        facts.entra_rdp_vms = entra_rdp_vms(ports, arm, host, now).await;
    }
    let Some(source) = source else {
        return (facts, true);
    };
    let recorded = super::identities::remember(
        ports,
        &facts,
        (host, source),
        targeted.is_some(),
        principal.as_deref(),
        now,
    )
    .await;
    // Never a subscription-wide list: that needs read on every account of the subscription.
    let Some(account) = settings.account_id(source.account()) else {
        facts.unknown_account = Some(source.account().to_owned());
        return (facts, recorded);
    };
    let writable = async {
        match (targeted, principal) {
            (Some(_), Some(p)) => Some(may_write(arm, account, &source.container, &p).await),
            _ => None,
        }
    };
    let blob_diagnostics = async {
        if custody {
            let svc = format!("{}/blobServices/default", account.trim_end_matches('/'));
            Some(arm.diagnostic_settings(&svc).await)
        } else {
            None
        }
    };
    let (svc, container, writable, blob_diagnostics) = tokio::join!(
        arm.blob_service(account),
        arm.container(account, &source.container),
        writable,
        blob_diagnostics
    );
    facts.blob_diagnostics = blob_diagnostics;
    facts.blob_service = Some(svc);
    facts.container = Some(container);
    facts.target_writable = writable;
    (facts, recorded)
}

/// The blob write data action Bastion's identity needs on its target.
const BLOB_WRITE: &str = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write";

/// True when a role assignment of `principal` at or above `container` grants the blob write.
async fn may_write(
    arm: &dyn ResourceManager,
    account: &str,
    container: &str,
    principal: &str,
) -> Result<bool, crate::azure::AzureError> {
    let assignments = arm.role_assignments(account, container, principal).await?;
    let container_scope =
        format!("{account}/blobServices/default/containers/{container}").to_ascii_lowercase();
    let mut definitions: Vec<String> = assignments
        .iter()
        .filter(|a| {
            // At or above the container (an assignment below it does not reach the container).
            a.properties.scope.as_deref().is_none_or(|s| {
                container_scope.starts_with(&s.trim_end_matches('/').to_ascii_lowercase())
            })
        })
        .filter_map(|a| a.properties.role_definition_id.clone())
        .collect();
    definitions.sort();
    definitions.dedup();
    for id in definitions {
        if arm
            .role_definition(account, &id)
            .await?
            .allows_data(BLOB_WRITE)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Most VMs one check asks about per host.
const ENTRA_VMS: usize = 10;
/// The extension a Windows VM signs users in with Microsoft Entra ID through.
const ENTRA_EXTENSION: &str = "AADLoginForWindows";

/// The VMs of this host's RDP sessions of the last day with [`ENTRA_EXTENSION`] (at most
/// [`ENTRA_VMS`]); `None` when the live-session table could not be read.
async fn entra_rdp_vms(
    ports: &Ports,
    arm: &dyn ResourceManager,
    host: &str,
    now: OffsetDateTime,
) -> crate::estate::findings::Part<Vec<String>> {
    let since = crate::dates::format_utc_millis(now - time::Duration::days(1));
    let rows = match super::live::rdp_targets(ports.tables.as_ref(), host, &since).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "live sessions not read for the Entra ID check");
            return None;
        }
    };
    let mut found = Vec::new();
    for vm in rows.into_iter().take(ENTRA_VMS) {
        match arm.vm_extension(&vm, ENTRA_EXTENSION).await {
            Ok(true) => found.push(crate::arm::resource_name(&vm).to_owned()),
            Ok(false) => {}
            Err(e) => return Some(Err(e)),
        }
    }
    Some(Ok(found))
}
