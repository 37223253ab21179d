//! Table `estate`'s layout: its name, a host's marker row and its property, the most rows one
//! listing reads, and the row of a new episode (a resolved one before it kept among the earlier).

use serde_json::json;

use super::history;
use crate::estate::findings::{Finding, Level};
use crate::tables::{Entity, Stored};

/// The findings table.
pub const ESTATE_TABLE: &str = "estate";
/// Row key of a host's marker row (when it was last checked); `~` sorts after every finding code.
pub const CHECKED: &str = "~checked";
/// The marker's property of the codes its check decided (comma-separated).
pub const ASSESSED: &str = "Assessed";
/// Most rows one listing reads.
pub const MAX_ROWS: usize = 5000;

/// The row of a new episode of `f` opened at `opened` and last seen `at` (announced by `me` at
/// `medium` and above), over row `cur`: a resolved episode there kept among the earlier.
pub(super) fn episode(
    cur: Option<&Stored>,
    host: &str,
    f: &Finding,
    opened: &str,
    at: &str,
    me: &str,
) -> Entity {
    let loud = f.level >= Level::Medium;
    let mut entity = crate::tables::entity(json!({
        "Host": host, "HostName": crate::arm::resource_name(host), "Severity": f.level.as_str(),
        "Status": "open", "OpenedAt": opened, "OpenedBy": me, "LastSeen": at,
        "Evidence": f.evidence, "Announced": loud,
    }));
    if loud {
        entity.insert("AnnouncedBy".into(), me.into());
    }
    if let Some(earlier) = cur.and_then(|c| history::with_closed(&c.entity)) {
        entity.insert(history::EARLIER.into(), earlier);
    }
    entity
}
