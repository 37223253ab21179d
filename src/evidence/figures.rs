//! The report's figures, counted while the rows stream past (memory bounded by hosts × days, the
//! period's reviews and a capped access list, never by the rows themselves).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::rows::Facts;
use crate::catalogue::days::DayRow;
use crate::catalogue::figures::Tally;
use crate::catalogue::recording::Recording;

/// The figures of one Bastion host (or of all of them).
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostFigures {
    /// The session figures (sessions, recorded, unrecorded, failed logins, reviewed, reviewed on
    /// time), each as `catalogue::figures` defines it.
    #[serde(flatten)]
    pub tally: Tally,
    /// Coverage in percent ([`Tally::coverage_percent`]).
    pub coverage_percent: f64,
    /// Sessions with an independent review: one whose reviewer and session user are two people
    /// by Entra object id (`identityCheck: verified`); an `unverified-identity` review counts as
    /// reviewed, never as independent.
    pub reviewed_independently: u64,
    /// Queued (risky) sessions of the period still unreviewed whose review was due before the
    /// pack was made (as `GET /api/reviews/queue` marks them `overdue`).
    pub overdue: u64,
    /// `login.failed.burst` detections the detector raised with a window starting in the period
    /// (per user and per client IP, as it notifies; a burst over several hosts counts for each).
    pub failed_login_bursts: u64,
    /// Sessions per start day.
    pub per_day: BTreeMap<String, u64>,
    /// Recordings of the period (as `/api/recordings`).
    pub recordings: u64,
    /// Recordings per retention class.
    pub by_class: BTreeMap<String, u64>,
    /// Recordings per class whose retain-until falls before the period's end + 30 days.
    pub due_by_class: BTreeMap<String, u64>,
    /// Recordings per integrity state (`hashed`, `unhashed`, `length-mismatch`).
    pub integrity: BTreeMap<String, u64>,
    /// Recordings per latest verification result (`never`: not yet sampled).
    pub verified: BTreeMap<String, u64>,
    /// Recordings under legal hold.
    pub held: u64,
    /// Recordings per status.
    pub by_status: BTreeMap<String, u64>,
}

/// Everything the report shows.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Figures {
    /// All hosts together.
    pub total: HostFigures,
    /// Per Bastion host.
    pub hosts: BTreeMap<String, HostFigures>,
    /// Reviews made (as `/api/reviews`), per verdict.
    pub reviews: u64,
    /// Reviews per verdict.
    pub verdicts: BTreeMap<String, u64>,
    /// Hours from session start to its first review, per reviewed session: counts per bucket
    /// (bucket = whole multiples of 4 hours, capped at 48).
    pub review_latency: BTreeMap<u32, u64>,
    /// Hold headers listed; of them active.
    pub holds: u64,
    /// Active holds (as `/api/holds`).
    pub holds_active: u64,
    /// Tombstones of the period, per class.
    pub deletions: BTreeMap<String, u64>,
    /// Access-audit rows.
    pub accesses: u64,
    /// Accesses per principal.
    pub accesses_by_who: BTreeMap<String, u64>,
    /// The first [`LISTED`](super::lists::LISTED) accesses but list queries: (at, who, action,
    /// recording's blob or else the target, host, person).
    #[serde(skip)]
    pub access_list: Vec<[String; 6]>,
    /// List queries (actions `<list>.list`) per (principal, day, list): how many.
    #[serde(skip)]
    pub list_queries: BTreeMap<(String, String, String), u64>,
    /// Self-reviews refused (`refusedreviews.csv`).
    pub refused_reviews: u64,
    /// The first [`LISTED`](super::lists::LISTED) of them: (at, reviewer, subject, session user, VM, host).
    #[serde(skip)]
    pub refused_list: Vec<[String; 6]>,
    /// Two-person releases that took effect (`holdreleases.csv`, status `approved` or `released`).
    pub two_person_releases: u64,
    /// Two-person release requests still awaiting a second principal (status `pending`).
    #[serde(rename = "twoPersonPending")]
    pub two_person_open: u64,
    /// The first [`LISTED`](super::lists::LISTED) requests: (hold, recording, status, requester, requested at,
    /// approver, approved at).
    #[serde(skip)]
    pub release_list: Vec<[String; 7]>,
    /// Recordings deleted outside retention in the period (`custody.csv`).
    pub deleted_outside_retention: u64,
    /// Recordings replaced in the period (`custody.csv`).
    pub replaced: u64,
    /// The first [`LISTED`](super::lists::LISTED) custody events: (at, event, recording as
    /// `container/blob`, person, VM account, VM, host); `custody.csv` keeps the recording's id.
    #[serde(skip)]
    pub custody_list: Vec<[String; 7]>,
    /// The session-level lists (`lists::LISTS`), as the report shows them.
    #[serde(skip)]
    pub lists: Vec<super::lists::Shown>,
    /// Other ways in: the doors onto the period's VMs beside Bastion (`otherdoors.csv`) and what
    /// was read to find them.
    pub other_ways_in: super::doors::OtherWays,
    /// Who allowed the period's successful sessions: sessions per verdict, those without one,
    /// shared VM accounts (`unauthorized.csv`, `sharedaccounts.csv`).
    pub authorization: super::authorized::Authorization,
}

/// Keeps `row` among the first [`LISTED`](super::lists::LISTED) of `list`.
fn first<const N: usize>(list: &mut Vec<[String; N]>, row: &[String; N]) {
    if list.len() < super::lists::LISTED {
        list.push(row.clone());
    }
}

