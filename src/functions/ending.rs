//! What a domain made of an input ([`Handled`]) and each domain's error as the invocation's ending
//! ([`Outcome`], [`Failure`]), converted here once: a port's
//! error as the port says (`From<AzureError>`), a step the next run repeats as `Retryable`, an
//! input that can never succeed as `Poison`.

use crate::audit_logs;
use crate::invocation::{Failure, Outcome, Stage};
use crate::notify;
use crate::spine::{self, Handled};

/// A domain's [`Handled`] as the invocation's ending: its findings through [`spine::send`] (a skip
/// that raised one is processed: a skip has no outputs).
impl From<Handled> for Outcome {
    fn from(h: Handled) -> Self {
        if h.skipped && h.findings.is_empty() {
            return Self::skipped(h.line);
        }
        spine::send(Self::processed(h.line), h.findings)
    }
}

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

#[cfg(test)]
mod tests {
    use super::{Failure, audit_logs, notify};
    use crate::azure::AzureError;

    fn refused() -> AzureError {
        AzureError::from_status(400, "PropertyValueTooLarge", "", None)
    }

    /// Each domain's fault ends as before the domains had their own errors: what the service
    /// refuses is poison where a port's error decides, a row not recorded or a destination to
    /// retry redelivers.
    #[test]
    fn each_domain_error_ends_as_its_fault_says() {
        let end = |e: Failure| match e {
            Failure::Poison { .. } => "poison".to_owned(),
            Failure::Retryable { stage, .. } => stage.as_str().to_owned(),
        };
        let audit = |e| end(Failure::from(e));
        assert_eq!(audit(audit_logs::Error::Port(refused())), "poison");
        let down = AzureError::Transient("reset".into());
        assert_eq!(audit(audit_logs::Error::Port(down)), "processing");
        let cut = audit_logs::Error::Interrupted("the claim ran out".into());
        assert_eq!(audit(cut), "processing");
        let sent = |e| end(Failure::from(e));
        use notify::handler::Error;
        assert_eq!(sent(Error::Unusable("not a notification".into())), "poison");
        assert_eq!(sent(Error::Outbox(refused())), "processing");
        let retry = || Error::Undelivered("slack: HTTP 500".into());
        assert_eq!(sent(retry()), "sending");
        let text = Failure::from(retry()).to_string();
        assert_eq!(text, "transient failure while sending: slack: HTTP 500");
    }
}
