//! The findings that read more than one flag: where audit logs go and whether they arrive, where
//! the host records and whether its identity may write there, and the portal player's CORS rule.

use super::model::{Evaluation, HostFacts, Sinks};
use crate::arm::model::CorsRule;
use crate::arm::{BastionHost, DiagnosticSetting};
use crate::estate::trail::Trail;

/// True when `s` sends `category` (itself, or the `audit` or `allLogs` group that includes it).
fn carries(s: &DiagnosticSetting, category: &str) -> bool {
    s.properties.logs.iter().any(|l| {
        l.enabled
            && (l
                .category
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(category))
                || l.category_group.as_deref().is_some_and(|g| {
                    g.eq_ignore_ascii_case("audit") || g.eq_ignore_ascii_case("allLogs")
                }))
    })
}

/// The audit-log findings. `audit-logs-not-sent` (high): no setting sends `BastionAuditLogs` to an
/// account or workspace this app reads, so none can arrive. `audit-logs-silent` (high, evidence):
/// a setting does, yet no audit record of the host was seen for the window while the host was used
/// (`trail`; `None`: not read, the finding keeps its state). `audit-logs-azurediagnostics` (info,
/// a possibility): a read workspace's setting without `logAnalyticsDestinationType: Dedicated`.
/// Microsoft's table references document Bastion's audit logs in `MicrosoftAzureBastionAuditLogs`
/// only, and no list of services writing to `AzureDiagnostics` names Bastion, so that mode alone
/// proves nothing; whether records arrive is what `audit-logs-silent` says.
pub(super) fn audit_logs(
    ev: &mut Evaluation,
    settings: &[DiagnosticSetting],
    sinks: &Sinks,
    trail: Option<&Trail>,
) {
    let read_account = |s: &DiagnosticSetting| {
        s.properties
            .storage_account()
            .and_then(|id| id.rsplit('/').next())
            .is_some_and(|a| sinks.accounts.contains(&a.to_ascii_lowercase()))
    };
    let read_workspace = |s: &DiagnosticSetting| {
        s.properties
            .workspace()
            .is_some_and(|w| sinks.workspaces.contains(&w.to_ascii_lowercase()))
    };
    let sending: Vec<&DiagnosticSetting> = settings
        .iter()
        .filter(|s| carries(s, "BastionAuditLogs") && (read_account(s) || read_workspace(s)))
        .collect();
    let legacy: Vec<&str> = sending
        .iter()
        .filter(|s| read_workspace(s) && !s.properties.dedicated())
        .map(|s| s.name.as_str())
        .collect();
    ev.decide("audit-logs-not-sent", sending.is_empty(), || {
        format!(
            "none of {} diagnostic setting(s) sends BastionAuditLogs where this app reads them (a storage account or a workspace it reads)",
            settings.len()
        )
    });
    ev.decide(
        "audit-logs-azurediagnostics",
        !legacy.is_empty(),
        || {
            format!(
                "diagnostic setting(s) {} send BastionAuditLogs to a workspace this app reads without logAnalyticsDestinationType Dedicated. Microsoft documents Bastion's audit logs in MicrosoftAzureBastionAuditLogs, the table the reader queries, so they may well arrive there; if they landed in AzureDiagnostics instead, the reader would not see them, and audit-logs-silent would open once the host is used. Setting the destination table to resource-specific (template: logAnalyticsDestinationType: 'Dedicated') removes the doubt",
                legacy.join(", ")
            )
        },
    );
    if sending.is_empty() {
        // Nothing can arrive: `audit-logs-not-sent` says so; silence would say it twice.
        ev.decide("audit-logs-silent", false, String::new);
        return;
    }
    let Some(t) = trail else { return };
    ev.decide("audit-logs-silent", t.silent(), || {
        let names: Vec<&str> = sending.iter().map(|s| s.name.as_str()).collect();
        let last = t
            .last_record
            .map_or("none in the day before the window either".to_owned(), |l| {
                crate::dates::format_utc(l)
            });
        let used = t.used.as_ref().map_or(String::new(), |u| {
            format!("{} at {}", u.what, crate::dates::format_utc(u.at))
        });
        format!(
            "diagnostic setting(s) {} send BastionAuditLogs where this app reads them, but no audit record of this host has been read since {} (the latest: {last}) although it was used meanwhile ({used}): its audit logs are not arriving",
            names.join(", "),
            crate::dates::format_utc(t.since)
        )
    });
}

/// The blob log categories the custody readers need in the custody workspace: `StorageWrite`
/// (uploads, flushes, renames: the writer check, a replacement's actor) and `StorageDelete`.
const CUSTODY_CATEGORIES: [&str; 2] = ["StorageWrite", "StorageDelete"];

/// `custody-logs-not-sent`: the recording account's blob service diagnostic settings do not send
/// every category of [`CUSTODY_CATEGORIES`] to the custody workspace (one setting or several;
/// the `audit` or `allLogs` group counts for both): who wrote, replaced or deleted recordings
/// would go unnamed.
pub(super) fn custody_logs(ev: &mut Evaluation, settings: &[DiagnosticSetting], sinks: &Sinks) {
    let to_custody = |s: &DiagnosticSetting| {
        s.properties
            .workspace()
            .is_some_and(|w| sinks.custody_workspaces.contains(&w.to_ascii_lowercase()))
    };
    let missing: Vec<&str> = CUSTODY_CATEGORIES
        .into_iter()
        .filter(|c| !settings.iter().any(|s| carries(s, c) && to_custody(s)))
        .collect();
    ev.decide("custody-logs-not-sent", !missing.is_empty(), || {
        format!(
            "the recording account's {} blob service diagnostic setting(s) send no {} to the custody workspace (CUSTODY_WORKSPACE_ID): who writes, replaces or deletes a recording there cannot be named (infra: custodyDiagnostics)",
            settings.len(),
            missing.join(" nor ")
        )
    });
}

