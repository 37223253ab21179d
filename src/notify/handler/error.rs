//! Why a notification was not delivered ([`Error`]): a message that can never be, its Sentinel row
//! not recorded, or a destination to try again. The entry point decides how the run ends.

use crate::azure::AzureError;

/// Why a notification was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// It can never be delivered: not a notification, or too large for every routed destination.
    #[error("{0}")]
    Unusable(String),
    /// Its Sentinel row could not be recorded; nothing was delivered yet.
    #[error(transparent)]
    Outbox(AzureError),
    /// A destination did not take it now and must be tried again.
    #[error("{0}")]
    Undelivered(String),
}
