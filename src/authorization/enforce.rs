//! Optional enforcement (`AUTHZ_ENFORCE=disconnect`): a live session whose verdict is `none`, on
//! a VM tagged [`TAG`]`=`[`TAG_VALUE`], is disconnected through the live-session disconnect
//! (its `disconnects` row says who and why, and `session.disconnected` announces it) once
//! `AUTHZ_GRACE_MINUTES` have passed since its start. `unknown`, undecided, or a live session that
//! may be one of several audit-log sessions of which one is not `none`, is never disconnected. The
//! live-session row is marked first ([`Live::claim_enforcement`]), so each session is disconnected once,
//! whatever the ticks. The live sessions are the estate's: the entry point hands them in ([`Live`]).

use std::collections::BTreeMap;

use serde_json::Value;
use time::OffsetDateTime;

use super::decide::Verdict;
use super::settings::AuthzSettings;
use crate::arm::ResourceManager;
use crate::azure::AzureError;
use crate::catalogue::days::DayRow;
use crate::dates::format_utc_millis;
use crate::tables::{Entity, Stored, get_str};

/// The VM tag that opts a VM in (its name compared in any case, as Azure compares tag names).
pub const TAG: &str = "bastion-authz";
/// Its value.
pub const TAG_VALUE: &str = "enforce";
/// Who decides these disconnects, in the `disconnects` row and the notification.
pub const DECIDED_BY: &str = "bastion-recordings (AUTHZ_ENFORCE=disconnect)";

/// The estate's live sessions, as enforcement reads, marks and disconnects them.
#[async_trait::async_trait]
pub trait Live: Sync {
    /// `host`'s live-session rows not yet marked by enforcement.
    async fn unmarked(&self, host: &str) -> Result<Vec<Stored>, AzureError>;
    /// The audit-log sessions live session `e` may be.
    async fn audit_rows(&self, e: &Entity) -> Result<Vec<DayRow>, AzureError>;
    /// Marks `r` with `why` unless it is marked already: `true` when this call marked it.
    async fn claim_enforcement(&self, r: &Stored, why: &str) -> Result<bool, AzureError>;
    /// Disconnects `host`'s session `id` for `why`, by [`DECIDED_BY`], recorded in `disconnects`.
    async fn disconnect(
        &self,
        host: &str,
        id: &str,
        why: &str,
        now: OffsetDateTime,
    ) -> Result<(), AzureError>;
}

/// What one host's pass did.
#[derive(Debug, Default)]
pub struct Report {
    /// Session ids disconnected (asked of Bastion; the answer is in `disconnects`).
    pub disconnected: Vec<String>,
    /// What could not be read or written (`session: why`): the session is tried again next tick.
    pub failed: Vec<String>,
}

/// Whether `tags` opt the VM in.
pub fn tagged(tags: &BTreeMap<String, String>) -> bool {
    (tags.iter())
        .any(|(k, v)| k.eq_ignore_ascii_case(TAG) && v.trim().eq_ignore_ascii_case(TAG_VALUE))
}

/// The reason a session is disconnected for, when every audit-log session it may be (`rows`) is
/// `none`: the verdict's own record (its evidence and reasons) included.
pub fn reason(rows: &[DayRow], settings: &AuthzSettings) -> Option<String> {
    let none = Verdict::None.as_str();
    if rows.is_empty() || rows.iter().any(|w| w.authorization != none) {
        return None;
    }
    let records: Vec<String> = rows
        .iter()
        .map(|w| {
            let r: Value = serde_json::from_str(&w.authorization_record).unwrap_or(Value::Null);
            format!(
                "session {}: evidence {}, reasons {}",
                w.tunnel_id, r["evidence"], r["reasons"]
            )
        })
        .collect();
    Some(format!(
        "authorization none: no PIM, PIM for Groups, just-in-time or standing access covers its \
         start ({}); VM tagged {TAG}={TAG_VALUE}; {} minutes of grace ({}) passed",
        records.join("; "),
        settings.grace.whole_minutes(),
        super::settings::GRACE
    ))
}

/// One pass over `host`'s live sessions at `now`: each one due is disconnected once.
pub async fn run(
    live: &dyn Live,
    arm: &dyn ResourceManager,
    host: &str,
    settings: &AuthzSettings,
    now: OffsetDateTime,
) -> Report {
    let mut report = Report::default();
    let rows = match live.unmarked(host).await {
        Ok(rows) => rows,
        Err(e) => {
            report.failed.push(format!("live sessions not read: {e}"));
            return report;
        }
    };
    let mut tags: BTreeMap<String, bool> = BTreeMap::new();
    for r in rows.iter().filter(|r| due(&r.entity, settings, now)) {
        let id = get_str(&r.entity, "SessionId")
            .unwrap_or_default()
            .to_owned();
        let vm = get_str(&r.entity, "TargetResourceId")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let why = match live.audit_rows(&r.entity).await {
            Ok(rows) => reason(&rows, settings),
            Err(e) => {
                report.failed.push(format!("{id}: verdict not read: {e}"));
                continue;
            }
        };
        let Some(why) = why else { continue };
        let on = match tags.get(&vm) {
            Some(on) => *on,
            None => match arm.vm_tags(&vm).await {
                Ok(t) => *tags
                    .entry(vm.clone())
                    .or_insert(t.is_some_and(|t| tagged(&t))),
                Err(e) => {
                    report.failed.push(format!("{id}: VM tags not read: {e}"));
                    continue;
                }
            },
        };
        if !on {
            continue;
        }
        let mark = format!(
            "{} {DECIDED_BY}: authorization none",
            format_utc_millis(now)
        );
        match live.claim_enforcement(r, &mark).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                report.failed.push(format!("{id}: not marked: {e}"));
                continue;
            }
        }
        match live.disconnect(host, &id, &why, now).await {
            Ok(_) => report.disconnected.push(id),
            Err(e) => report
                .failed
                .push(format!("{id}: disconnect not recorded: {e}")),
        }
    }
    report
}

/// A live session on a VM whose grace has passed at `now`.
fn due(e: &Entity, settings: &AuthzSettings, now: OffsetDateTime) -> bool {
    let vm = get_str(e, "TargetResourceId")
        .unwrap_or_default()
        .to_ascii_lowercase();
    get_str(e, "Status") == Some("live")
        && vm.contains("/providers/microsoft.compute/virtualmachines/")
        && get_str(e, "StartTime")
            .and_then(crate::dates::timestamp)
            .is_some_and(|start| start + settings.grace <= now)
}