/// The `(account, container)` of a recording target URI (`https://<account>.blob.<suffix>/<container>`).
pub fn target_of(uri: &str) -> Option<(String, String)> {
    let url = url::Url::parse(uri.trim()).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    let (account, rest) = host.split_once('.')?;
    let blob = rest.starts_with("blob.") || rest.starts_with("privatelink.blob.");
    if !blob || account.is_empty() {
        return None;
    }
    let container = url
        .path_segments()?
        .find(|s| !s.is_empty())?
        .to_ascii_lowercase();
    Some((account.to_owned(), container))
}

/// `recording-target-*`: where the host records against what this app watches (a host whose
/// answer has no `sessionRecordingConfiguration` cannot be compared).
pub(super) fn target(ev: &mut Evaluation, host: &BastionHost, watched: &[String]) {
    let p = &host.properties;
    let config = p.session_recording_configuration.as_ref();
    let uri = config.and_then(|c| c.target());
    let on = p.enable_session_recording;
    ev.decide("recording-target-unknown", on && config.is_none(), || {
        "the host shows no sessionRecordingConfiguration (a SAS URL target, or a Resource Manager without api-version 2026-01-01): the container it records into cannot be compared with the recording sources".into()
    });
    ev.decide(
        "recording-target-missing",
        on && config.is_some() && uri.is_none(),
        || {
            "session recording is on but sessionRecordingConfiguration names no blobContainerUri: Bastion refuses every connection without a recording target".into()
        },
    );
    let parsed = uri.map(|u| (u, target_of(u)));
    let unwatched = parsed.as_ref().filter(|(_, t)| {
        t.as_ref().is_none_or(|(a, c)| {
            !watched
                .iter()
                .any(|w| w.eq_ignore_ascii_case(&format!("{a}/{c}")))
        })
    });
    ev.decide(
        "recording-target-unwatched",
        on && unwatched.is_some(),
        || {
            let target = unwatched.map(|(u, _)| *u).unwrap_or_default();
            let watched = if watched.is_empty() {
                "none".to_owned()
            } else {
                watched.join(", ")
            };
            format!(
                "the host records into {target}, which no recording source of this app watches (watched: {watched}): its recordings are never catalogued"
            )
        },
    );
}

/// `recording-target-not-writable`, when the identity's role assignments could be read.
pub(super) fn writable(ev: &mut Evaluation, facts: &HostFacts) {
    let Some(ok) = ev.part("recording-access", &facts.target_writable, facts.at) else {
        return;
    };
    let who = facts
        .host
        .as_ref()
        .and_then(|h| h.as_ref().ok())
        .and_then(BastionHost::recording_principal)
        .unwrap_or_default()
        .to_owned();
    ev.decide("recording-target-not-writable", !*ok, || {
        format!(
            "no role assignment of the identity the host records with ({who}) on the target container or above carries Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write (Storage Blob Data Contributor does): Bastion cannot write recordings, and refuses connections. Assignments through a group are not visible to this check"
        )
    });
}

/// What the portal player's documented CORS rule lacks (origin `https://<dns>` or `*`, `GET`,
/// headers `*`, max age ≥ 86400 s); `None` when a rule has all.
pub fn cors_gap(rules: &[CorsRule], dns: &str) -> Option<String> {
    let origin = format!("https://{}", dns.trim().trim_end_matches('/'));
    let star = |v: &[String]| v.iter().any(|h| h.trim() == "*");
    let gaps = |r: &CorsRule| {
        let origins = (r.allowed_origins.iter())
            .any(|o| o.trim() == "*" || o.trim().trim_end_matches('/') == origin);
        let get = (r.allowed_methods.iter()).any(|m| m.trim().eq_ignore_ascii_case("GET"));
        let day = r.max_age_in_seconds.unwrap_or(0) >= 86_400;
        let checks = [
            (origins, format!("origin {origin}")),
            (get, "method GET".to_owned()),
            (star(&r.allowed_headers), "allowed headers *".to_owned()),
            (star(&r.exposed_headers), "exposed headers *".to_owned()),
            (day, "max age 86400".to_owned()),
        ];
        (checks.into_iter().filter(|(ok, _)| !ok))
            .map(|(_, missing)| missing)
            .collect::<Vec<_>>()
    };
    let best = rules.iter().map(gaps).min_by_key(Vec::len);
    match best {
        Some(m) if m.is_empty() => None,
        Some(m) => Some(format!(
            "no CORS rule of the recording account is the one the portal player needs (origin {origin}, GET, allowed and exposed headers *, max age 86400; origins compare case-sensitively): the closest lacks {}",
            m.join(", ")
        )),
        None => Some(format!(
            "the recording account has no CORS rule: the portal player needs origin {origin}, GET, allowed and exposed headers *, max age 86400"
        )),
    }
}
