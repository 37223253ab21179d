//! The domains built from an application state, as every entry point builds them: each takes
//! the state's ports and the settings it reads, never the state itself.

use super::AppState;
use crate::audit_logs::detect::stalled::Stalled;
use crate::audit_logs::tail::Tailer;
use crate::health::report::Health;
use crate::join::{Join, Times};
use crate::recordings::Recordings;
use crate::retention::sweep::Sweeper;

/// The recording ↔ session join over the state's ports, policy and audit settings.
pub fn join(state: &AppState) -> Join {
    let a = &state.audit;
    let times = Times {
        lag: a.upload_lag,
        open_max: a.open_session_max,
        wait: a.session_wait,
        vouch: a.vouch_lag,
    };
    Join::new(&state.ports, state.policy.clone(), times).with_min_bytes(a.recording_min_bytes)
}

/// The audit-log tail over the state's ports and settings, reading the default source first.
pub fn tailer(state: &AppState) -> Tailer {
    let class = state.config.retention.audit_logs_class.clone();
    let quarantine = state.quarantine.clone();
    Tailer::new(
        &state.ports,
        join(state),
        quarantine,
        class,
        state.audit.clone(),
    )
}

/// Cataloguing over the state's ports and retention policy.
pub fn recordings(state: &AppState) -> Recordings {
    let custody = state.config.custody.workspace.is_some();
    Recordings::new(&state.ports, state.policy.clone(), join(state), custody)
}

/// The retention sweep over the state's ports, policy and settings.
pub fn sweeper(state: &AppState) -> Sweeper {
    let settings = state.config.retention.clone();
    Sweeper::new(&state.ports, state.policy.clone(), settings)
}

/// The stalled-recordings check over the state's ports and audit settings.
pub fn stalled(state: &AppState) -> Stalled {
    Stalled::new(&state.ports, &state.audit)
}

/// The health report's inputs: the state's ports, app blobs, queues and heartbeats.
pub fn health(state: &AppState) -> Health {
    Health {
        ports: state.ports.clone(),
        app_blobs: state.app_blobs.clone(),
        quarantine_container: state.config.quarantine_container.clone(),
        heartbeats: state.heartbeats.clone(),
        queues: state.queues.clone(),
        tail_look_back: state.audit.tail_look_back,
    }
}
