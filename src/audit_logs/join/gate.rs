//! One session-side join round at a time per instance.
//!
//! Every tail tick, every `AuditLogCreated` invocation and every audit blob of a backfill ends with
//! a join of *all* pending sessions, and an instance runs many of them at once (Event Grid delivers
//! concurrently; the backfill reads 8 blobs at a time). Run side by side, those rounds read the same
//! pending rows, look up the same recordings and race on the same conditional writes: on Azurite, a
//! 300-recording backfill made 4.5 `sessionwindows` writes and 3.6 `recordingkeys` queries per
//! session. So a round that finds another running in this instance hands its sessions over (they
//! are pending in storage already) and returns at once; the running one goes round again before it
//! stops. Across instances nothing changes: the conditional writes keep concurrent rounds correct.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{Mutex, MutexGuard};

/// The instance's join gate (shared by every `Joiner` built from one state).
#[derive(Debug, Default)]
pub struct JoinGate {
    busy: Mutex<()>,
    again: AtomicBool,
}

impl JoinGate {
    /// Asks for a round: `Some` when this caller runs it, `None` when a running round took the
    /// request over. Asking before trying means the runner, which checks after each round and
    /// again after letting go, cannot miss a request.
    pub fn enter(&self) -> Option<MutexGuard<'_, ()>> {
        self.again.store(true, Ordering::SeqCst);
        self.busy.try_lock().ok()
    }

    /// For the runner, before each round: whether one was asked for since the last (and clears it).
    pub fn take(&self) -> bool {
        self.again.swap(false, Ordering::SeqCst)
    }

    /// For the runner, after letting go: whether a request came in too late to be taken over.
    pub fn asked(&self) -> bool {
        self.again.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_while_busy_is_taken_over_and_none_is_lost() {
        let gate = JoinGate::default();
        let held = gate.enter().expect("free: this caller runs");
        assert!(gate.take(), "its own request");
        assert!(gate.enter().is_none(), "busy: handed over");
        assert!(
            gate.take(),
            "the runner sees the request and goes round again"
        );
        assert!(!gate.take(), "nothing more asked");
        assert!(gate.enter().is_none());
        drop(held);
        assert!(
            gate.asked(),
            "asked after the last round: the runner must try again"
        );
        assert!(gate.enter().is_some(), "and can");
    }
}
