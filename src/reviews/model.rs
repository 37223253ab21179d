//! A review, its subject and verdict, its tables, and its table entity (one shape for the log,
//! the id row and the latest row).

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::catalogue::person::Person;
use crate::catalogue::query::shape::{self, Shape};
use crate::catalogue::query::{Invalid, Listed, Query};
use crate::dates::{format_date, format_utc_millis, timestamp};
use crate::names::named;
use crate::tables::{Entity, get_record, get_str, put_record};

/// The append-only log.
pub const REVIEWS_TABLE: &str = "reviews";
/// Reviews by id (idempotency).
pub const IDS_TABLE: &str = "reviewids";
/// The latest review per subject.
pub const LATEST_TABLE: &str = "reviewlatest";

named! {
    /// The reviewer's conclusion.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Verdict {
        /// Nothing wrong.
        Ok = "ok",
        /// Needs a follow-up (a question to the user, a ticket).
        FollowUp = "follow-up",
        /// A security incident.
        Incident = "incident",
    }
}

named! {
    /// What kind of thing was reviewed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        /// A recording (catalogue id `day~rowkey`).
        Recording = "recording",
        /// A session (Bastion tunnel id).
        Session = "session",
    }
}

/// The reviewed thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// Recording or session.
    pub kind: Kind,
    /// Recording id or tunnel id.
    pub id: String,
}

impl Subject {
    /// The subject of `kind` with `id`.
    pub fn new(kind: Kind, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
        }
    }

    /// The `reviewlatest` row key of the subject.
    pub fn latest_rk(&self) -> String {
        let kind = self.kind.as_str();
        // The id through the one encoder, in the room `<kind>~` leaves (a recording id can pass it).
        let id = crate::tables::keys::key(
            &self.id,
            crate::tables::keys::Spelling::Verbatim,
            crate::tables::keys::MAX_KEY_BYTES - kind.len() - 1,
        );
        [kind, "~", &id].concat()
    }
}

/// Where and what the subject was when reviewed: copied into the review so the log answers
/// "which host, which user" without joins, also after the recording is deleted. Stored as the
/// review row's properties of the same names (`SubjectDay` … `DeletedReason`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Context {
    /// Partition of the subject's `reviewlatest` row (recording: creation day; session: start day).
    pub subject_day: String,
    /// Bastion host.
    pub bastion_host: String,
    /// Target VM.
    pub target_vm: String,
    /// VM user.
    pub user_name: String,
    /// The session's person: the Entra user its audit record carries (`userEmail`), read when the
    /// review was signed; empty when the record names none and on reviews recorded before it was
    /// kept (`UserEmail`).
    pub user_email: String,
    /// Session start, when known.
    pub session_start: String,
    /// The session of a recording (or the session itself).
    pub tunnel_id: String,
    /// Start day of that session (`sessionwindows` partition), when known.
    pub session_day: String,
    /// When retention deleted the recording (its tombstone), if it did.
    pub deleted_at: String,
    /// The tombstone's reason.
    pub deleted_reason: String,
}

/// One review, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// Stable id (idempotency).
    pub id: String,
    /// What was reviewed.
    pub subject: Subject,
    /// Verdict.
    pub verdict: Verdict,
    /// Free text.
    pub comment: String,
    /// Ticket reference, if any.
    pub ticket: String,
    /// The authenticated principal.
    pub reviewer: String,
    /// Its names and object id, as the duty check compared them (kept for the check after the
    /// join: `ReviewerNames`, `ReviewerObjectId`).
    pub reviewer_person: Person,
    /// The duty check's outcome (`IdentityCheck`): [`super::refusal::VERIFIED`],
    /// [`super::refusal::UNVERIFIED`] or [`super::refusal::SELF_REVIEW`]; empty on reviews
    /// recorded before the check was kept.
    pub identity: String,
    /// When.
    pub at: OffsetDateTime,
    /// The subject's context.
    pub context: Context,
}

impl Review {
    /// `reviews` partition: the review's UTC day.
    pub fn log_pk(&self) -> String {
        format_date(self.at.date())
    }

    /// `reviews` row key: time then id, so a partition reads in time order.
    pub fn log_rk(&self) -> String {
        format!("{}~{}", format_utc_millis(self.at), self.id)
    }

    /// The entity (keys not set).
    pub fn to_entity(&self) -> Entity {
        let v = json!({
            "ReviewId": self.id, "SubjectKind": self.subject.kind.as_str(), "SubjectId": self.subject.id,
            "Verdict": self.verdict.as_str(), "Comment": self.comment, "Ticket": self.ticket,
            "Reviewer": self.reviewer, "ReviewedAt": format_utc_millis(self.at),
            "ReviewerNames": self.reviewer_person.names.join("\n"),
            "ReviewerObjectId": self.reviewer_person.object_id.clone().unwrap_or_default(),
            "IdentityCheck": self.identity,
        });
        let mut e = crate::tables::entity(v);
        put_record(&mut e, &self.context);
        e
    }

