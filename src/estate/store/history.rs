//! A finding's earlier episodes, kept on its row (`Earlier`, JSON text, oldest first) when a new
//! episode opens over a resolved one, so whoever lists the episodes of a span (the evidence pack,
//! the review queue) sees every one, not only the latest. Bounded by what one table property
//! holds: the oldest go first.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::tables::{Entity, get_record, get_str};
use crate::telemetry::text::char_floor;

/// The row property.
pub const EARLIER: &str = "Earlier";
/// Most characters its text takes (a table string property holds 32 Ki UTF-16 units; a UTF-8
/// byte count is never below them).
pub const MAX_CHARS: usize = 30_000;
/// Most characters one episode's evidence keeps here.
const MAX_EVIDENCE: usize = 2_000;

/// One closed episode (read from its text, or from the finding's row by the row's names).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Earlier {
    /// When it opened.
    #[serde(alias = "OpenedAt")]
    pub opened_at: String,
    /// When it cleared.
    #[serde(alias = "ResolvedAt")]
    pub resolved_at: String,
    /// Its severity when it cleared.
    #[serde(alias = "Severity")]
    pub severity: String,
    /// What was last seen (the actor where a log named one).
    #[serde(alias = "Evidence")]
    pub evidence: String,
}

/// The earlier episodes a row holds (none when it holds none, or text this code did not write).
pub fn of(e: &Entity) -> Vec<Earlier> {
    get_str(e, EARLIER)
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default()
}

/// The `Earlier` text of a new episode opening over the resolved row `cur`: its earlier
/// episodes and itself; `None` when `cur` is no resolved episode.
pub fn with_closed(cur: &Entity) -> Option<Value> {
    get_str(cur, "ResolvedAt")?;
    with_earlier(cur, get_record(cur))
}

/// The `Earlier` text of row `cur` with the closed episode `e` among its earlier ones, in the
/// order they opened (its evidence cut to 2,000 characters; past [`MAX_CHARS`] the oldest go).
pub fn with_earlier(cur: &Entity, mut e: Earlier) -> Option<Value> {
    if e.evidence.len() > MAX_EVIDENCE {
        e.evidence.truncate(char_floor(&e.evidence, MAX_EVIDENCE));
        e.evidence.push('…');
    }
    let mut list = of(cur);
    let at = list.partition_point(|x| x.opened_at <= e.opened_at);
    list.insert(at, e);
    loop {
        let text = serde_json::to_string(&list).ok()?;
        if text.len() <= MAX_CHARS || list.len() <= 1 {
            return Some(Value::String(text));
        }
        list.remove(0);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn resolved(opened: &str, evidence: &str, earlier: Option<&Value>) -> Entity {
        let mut e = json!({"OpenedAt": opened, "ResolvedAt": "2026-03-02T00:00:00.000Z",
            "Severity": "high", "Evidence": evidence, "Status": "resolved"});
        if let Some(t) = earlier {
            e[EARLIER] = t.clone();
        }
        e.as_object().cloned().expect("object")
    }

    #[test]
    fn each_closed_episode_is_kept_oldest_first_and_the_oldest_go_when_full() {
        let first =
            with_closed(&resolved("2026-03-01T00:00:00.000Z", "by a@x", None)).expect("resolved");
        let second = with_closed(&resolved(
            "2026-03-05T00:00:00.000Z",
            "by b@x",
            Some(&first),
        ))
        .expect("resolved");
        let mut row = Entity::new();
        row.insert(EARLIER.into(), second);
        let kept = of(&row);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].evidence, "by a@x");
        assert_eq!(kept[1].opened_at, "2026-03-05T00:00:00.000Z");

        // Many long episodes: the text stays within a property, the newest kept.
        let mut text: Option<Value> = None;
        for i in 0..100 {
            let e = resolved(
                &format!("2026-03-{:02}", i % 28 + 1),
                &"x".repeat(5_000),
                text.as_ref(),
            );
            text = with_closed(&e);
        }
        let t = text.expect("text");
        assert!(t.as_str().expect("text").len() <= MAX_CHARS);
        let mut row = Entity::new();
        row.insert(EARLIER.into(), t);
        let kept = of(&row);
        assert!(kept.len() > 5 && kept.len() < 100, "{}", kept.len());
        assert!(
            kept.iter()
                .all(|k| k.evidence.chars().count() <= MAX_EVIDENCE + 1)
        );

        // An open row is no closed episode.
        let mut open = resolved("2026-03-01T00:00:00.000Z", "e", None);
        open.remove("ResolvedAt");
        assert_eq!(with_closed(&open), None);
    }
}
