//! Who allowed each Bastion session: one authorization record per successful session (its
//! verdict `pim`, `pim-group`, `jit`, `standing`, `none` or `unknown`, the evidence ids, the
//! window, approver, justification and ticket, and the VM sign-in's MFA where asked), decided
//! from PIM's Azure RBAC schedules and the roles' definitions (Resource Manager: a role counts
//! only where it allows the connection, [`roles`]), PIM's `AuditLogs` rows (Log Analytics),
//! PIM for Groups memberships and the groups' members (Microsoft Graph, [`groups`] and
//! [`members`], optional) and the just-in-time
//! requests the other doors read, and decided again as later evidence arrives. Every piece of evidence seen
//! is kept ([`store`], table `authzwindows`): Resource Manager forgets an expired activation.
//!
//! [`decide`] is pure; [`read`] gathers the sources; [`run`] is one pass; [`enforce`] disconnects
//! live sessions whose verdict is `none`, where asked to.

pub mod auditlogs;
pub mod budget;
pub mod decide;
pub mod enforce;
pub mod evidence;
pub mod findings;
pub mod groups;
pub mod members;
pub mod mfa;
pub mod read;
pub mod roles;
pub mod select;
pub mod settings;
pub mod shared;
pub mod shared_store;
pub mod store;

#[cfg(test)]
mod budget_tests;
#[cfg(test)]
mod decide_tests;
#[cfg(test)]
mod definitions_faults_tests;
#[cfg(test)]
mod entra_faults_tests;
#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod select_tests;
#[cfg(test)]
mod shared_tests;
#[cfg(test)]
mod store_tests;

use std::collections::BTreeSet;

use serde_json::json;
use time::{Duration, OffsetDateTime};

use self::decide::{Record, Session};
use self::read::DECIDE_LOOKBACK;
pub use self::read::Sources;
use self::settings::AuthzSettings;
use crate::catalogue::days::{DayRow, Span, put_authorization};
use crate::dates::format_utc_millis;
use crate::ports::Ports;
use crate::spine::Finding;

/// A record as its row keeps it (JSON text, keys sorted); `mfa` and `mfaSignIn` only where
/// looked up and found or unreadable.
pub fn record_json(r: &Record) -> String {
    let mut v = json!({
        "verdict": r.verdict.as_str(), "evidence": r.evidence,
        "from": r.from.map(format_utc_millis), "until": r.until.map(format_utc_millis),
        "approver": r.approver, "justification": r.justification, "ticket": r.ticket,
        "reasons": r.reasons,
    });
    if let Some(m) = r.mfa {
        v["mfa"] = m.as_str().into();
    }
    if !r.mfa_sign_in.is_empty() {
        v["mfaSignIn"] = r.mfa_sign_in.clone().into();
    }
    v.to_string()
}

/// What one pass did.
#[derive(Debug, Default)]
pub struct Report {
    /// Each session decided: its tunnel id and record.
    pub decided: Vec<(String, Record)>,
    /// What could not be read or stored.
    pub failed: Vec<String>,
    /// Resource Manager calls made (first pages).
    pub arm_calls: usize,
    /// `AuditLogs` queries sent.
    pub queries: usize,
    /// Microsoft Graph lists asked (PIM for Groups, group members; first pages).
    pub graph_calls: usize,
    /// Day rows read (the sessions a pass chooses from).
    pub rows_read: usize,
    /// Kept evidence rows read (`authzwindows`: those that may cover a session of the pass).
    pub windows_read: usize,
    /// Sessions left undecided this pass: nothing kept covers them and their subscription's PIM
    /// lists, last read before they started, wait for their budget (never `none` for that).
    pub deferred: usize,
    /// Sessions whose verdict or record changed (written).
    pub changed: usize,
    /// What it tells people (the entry point makes them notifications).
    pub found: Vec<Finding>,
}

