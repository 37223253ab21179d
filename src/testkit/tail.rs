//! Fixtures of the `AuditLogTail` component tests: a kit with its hour blob registered, one tick,
//! and Bastion lines.

use std::sync::Arc;

use time::OffsetDateTime;

use super::Domains;
use super::audit::{Kit, kit, line};
use crate::audit_logs::AuditSettings;
use crate::audit_logs::tail::{TickReport, tick};

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

/// One tick at `at`.
pub async fn run(k: &Kit, at: OffsetDateTime) -> TickReport {
    tick(&k.state.tailer(), at).await.expect("tick")
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
