//! The custody trail of a catalogue row: every deletion made outside the product, kept whatever
//! came after it (a re-upload under the same name, a later sweep, another deletion). Stored as
//! `OutsideDeletions` (a JSON array, oldest first) and `OutsideDeletedAt` (the newest one's time,
//! which the evidence pack filters on).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::tables::{Entity, get_str};

/// Most deletions a row keeps (the first and the newest): far below the 64 KiB property limit.
pub const MAX_KEPT: usize = 100;

/// One deletion outside the product.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutsideDeletion {
    /// When (the event's time; for a blob found gone before any deletion event, when it was
    /// found gone).
    pub at: String,
    /// The storage request that deleted it, as the event reported it (empty when no event did).
    #[serde(default)]
    pub request_id: String,
    /// The deletion event's sequencer (empty when no event reported it yet).
    #[serde(default)]
    pub sequencer: String,
    /// The blob was gone before the catalogue had read it.
    #[serde(default)]
    pub before_catalogued: bool,
}

impl OutsideDeletion {
    /// True for a blob found gone whose deletion event has not been seen yet.
    pub fn unreported(&self) -> bool {
        self.request_id.is_empty() && self.sequencer.is_empty()
    }
}

/// `trail` with `d` recorded: completes a found-gone entry no event reported yet (the deletion
/// event then tells its time and request), else appends; at most [`MAX_KEPT`] kept.
pub fn record(trail: &[OutsideDeletion], d: OutsideDeletion) -> Vec<OutsideDeletion> {
    let mut out = trail.to_vec();
    match out.last_mut() {
        Some(last) if last.unreported() && last.before_catalogued => {
            *last = OutsideDeletion {
                before_catalogued: true,
                ..d
            };
        }
        _ => out.push(d),
    }
    if out.len() > MAX_KEPT {
        out.drain(1..=out.len() - MAX_KEPT);
    }
    out
}

/// Writes `trail` into `e` (nothing when empty).
pub fn to_entity(trail: &[OutsideDeletion], e: &mut Entity) {
    let Some(newest) = trail.last() else {
        return;
    };
    let text = serde_json::to_string(trail).unwrap_or_default();
    e.insert("OutsideDeletions".into(), Value::String(text));
    e.insert("OutsideDeletedAt".into(), Value::String(newest.at.clone()));
}

/// Reads the trail of `e` (empty when absent or unreadable).
pub fn from_entity(e: &Entity) -> Vec<OutsideDeletion> {
    get_str(e, "OutsideDeletions")
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(at: &str, req: &str) -> OutsideDeletion {
        OutsideDeletion {
            at: at.into(),
            request_id: req.into(),
            sequencer: req.into(),
            before_catalogued: false,
        }
    }

    #[test]
    fn deletions_accumulate_and_a_found_gone_entry_is_completed() {
        let gone = OutsideDeletion {
            at: "2025-03-14T10:00:00Z".into(),
            before_catalogued: true,
            ..OutsideDeletion::default()
        };
        let t = record(&[], gone);
        let t = record(&t, d("2025-03-14T09:59:00Z", "r1"));
        assert_eq!(t.len(), 1, "the event completes the found-gone entry");
        assert!(t[0].before_catalogued && t[0].request_id == "r1");
        let t = record(&t, d("2025-03-15T00:00:00Z", "r2"));
        assert_eq!(t.len(), 2, "a later deletion is another entry");
        let mut e = Entity::new();
        to_entity(&t, &mut e);
        assert_eq!(e["OutsideDeletedAt"], "2025-03-15T00:00:00Z");
        assert_eq!(from_entity(&e), t);
        let mut many = t.clone();
        for i in 0..2 * MAX_KEPT {
            many = record(
                &many,
                d(&format!("2025-04-01T00:00:{i:03}Z"), &i.to_string()),
            );
        }
        assert_eq!(many.len(), MAX_KEPT);
        assert_eq!(many[0], t[0], "the first deletion is kept");
        assert_eq!(
            many[MAX_KEPT - 1].request_id,
            (2 * MAX_KEPT - 1).to_string()
        );
        assert!(from_entity(&Entity::new()).is_empty());
    }
}
