//! The row of table `recordings`: one typed value, [`Recording`], read and written whole.
//!
//! Every property a row can hold is a field here: the blob as catalogued, its retention (with the
//! legal-hold and shortening marks), its join with a session, its digest and its deletion. Modules
//! that change a recording change this value and write it through
//! [`CatalogueRepo::update`](super::repo::CatalogueRepo::update); nothing else writes the table, so no property is set in one place
//! and forgotten in another. The key scheme is in [`super::key`].

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::doubt::Doubt;
use crate::dates::{format_utc, format_utc_millis, parse_date, timestamp};
use crate::export::rows::RecordingRow;
use crate::tables::{Entity, get_i64, get_list, get_str, int64, put_record};

pub use super::key::RecordingKey;
pub use super::writer::Actor;

/// Table of recordings.
pub const RECORDINGS_TABLE: &str = "recordings";

/// The class name of a legal hold.
pub const LEGAL_HOLD: &str = "legal-hold";

/// `Status` of a catalogued recording.
pub const STATUS_CATALOGUED: &str = "catalogued";
/// `Status` of a recording the retention sweep deleted (the row stays, with its tombstone).
pub const STATUS_DELETED: &str = "deleted";
/// `Status` of a recording deleted by anyone but the sweep (the row stays, with the deletion).
pub const STATUS_DELETED_OUTSIDE: &str = "deleted-outside-retention";
/// `Status` of a blob deleted (by anyone but the sweep) before the catalogue read it: the row
/// holds what the events told (name, time, request), never its content, and vouches for no session.
pub const STATUS_DELETED_BEFORE: &str = "deleted-before-catalogued";

/// Most tunnel ids stored as a match's candidates: a busy hour of sessions without hints can make a
/// recording ambiguous among hundreds, and the full list would outgrow the table service's 64 KiB
/// property limit (about 880 tunnel ids), a write refused on every attempt.
pub const MAX_CANDIDATES: usize = 500;

/// How sure a join is (`MatchConfidence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confidence {
    /// The recording names the session's tunnel id.
    Exact,
    /// Matched by time alone (no GUID names a session): the single best session whose window
    /// holds its creation time (the one its name and metadata mention, nearest start).
    Probable,
    /// Matched by time alone, and several sessions fit equally well (a tie): the tied ones are
    /// kept as candidates and it vouches for none of them.
    Ambiguous,
    /// The recording names a GUID that is no session yet and waits for it: names no session.
    Awaiting,
    /// The blob names or fits the sessions kept as candidates but cannot be their recording (the
    /// reason): it vouches for none of them.
    Suspect(Doubt),
}

impl Confidence {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Probable => "probable",
            Self::Ambiguous => "ambiguous",
            Self::Awaiting => "awaiting",
            Self::Suspect(_) => "suspect",
        }
    }

    /// The reason of a suspect match, as stored (`MatchReason`).
    pub fn reason(self) -> Option<&'static str> {
        match self {
            Self::Suspect(d) => Some(d.as_str()),
            _ => None,
        }
    }

    /// Reads a stored value and its reason (`MatchReason`, read only for `suspect`).
    pub fn read(s: &str, reason: &str) -> Option<Self> {
        if s == "suspect" {
            return Doubt::parse(reason).map(Self::Suspect);
        }
        Self::parse(s)
    }

    /// Reads a stored value that needs no reason (`heuristic`, the name rows written before
    /// `probable` carry, reads as [`Self::Probable`]).
    pub fn parse(s: &str) -> Option<Self> {
        if s == "heuristic" {
            return Some(Self::Probable);
        }
        [Self::Exact, Self::Probable, Self::Ambiguous, Self::Awaiting]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// A recording's match: one tunnel for exact and probable, the sorted candidates for ambiguous
/// and suspect, none while awaiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Confidence.
    pub confidence: Confidence,
    /// Tunnel ids (at most [`MAX_CANDIDATES`] are stored).
    pub tunnels: Vec<String>,
}

impl Match {
    /// The session an exact or probable match names.
    pub fn session(&self) -> Option<&str> {
        match self.confidence {
            Confidence::Exact | Confidence::Probable => self.tunnels.first().map(String::as_str),
            _ => None,
        }
    }

