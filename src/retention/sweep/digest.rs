//! The one `retention.deleted` notification per run: counts plus the first items, never one per blob.

use serde_json::json;

use super::Report;
use crate::dates::format_utc;
use crate::notify::{Notification, Severity};

/// Notification type of the digest.
pub const KIND: &str = "retention.deleted";

/// The digest of a run, or `None` when nothing was (or would have been) deleted.
///
/// Its stable id is derived from the sweep day (and the dry-run flag): a retried or repeated run on
/// the same day produces the same id, so consumers deduplicate it.
pub fn notification(report: &Report, now: time::OffsetDateTime) -> Option<Notification> {
    let total = report.deleted + report.would_delete + report.already_gone + report.recovered;
    if total == 0 {
        return None;
    }
    let fact = format!(
        "sweep/{}{}",
        report.today,
        if report.dry_run { "/dry-run" } else { "" }
    );
    let title = if report.dry_run {
        format!(
            "Retention sweep {} (dry run): {} blobs would be deleted",
            report.today, report.would_delete
        )
    } else {
        format!(
            "Retention sweep {}: {} blobs deleted",
            report.today,
            report.deleted + report.already_gone + report.recovered
        )
    };
    let listed = report.items.len();
    let data = json!({
        "dryRun": report.dry_run,
        "today": report.today,
        "invocationId": report.invocation_id,
        "counts": {
            "candidates": report.candidates, "deleted": report.deleted, "wouldDelete": report.would_delete,
            "held": report.held, "notDue": report.not_due, "lengthened": report.lengthened,
            "changed": report.changed, "alreadyGone": report.already_gone, "uncatalogued": report.uncatalogued,
            "recovered": report.recovered, "failed": report.failed,
        },
        "boundReached": report.bound_reached,
        "items": report.items,
        "moreItems": (report.deleted + report.would_delete).saturating_sub(listed),
    });
    Some(Notification::new(
        KIND,
        &fact,
        format_utc(now),
        Severity::Info,
        title,
        data,
    ))
}