    /// Reads an entity written by [`Self::to_entity`].
    pub fn from_entity(e: &Entity) -> Option<Self> {
        let s = |k: &str| get_str(e, k).unwrap_or_default().to_owned();
        Some(Self {
            id: get_str(e, "ReviewId")?.to_owned(),
            subject: Subject::new(Kind::parse(get_str(e, "SubjectKind")?)?, s("SubjectId")),
            verdict: Verdict::parse(get_str(e, "Verdict")?)?,
            comment: s("Comment"),
            ticket: s("Ticket"),
            reviewer: s("Reviewer"),
            reviewer_person: Person::new(
                s("ReviewerNames").split('\n'),
                get_str(e, "ReviewerObjectId"),
            ),
            identity: s("IdentityCheck"),
            at: timestamp(get_str(e, "ReviewedAt")?)?,
            context: get_record(e),
        })
    }
}

/// The review log as a list (`GET /api/reviews`): reviews of a range by time (a partition a day).
impl Listed for Review {
    const TABLE: &'static str = REVIEWS_TABLE;
    const FILTERS: &'static [&'static str] = &["reviewer", "verdict", "bastion", "session"];
    const SCOPE: &'static str = "reviews:";

    fn from_entity(e: &Entity) -> Option<Self> {
        Self::from_entity(e)
    }

    fn time(&self) -> OffsetDateTime {
        self.at
    }

    fn row_key(&self) -> String {
        self.log_rk()
    }

    fn values(&self, param: &str) -> Vec<&str> {
        match param {
            "reviewer" => vec![&self.reviewer],
            "verdict" => vec![self.verdict.as_str()],
            "bastion" => vec![&self.context.bastion_host],
            // A session's reviews: of the session itself, or of a recording joined to it.
            "session" => match self.subject.kind {
                Kind::Session => vec![&self.subject.id],
                Kind::Recording => vec![&self.context.tunnel_id],
            },
            _ => Vec::new(),
        }
    }

    fn check(q: &Query) -> Result<(), Invalid> {
        match q.wants("verdict") {
            Some(v) if Verdict::parse(v).is_none() => Err(Invalid::new(
                "verdict",
                Verdict::ALL.map(Verdict::as_str).join(" | "),
            )),
            _ => Ok(()),
        }
    }
}

/// The log's public shape (documented in `docs/reviews.md`; every field a text, empty when unknown).
impl Shape for Review {
    const COLUMNS: &'static str = "reviewId,reviewedAt,reviewer,verdict,subjectKind,subjectId,\
        comment,ticket,bastionHost,targetVm,userName,sessionStart,tunnelId,deletedAt,deletedReason,\
        identityCheck,userEmail";

    fn json(&self, _: Option<&shape::Review>) -> Value {
        let c = &self.context;
        json!({
            "reviewId": self.id, "subjectKind": self.subject.kind.as_str(), "subjectId": self.subject.id,
            "verdict": self.verdict.as_str(), "comment": self.comment, "ticket": self.ticket,
            "reviewer": self.reviewer, "reviewedAt": format_utc_millis(self.at),
            "bastionHost": c.bastion_host, "targetVm": c.target_vm, "userEmail": c.user_email,
            "userName": c.user_name,
            "sessionStart": c.session_start, "tunnelId": c.tunnel_id,
            "deletedAt": c.deleted_at, "deletedReason": c.deleted_reason,
            "identityCheck": self.identity,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_round_trips_and_keys_sort_by_time() {
        let r = Review {
            id: "abc".into(),
            subject: Subject {
                kind: Kind::Session,
                id: "t-1".into(),
            },
            verdict: Verdict::FollowUp,
            comment: "c".into(),
            ticket: String::new(),
            reviewer: "a@b".into(),
            reviewer_person: Person::new(["a@b", "a.b@c"], Some("oid")),
            identity: "unverified-identity".into(),
            at: time::macros::datetime!(2025-03-14 09:05:01.5 UTC),
            context: Context {
                user_email: "bob@contoso.com".into(),
                user_name: "administrator".into(),
                ..Context::default()
            },
        };
        assert_eq!(Review::from_entity(&r.to_entity()), Some(r.clone()));
        assert_eq!(r.log_pk(), "2025-03-14");
        assert_eq!(r.log_rk(), "2025-03-14T09:05:01.500Z~abc");
        for v in Verdict::ALL {
            assert_eq!(Verdict::parse(v.as_str()), Some(v));
        }
        assert_eq!(Verdict::parse("OK"), None);
        // The log's `session` filter: a session's own reviews and those of its recordings.
        assert!(Listed::matches(&r, "session", "t-1"));
        let of_recording = Review {
            subject: Subject {
                kind: Kind::Recording,
                id: "2025-03-14~cmVj".into(),
            },
            context: Context {
                tunnel_id: "T-2".into(),
                ..Context::default()
            },
            ..r.clone()
        };
        assert!(Listed::matches(&of_recording, "session", "t-2"));
        assert!(!Listed::matches(&of_recording, "session", "t-1"));
        assert!(!Listed::matches(&r, "session", "t-2"));
    }
}
