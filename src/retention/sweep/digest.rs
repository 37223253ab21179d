//! The one `retention.deleted` per run: counts and the deletions no digest listed yet
//! ([`announce`]), its id from the day and the blobs listed (a repeat keeps it).

use serde_json::json;

use super::announce::{self, Unannounced};
use super::report::{DIGEST_ITEMS, Item, Report};
use crate::dates::format_utc;
use crate::spine::kinds::RETENTION_DELETED;
use crate::spine::{Finding, Severity};
use crate::tables::TableStore;

/// A run's digest and the unannounced deletions it covers.
#[derive(Debug)]
pub struct Digest {
    /// The finding to notify.
    pub finding: Finding,
    announced: Vec<Unannounced>,
}

impl Digest {
    /// Forgets the deletions this digest lists; call once it is in the invocation's outputs.
    pub async fn forget_listed(&self, tables: &dyn TableStore) {
        announce::forget(tables, &self.announced).await;
    }
}

/// The digest of `report` and every unannounced deletion (unreadable: this run's own), or `None`.
pub async fn prepare(
    tables: &dyn TableStore,
    report: &Report,
    now: time::OffsetDateTime,
) -> Option<Digest> {
    let own = |total| finding(report, &report.items, total, now);
    let (n, announced) = if report.dry_run {
        (own(report.would_delete), Vec::new())
    } else {
        match announce::unannounced(tables).await {
            Ok(rows) => {
                let items: Vec<Item> = rows.iter().map(|r| r.item.clone()).collect();
                (finding(report, &items, items.len(), now), rows)
            }
            Err(e) => {
                tracing::warn!(error = %crate::telemetry::redact(&e.to_string()), "unannounced deletions unreadable; the digest lists this run's only");
                let total = report.deleted + report.already_gone + report.recovered;
                (own(total), Vec::new())
            }
        }
    };
    n.map(|finding| Digest { finding, announced })
}

/// The digest of `total` deletions itemising the first [`DIGEST_ITEMS`]; `None` when 0.
pub fn finding(
    report: &Report,
    deleted: &[Item],
    total: usize,
    now: time::OffsetDateTime,
) -> Option<Finding> {
    if total == 0 {
        return None;
    }
    let (dry, deleted_words, listed) = if report.dry_run {
        (" (dry run)", "would be deleted", "/dry-run".to_owned())
    } else {
        let blobs = deleted.iter().map(|i| ["\n", &i.blob].concat());
        ("", "deleted", blobs.collect())
    };
    let fact = format!("sweep/{}{listed}", report.today);
    let items: Vec<&Item> = deleted.iter().take(DIGEST_ITEMS).collect();
    let data = json!({
        "dryRun": report.dry_run,
        "today": report.today,
        "invocationId": report.invocation_id,
        "counts": {
            "candidates": report.candidates, "deleted": report.deleted, "wouldDelete": report.would_delete,
            "held": report.held, "notDue": report.not_expired, "lengthened": report.lengthened,
            "changed": report.changed, "alreadyGone": report.already_gone, "uncatalogued": report.uncatalogued,
            "recovered": report.recovered, "failed": report.failed,
        },
        "boundReached": report.bound_reached,
        "items": items,
        "moreItems": total.saturating_sub(items.len()),
    });
    let f = Finding::new(
        &RETENTION_DELETED,
        fact,
        format_utc(now),
        Severity::Info,
        data,
    );
    Some(
        f.word("today", &report.today)
            .word("dry", dry)
            .word("total", total.to_string())
            .word("deleted", deleted_words),
    )
}
