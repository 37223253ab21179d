//! The join's catalogue properties: what a joined row gains, and the recording's own hints.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::audit_logs::correlate::Match;
use crate::audit_logs::sessions::SessionRecord;
use crate::catalogue::model::CatalogueEntry;
use crate::dates::format_utc_millis;
use crate::tables::{Entity, int64};

/// Properties a join adds to a catalogue row (kept across rewrites by `CatalogueRepo::write`).
pub const JOIN_PROPERTIES: &[&str] = &[
    "TunnelId",
    "BastionHost",
    "UserName",
    "UserEmail",
    "ClientIp",
    "Protocol",
    "TargetResourceId",
    "TargetVm",
    "SessionStart",
    "SessionEnd",
    "DurationMs",
    "MatchConfidence",
    "MatchCandidates",
];

/// Most candidates stored in `MatchCandidates`: a busy hour of sessions without hints can make a
/// recording ambiguous among hundreds, and the full list would outgrow the table service's 64 KiB
/// property limit (about 880 tunnel ids), a write refused on every attempt.
pub const MAX_CANDIDATES: usize = 500;

/// The sessions a match names as stored (the first [`MAX_CANDIDATES`], sorted).
pub(super) fn named(m: Option<&Match>) -> &[String] {
    m.map_or(&[], |m| &m.tunnels[..m.tunnels.len().min(MAX_CANDIDATES)])
}

/// The stored `MatchCandidates` text of a match.
pub(super) fn candidates_text(m: &Match) -> String {
    named(Some(m)).join(",")
}

/// The sessions a stored row's match names (`MatchCandidates`).
pub(super) fn stored_named(raw: &Entity) -> Vec<String> {
    crate::tables::get_str(raw, "MatchCandidates")
        .unwrap_or_default()
        .split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// True when two entities hold the same properties (annotations aside).
pub(super) fn unchanged(a: &Entity, b: &Entity) -> bool {
    let (mut a, mut b) = (a.clone(), b.clone());
    crate::tables::strip_annotations(&mut a);
    crate::tables::strip_annotations(&mut b);
    a == b
}

/// Lower-case blob name plus metadata values: whatever the recording says about itself.
pub fn hints(entry: &CatalogueEntry) -> String {
    let meta: BTreeMap<String, String> = serde_json::from_str(&entry.metadata).unwrap_or_default();
    let mut text = entry.blob_name.to_ascii_lowercase();
    for v in meta.values() {
        text.push('\n');
        text.push_str(&v.to_ascii_lowercase());
    }
    text
}

/// The Bastion host the recording's source is tied to, if any (its sessions are the only
/// heuristic candidates).
pub fn source_bastion(entry: &CatalogueEntry) -> Option<String> {
    Some(entry.source_bastion.to_ascii_lowercase()).filter(|b| !b.is_empty())
}

/// Overlays the join properties of `m` (and its session) onto a catalogue entity; `None` removes
/// them (no session fits the recording any more).
pub fn apply_join(e: &mut Entity, m: Option<&Match>, session: Option<&SessionRecord>) {
    for k in JOIN_PROPERTIES {
        e.remove(*k);
        e.remove(&format!("{k}@odata.type"));
    }
    let Some(m) = m else { return };
    let mut set = |k: &str, v: &str| {
        e.insert(k.to_owned(), Value::String(v.to_owned()));
    };
    set("MatchConfidence", m.confidence.as_str());
    set("MatchCandidates", &candidates_text(m));
    if let Some(s) = session {
        let t = |v: Option<time::OffsetDateTime>| v.map(format_utc_millis).unwrap_or_default();
        for (k, v) in [
            ("TunnelId", s.tunnel_id.as_str()),
            ("BastionHost", &s.bastion_host),
            ("UserName", &s.user_name),
            ("UserEmail", &s.user_email),
            ("ClientIp", &s.client_ip),
            ("Protocol", &s.protocol),
            ("TargetResourceId", &s.target_resource_id),
            ("TargetVm", &s.target_vm),
            ("SessionStart", &t(s.session_start)),
            ("SessionEnd", &t(s.session_end)),
        ] {
            set(k, v);
        }
        if let Some(d) = s.effective_duration_ms() {
            int64(e, "DurationMs", d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit_logs::correlate::Confidence;

    #[test]
    fn stored_candidates_stay_under_the_property_limit() {
        let tunnels: Vec<String> = (0..2000)
            .map(|i| format!("{i:08}-0000-4000-8000-000000000000"))
            .collect();
        let m = Match {
            confidence: Confidence::Ambiguous,
            tunnels,
        };
        let mut e = Entity::new();
        apply_join(&mut e, Some(&m), None);
        let text = crate::tables::get_str(&e, "MatchCandidates").expect("candidates");
        assert_eq!(text.split(',').count(), MAX_CANDIDATES);
        assert!(
            text.len() * 2 < 64 * 1024,
            "{} bytes as UTF-16",
            text.len() * 2
        );
        assert!(text.starts_with(&m.tunnels[0]), "the first ones, in order");
    }
}
