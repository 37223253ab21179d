//! The custom tables: the declaration shipped in `sentinel/tables.json`, the [`Table`]s it
//! declares (name, key, stream), and the row every one of them takes ([`ExportRow`]).

use std::sync::LazyLock;

use serde::Serialize;
use time::OffsetDateTime;

use crate::ingestion::schema::{Declaration, TableDecl};

/// The declaration as shipped (`sentinel/tables.json`).
pub const DECLARATION_JSON: &str = include_str!("../../sentinel/tables.json");

static DECLARATION: LazyLock<Result<Declaration, String>> =
    LazyLock::new(|| Declaration::parse(DECLARATION_JSON));

/// The shipped declaration.
///
/// # Errors
/// It does not parse or does not declare every [`Table`] (a build defect the unit tests catch).
pub fn declaration() -> Result<&'static Declaration, String> {
    let d = DECLARATION.as_ref().map_err(Clone::clone)?;
    let problems: Vec<String> = d
        .problems()
        .into_iter()
        .chain(
            Table::ALL
                .iter()
                .filter(|t| d.by_name(t.name()).is_none())
                .map(|t| format!("{} is not declared", t.name())),
        )
        .collect();
    if problems.is_empty() {
        Ok(d)
    } else {
        Err(problems.join("; "))
    }
}

/// The custom tables, in the order the drain sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    /// Bastion sessions as the catalogue joins them.
    Sessions,
    /// Catalogued recordings.
    Recordings,
    /// Every notification.
    Detections,
    /// Reviews with sign-off.
    Reviews,
    /// Estate findings, opened and cleared.
    Findings,
    /// Disconnects of live sessions.
    Disconnects,
}

impl Table {
    /// Every table.
    pub const ALL: [Self; 6] = [
        Self::Detections,
        Self::Findings,
        Self::Reviews,
        Self::Disconnects,
        Self::Sessions,
        Self::Recordings,
    ];

    /// The Log Analytics table (`…_CL`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sessions => "BastionSessions_CL",
            Self::Recordings => "BastionRecordings_CL",
            Self::Detections => "BastionDetections_CL",
            Self::Reviews => "BastionReviews_CL",
            Self::Findings => "BastionFindings_CL",
            Self::Disconnects => "BastionDisconnects_CL",
        }
    }

    /// A short name: the outbox partition and the key in `/api/health` (the name between
    /// `Bastion` and `_CL`).
    pub fn key(self) -> &'static str {
        let name = self.name();
        (name
            .strip_prefix("Bastion")
            .and_then(|n| n.strip_suffix("_CL")))
        .unwrap_or(name)
    }

    /// The table's declaration.
    pub fn declared(self) -> Option<&'static TableDecl> {
        declaration().ok()?.by_name(self.name())
    }

    /// The data collection rule stream that feeds it, from the declaration.
    pub fn stream(self) -> Option<&'static str> {
        self.declared().map(|t| t.stream.as_str())
    }
}

/// A row of one of the [`Table`]s: serialised with its column names (the declaration's), with
/// its stable id and the time it stands for (`TimeGenerated`).
pub trait ExportRow: Serialize {
    /// The table.
    fn table(&self) -> Table;
    /// The stable id (the value of the table's id column).
    fn id(&self) -> &str;
    /// When the fact changed (the row's `TimeGenerated`).
    fn time(&self) -> OffsetDateTime;
}
