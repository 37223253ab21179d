//! The pack's finding lists, each a CSV file and a table of the report with the same rows in the
//! same order (the report shows the first [`LISTED`] and some of the columns). A list of a declared
//! kind is the file its declaration names (`Kind::pack`, or the build fails): the unrecorded
//! sessions (`unrecorded.csv`), the sessions not reviewed or reviewed late (`unreviewed.csv`), the
//! sessions no verdict covers (`unauthorized.csv`) and the shared VM accounts
//! (`sharedaccounts.csv`); beside them the incidents and follow-ups with their comments and tickets
//! (`findings.csv`). [`listed`] is the one function deciding which lists a session is in, by the
//! definitions the figures count with (`catalogue::figures`, the authorization tally), so a list
//! has as many rows as its figure counts. Each row names the person (the portal user, the Entra UPN
//! the audit record carries), the VM account, the VM, the host and the times.

use std::path::Path;

use time::{Duration, OffsetDateTime};

use super::manifest::FileEntry;
use super::verdict::{counted, verdict, without};
use super::writer::CsvFile;
use crate::authorization::shared::Shared;
use crate::catalogue::days::{DayRow, get_row};
use crate::catalogue::figures::{Coverage, due_at, on_time};
use crate::dates::format_utc_millis;
use crate::reviews::Review;
use crate::spine::kinds;
use crate::tables::TableStore;

/// Rows of a list the report shows (the CSV file has them all).
pub const LISTED: usize = 500;

/// A session not reviewed at all.
pub const NOT_REVIEWED: &str = "not-reviewed";
/// A session first reviewed after its review was due.
pub const LATE: &str = "late";

/// One list: its file, the report's caption and which of its columns the report shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListSpec {
    /// The CSV file.
    pub file: &'static str,
    /// The report's caption.
    pub title: &'static str,
    /// The CSV's columns, separated by spaces ([`ListSpec::head`]).
    pub columns: &'static str,
    /// Indexes of the columns the report shows, in order.
    pub shown: &'static [usize],
}

/// The columns of a session list: `before`, the session's own ([`session_cells`]), `after`.
macro_rules! session_columns {
    ($($before:literal,)* .. $(,$after:literal)*) => {
        concat!($($before, " ",)* "start end person vmUser vm bastionHost" $(, " ", $after)*)
    };
}

/// `unrecorded.csv`: sessions counted unrecorded ([`Coverage::Unrecorded`]).
pub const UNRECORDED: ListSpec = ListSpec {
    file: kinds::SESSION_UNRECORDED.pack.expect("declared"),
    title: "Unrecorded sessions",
    columns: session_columns!(.., "outcome", "clientIp", "tunnelId"),
    shown: &[0, 1, 2, 3, 4, 5, 6],
};

/// `unreviewed.csv`: sessions not reviewed, or first reviewed after their due time.
pub const UNREVIEWED: ListSpec = ListSpec {
    file: kinds::REVIEW_OVERDUE.pack.expect("declared"),
    title: "Sessions not reviewed or reviewed late",
    columns: session_columns!("review", .., "kind", "dueAt", "firstReviewAt", "tunnelId"),
    shown: &[0, 1, 2, 3, 4, 5, 6, 8, 9],
};

/// `findings.csv`: reviews with verdict `incident` or `follow-up`.
pub const FINDINGS: ListSpec = ListSpec {
    file: "findings.csv",
    title: "Incidents and follow-ups",
    columns: "reviewedAt verdict reviewer comment ticket person vmUser vm bastionHost sessionStart sessionEnd subjectKind subjectId tunnelId reviewId",
    shown: &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
};

/// The session section's lists, in the order the report shows them.
pub const LISTS: [ListSpec; 3] = [UNRECORDED, UNREVIEWED, FINDINGS];

/// `unauthorized.csv`: the successful sessions no verdict covers.
pub const UNAUTHORIZED: ListSpec = ListSpec {
    file: kinds::SESSION_UNAUTHORIZED.pack.expect("declared"),
    title: "Sessions without an authorization",
    columns: session_columns!("verdict", .., "reasons", "tunnelId"),
    shown: &[0, 1, 3, 4, 5, 6, 7],
};