    /// The sessions this match counts as recorded: the one an exact or probable match names;
    /// none for an ambiguous (a tie), awaiting or suspect one. A recording vouches for at most
    /// one session.
    pub fn vouched(&self) -> &[String] {
        match self.confidence {
            Confidence::Exact | Confidence::Probable => &self.tunnels[..self.tunnels.len().min(1)],
            _ => &[],
        }
    }
}

/// The fields of the matched session a joined row shows (and the API, retention rules and the
/// evidence pack read from it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionView {
    /// Tunnel id.
    pub tunnel_id: String,
    /// Bastion host (lower-case).
    pub bastion_host: String,
    /// VM user.
    pub user_name: String,
    /// Portal user.
    pub user_email: String,
    /// Client address.
    pub client_ip: String,
    /// `ssh` / `rdp`.
    pub protocol: String,
    /// Target resource id as logged.
    pub target_resource_id: String,
    /// Target VM name (lower-case).
    pub target_vm: String,
    /// Subscription of the target (lower-case).
    pub subscription: String,
    /// Resource group of the target (lower-case).
    pub resource_group: String,
    /// Session start.
    pub start: Option<OffsetDateTime>,
    /// Session end.
    pub end: Option<OffsetDateTime>,
    /// Duration in ms, when known.
    pub duration_ms: Option<i64>,
}

/// The join of a row: its match and, for an exact or probable one, the session's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// The match.
    pub m: Match,
    /// The matched session's fields (`None` for ambiguous and awaiting matches, or a session whose
    /// row is not there yet).
    pub session: Option<SessionView>,
}

/// Legal-hold marks (`LegalHold`, `HoldIds`, `HeldFromClass`/`HeldFromUntil`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hold {
    /// Under at least one legal hold.
    pub held: bool,
    /// The holds that name it.
    pub ids: Vec<String>,
    /// The class and date it had before its first hold.
    pub from: Option<(String, String)>,
}

/// A retention date the sweep moved earlier (`ShortenedFrom`, `ShortenedAt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortened {
    /// The date before.
    pub from: String,
    /// When.
    pub at: String,
}

/// A deletion (`DeletedAt`, `DeletionReason`, `DeletionInvocationId`, `DeletionRequestId`): the
/// sweep's, or one made outside retention and reported by a `BlobDeleted` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    /// When.
    pub at: String,
    /// Why.
    pub reason: String,
    /// The sweep invocation that deleted it (empty for a deletion outside retention).
    pub invocation_id: String,
    /// The storage request that deleted it, as the event reported it (empty for the sweep's).
    pub request_id: String,
}

/// The digest `RecordingHash` recorded (`Sha256`, `HashedLength`, `HashedEtag`, `HashedAt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hash {
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    /// Bytes hashed.
    pub length: u64,
    /// The blob ETag the digest belongs to.
    pub etag: String,
    /// When.
    pub at: String,
}

/// The state a replacement overwrote (`ReplacedEtag`, `ReplacedLength`, `ReplacedSha256`,
/// `ReplacedAt`): the first one, kept whatever follows, beside the digest of the new content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    /// ETag of the content replaced.
    pub etag: String,
    /// Its size.
    pub length: u64,
    /// Its digest, when it had been hashed (empty otherwise).
    pub sha256: String,
    /// When the replacement was seen (the event time).
    pub at: String,
}

/// Blob index tags found disagreeing with the row and restored from it (`RetaggedFrom`,
/// `RetaggedAt`): the latest such finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retagged {
    /// The product's tags as found, `key=value` pairs joined by `&` in key order (an absent key
    /// is not listed).
    pub from: String,
    /// When they were found.
    pub at: String,
}

