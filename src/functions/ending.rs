//! Each domain's error as the invocation's ending ([`Failure`]), converted here once: a port's
//! error as the port says (`From<AzureError>`), a step the next run repeats as `Retryable`, an
//! input that can never succeed as `Poison`.

use crate::audit_logs;
use crate::invocation::{Failure, Stage};
use crate::notify;

impl From<audit_logs::Error> for Failure {
    fn from(e: audit_logs::Error) -> Self {
        match e {
            audit_logs::Error::Port(e) => e.into(),
            e @ audit_logs::Error::Interrupted(_) => Self::storage(e),
        }
    }
}

impl From<notify::handler::Error> for Failure {
    fn from(e: notify::handler::Error) -> Self {
        use notify::handler::Error;
        match e {
            Error::Unusable(reason) => Self::poison(reason),
            // Recorded before anything is sent: the message comes back for it, whatever the fault.
            Error::Outbox(e) => Self::storage(e),
            e @ Error::Undelivered(_) => Self::retryable(Stage::Sending, e),
        }
    }
}