/// `sharedaccounts.csv`: VM accounts used by two or more people in the period.
pub const SHARED: ListSpec = ListSpec {
    file: kinds::SHARED_ACCOUNT.pack.expect("declared"),
    title: "Shared VM accounts",
    columns: "vm account people firstUse lastUse vmResourceId",
    shown: &[0, 1, 2, 3, 4],
};

/// Every list a pack writes, in the manifest's order.
const WRITTEN: [ListSpec; 5] = [UNRECORDED, UNREVIEWED, FINDINGS, UNAUTHORIZED, SHARED];

impl ListSpec {
    /// The CSV's columns.
    pub fn head(&self) -> Vec<&'static str> {
        self.columns.split(' ').collect()
    }
}

/// A list being written: its file and the rows the report shows.
struct ListFile {
    spec: ListSpec,
    csv: CsvFile,
    shown: Vec<Vec<String>>,
}

impl ListFile {
    fn create(dir: &Path, spec: ListSpec) -> std::io::Result<Self> {
        Ok(Self {
            spec,
            csv: CsvFile::create(dir, spec.file, &spec.head())?,
            shown: Vec::new(),
        })
    }

    fn row(&mut self, cells: &[String]) -> std::io::Result<()> {
        self.csv.row(cells)?;
        if self.shown.len() < LISTED {
            self.shown
                .push(self.spec.shown.iter().map(|i| cells[*i].clone()).collect());
        }
        Ok(())
    }

    /// Closes the file: its manifest entry and what the report shows of it.
    fn finish(self) -> std::io::Result<(FileEntry, Shown)> {
        let entry = self.csv.finish()?;
        let shown = Shown {
            spec: Some(self.spec),
            rows: entry.rows.unwrap_or_default(),
            first: self.shown,
        };
        Ok((entry, shown))
    }
}

/// What the report shows of one list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shown {
    /// The list.
    pub spec: Option<ListSpec>,
    /// Its rows in the CSV file.
    pub rows: u64,
    /// The first [`LISTED`] of them, the shown columns only.
    pub first: Vec<Vec<String>>,
}

/// The lists of one pack, written as the rows pass.
pub struct Lists {
    files: Vec<ListFile>,
    deadline: Duration,
}

fn time(t: Option<OffsetDateTime>) -> String {
    t.map(format_utc_millis).unwrap_or_default()
}

/// A session's cells every list starts with: start, end, person, VM account, VM and host.
fn session_cells(w: &DayRow) -> [String; 6] {
    [
        time(Some(w.start)),
        time(w.end),
        w.user_email.clone(),
        w.user_name.clone(),
        w.vm.clone(),
        w.host.clone(),
    ]
}

/// Which list of sessions not reviewed, if any, `w` (first reviewed at `first`) goes in, by the
/// definitions the figures count with (`reviewed` and `reviewed on time`).
pub fn review_state(
    w: &DayRow,
    first: Option<OffsetDateTime>,
    deadline: Duration,
) -> Option<&'static str> {
    match first {
        None => Some(NOT_REVIEWED),
        Some(at) if !on_time(at, due_at(w, deadline)) => Some(LATE),
        Some(_) => None,
    }
}

/// The lists session `w` (first reviewed at `first`, due `deadline` after its end) is in, each
/// with its row: the declared kind whose pack file holds it, and its cells.
pub fn listed(
    w: &DayRow,
    first: Option<OffsetDateTime>,
    deadline: Duration,
) -> Vec<(&'static str, Vec<String>)> {
    let session = session_cells(w);
    let with = |before: Vec<String>, after: Vec<String>| -> Vec<String> {
        before
            .into_iter()
            .chain(session.clone())
            .chain(after)
            .collect()
    };
    let kind = Coverage::of(w);
    let mut out = Vec::new();
    if kind == Coverage::Unrecorded {
        let after = vec![
            w.public_outcome().to_owned(),
            w.client_ip.clone(),
            w.tunnel_id.clone(),
        ];
        out.push((UNRECORDED.file, with(vec![], after)));
    }
    if let Some(state) = review_state(w, first, deadline) {
        let due = time(Some(due_at(w, deadline)));
        let after = vec![
            kind.as_str().to_owned(),
            due,
            time(first),
            w.tunnel_id.clone(),
        ];
        out.push((UNREVIEWED.file, with(vec![state.to_owned()], after)));
    }
    if counted(w) && without(w) {
        let record = serde_json::from_str::<serde_json::Value>(&w.authorization_record).ok();
        let reasons = record.as_ref().and_then(|r| r["reasons"].as_array());
        let reasons: Vec<&str> = reasons
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str())
            .collect();
        let after = vec![reasons.join("; "), w.tunnel_id.clone()];
        out.push((UNAUTHORIZED.file, with(vec![verdict(w).to_owned()], after)));
    }
    out
}

