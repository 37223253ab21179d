//! Whether each watched subscription's Activity log reaches a workspace this app reads, judged at
//! every check from two sources: its diagnostic settings, read through Resource Manager
//! (`GET /subscriptions/{id}/providers/Microsoft.Insights/diagnosticSettings`, api-version
//! 2021-05-01-preview, whose `logs` name a `category` or a `categoryGroup` as the
//! specification's `listSubscriptionDiagnosticSettings` example shows), and the newest
//! `AzureActivity` row of it in the last [`SILENCE_DAYS`] days. The log flows when a setting
//! enables category `Administrative` (or group `allLogs`) towards a workspace whose customer id the
//! app reads, and rows of it arrive; while that is not known (no such setting, the settings not
//! read, the rows not all read) its VMs' doors are unknown: a use seen still opens a door, none
//! clears. And the subscription's findings say why: `activity-log-not-read`,
//! `check-failed:activity-log`.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use super::doors::{JIT_FAILED, NOT_READ, READ_FAILED, failure_level, read_again, subscription_id};
use crate::arm::{DiagnosticSetting, ResourceManager};
use crate::azure::AzureError;
use crate::dates::format_utc;
use crate::estate::findings::{Evaluation, Level};

/// How long a subscription may show no Activity log row before `activity-log-not-read` (days).
pub const SILENCE_DAYS: i64 = 7;

/// What a subscription's diagnostic settings say of its Activity log.
#[derive(Debug, Clone)]
pub enum Flow {
    /// A setting sends it to a workspace the app reads.
    Sent,
    /// Read: no setting sends it to a workspace the app reads (what the settings send, said).
    NotSent(String),
    /// The settings could not be read (a 403 names the role).
    Unread(AzureError),
}

/// True when `s` enables the Activity log's `Administrative` category (or every category).
fn administrative(s: &DiagnosticSetting) -> bool {
    s.properties.logs.iter().any(|l| {
        let is =
            |v: &Option<String>, w: &str| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(w));
        l.enabled && (is(&l.category, "Administrative") || is(&l.category_group, "allLogs"))
    })
}

/// What `settings` send, for the evidence.
fn described(settings: &[DiagnosticSetting]) -> String {
    if settings.is_empty() {
        return "it has no diagnostic setting".to_owned();
    }
    let each: Vec<String> = settings
        .iter()
        .map(|s| {
            let to = s.properties.workspace().unwrap_or("no workspace");
            let admin = if administrative(s) {
                "Administrative"
            } else {
                "not Administrative"
            };
            format!("{} ({admin}, to {to})", s.name)
        })
        .collect();
    format!("its diagnostic settings: {}", each.join(", "))
}

/// Reads the diagnostic settings of each of `subscriptions` (lower-case ids) and tells, for each,
/// whether one sends its Activity log to a workspace whose customer id is among `customer_ids`
/// (a workspace whose id could not be looked up counts as none of them).
pub async fn read(
    arm: &dyn ResourceManager,
    subscriptions: &BTreeSet<String>,
    customer_ids: &[String],
) -> BTreeMap<String, Flow> {
    let reads = subscriptions.iter().map(|s| async move {
        (
            s.clone(),
            arm.diagnostic_settings(&subscription_id(s)).await,
        )
    });
    let settings = futures::future::join_all(reads).await;
    let sending: Vec<DiagnosticSetting> = settings
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .flatten()
        .filter(|s| administrative(s))
        .cloned()
        .collect();
    let wanted = |c: &str| customer_ids.iter().any(|w| w.eq_ignore_ascii_case(c));
    let what = "a subscription's diagnostic setting";
    let read = crate::estate::check::workspaces(arm, &sending, wanted, what).await;
    let to_read = |s: &DiagnosticSetting| {
        administrative(s)
            && (s.properties.workspace()).is_some_and(|w| read.contains(&w.to_ascii_lowercase()))
    };
    settings
        .into_iter()
        .map(|(sub, r)| {
            let flow = match r {
                Err(e) => Flow::Unread(e),
                Ok(list) if list.iter().any(to_read) => Flow::Sent,
                Ok(list) => Flow::NotSent(described(&list)),
            };
            (sub, flow)
        })
        .collect()
}

