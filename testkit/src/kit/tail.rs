//! Fixtures of the `AuditLogTail` component tests: a kit with its hour blob registered, one tick,
//! and Bastion lines.

use std::sync::Arc;

use time::OffsetDateTime;

use super::audit::{Kit, kit, line};
use bastion_recordings::audit_logs::path::hosts;
use bastion_recordings::audit_logs::repo::CursorRepo;
use bastion_recordings::audit_logs::tail::{Tailer, TickReport, blob, keep, list};
use bastion_recordings::audit_logs::{AuditSettings, Error, detect};
use bastion_recordings::clock::Budget;
use bastion_recordings::join::tick::after_reads;
use bastion_recordings::state::AppState;

/// A kit whose hour blob exists and is registered.
pub async fn started() -> Kit {
    started_with(|_| {}).await
}

/// [`started`], with the audit settings changed first.
pub async fn started_with(change: impl FnOnce(&mut AuditSettings)) -> Kit {
    let mut k = kit(None);
    change(Arc::make_mut(&mut k.state.audit));
    k.create_log().await;
    k.register().await;
    k
}

/// One tick over every host at `now`, as `AuditLogTail`'s host units and its joined unit do it
/// in parts: the active cursors' hosts listed, what grew read and kept, the growth left unread
/// marked, then the failed-login bursts still unchecked.
///
/// # Errors
/// [`Error`] when the cursor list cannot be read.
pub async fn tick(tail: &Tailer, now: OffsetDateTime) -> Result<TickReport, Error> {
    let (settings, ports) = (&tail.settings, &tail.ports);
    let time = Budget::after(ports.clock.clone(), settings.tail_budget);
    let repo = CursorRepo::new(ports.tables.clone());
    let cursors = repo.active(now, settings.tail_look_back, None).await?;
    let listed = list::grown(tail, hosts(cursors), now).await;
    let (mut report, left) = blob::read_grown(tail, listed, now, &time).await;
    keep::mark(tail, left).await;
    report.findings = detect::unchecked::bursts(ports, settings).await;
    Ok(report)
}

/// One tick at `at`, then the join's part, as `AuditLogTail`'s units run them.
pub async fn run(k: &Kit, at: OffsetDateTime) -> TickReport {
    ticked(&k.state, at).await
}

/// One tick of `state` at `at`, then the join's part, as `AuditLogTail`'s units run them.
pub async fn ticked(state: &AppState, at: OffsetDateTime) -> TickReport {
    let mut r = tick(&bastion_recordings::state::tailer(state), at)
        .await
        .expect("tick");
    join_part(state, at, &mut r).await;
    r
}

/// The join's part of a tick of `state` at `at` ([`after_reads`]), added to `r`.
pub async fn join_part(state: &AppState, at: OffsetDateTime, r: &mut TickReport) {
    let a = &state.audit;
    let time = Budget::after(state.ports.clock.clone(), a.tail_budget);
    let waits = (a.unrecorded_grace, a.session_max.max(a.open_session_max));
    let join = bastion_recordings::state::join(state);
    let j = after_reads(&join, at, &time, a.tail_look_back, waits).await;
    r.joined += j.rewritten;
    r.cut |= j.cut;
    r.join_failed |= j.failed;
    r.findings.extend(j.findings);
}

/// A successful connect to VM1 by `u` at `time`.
pub fn connected(tunnel: &str, time: &str) -> String {
    line(tunnel, time, "Successfully Connected.", "VM1", "u", "")
}

/// `n` successful connects `{prefix}0…` at 09:10 (see [`connected`]).
pub fn connects(prefix: &str, n: usize) -> String {
    (0..n)
        .map(|i| connected(&format!("{prefix}{i}"), "2025-03-14T09:10:00Z"))
        .collect()
}

/// `n` failed logins `f0…` as `root` on VM9 at 09:31: a burst.
pub fn failed_logins(n: usize) -> String {
    let at = "2025-03-14T09:31:00Z";
    (0..n)
        .map(|i| line(&format!("f{i}"), at, "Login Failed", "VM9", "root", ""))
        .collect()
}