/// A recording's catalogue row (the public schema is documented in docs/catalogue.md).
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// Row key.
    pub key: RecordingKey,
    /// Full blob URL as the event reported it.
    pub blob_url: String,
    /// Storage account of the recording source.
    pub account: String,
    /// The Bastion host the source is tied to (`SourceBastion`; empty when the configuration
    /// names none). The joined session's host is in [`Joined::session`].
    pub source_bastion: String,
    /// Container.
    pub container: String,
    /// Blob name.
    pub blob_name: String,
    /// Size in bytes.
    pub content_length: u64,
    /// Content type.
    pub content_type: String,
    /// Blob type (`BlockBlob`, `AppendBlob`).
    pub blob_type: String,
    /// ETag of the catalogued state.
    pub etag: String,
    /// Sequencer of the event that produced this state.
    pub sequencer: String,
    /// Event id of that event.
    pub event_id: String,
    /// Event time of that event.
    pub blob_created: OffsetDateTime,
    /// The blob's `x-ms-creation-time` as the properties call or listing read it
    /// (`BlobCreationTime`), when known.
    pub created: Option<OffsetDateTime>,
    /// When the blob was first catalogued (kept across updates).
    pub first_seen: OffsetDateTime,
    /// Retention class.
    pub retention_class: String,
    /// Retain-until date.
    pub retain_until: String,
    /// GUIDs found in the name and metadata: candidate session keys (tunnel ids).
    pub candidate_keys: Vec<String>,
    /// Blob metadata, as JSON text.
    pub metadata: String,
    /// [`STATUS_CATALOGUED`], [`STATUS_DELETED`] or [`STATUS_DELETED_OUTSIDE`].
    pub status: String,
    /// The join with its session (`None`: no session fits).
    pub joined: Option<Joined>,
    /// When the join decides this recording again (`JoinDue`): set when it is catalogued.
    pub rejoin_at: Option<OffsetDateTime>,
    /// Legal holds.
    pub hold: Hold,
    /// The sweep moved its date earlier.
    pub shortened: Option<Shortened>,
    /// The sweep deleted it.
    pub deletion: Option<Deletion>,
    /// Its digest.
    pub hash: Option<Hash>,
    /// The content a replacement overwrote.
    pub replaced: Option<Replaced>,
    /// Its blob's tags, changed outside the product, were found and restored.
    pub retagged: Option<Retagged>,
    /// Who deleted or replaced it outside the product, once looked up (`Actor*`).
    pub actor: Option<Actor>,
    /// The `RECORDING_MIN_BYTES` its content fell short of when catalogued (`BelowMinBytes`):
    /// whatever session it names or fits, its match is [`Doubt::TooSmall`].
    pub below_min_bytes: Option<u64>,
    /// Its `BlobCreated` reported 0 bytes of an append blob (`Growing`): Bastion is still writing
    /// it, so its size is judged (against `RECORDING_MIN_BYTES`) once it stops growing
    /// (`crate::join::growing`), not at the event; its ETag and length follow its growth.
    pub growing: bool,
    /// The ETag whose `recording.suspect` went out (`SuspectAlertedEtag`): raised once.
    pub suspect_alerted: Option<String>,
    /// Every deletion made outside the product, oldest first (`OutsideDeletions`), kept whatever
    /// came after it.
    pub outside_deletions: Vec<super::trail::OutsideDeletion>,
    /// The write request of its content, once the storage logs showed it (`Writer*`).
    pub writer: Option<super::writer::Writer>,
}

impl Recording {
    /// The public id.
    pub fn id(&self) -> String {
        self.key.id()
    }

    /// The match, if joined.
    pub fn matched(&self) -> Option<&Match> {
        self.joined.as_ref().map(|j| &j.m)
    }

    /// The sessions its match names (tunnel ids, `, `-separated; empty when it names none).
    pub fn sessions(&self) -> String {
        self.matched()
            .map(|m| m.tunnels.join(", "))
            .unwrap_or_default()
    }

    /// The joined session's fields, if any.
    pub fn session(&self) -> Option<&SessionView> {
        self.joined.as_ref().and_then(|j| j.session.as_ref())
    }

    /// The Bastion host it is shown under: the joined session's, else the one its source is tied
    /// to (empty when neither is known).
    pub fn bastion(&self) -> &str {
        self.session()
            .map(|s| s.bastion_host.as_str())
            .filter(|h| !h.is_empty())
            .unwrap_or(&self.source_bastion)
    }

    /// The writer of its current content when the storage logs show it could not be Bastion's
    /// ([`Doubt::OtherWriter`], [`Doubt::NotRecordingIdentity`]).
    pub fn other_writer(&self) -> Option<&super::writer::Writer> {
        self.writer
            .as_ref()
            .filter(|w| w.wrote(&self.etag) && !w.vouches())
    }