/// What the pass read of the Activity log, for the subscriptions' findings.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    /// Each subscription's newest row in the silence window (`None`: not read).
    pub latest: Option<&'a BTreeMap<String, OffsetDateTime>>,
    /// Why the read failed.
    pub error: Option<&'a AzureError>,
    /// Why rows of the window were left unread.
    pub incomplete: &'a [String],
    /// Workspaces read.
    pub workspaces: usize,
}

/// Subscription `sub`'s findings, and whether its Activity log is known to flow and was read
/// whole (so its VMs' doors may clear). `flow`: its settings as read (`None`: Resource Manager
/// not read, the rows alone judge).
pub fn evaluate(
    sub: &str,
    seen: Seen<'_>,
    flow: Option<&Flow>,
    now: OffsetDateTime,
) -> (Evaluation, bool) {
    let mut ev = Evaluation::default();
    let mut not_read = Vec::new();
    if let Some(Flow::NotSent(what)) = flow {
        not_read.push(format!(
            "no diagnostic setting of subscription {sub} sends its Activity log (category Administrative) to a workspace this app reads ({what})"
        ));
    }
    let n = seen.workspaces;
    if seen.latest.is_some_and(|l| !l.contains_key(sub)) {
        not_read.push(format!(
            "no AzureActivity row of subscription {sub} in the last {SILENCE_DAYS} days in the {n} workspace(s) this app reads"
        ));
    }
    if seen.latest.is_some() || matches!(flow, Some(Flow::NotSent(_))) {
        ev.decide(NOT_READ, !not_read.is_empty(), || {
            format!(
                "{}: Run Command, extension and serial console uses on its VMs cannot be seen, their doors are unknown (send its Activity log, category Administrative, to one of them with a diagnostic setting on the subscription)",
                not_read.join("; ")
            )
        });
    }
    let mut failed: Vec<(Level, String)> = Vec::new();
    if let Some(e) = seen.error {
        failed.push((
            failure_level(e),
            format!("the Activity log (AzureActivity) could not be read: {e}"),
        ));
    }
    for why in seen.incomplete {
        failed.push((
            Level::Medium,
            format!("the Activity log was not read whole: {why}"),
        ));
    }
    if let Some(Flow::Unread(e)) = flow {
        failed.push((
            failure_level(e),
            format!("the diagnostic settings of subscription {sub} could not be read: {e}"),
        ));
    }
    let level = failed.iter().map(|(l, _)| *l).max().unwrap_or(Level::Info);
    ev.decide_at(READ_FAILED, !failed.is_empty(), level, || {
        let said: Vec<&str> = failed.iter().map(|(_, w)| w.as_str()).collect();
        format!(
            "at {}: {}; the doors of its VMs are unknown: a use seen opens a door, none clears{}",
            format_utc(now),
            said.join("; "),
            read_again(level)
        )
    });
    if seen.error.is_none() {
        ev.assessed.insert(JIT_FAILED.to_owned());
    }
    let flows = !matches!(flow, Some(Flow::NotSent(_) | Flow::Unread(_)));
    let whole = seen.error.is_none() && seen.incomplete.is_empty();
    let rows = seen.latest.is_some_and(|l| l.contains_key(sub));
    (ev, flows && whole && rows)
}

/// `ev` (a VM's evaluation while its doors are unknown) deciding only the doors it found open:
/// nothing clears.
pub fn open_only(ev: &mut Evaluation) {
    let open: BTreeSet<String> = ev.findings.iter().map(|f| f.code.clone()).collect();
    ev.assessed.retain(|c| open.contains(c));
}