/// The session facts the decision needs, from its day row; whether it signed in with Entra ID
/// is told apart, from its VM's extensions ([`shared_store::entra`]): `No` here.
pub fn session_of(row: &DayRow) -> Session {
    Session {
        upn: row.user_email.clone(),
        object_id: String::new(),
        vm: row.target_resource_id.to_ascii_lowercase(),
        start: Some(row.start),
        protocol: row.protocol.to_ascii_lowercase(),
        host: row.host.to_ascii_lowercase(),
        entra: decide::Entra::No,
    }
}

/// The pacing row's name of the passes (when the last ran) and of the daily sweep.
const PASS: &str = "~pass";
const SWEEP: &str = "~sweep";

/// One pass over the successful sessions on `hosts` (lower-case names; empty: every host) that
/// started within [`DECIDE_LOOKBACK`] of `now` and whose verdict may change ([`select`]): the
/// sources read as the Resource Manager budget allows ([`budget`]) and kept, each chosen session
/// decided from the kept evidence that may cover it (one that only a list not read this pass
/// could cover is left undecided, [`Report::deferred`]); then the shared accounts of
/// `SHARED_ACCOUNT_DAYS`, from their kept state updated by the sessions read.
pub async fn run(
    ports: &Ports,
    sources: &Sources<'_>,
    hosts: &BTreeSet<String>,
    settings: &AuthzSettings,
    now: OffsetDateTime,
) -> Report {
    let mut report = Report::default();
    // What the pass cannot go on without: said unread, and the pass ends.
    macro_rules! read_or_end {
        ($read:expr, $what:literal) => {
            match $read {
                Ok(v) => v,
                Err(e) => {
                    report
                        .failed
                        .push(format!(concat!($what, " not read: {}"), e));
                    return report;
                }
            }
        };
    }
    let (tables, clock) = (ports.tables.as_ref(), ports.clock.as_ref());
    let shared_from = now - Duration::days(settings.shared_days);
    let span = Span {
        from: now - DECIDE_LOOKBACK,
        until: now,
    };
    let last = read_or_end!(store::read_at(tables, PASS).await, "pass times");
    let swept = read_or_end!(store::read_at(tables, SWEEP).await, "pass times");
    let mut accounts = read_or_end!(shared_store::load(tables).await, "shared accounts");
    let before = accounts.clone();
    let sweep = last.is_none() || swept.is_none_or(|at| at.date() != now.date());
    let scan_from = match (swept, last) {
        (None, _) => shared_from.min(span.from),
        _ if sweep => span.from,
        (_, Some(last)) => (last - select::RECENT).max(span.from),
        (_, None) => span.from,
    };
    let mut chosen = select::Chosen::default();
    let scan = Span {
        from: scan_from,
        until: now,
    };
    let open: &[&str] = if sweep { &[""] } else { &select::OPEN };
    let read = select::scan(tables, hosts, (scan, span.from), open, &mut chosen, |r| {
        if r.start >= shared_from {
            shared_store::add(&mut accounts, r);
        }
    });
    let read = match read.await {
        Ok(()) => select::unknown(tables, hosts, span, scan_from, &mut chosen).await,
        e => e,
    };
    read_or_end!(read, "sessions");
    // Every subscription with a session in the span: those read now, and those of the accounts.
    let subscriptions: BTreeSet<String> = (chosen.rows.values())
        .map(|r| r.target_resource_id.to_ascii_lowercase())
        .chain(
            (accounts.iter())
                .filter(|(_, a)| a.people.values().any(|u| u.2 >= span.from))
                .map(|((vm, _), _)| vm.clone()),
        )
        .map(|vm| decide::subscription_of(&vm))
        .filter(|s| !s.is_empty())
        .collect();
    let found = shared_store::shared(&accounts, shared_from);
    let mut kept = read_or_end!(store::load(tables, span.from).await, "kept evidence");
    // The VMs of the sessions in UPN form a kept role could cover: their extensions tell whether
    // a role granting only the login data action allows them.
    let signed_in: BTreeSet<String> = (chosen.rows.values())
        .filter(|r| decide::upn_form(&r.user_name))
        .map(session_of)
        .filter(|s| decide::role_near(s, &kept.evidence))
        .map(|s| s.vm)
        .collect();
    let due = match sources.arm {
        Some(_) => shared_store::due(&accounts, &found, &signed_in, now),
        None => Vec::new(),
    };
    let starts = (chosen.rows.values()).map(|r| (r.target_resource_id.as_str(), r.start));
    let paced = shared_store::listed_since(&accounts, now - budget::VMS_PACE);
    let turns = budget::Turns::of(starts, &due, paced);
    report.windows_read = kept.evidence.len();
    // Role definitions are read once a role is kept (what they judge).
    let roles = (kept.evidence.iter())
        .any(|e| matches!(e.kind, Some(evidence::Kind::Pim | evidence::Kind::Standing)));
    let lists = (&subscriptions, &turns, roles);
    let mut got = read::gather((tables, clock), sources, lists, (span.from, now)).await;
    // What ended before the span cannot cover a session of it (nor is kept, when first seen now).
    got.seen.retain(|e| store::may_cover(e, span.from));
    let vms = (chosen.rows.values())
        .map(|r| r.target_resource_id.to_ascii_lowercase())
        .chain(accounts.keys().map(|(vm, _)| vm.clone()))
        .collect();
    let wanted = match sources.groups {
        Some(_) => groups::held(
            got.seen.iter().chain(&kept.evidence),
            &vms,
            (span.from, now),
        ),
        None => BTreeSet::new(),
    };
    // Membership changes are kept for the groups holding roles here only (their members read).
    let change = |e: &evidence::Evidence| {
        matches!(
            e.kind,
            Some(evidence::Kind::MemberAdded | evidence::Kind::MemberRemoved)
        )
    };
    got.seen.retain(|e| !change(e) || wanted.contains(&e.group));
    if let Some(graph) = sources.groups {
        let read = groups::read(graph, &wanted).await;
        (got.reads.groups_read, got.reads.groups_failed) = (true, read.failed);
        (got.graph_calls, got.groups_listed) = (read.calls, read.listed);
        got.seen.extend(read.seen);
        let members = groups::read_members((tables, clock), graph, &wanted, now).await;
        (got.reads.members, got.reads.members_failed) = (members.members, members.failed);
        got.graph_calls += members.calls;
        report.failed.extend(members.unkept);
    }
    report.arm_calls = got.arm_calls;
    report.failed.append(&mut got.unkept);
    report.queries = got.queries;
    report.graph_calls = got.graph_calls;
    let fresh = select::fresh(&got.seen, &kept.evidence);
    if let Err(e) = select::covered_by(tables, hosts, &fresh, span, &mut chosen).await {
        report
            .failed
            .push(format!("sessions new evidence covers not read: {e}"));
    }
    report.rows_read = chosen.read;
    match store::keep(tables, &kept, &got.seen, now).await {
        // A workspace's cursor moves only once what it gave is kept.
        Ok(()) => {
            let begun = (got.reach.iter())
                .filter(|r| r.2)
                .map(|(w, at, _)| (read::audit_from(w), *at));
            let cursors = got
                .cursors
                .iter()
                .map(|(w, at)| (read::audit_cursor(w), *at));
            for (row, at) in begun.chain(cursors) {
                if let Err(e) = store::mark_read(tables, &row, at).await {
                    report.failed.push(format!("AuditLogs {row} not kept: {e}"));
                }
            }
        }
        Err(e) => report.failed.push(format!("evidence not kept: {e}")),
    }
    let lists = (got.listed.iter().map(|l| (evidence::Source::Instances, l))).chain(
        got.groups_listed
            .iter()
            .map(|l| (evidence::Source::GroupInstances, l)),
    );
    for (source, (under, listed)) in lists {
        let list = (source, under.as_str());
        if let Err(e) = store::close_gone(tables, &kept, list, listed, now).await {
            report
                .failed
                .push(format!("{under}: gone instances not closed: {e}"));
        }
        // Paced only when both lists of a subscription were read.
        let whole = !got.reads.failed.iter().any(|(s, _)| s == under);
        let paced = source == evidence::Source::Instances && whole;
        if paced && let Err(e) = store::mark_read(tables, under, now).await {
            report
                .failed
                .push(format!("{under}: read time not kept: {e}"));
        }
    }
    // A session in UPN form is counted so its VM's answer is kept (and told) for its account too.
    for r in (chosen.rows.values()).filter(|r| decide::upn_form(&r.user_name)) {
        shared_store::add(&mut accounts, r);
    }
    if let Some(arm) = sources.arm {
        shared_store::read_entra((arm, tables, clock), &mut accounts, &due, now).await;
    }
    report.found = shared_store::findings(&accounts, &found, sources.arm.is_some(), now);
    if let Err(e) = shared_store::save(tables, &before, &mut accounts, shared_from).await {
        report.failed.push(format!("shared accounts not kept: {e}"));
    }
    let rows: Vec<DayRow> = chosen.rows.into_values().collect();
    // Decided from everything known: what is kept, updated by what was read now.
    let fresh: BTreeSet<String> = got.seen.iter().map(|e| e.id.clone()).collect();
    kept.evidence.retain(|e| !fresh.contains(&e.id));
    let mut all = std::mem::take(&mut got.seen);
    all.extend(kept.evidence);
    let mut changed = Vec::new();
    let mut unknown = Vec::new();
    for r in &rows {
        let entra = (
            r.target_resource_id.to_ascii_lowercase(),
            r.user_name.to_lowercase(),
        );
        let session = Session {
            entra: shared_store::entra(&accounts, (&entra.0, &entra.1), sources.arm.is_some()),
            ..session_of(r)
        };
        let mut record = decide::decide(&session, &all, &got.reads, settings.pattern());
        let sub = decide::subscription_of(&r.target_resource_id);
        let open = matches!(
            record.verdict,
            decide::Verdict::None | decide::Verdict::Unknown
        );
        if (record.verdict == decide::Verdict::None && got.reads.awaits_list(&sub, r.start))
            || (open && decide::awaits_definition(&session, &all, &got.reads))
        {
            report.deferred += 1;
            continue;
        }
        if sources.signin_mfa {
            (record.mfa, record.mfa_sign_in) =
                mfa::of_session(&session, &got.signins, got.signins_unread);
        }
        if record.verdict == decide::Verdict::Unknown {
            unknown.push((sub, record.reasons.clone()));
        }
        report.found.extend(findings::transition(r, &record, now));
        let (verdict, text) = (record.verdict.as_str(), record_json(&record));
        if r.authorization != verdict || r.authorization_record != text {
            let day = r.day();
            let at = (day.as_str(), r.tunnel_id.as_str());
            match put_authorization(tables, &ports.outbox, at, (verdict, &text), now).await {
                Ok(()) => changed.push((r.day(), r.tunnel_id.clone())),
                Err(e) => report
                    .failed
                    .push(format!("{}: verdict not stored: {e}", r.tunnel_id)),
            }
        }
        report.decided.push((r.tunnel_id.clone(), record));
    }
    report
        .found
        .extend(findings::unknown(&got.reads, &unknown, now));
    let marks = [(true, PASS), (sweep, SWEEP)];
    for (_, row) in marks.into_iter().filter(|(due, _)| *due) {
        if let Err(e) = store::mark_read(tables, row, now).await {
            report.failed.push(format!("pass time not kept: {e}"));
        }
    }
    // The review queue derives a session whose verdict changed again.
    report.changed = changed.len();
    if let Err(e) = crate::catalogue::changes::record(tables, &changed).await {
        report.failed.push(format!(
            "changed verdicts not recorded for the review queue: {e}"
        ));
    }
    report
}
