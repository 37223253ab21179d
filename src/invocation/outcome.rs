//! The outcome policy shared by every function: how an invocation ends, and what the host is told.
//!
//! Exactly four endings: `Processed` and `Skipped` (200), `Poison` (200 after the payload is
//! quarantined: the same input can never succeed, and failing would make Event Grid redeliver it for
//! 24 h and put the endpoint on probation), and `Retryable` (500: the host fails the invocation and
//! the trigger redelivers). Infrastructure errors are always `Retryable`, even "permanent" ones such
//! as a 403 from a missing role assignment: the event is fine, the platform is not, and dropping it
//! would lose data once the operator fixes the configuration.

use serde::Serialize;

use super::outputs::Outputs;

/// A successful ending.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The work was done; `outputs` go to the host's output bindings.
    Processed {
        /// Output bindings (JSON objects only).
        outputs: Outputs,
        /// One line for the host's invocation log.
        summary: String,
    },
    /// Not ours, or already done (duplicate/older event): acknowledged without work.
    Skipped {
        /// Why, for the debug log.
        reason: String,
    },
}

impl Outcome {
    /// Processed with no outputs.
    pub fn processed(summary: impl Into<String>) -> Self {
        Self::Processed {
            outputs: Outputs::new(),
            summary: summary.into(),
        }
    }

    /// Skipped for a reason.
    pub fn skipped(reason: impl Into<String>) -> Self {
        Self::Skipped {
            reason: reason.into(),
        }
    }

    /// Adds a value to an output binding (several values of one binding are sent as an array).
    /// Ignored on `Skipped`.
    #[must_use]
    pub fn with_output(mut self, binding: &str, value: &(impl Serialize + ?Sized)) -> Self {
        if let Self::Processed { outputs, .. } = &mut self {
            outputs.push(binding, value);
        }
        self
    }

    /// Adds each of `values` to an output binding ([`with_output`](Self::with_output) per value).
    #[must_use]
    pub fn with_outputs<T: Serialize>(
        self,
        binding: &str,
        values: impl IntoIterator<Item = T>,
    ) -> Self {
        values
            .into_iter()
            .fold(self, |o, v| o.with_output(binding, &v))
    }

    /// The outcome label used in logs and metrics.
    #[cfg(test)]
    pub fn label(&self) -> &'static str {
        match self {
            Self::Processed { .. } => "processed",
            Self::Skipped { .. } => "skipped",
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn outputs_accumulate_into_arrays() {
        let o = Outcome::processed("x")
            .with_output("q", &json!({"a": 1}))
            .with_output("q", &json!({"a": 2}));
        let Outcome::Processed { outputs, .. } = o else {
            panic!("processed")
        };
        assert_eq!(outputs.value("q"), Some(json!([{"a": 1}, {"a": 2}])));
        assert_eq!(
            Outcome::skipped("dup").with_output("q", &json!({})).label(),
            "skipped"
        );
    }
}