    /// Due for the join again at `now`, or at its rejoin time when that is later: a recording
    /// awaiting its session keeps its wait (a pass deciding it earlier leaves it awaiting, and
    /// nothing else would make it due again).
    pub fn due_again(&mut self, now: OffsetDateTime) {
        self.rejoin_at = Some(self.rejoin_at.map_or(now, |due| due.max(now)));
    }

    /// True under a legal hold (the class, or the mark).
    pub fn held(&self) -> bool {
        self.hold.held || self.retention_class == LEGAL_HOLD
    }

    /// The table entity: every field, nothing else.
    pub fn to_entity(&self) -> Entity {
        let t = |v: Option<OffsetDateTime>| v.map(format_utc_millis).unwrap_or_default();
        let (m, v, h) = (self.matched(), self.session(), &self.hold);
        let (s, d, g) = (&self.shortened, &self.deletion, &self.retagged);
        let (hash, r) = (&self.hash, &self.replaced);
        let mut e = crate::tables::entity(json!({
            "PartitionKey": self.key.pk, "RowKey": self.key.rk,
            "RecordingId": self.key.id(),
            "BlobUrl": self.blob_url, "Account": self.account, "SourceBastion": self.source_bastion,
            "Container": self.container, "BlobName": self.blob_name,
            "ContentType": self.content_type, "BlobType": self.blob_type, "ETag": self.etag,
            "Sequencer": self.sequencer, "EventId": self.event_id,
            "BlobCreated": format_utc(self.blob_created), "FirstSeen": format_utc(self.first_seen),
            "RetentionClass": self.retention_class, "RetainUntil": self.retain_until,
            "CandidateKeys": self.candidate_keys.join(","), "Metadata": self.metadata, "Status": self.status,
        }));
        e.extend(crate::tables::entity(json!({
            "JoinDue": self.rejoin_at.map(format_utc_millis),
            "BlobCreationTime": self.created.map(format_utc_millis),
            "MatchConfidence": m.map(|m| m.confidence.as_str()),
            "MatchReason": m.and_then(|m| m.confidence.reason()),
            "MatchCandidates": m.map(|m| m.tunnels[..m.tunnels.len().min(MAX_CANDIDATES)].join(",")),
            "TunnelId": v.map(|v| &v.tunnel_id), "BastionHost": v.map(|v| &v.bastion_host),
            "UserName": v.map(|v| &v.user_name), "UserEmail": v.map(|v| &v.user_email),
            "ClientIp": v.map(|v| &v.client_ip), "Protocol": v.map(|v| &v.protocol),
            "TargetResourceId": v.map(|v| &v.target_resource_id), "TargetVm": v.map(|v| &v.target_vm),
            "TargetSubscription": v.map(|v| &v.subscription),
            "TargetResourceGroup": v.map(|v| &v.resource_group),
            "SessionStart": v.map(|v| t(v.start)), "SessionEnd": v.map(|v| t(v.end)),
        })));
        e.extend(crate::tables::entity(json!({
            "LegalHold": h.held, "HoldIds": (!h.ids.is_empty()).then(|| h.ids.join(",")),
            "HeldFromClass": h.from.as_ref().map(|f| &f.0),
            "HeldFromUntil": h.from.as_ref().map(|f| &f.1),
            "ShortenedFrom": s.as_ref().map(|s| &s.from), "ShortenedAt": s.as_ref().map(|s| &s.at),
            "DeletedAt": d.as_ref().map(|d| &d.at), "DeletionReason": d.as_ref().map(|d| &d.reason),
            "DeletionInvocationId": d.as_ref().map(|d| &d.invocation_id),
            "DeletionRequestId": d.as_ref().map(|d| &d.request_id).filter(|r| !r.is_empty()),
            "Sha256": hash.as_ref().map(|h| &h.sha256), "HashedEtag": hash.as_ref().map(|h| &h.etag),
            "HashedAt": hash.as_ref().map(|h| &h.at),
            "ReplacedEtag": r.as_ref().map(|r| &r.etag), "ReplacedAt": r.as_ref().map(|r| &r.at),
            "ReplacedSha256": r.as_ref().map(|r| &r.sha256),
            "RetaggedFrom": g.as_ref().map(|g| &g.from), "RetaggedAt": g.as_ref().map(|g| &g.at),
            "SuspectAlertedEtag": self.suspect_alerted,
            "Growing": self.growing.then_some(true),
        })));
        // What a row lacks is no property.
        e.retain(|_, v| !v.is_null());
        for (k, n) in [
            ("ContentLength", Some(clamp(self.content_length))),
            ("DurationMs", v.and_then(|v| v.duration_ms)),
            ("HashedLength", hash.as_ref().map(|h| clamp(h.length))),
            ("ReplacedLength", r.as_ref().map(|r| clamp(r.length))),
            ("BelowMinBytes", self.below_min_bytes.map(clamp)),
        ] {
            if let Some(n) = n {
                int64(&mut e, k, n);
            }
        }
        if let Some(a) = &self.actor {
            put_record(&mut e, a);
        }
        super::trail::to_entity(&self.outside_deletions, &mut e);
        if let Some(w) = &self.writer {
            put_record(&mut e, w);
        }
        e
    }