/// Counts rows as they pass.
#[derive(Debug, Default)]
pub struct Counter {
    figures: Figures,
    /// Earliest review per subject (recording or session id).
    reviewed: HashMap<String, OffsetDateTime>,
    /// Subjects with an independent review.
    independent: std::collections::HashSet<String>,
    deadline: Duration,
    due_before: String,
}

impl Counter {
    /// A counter for a period ending at `to`; a review is due `deadline` after the session's end
    /// (`catalogue::figures::due_at`).
    pub fn new(to: OffsetDateTime, deadline: Duration) -> Self {
        Self {
            deadline,
            due_before: crate::dates::format_date((to + Duration::days(30)).date()),
            ..Self::default()
        }
    }

    /// Counts one row.
    pub fn add(&mut self, facts: &Facts) {
        let f = &mut self.figures;
        match facts {
            Facts::Review {
                subject,
                at,
                verdict,
                counts,
                independent,
                ..
            } => {
                f.reviews += 1;
                *f.verdicts.entry(verdict.clone()).or_default() += 1;
                if !counts {
                    return;
                }
                if *independent {
                    self.independent.insert(subject.clone());
                }
                let e = self.reviewed.entry(subject.clone()).or_insert(*at);
                *e = (*e).min(*at);
            }
            Facts::Session(w) => self.session(w),
            Facts::Burst { hosts } => {
                f.total.failed_login_bursts += 1;
                for h in hosts {
                    f.hosts.entry(h.clone()).or_default().failed_login_bursts += 1;
                }
            }
            Facts::Recording {
                row,
                integrity,
                verification,
                ..
            } => self.recording(row, integrity, verification),
            Facts::Hold { status } => {
                f.holds += 1;
                f.holds_active += u64::from(status == "active");
            }
            Facts::Deletion { class } => *f.deletions.entry(class.clone()).or_default() += 1,
            Facts::Access(row) => {
                f.accesses += 1;
                *f.accesses_by_who.entry(row[1].clone()).or_default() += 1;
                match row[2].strip_suffix(".list") {
                    Some(list) => {
                        let day = row[0].get(..10).unwrap_or(&row[0]).to_owned();
                        let key = (row[1].clone(), day, list.to_owned());
                        *f.list_queries.entry(key).or_default() += 1;
                    }
                    None => first(&mut f.access_list, row),
                }
            }
            Facts::Refusal(row) => {
                f.refused_reviews += 1;
                first(&mut f.refused_list, row);
            }
            Facts::Release(row) => {
                if row[2] == "pending" {
                    f.two_person_open += 1;
                } else {
                    f.two_person_releases += 1;
                }
                first(&mut f.release_list, row);
            }
            Facts::Custody(row) => {
                if row[1] == super::custody::REPLACED {
                    f.replaced += 1;
                } else {
                    f.deleted_outside_retention += 1;
                }
                first(&mut f.custody_list, row);
            }
        }
    }

    /// The first counted review of session `w` (of it or of one of its recordings) among the
    /// reviews counted so far (a pack counts every review before the sessions).
    pub fn first_review(&self, w: &DayRow) -> Option<OffsetDateTime> {
        std::iter::once(&w.tunnel_id)
            .chain(&w.recording_ids)
            .filter_map(|s| self.reviewed.get(s))
            .min()
            .copied()
    }

    fn session(&mut self, w: &DayRow) {
        let start = &w.start;
        let day = crate::dates::format_date(start.date());
        let first_review = self.first_review(w);
        if let Some(at) = first_review {
            let hours = u32::try_from(((at - *start).whole_hours()).clamp(0, 48)).unwrap_or(48);
            *self
                .figures
                .review_latency
                .entry(hours / 4 * 4)
                .or_default() += 1;
        }
        let deadline = self.deadline;
        let independent = std::iter::once(&w.tunnel_id)
            .chain(&w.recording_ids)
            .any(|s| self.independent.contains(s));
        for f in self.both(&w.host) {
            f.tally.add(w, first_review, deadline);
            f.reviewed_independently += u64::from(independent);
            *f.per_day.entry(day.clone()).or_default() += 1;
        }
    }

    /// Counts one overdue queued session of `host` (`reviews::queue::read::overdue_in`).
    pub fn overdue(&mut self, host: &str) {
        for f in self.both(host) {
            f.overdue += 1;
        }
    }

    fn recording(&mut self, r: &Recording, integrity: &str, verification: &str) {
        // `retainUntil` is a fixed-width `YYYY-MM-DD`: text order is date order.
        let due = !r.retain_until.is_empty() && r.retain_until < self.due_before;
        let class = &r.retention_class;
        for f in self.both(r.bastion()) {
            f.recordings += 1;
            *f.by_class.entry(class.clone()).or_default() += 1;
            if due {
                *f.due_by_class.entry(class.clone()).or_default() += 1;
            }
            *f.integrity.entry(integrity.to_owned()).or_default() += 1;
            *f.verified.entry(verification.to_owned()).or_default() += 1;
            f.held += u64::from(r.hold.held);
            *f.by_status.entry(r.status.clone()).or_default() += 1;
        }
    }

    /// The total and the host's figures.
    fn both(&mut self, host: &str) -> [&mut HostFigures; 2] {
        let f = &mut self.figures;
        [&mut f.total, f.hosts.entry(host.to_owned()).or_default()]
    }

    /// The figures, once every row was counted.
    pub fn finish(mut self) -> Figures {
        let f = &mut self.figures;
        for h in std::iter::once(&mut f.total).chain(f.hosts.values_mut()) {
            h.coverage_percent = h.tally.coverage_percent();
        }
        self.figures
    }
}
