//! What a pack covers and how it judges: the period, the host, and the settings its report applies.

use time::{Duration, OffsetDateTime};

use crate::audit_logs::AuditSettings;
use crate::pack::paper::Paper;
use crate::reviews::ReviewSettings;

/// What a pack covers and how it judges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackOptions {
    /// Inclusive start.
    pub from: OffsetDateTime,
    /// Exclusive end.
    pub to: OffsetDateTime,
    /// One Bastion host only.
    pub bastion: Option<String>,
    /// A session's review is due this long after its end (`REVIEW_DEADLINE_HOURS`,
    /// `catalogue::figures::due_at`).
    pub review_deadline: Duration,
    /// The burst window (`FAILED_LOGIN_WINDOW_MINUTES`: the detections' digests are rebuilt with it).
    pub burst_bucket: Duration,
    /// When the pack is generated.
    pub now: OffsetDateTime,
    /// The custody workspace (and client) whose `StorageBlobLogs` requests join `accessaudit.csv`.
    pub custody: Option<PackCustody>,
    /// The printed report's paper (`EVIDENCE_PAPER`).
    pub paper: Paper,
}

/// The custody workspace of a pack and its Logs Query client (compared by workspace).
#[derive(Clone)]
pub struct PackCustody {
    /// The workspace (customer id).
    pub workspace: String,
    /// Its client.
    pub logs: crate::loganalytics::SharedLogs,
}

crate::telemetry::debug_fields!(PackCustody { workspace });

impl PartialEq for PackCustody {
    fn eq(&self, other: &Self) -> bool {
        self.workspace == other.workspace
    }
}

impl Eq for PackCustody {}

impl PackOptions {
    /// The pack of `[from, to)` (of `bastion` alone, when given) made at `now` under the settings.
    pub fn new(
        (from, to): (OffsetDateTime, OffsetDateTime),
        bastion: Option<String>,
        now: OffsetDateTime,
        reviews: &ReviewSettings,
        audit: &AuditSettings,
    ) -> Self {
        Self {
            from,
            to,
            bastion,
            review_deadline: reviews.deadline,
            burst_bucket: audit.failed_login_bucket,
            now,
            custody: None,
            paper: Paper::default(),
        }
    }

    /// The same pack printed on `paper`.
    #[must_use]
    pub fn with_paper(mut self, paper: Paper) -> Self {
        self.paper = paper;
        self
    }

    /// True when the period has not ended when the pack is made (its figures can still change).
    pub fn period_open(&self) -> bool {
        self.now < self.to
    }

    /// The same pack with the custody workspace's requests in its access file, when both are there.
    #[must_use]
    pub fn with_custody(
        mut self,
        workspace: Option<&str>,
        logs: Option<&crate::loganalytics::SharedLogs>,
    ) -> Self {
        self.custody = workspace.zip(logs).map(|(w, l)| PackCustody {
            workspace: w.to_owned(),
            logs: l.clone(),
        });
        self
    }
}
