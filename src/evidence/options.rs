//! What a pack covers and how it judges: the period, the host, and the settings its report applies.

use time::{Duration, OffsetDateTime};

use crate::audit_logs::AuditSettings;
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
    /// Failed logins per window that make a burst (`FAILED_LOGIN_THRESHOLD`; the report states it).
    pub burst_threshold: u32,
    /// The burst window (`FAILED_LOGIN_WINDOW_MINUTES`: the detections' digests are rebuilt with it).
    pub burst_window: Duration,
    /// When the pack is generated.
    pub now: OffsetDateTime,
    /// The custody workspace (and client) whose `StorageBlobLogs` requests join `accessaudit.csv`.
    pub custody: Option<PackCustody>,
}

/// The custody workspace of a pack and its Logs Query client (compared by workspace).
#[derive(Clone)]
pub struct PackCustody {
    /// The workspace (customer id).
    pub workspace: String,
    /// Its client.
    pub logs: crate::loganalytics::SharedLogs,
}

impl std::fmt::Debug for PackCustody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackCustody")
            .field("workspace", &self.workspace)
            .finish_non_exhaustive()
    }
}

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
            burst_threshold: u32::try_from(audit.failed_login_threshold).unwrap_or(u32::MAX),
            burst_window: audit.failed_login_window,
            now,
            custody: None,
        }
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
