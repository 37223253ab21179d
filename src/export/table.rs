//! The custom tables: the declaration shipped in `sentinel/tables.json`, the [`Table`]s it
//! declares (name, key, stream), and the row every one of them takes ([`ExportRow`]).

use std::sync::LazyLock;

use serde::Serialize;
use time::OffsetDateTime;

use crate::ingestion::schema::{Declaration, TableDecl};
use crate::names::named;

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
                .filter(|t| d.by_name(t.as_str()).is_none())
                .map(|t| format!("{} is not declared", t.as_str())),
        )
        .collect();
    if problems.is_empty() {
        Ok(d)
    } else {
        Err(problems.join("; "))
    }
}

named! {
    /// The custom tables (`as_str`: the Log Analytics table, `…_CL`), in the order the drain
    /// sends them.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Table {
        /// Every notification.
        Detections = "BastionDetections_CL",
        /// Estate findings, opened and cleared.
        Findings = "BastionFindings_CL",
        /// Reviews with sign-off.
        Reviews = "BastionReviews_CL",
        /// Disconnects of live sessions.
        Disconnects = "BastionDisconnects_CL",
        /// Bastion sessions as the catalogue joins them.
        Sessions = "BastionSessions_CL",
        /// Catalogued recordings.
        Recordings = "BastionRecordings_CL",
    }
}

impl Table {
    /// A short name: the outbox partition and the key in `/api/health` (the name between
    /// `Bastion` and `_CL`).
    pub fn key(self) -> &'static str {
        let name = self.as_str();
        (name
            .strip_prefix("Bastion")
            .and_then(|n| n.strip_suffix("_CL")))
        .unwrap_or(name)
    }

    /// The table's declaration.
    pub fn declared(self) -> Option<&'static TableDecl> {
        declaration().ok()?.by_name(self.as_str())
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
