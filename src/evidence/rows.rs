//! What a pack's files are made of: each row read from the tables as its CSV cells plus the few
//! typed facts the report counts ([`Row`], [`Facts`]).

use time::OffsetDateTime;

use crate::catalogue::days::DayRow;
use crate::catalogue::recording::Recording;

/// What the report counts of one row.
#[derive(Debug, Clone, PartialEq)]
pub enum Facts {
    /// A review.
    Review {
        /// Reviewed recording id or session (tunnel) id.
        subject: String,
        /// When it was made.
        at: OffsetDateTime,
        /// `ok`, `follow-up` or `incident`.
        verdict: String,
        /// False for a review found to be by the session's own user (`self-review`): listed,
        /// not counted as reviewed.
        counts: bool,
        /// True only for a `verified` review (reviewer and session user two people by object
        /// id): what counts as an independent review.
        independent: bool,
        /// The whole review when it is an incident or a follow-up (`findings.csv`).
        finding: Option<Box<crate::reviews::Review>>,
    },
    /// A session.
    Session(Box<DayRow>),
    /// A `login.failed.burst` detection.
    Burst {
        /// The Bastion hosts of its attempts.
        hosts: Vec<String>,
    },
    /// A recording.
    Recording {
        /// Its catalogue row.
        row: Box<Recording>,
        /// Integrity state: `hashed`, `unhashed` or `length-mismatch`.
        integrity: &'static str,
        /// The latest verification's result (`intact`, `tampered`, `missing`, …; `never`).
        verification: String,
        /// Cells of the `integrity.csv` row.
        integrity_cells: Vec<String>,
    },
    /// A hold header, `active` or `released`.
    Hold {
        /// Its status.
        status: String,
    },
    /// A tombstone.
    Deletion {
        /// Retention class at deletion.
        class: String,
    },
    /// An access-audit row as the report lists it: at, principal, action, the recording's blob
    /// or else the target, host, person.
    Access([String; 6]),
    /// A refused self-review as the report lists it: at, reviewer, subject, session user, VM,
    /// host.
    Refusal([String; 6]),
    /// A two-person release request as the report lists it: hold, recording, status
    /// (`pending`, `approved` or `released`), requester, requested at, approver, approved at
    /// (empty while pending).
    Release([String; 7]),
    /// A custody event of a recording as the report lists it: at, event
    /// (`deleted-outside-retention` or `replaced`), the recording as `container/blob` (its id
    /// stays in `custody.csv`), its session's person (portal user), VM account, VM, and the
    /// recording's host.
    Custody([String; 7]),
}

/// One row: its CSV cells (in the file's column order) and its facts.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Cells, unescaped (the writer defuses formulas and quotes).
    pub cells: Vec<String>,
    /// What the report counts.
    pub facts: Facts,
}
