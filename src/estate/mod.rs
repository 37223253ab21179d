//! The Bastion estate watched through Azure Resource Manager: each host's configuration, its
//! diagnostic settings and its recording storage, checked every 15 minutes (`EstateCheck`) for
//! what would leave the catalogue silently incomplete.
//!
//! - [`settings`]: `BASTION_HOSTS`, `ARM_ENDPOINT`, `BASTION_DISCONNECT`, `RECORDINGS_ACCOUNT_IDS`.
//! - [`findings`]: the pure decision of one host's findings.
//! - [`store`]: table `estate` (episodes, ETag-conditional) and the `estate.*` notifications.
//! - [`check`]: one run over every host, bounded concurrency.
//! - [`live`]: the live sessions (`LiveSessions`) and `session.unrecordable`.
//! - [`unaudited`]: `session.unaudited`, a live session the audit logs never show.
//! - [`disconnect`]: disconnecting a live session, its audit row and announcement.
//! - [`view`]: the per-host status the API and the page show.

pub mod check;
pub mod disconnect;
pub mod findings;
pub mod live;
pub mod settings;
pub mod store;
pub mod unaudited;
pub mod view;

/// The timer function.
pub const FUNCTION: &str = "EstateCheck";

/// The partition of a host's rows (`estate`, `livesessions`): its lower-case resource id through
/// the one key encoder (base64url).
pub fn host_key(host: &str) -> String {
    use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
    key(&host.to_ascii_lowercase(), Spelling::Encoded, MAX_KEY_BYTES)
}

#[cfg(test)]
mod tests;