    /// Its `BastionRecordings_CL` row as of `at` (its creation time in whole seconds, as the
    /// row keeps it).
    pub fn export_row(&self, at: OffsetDateTime) -> RecordingRow {
        let (m, v, g) = (self.matched(), self.session(), self.retagged.as_ref());
        let of_session = |f: fn(&SessionView) -> &String| v.map(f).cloned().unwrap_or_default();
        RecordingRow {
            time_generated: at,
            recording_id: self.id(),
            bastion_host: self.bastion().to_owned(),
            account: self.account.clone(),
            container: self.container.clone(),
            blob_name: self.blob_name.clone(),
            content_length: Some(clamp(self.content_length)),
            blob_created: timestamp(&format_utc(self.blob_created)),
            retention_class: self.retention_class.clone(),
            retain_until: parse_date(&self.retain_until).map(|d| d.midnight().assume_utc()),
            legal_hold: self.hold.held,
            sha256: self
                .hash
                .as_ref()
                .map(|h| h.sha256.clone())
                .unwrap_or_default(),
            status: self.status.clone(),
            match_confidence: m.map(|m| m.confidence.as_str().into()).unwrap_or_default(),
            session_id: of_session(|v| &v.tunnel_id),
            session_start: v.and_then(|v| v.start),
            user_name: of_session(|v| &v.user_name),
            target_vm: of_session(|v| &v.target_vm),
            retagged_from: g.map(|g| g.from.clone()).unwrap_or_default(),
            retagged_at: g.and_then(|g| timestamp(&g.at)),
        }
    }

