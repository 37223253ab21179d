//! Why an audit-log step failed ([`Error`]): a port's error, or a step cut short by a state the
//! next run clears. Neither is the input's fault; the entry point decides how the run ends.

use crate::azure::AzureError;

/// Why tailing, registering or storing audit logs failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A port (the blobs, the tables) failed as the port says.
    #[error(transparent)]
    Port(#[from] AzureError),
    /// Cut short by a state the next run clears: a claim ran out before its progress was saved,
    /// a cursor's source is no longer configured, a registered cursor vanished.
    #[error("{0}")]
    Interrupted(String),
}