impl Lists {
    /// Creates the files in `dir`; a review is due `deadline` after its session's end.
    ///
    /// # Errors
    /// I/O errors.
    pub fn create(dir: &Path, deadline: Duration) -> std::io::Result<Self> {
        let files = WRITTEN.into_iter().map(|spec| ListFile::create(dir, spec));
        Ok(Self {
            files: files.collect::<Result<_, _>>()?,
            deadline,
        })
    }

    /// Writes `cells` into the list whose file is `file`.
    fn row(&mut self, file: &str, cells: &[String]) -> std::io::Result<()> {
        match self.files.iter_mut().find(|f| f.spec.file == file) {
            Some(f) => f.row(cells),
            None => Ok(()),
        }
    }

    /// Lists session `w`, first reviewed at `first`, where it belongs ([`listed`]).
    ///
    /// # Errors
    /// I/O errors.
    pub fn session(&mut self, w: &DayRow, first: Option<OffsetDateTime>) -> std::io::Result<()> {
        for (file, row) in listed(w, first, self.deadline) {
            self.row(file, &row)?;
        }
        Ok(())
    }

    /// Lists review `r` when it is an incident or a follow-up, with its session's person and
    /// times read from the session's day row (the review's own context when the row is gone).
    ///
    /// # Errors
    /// Storage and I/O errors.
    pub async fn review(&mut self, tables: &dyn TableStore, r: &Review) -> anyhow::Result<()> {
        if r.verdict == crate::reviews::Verdict::Ok {
            return Ok(());
        }
        let c = &r.context;
        let session = if c.tunnel_id.is_empty() || c.session_day.is_empty() {
            None
        } else {
            get_row(tables, &c.session_day, &c.tunnel_id)
                .await?
                .and_then(|s| DayRow::from_entity(&s.entity))
        };
        let (person, vm_user, start, end) = match &session {
            Some(w) => (
                w.user_email.clone(),
                w.user_name.clone(),
                time(Some(w.start)),
                time(w.end),
            ),
            None => (
                String::new(),
                c.user_name.clone(),
                c.session_start.clone(),
                String::new(),
            ),
        };
        let row = [
            format_utc_millis(r.at),
            r.verdict.as_str().to_owned(),
            r.reviewer.clone(),
            r.comment.clone(),
            r.ticket.clone(),
            person,
            vm_user,
            c.target_vm.clone(),
            c.bastion_host.clone(),
            start,
            end,
            r.subject.kind.as_str().to_owned(),
            r.subject.id.clone(),
            c.tunnel_id.clone(),
            r.id.clone(),
        ];
        Ok(self.row(FINDINGS.file, &row)?)
    }

    /// Writes the `shared` accounts and closes the files: their manifest entries, and what the
    /// report shows of each ([`LISTS`], then the authorization section's).
    ///
    /// # Errors
    /// I/O errors.
    pub fn finish(mut self, shared: &[Shared]) -> std::io::Result<(Vec<FileEntry>, Vec<Shown>)> {
        for s in shared {
            let (first, last) = (time(Some(s.first)), time(Some(s.last)));
            let people = s.people.join(", ");
            let row = [
                s.vm_name.clone(),
                s.account.clone(),
                people,
                first,
                last,
                s.vm.clone(),
            ];
            self.row(SHARED.file, &row)?;
        }
        let files = self.files.into_iter().map(ListFile::finish);
        Ok(files.collect::<Result<Vec<_>, _>>()?.into_iter().unzip())
    }
}