    /// Reads a row back; `None` if its key or times are missing.
    pub fn from_entity(e: &Entity) -> Option<Self> {
        let s = |k: &str| get_str(e, k).unwrap_or_default().to_owned();
        let t = |k: &str| get_str(e, k).and_then(timestamp);
        let list = |k: &str| get_list(e, k).map(str::to_owned).collect::<Vec<_>>();
        let flag = |k: &str| e.get(k).and_then(Value::as_bool).unwrap_or(false);
        let given = |k: &str| get_str(e, k).filter(|v| !v.is_empty()).map(str::to_owned);
        let reason = get_str(e, "MatchReason").unwrap_or_default();
        let joined = get_str(e, "MatchConfidence")
            .and_then(|c| Confidence::read(c, reason))
            .map(|confidence| {
                let m = Match {
                    confidence,
                    tunnels: list("MatchCandidates"),
                };
                let session = given("TunnelId").map(|tunnel_id| SessionView {
                    tunnel_id,
                    bastion_host: s("BastionHost"),
                    user_name: s("UserName"),
                    user_email: s("UserEmail"),
                    client_ip: s("ClientIp"),
                    protocol: s("Protocol"),
                    target_resource_id: s("TargetResourceId"),
                    target_vm: s("TargetVm"),
                    subscription: s("TargetSubscription"),
                    resource_group: s("TargetResourceGroup"),
                    start: t("SessionStart"),
                    end: t("SessionEnd"),
                    duration_ms: get_i64(e, "DurationMs"),
                });
                Joined { m, session }
            });
        Some(Self {
            key: RecordingKey {
                pk: get_str(e, "PartitionKey")?.to_owned(),
                rk: get_str(e, "RowKey")?.to_owned(),
            },
            blob_url: s("BlobUrl"),
            account: s("Account"),
            source_bastion: s("SourceBastion"),
            container: s("Container"),
            blob_name: s("BlobName"),
            content_length: unsigned(get_i64(e, "ContentLength")),
            content_type: s("ContentType"),
            blob_type: s("BlobType"),
            etag: s("ETag"),
            sequencer: s("Sequencer"),
            event_id: s("EventId"),
            blob_created: t("BlobCreated")?,
            created: t("BlobCreationTime"),
            first_seen: t("FirstSeen")?,
            retention_class: s("RetentionClass"),
            retain_until: s("RetainUntil"),
            candidate_keys: list("CandidateKeys"),
            metadata: s("Metadata"),
            status: s("Status"),
            joined,
            rejoin_at: t("JoinDue"),
            hold: Hold {
                held: flag("LegalHold"),
                ids: list("HoldIds"),
                from: given("HeldFromClass").zip(given("HeldFromUntil")),
            },
            shortened: given("ShortenedFrom").map(|from| Shortened {
                from,
                at: s("ShortenedAt"),
            }),
            deletion: given("DeletedAt").map(|at| Deletion {
                at,
                reason: s("DeletionReason"),
                invocation_id: s("DeletionInvocationId"),
                request_id: s("DeletionRequestId"),
            }),
            hash: given("Sha256").map(|sha256| Hash {
                sha256,
                length: unsigned(get_i64(e, "HashedLength")),
                etag: s("HashedEtag"),
                at: s("HashedAt"),
            }),
            replaced: given("ReplacedEtag").map(|etag| Replaced {
                etag,
                length: unsigned(get_i64(e, "ReplacedLength")),
                sha256: s("ReplacedSha256"),
                at: s("ReplacedAt"),
            }),
            retagged: given("RetaggedAt").map(|at| Retagged {
                from: s("RetaggedFrom"),
                at,
            }),
            actor: Actor::from_entity(e),
            below_min_bytes: get_i64(e, "BelowMinBytes").map(|n| unsigned(Some(n))),
            suspect_alerted: given("SuspectAlertedEtag"),
            growing: flag("Growing"),
            outside_deletions: super::trail::from_entity(e),
            writer: super::writer::Writer::from_entity(e),
        })
    }
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn unsigned(v: Option<i64>) -> u64 {
    v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn recording() -> Recording {
        let t = datetime!(2025-03-14 09:42:17 UTC);
        Recording {
            key: RecordingKey::for_source_blob(t, "a", "recordings", "x"),
            blob_url: "https://a.blob.core.windows.net/recordings/x".into(),
            account: "a".into(),
            source_bastion: "bas-hub-weu".into(),
            container: "recordings".into(),
            blob_name: "x".into(),
            content_length: 5_000_000_000,
            content_type: "application/octet-stream".into(),
            blob_type: "BlockBlob".into(),
            etag: "0x1".into(),
            sequencer: "01".into(),
            event_id: "e".into(),
            blob_created: t,
            created: None,
            first_seen: t,
            retention_class: "ops-30d".into(),
            retain_until: "2025-04-13".into(),
            candidate_keys: vec!["5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f".into()],
            metadata: "{}".into(),
            status: STATUS_CATALOGUED.into(),
            joined: None,
            rejoin_at: None,
            hold: Hold::default(),
            shortened: None,
            deletion: None,
            hash: None,
            replaced: None,
            retagged: None,
            actor: None,
            below_min_bytes: None,
            suspect_alerted: None,
            growing: false,
            outside_deletions: Vec::new(),
            writer: None,
        }
    }

    #[test]
    fn every_field_round_trips_through_the_entity() {
        let plain = recording();
        let mut full = recording();
        full.joined = Some(Joined {
            m: Match {
                confidence: Confidence::Probable,
                tunnels: vec!["t1".into()],
            },
            session: Some(SessionView {
                tunnel_id: "t1".into(),
                bastion_host: "bas".into(),
                user_name: "u".into(),
                user_email: "u@x".into(),
                client_ip: "203.0.113.9".into(),
                protocol: "ssh".into(),
                target_resource_id: "/s/vm".into(),
                target_vm: "vm".into(),
                subscription: "s".into(),
                resource_group: "rg".into(),
                start: Some(datetime!(2025-03-14 09:00:00.123 UTC)),
                end: None,
                duration_ms: Some(42),
            }),
        });
        full.rejoin_at = Some(datetime!(2025-03-14 11:42:17.5 UTC));
        full.hold = Hold {
            held: true,
            ids: vec!["h1".into(), "h2".into()],
            from: Some(("ops-30d".into(), "2025-04-13".into())),
        };
        full.shortened = Some(Shortened {
            from: "2026-01-01".into(),
            at: "2025-03-15T00:00:00Z".into(),
        });
        full.deletion = Some(Deletion {
            at: "2025-05-01T02:00:00Z".into(),
            reason: "expired".into(),
            invocation_id: "i".into(),
            request_id: "r".into(),
        });
        full.hash = Some(Hash {
            sha256: "ab".into(),
            length: 7,
            etag: "0x1".into(),
            at: "2025-03-14T10:00:00Z".into(),
        });
        full.replaced = Some(Replaced {
            etag: "0x0".into(),
            length: 6,
            sha256: "cd".into(),
            at: "2025-03-14T11:00:00Z".into(),
        });
        full.retagged = Some(Retagged {
            from: "retainUntil=2025-03-15&retentionClass=ops-30d".into(),
            at: "2025-03-16T02:00:00Z".into(),
        });
        full.actor = Some(Actor {
            status: "found".into(),
            operation: "DeleteBlob".into(),
            upn: "<b>mallory</b>@example.com".into(),
            user_agent: "curl/8 \"x\"".into(),
            ..Actor::default()
        });
        full.below_min_bytes = Some(4096);
        full.created = Some(datetime!(2025-03-14 09:41:59.5 UTC));
        full.suspect_alerted = Some("0x1".into());
        full.growing = true;
        full.outside_deletions = vec![super::super::trail::OutsideDeletion {
            at: "2025-05-01T02:00:00Z".into(),
            request_id: "r".into(),
            sequencer: "02".into(),
            before_catalogued: true,
        }];
        full.writer = Some(super::super::writer::Writer {
            etag: "0x1".into(),
            authentication: "AccountKey".into(),
            auth_hash: "key1(AB)".into(),
            caller_ip: "203.0.113.7:50112".into(),
            verdict: "writer-not-recording-identity".into(),
            expected: "0b5e,1c6f".into(),
            unknown_hosts: "/s/hosts/b2".into(),
            ..Default::default()
        });
        let suspect = |d| {
            let mut r = full.clone();
            r.joined = Some(Joined {
                m: Match {
                    confidence: Confidence::Suspect(d),
                    tunnels: vec!["t1".into()],
                },
                session: None,
            });
            r
        };
        let (small, late) = (suspect(Doubt::TooSmall), suspect(Doubt::OutsideWindow));
        let written = suspect(Doubt::OtherWriter);
        let entra = suspect(Doubt::NotRecordingIdentity);
        for r in [plain, full, small, late, written, entra] {
            let mut e = r.to_entity();
            crate::tables::strip_annotations(&mut e);
            assert_eq!(Recording::from_entity(&e), Some(r));
        }
    }

    #[test]
    fn stored_candidates_stay_under_the_property_limit() {
        let mut r = recording();
        let tunnels: Vec<String> = (0..2000)
            .map(|i| format!("{i:08}-0000-4000-8000-000000000000"))
            .collect();
        r.joined = Some(Joined {
            m: Match {
                confidence: Confidence::Ambiguous,
                tunnels: tunnels.clone(),
            },
            session: None,
        });
        let e = r.to_entity();
        let text = get_str(&e, "MatchCandidates").expect("candidates");
        assert_eq!(text.split(',').count(), MAX_CANDIDATES);
        assert!(
            text.len() * 2 < 64 * 1024,
            "{} bytes as UTF-16",
            text.len() * 2
        );
        assert!(text.starts_with(&tunnels[0]), "the first ones, in order");
    }
}
