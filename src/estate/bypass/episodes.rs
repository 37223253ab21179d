//! The doors' latest episodes as table `estate` holds them (one row per VM and door, `door:*`
//! above `info`), for whoever asks whether a VM had another way in open over a span: the review
//! queue and the evidence pack.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::azure::AzureError;
use crate::dates::timestamp;
use crate::estate::findings::Level;
use crate::estate::store;
use crate::tables::TableStore;

/// One door's latest episode on one VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Episode {
    /// The finding code (`door:<name>`).
    pub door: String,
    /// When it opened.
    pub opened: OffsetDateTime,
    /// When it cleared (`None`: open).
    pub closed: Option<OffsetDateTime>,
    /// What was seen (the actor where a log names one).
    pub evidence: String,
}

impl Episode {
    /// True when it was open at some instant of `[from, until]`.
    pub fn overlaps(&self, from: OffsetDateTime, until: OffsetDateTime) -> bool {
        self.opened <= until && self.closed.is_none_or(|c| c >= from)
    }
}

/// The door episodes of each VM (lower-case resource id).
///
/// # Errors
/// Table errors.
pub async fn episodes(
    tables: &dyn TableStore,
) -> Result<BTreeMap<String, Vec<Episode>>, AzureError> {
    let mut out: BTreeMap<String, Vec<Episode>> = BTreeMap::new();
    for r in store::list(tables).await?.rows {
        if !r.finding.starts_with("door:") || r.severity == Level::Info.as_str() {
            continue;
        }
        let Some(opened) = timestamp(&r.first_seen) else {
            continue;
        };
        let closed = match (r.status.as_str(), r.resolved_at.as_deref()) {
            ("open", _) => None,
            (_, Some(at)) => timestamp(at),
            _ => continue,
        };
        out.entry(r.host.to_ascii_lowercase())
            .or_default()
            .push(Episode {
                door: r.finding,
                opened,
                closed,
                evidence: r.evidence,
            });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn an_episode_overlaps_a_span_it_was_open_in() {
        let e = Episode {
            door: "door:public-ip".into(),
            opened: datetime!(2026-11-25 10:00 UTC),
            closed: Some(datetime!(2026-11-25 12:00 UTC)),
            evidence: String::new(),
        };
        let at = |h: u8| datetime!(2026-11-25 00:00 UTC) + time::Duration::hours(h.into());
        assert!(e.overlaps(at(9), at(10)));
        assert!(e.overlaps(at(11), at(11)));
        assert!(e.overlaps(at(12), at(13)));
        assert!(!e.overlaps(at(8), at(9)));
        assert!(!e.overlaps(at(13), at(14)));
        let open = Episode { closed: None, ..e };
        assert!(open.overlaps(at(20), at(21)));
    }
}
