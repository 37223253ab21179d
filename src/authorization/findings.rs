//! What the verdicts tell people, as spine findings of their declared kinds (the entry point
//! makes them notifications): `session.unauthorized` when a session's verdict becomes `none`
//! (critical), `session.authorized` when a `none` gives way to evidence read later (it resolves
//! the first), `authorization.unknown` for each source that could not be read while a session it
//! concerns stays `unknown` (once a day per source), and `shared-account`.

use std::collections::BTreeMap;

use serde_json::json;
use time::OffsetDateTime;

use super::decide::{Reads, Record, Verdict};
use super::shared::Shared;
use crate::catalogue::days::DayRow;
use crate::dates::{format_date, format_utc_millis};
use crate::spine::{Finding, Severity, kinds};

fn session_evidence(row: &DayRow, verdict: Verdict) -> serde_json::Value {
    json!({"tunnelId": row.tunnel_id, "bastionHost": row.host, "targetVm": row.vm,
        "targetResourceId": row.target_resource_id, "userEmail": row.user_email,
        "userName": row.user_name, "sessionStart": format_utc_millis(row.start),
        "verdict": verdict.as_str()})
}

/// The finding a session's change of verdict (from its row's, to `record`'s) calls for.
pub fn transition(row: &DayRow, record: &Record, now: OffsetDateTime) -> Option<Finding> {
    let was_none = row.authorization == Verdict::None.as_str();
    let covered = !matches!(record.verdict, Verdict::None | Verdict::Unknown);
    let (kind, level) = match record.verdict {
        Verdict::None if !was_none => (&kinds::SESSION_UNAUTHORIZED, Severity::Critical),
        _ if was_none && covered => (&kinds::SESSION_AUTHORIZED, Severity::Info),
        _ => return None,
    };
    let mut evidence = session_evidence(row, record.verdict);
    evidence["evidenceIds"] = json!(record.evidence);
    let f = Finding::new(
        kind,
        row.tunnel_id.clone(),
        format_utc_millis(now),
        level,
        evidence,
    )
    .word("vm", row.vm.clone())
    .word("user", row.user_email.clone())
    .word("verdict", record.verdict.as_str());
    Some(f)
}

/// One `authorization.unknown` per source not read (`reads`: a subscription's or workspace's, or
/// a group's Graph read) that leaves a decided session (`unknown`: the subscription and reasons
/// of each session decided `unknown`) without a verdict; keyed by the source's text and the day,
/// so it is told once a day while it lasts.
pub fn unknown(
    reads: &Reads,
    unknown: &[(String, Vec<String>)],
    now: OffsetDateTime,
) -> Vec<Finding> {
    let mut count: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (sub, reasons) in unknown {
        for (at, why) in reads
            .failed
            .iter()
            .filter(|(at, _)| at.is_empty() || at == sub)
        {
            *count.entry((at.as_str(), why.as_str())).or_default() += 1;
        }
        // A group whose memberships Graph did not give (every subscription: Graph is one source).
        for (group, why) in reads.groups_failed.iter().chain(&reads.members_failed) {
            let named = format!("group {group} ");
            if reasons.iter().any(|r| r.starts_with(&named)) {
                *count.entry(("", why.as_str())).or_default() += 1;
            }
        }
    }
    count
        .into_iter()
        .map(|((sub, why), n)| {
            let key = format!("{sub}|{why}|{}", format_date(now.date()));
            let evidence = json!({"subscription": sub, "reason": why, "sessions": n});
            Finding::new(
                &kinds::AUTHORIZATION_UNKNOWN,
                key,
                format_utc_millis(now),
                Severity::Warning,
                evidence,
            )
            .word("reason", why)
        })
        .collect()
}

/// The `shared-account` finding of `s`, keyed by the VM, the account and its people (a new
/// person tells it again); `entra` says whether the VM's Entra ID login extensions were read
/// absent (`absent`) or could not be read (`unknown: why`).
pub fn shared_account(s: &Shared, entra: &str, now: OffsetDateTime) -> Finding {
    let key = format!("{}|{}|{}", s.vm, s.account, s.people.join(","));
    let evidence = json!({"targetResourceId": s.vm, "targetVm": s.vm_name, "account": s.account,
        "people": s.people, "firstUse": format_utc_millis(s.first), "lastUse": format_utc_millis(s.last),
        "entraLogin": entra});
    Finding::new(
        &kinds::SHARED_ACCOUNT,
        key,
        format_utc_millis(now),
        Severity::Warning,
        evidence,
    )
    .word("account", s.account.clone())
    .word("vm", s.vm_name.clone())
}
