//! How an invocation fails ([`Failure`]): the one error the domains return and the host protocol
//! answers (500 or quarantine), below both so neither names the other's type.

use crate::azure::AzureError;
use crate::names::named;

/// How an invocation fails: worth a later try, or input that can never succeed. The domains speak
/// only this, and the host protocol answers it as is (`Retryable`: 500, the trigger redelivers;
/// `Poison`: 200 after the payload is quarantined, logged once at warn).
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Transient fault: the trigger must redeliver.
    #[error("transient failure while {}: {source:#}", stage.as_str())]
    Retryable {
        /// Where it failed.
        stage: Stage,
        /// The cause chain.
        source: anyhow::Error,
    },
    /// Input that can never succeed.
    #[error("poison input: {reason}")]
    Poison {
        /// Short reason, stored with the quarantined payload.
        reason: String,
        /// Optional cause.
        source: Option<anyhow::Error>,
    },
}

impl Failure {
    /// A transient failure at `stage`.
    pub fn retryable(stage: Stage, source: impl Into<anyhow::Error>) -> Self {
        Self::Retryable {
            stage,
            source: source.into(),
        }
    }

    /// A transient failure while processing (storage, tables).
    pub fn storage(source: impl Into<anyhow::Error>) -> Self {
        Self::retryable(Stage::Processing, source)
    }

    /// Poison input.
    pub fn poison(reason: impl Into<String>) -> Self {
        Self::Poison {
            reason: reason.into(),
            source: None,
        }
    }

    /// The outcome label used in logs and metrics.
    #[cfg(test)]
    pub fn label(&self) -> &'static str {
        match self {
            Self::Retryable { .. } => "failed",
            Self::Poison { .. } => "poisoned",
        }
    }
}

named! {
    /// Where in the pipeline a failure happened (telemetry contract).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Stage {
        /// Reading or writing storage.
        Processing = "processing",
        /// Delivering to an external destination.
        Sending = "sending",
    }
}

impl From<AzureError> for Failure {
    fn from(e: AzureError) -> Self {
        match e {
            // The service refused the input itself: the same event fails every time.
            AzureError::Rejected { .. } => Self::poison(e.to_string()),
            e => Self::storage(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Failure;
    use crate::azure::AzureError;
    use crate::invocation::DecodeError;

    #[test]
    fn infrastructure_errors_are_retryable_and_decode_errors_poison() {
        let e: Failure = AzureError::Permanent("403".into()).into();
        assert_eq!(e.label(), "failed");
        let e: Failure = DecodeError::Missing("Data.x".into()).into();
        assert_eq!(e.label(), "poisoned");
        // The service refused the input itself: the same event fails every time.
        for (status, code) in [
            (400, "EntityTooLarge"),
            (400, "PropertyValueTooLarge"),
            (400, "OutOfRangeInput"),
            (413, "RequestBodyTooLarge"),
        ] {
            let e: Failure = AzureError::from_status(status, code, "", None).into();
            assert_eq!(e.label(), "poisoned", "{code}");
            assert!(e.to_string().contains(code), "{e}");
        }
        let e: Failure = AzureError::from_status(400, "InvalidHeaderValue", "", None).into();
        assert_eq!(e.label(), "poisoned");
        for status in [403, 404, 409, 412, 429, 503] {
            let e: Failure = AzureError::from_status(status, "x", "", None).into();
            assert_eq!(e.label(), "failed", "{status}");
        }
    }
}
