//! How much an estate finding matters, as stored, shown and set (`BYPASS_INTERNAL_LEVEL`).

use serde::Serialize;

use crate::names::named;
use crate::spine::Severity;
use crate::spine::kinds;

named! {
    /// How much a finding matters: `high` makes `/api/health` degraded while open.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Level {
        /// Informational (a feature worth knowing about).
        Info = "info",
        /// Needs a look.
        Medium = "medium",
        /// The catalogue is incomplete or will be: act now.
        High = "high",
    }
}

impl Level {
    /// Its alert's severity.
    pub fn severity(self) -> Severity {
        match self {
            Self::Info => Severity::Info,
            Self::Medium => Severity::Warning,
            Self::High => Severity::Critical,
        }
    }

    /// The one level finding `code` is declared at ([`kinds::CODES`]; `high` when several).
    pub fn of(code: &str) -> Self {
        let declared = kinds::estate_code(code).levels;
        (Self::ALL.into_iter().find(|l| declared == [l.severity()])).unwrap_or(Self::High)
    }
}
