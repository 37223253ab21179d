//! Where a pack's rows come from: a [`RowSource`] hands out each table's rows for the period in
//! bounded chunks (a day partition, a table page), each row as its CSV cells plus the few typed
//! facts the report counts. The catalogue API implements it over the same queries, filters and
//! column lists as its own listings (`crate::api::evidence`), so the pack and the API agree.

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;

/// One CSV file of rows read from the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Reviews of sessions and recordings (`reviews.csv`).
    Reviews,
    /// Bastion sessions from the audit logs (`sessions.csv`).
    Sessions,
    /// The failed-login bursts the detector raised (`bursts.csv`).
    Bursts,
    /// Catalogued recordings (`recordings.csv`; `integrity.csv` is derived from the same rows).
    Recordings,
    /// Legal holds (`holds.csv`).
    Holds,
    /// Deletion tombstones (`deletions.csv`).
    Deletions,
    /// Who read which recording (`accessaudit.csv`).
    AccessAudit,
}

impl Kind {
    /// Every kind, in the order a pack reads them (reviews first: the sessions' coverage needs them).
    pub const ALL: [Self; 7] = [
        Self::Reviews,
        Self::Sessions,
        Self::Bursts,
        Self::Recordings,
        Self::Holds,
        Self::Deletions,
        Self::AccessAudit,
    ];

    /// The file's name.
    pub fn file(self) -> &'static str {
        match self {
            Self::Reviews => "reviews.csv",
            Self::Sessions => "sessions.csv",
            Self::Bursts => "bursts.csv",
            Self::Recordings => "recordings.csv",
            Self::Holds => "holds.csv",
            Self::Deletions => "deletions.csv",
            Self::AccessAudit => "accessaudit.csv",
        }
    }
}

/// What the report counts of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Facts {
    /// A review.
    Review {
        /// Reviewed recording id or session (tunnel) id.
        subject: String,
        /// When it was made.
        at: OffsetDateTime,
        /// `ok`, `follow-up` or `incident`.
        verdict: String,
        /// The reviewer (authenticated principal).
        reviewer: String,
    },
    /// A session.
    Session {
        /// Tunnel id.
        id: String,
        /// Bastion host.
        host: String,
        /// Start.
        start: OffsetDateTime,
        /// `success`, `failed-login`, `other`, `unknown` (as `/api/sessions`).
        outcome: &'static str,
        /// A recording is joined to it.
        recorded: bool,
        /// Recording ids joined to it.
        recordings: Vec<String>,
    },
    /// A `login.failed.burst` detection.
    Burst {
        /// The Bastion hosts of its attempts.
        hosts: Vec<String>,
    },
    /// A recording.
    Recording {
        /// Public id.
        id: String,
        /// Bastion host (joined session's, else the source's).
        host: String,
        /// Row status (`active`, `deleted`, …).
        status: String,
        /// Retention class.
        class: String,
        /// Retain-until date, if tagged.
        retain_until: Option<String>,
        /// Integrity state: `hashed`, `unhashed` or `length-mismatch`.
        integrity: &'static str,
        /// Under legal hold.
        held: bool,
        /// The latest verification's result (`intact`, `tampered`, `missing`, …; `never`).
        verification: String,
        /// Cells of the `integrity.csv` row.
        integrity_cells: Vec<String>,
    },
    /// A hold header.
    Hold {
        /// Hold id.
        id: String,
        /// `active` or `released`.
        status: String,
    },
    /// A tombstone.
    Deletion {
        /// Retention class at deletion.
        class: String,
    },
    /// An access-audit row.
    Access {
        /// Principal.
        who: String,
        /// Recording id (or other target).
        target: String,
        /// What was done.
        action: String,
        /// When.
        at: String,
    },
}

/// One row: its CSV cells (in the file's column order) and its facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Cells, unescaped (the writer defuses formulas and quotes).
    pub cells: Vec<String>,
    /// What the report counts.
    pub facts: Facts,
}

/// The rows of a period.
#[async_trait]
pub trait RowSource: Send + Sync {
    /// The column names of `kind`'s file.
    fn columns(&self, kind: Kind) -> Vec<String>;

    /// The column names of `integrity.csv`.
    fn integrity_columns(&self) -> Vec<String>;

    /// The `chunk`-th bounded chunk (0, 1, …) of `kind`'s rows, in file order; `None` after the last.
    ///
    /// # Errors
    /// Storage failures.
    async fn chunk(&self, kind: Kind, chunk: usize) -> anyhow::Result<Option<Vec<Row>>>;

    /// Where the rows come from (tables, accounts), for the manifest.
    fn describe(&self) -> Value;
}
