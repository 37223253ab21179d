//! What a sweep run reports: each candidate's [`Decision`] and the run's [`Report`].

use serde::Serialize;

use crate::spine::Finding;

/// Items listed in the digest.
pub const DIGEST_ITEMS: usize = 50;

/// A deleted (or, in a dry run, deletable) blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    /// `container/blob`.
    pub blob: String,
    /// Class at deletion.
    pub class: String,
    /// Retain-until at deletion.
    pub retain_until: String,
}

/// How one candidate ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decision {
    /// Tags disagreeing with the row: not deleted, restored; the alert (none in a dry run).
    Retagged(Option<Box<Finding>>),
    /// Deleted, with tombstone.
    Deleted(Item),
    /// Dry run: would have been deleted.
    WouldDelete(Item),
    /// Held (by tags or by the catalogue row).
    Held,
    /// Tags say not yet expired (the index was stale).
    NotExpired,
    /// The current policy, the row or the tags keep it longer; tags and row were lengthened.
    Lengthened,
    /// Changed since it was read (412): left for the next run.
    Changed,
    /// Gone already (404).
    AlreadyGone,
    /// No catalogue row (or no creation time): left to reconciliation, never deleted blind.
    Uncatalogued,
}

/// The outcome of one run: counts, and the first [`DIGEST_ITEMS`] items.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The day compared against (`YYYY-MM-DD`).
    pub today: String,
    /// Dry run.
    pub dry_run: bool,
    /// Invocation id.
    pub invocation_id: String,
    /// Blobs returned by the range queries and examined.
    pub candidates: usize,
    /// Deleted.
    pub deleted: usize,
    /// Would be deleted (dry run).
    pub would_delete: usize,
    /// Kept: held.
    pub held: usize,
    /// Kept: not due by the current tags.
    pub not_expired: usize,
    /// Kept: retention lengthened.
    pub lengthened: usize,
    /// Kept: changed since listed (412).
    pub changed: usize,
    /// Already gone (404).
    pub already_gone: usize,
    /// Kept: not catalogued.
    pub uncatalogued: usize,
    /// Refused: tags disagreeing with the catalogue row (restored unless a dry run).
    pub retagged: usize,
    /// One `recording.retagged` per blob restored, for the outputs.
    #[serde(skip)]
    pub alerts: Vec<Finding>,
    /// Crashed deletions finished from their intents.
    pub recovered: usize,
    /// Candidates that failed transiently.
    pub failed: usize,
    /// Not-yet-due blobs examined by the policy re-evaluation.
    pub reevaluated: usize,
    /// Re-evaluated blobs whose retain-until was lengthened.
    pub retagged_longer: usize,
    /// Re-evaluated blobs whose retain-until was shortened (`RETENTION_ALLOW_SHORTENING`).
    pub retagged_shorter: usize,
    /// The re-evaluation's bound stopped it; the next run continues.
    #[serde(rename = "reevaluationPending")]
    pub reevaluation_cut: bool,
    /// The bound stopped the run with candidates left.
    pub bound_reached: bool,
    /// First items deleted (or deletable).
    pub items: Vec<Item>,
    /// Sources (`account/container`) whose pass failed; retried by the next run.
    pub failed_sources: Vec<String>,
}

impl Report {
    pub(super) fn record(&mut self, d: Decision) {
        let item = match d {
            Decision::Deleted(i) => {
                self.deleted += 1;
                i
            }
            Decision::WouldDelete(i) => {
                tracing::info!(blob = %i.blob, class = %i.class, retain_until = %i.retain_until, "dry run: would delete");
                self.would_delete += 1;
                i
            }
            Decision::Retagged(alert) => {
                self.retagged += 1;
                return self.alerts.extend(alert.map(|a| *a));
            }
            Decision::Held => return self.held += 1,
            Decision::NotExpired => return self.not_expired += 1,
            Decision::Lengthened => return self.lengthened += 1,
            Decision::Changed => return self.changed += 1,
            Decision::AlreadyGone => return self.already_gone += 1,
            Decision::Uncatalogued => return self.uncatalogued += 1,
        };
        if self.items.len() < DIGEST_ITEMS {
            self.items.push(item);
        }
    }

    /// Counts and logs a failed blob; the first failure is kept in `first` for the run's end.
    pub(super) fn fail<E: std::fmt::Display>(
        &mut self,
        blob: &crate::storage::BlobRef,
        e: E,
        what: &str,
        first: &mut Option<E>,
    ) {
        self.failed += 1;
        tracing::warn!(blob = %blob, error.cause_chain = %crate::telemetry::redact(&format!("{e:#}")), "{what}");
        first.get_or_insert(e);
    }

    /// Deletions counted against the bound.
    pub fn used(&self) -> usize {
        self.deleted + self.would_delete + self.already_gone
    }

    /// One line for the invocation log.
    pub fn summary(&self) -> String {
        format!(
            "retention sweep {}{}: {} candidates, {} deleted, {} would delete, {} held, {} lengthened, {} changed, {} already gone, {} uncatalogued, {} refused with tags disagreeing with the catalogue, {} recovered; re-evaluation: {} examined, {} lengthened, {} shortened{}{}{}",
            self.today,
            if self.dry_run { " (dry run)" } else { "" },
            self.candidates,
            self.deleted,
            self.would_delete,
            self.held,
            self.lengthened,
            self.changed,
            self.already_gone,
            self.uncatalogued,
            self.retagged,
            self.recovered,
            self.reevaluated,
            self.retagged_longer,
            self.retagged_shorter,
            if self.reevaluation_cut {
                " (continues next run)"
            } else {
                ""
            },
            if self.bound_reached {
                "; bound reached, next run continues"
            } else {
                ""
            },
            if self.failed_sources.is_empty() {
                String::new()
            } else {
                format!("; failed: {}", self.failed_sources.join(", "))
            },
        )
    }
}
