//! Recording one review, idempotently: a retry (same `Idempotency-Key`, or the same content) finds
//! the first write and returns it. A self-review, or one by an application, is refused and the
//! attempt recorded; a review the
//! duty check cannot decide is accepted, marked `unverified-identity`, and (when its session's user
//! is not known yet) watched for the join ([`super::watched::watch`]). The id row is inserted
//! first (one winner of concurrent retries); a retry re-writes the rest from it.

use serde_json::Value;

use super::model::{IDS_TABLE, Kind, LATEST_TABLE, REVIEWS_TABLE, Review, Subject, Verdict};
use super::refusal::{
    Refusal, Reviewer, UNVERIFIED, application, identity_check, record_refusal, self_review,
};
use crate::azure::AzureError;
use crate::catalogue::days::{ReviewMark, put_review};
use crate::dates::timestamp;
use crate::export::rows::ReviewRow;
use crate::ports::{Ports, RequestError};
use crate::spine::stable_id;
use crate::tables::ops::{Once, get, insert_once, update};
use crate::tables::{TableStore, get_str};

/// Row key of an id row.
const ID_ROW: &str = "review";
/// Longest comment kept.
pub const MAX_COMMENT: usize = 4096;

/// What a reviewer sends (the reviewer comes from authentication, never from here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRequest {
    /// Recording or session.
    pub subject: Subject,
    /// Verdict.
    pub verdict: Verdict,
    /// Free text (may be empty for `ok`).
    pub comment: String,
    /// Ticket reference.
    pub ticket: String,
    /// The client's idempotency key, if any.
    pub idempotency_key: Option<String>,
}

impl ReviewRequest {
    /// Parses a JSON body; a `reviewer` field is ignored: the caller is the reviewer.
    ///
    /// # Errors
    /// `Invalid` naming the problem.
    pub fn parse(body: &[u8], idempotency_key: Option<&str>) -> Result<Self, RequestError> {
        let bad = |m: &str| RequestError::Invalid(m.to_owned());
        let v: Value = serde_json::from_slice(body).map_err(|_| bad("body: not JSON"))?;
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::trim);
        let subject = match (text("recording"), text("session")) {
            (Some(r), None) if !r.is_empty() => Subject::new(Kind::Recording, r),
            (None, Some(s)) if !s.is_empty() => Subject::new(Kind::Session, s),
            _ => return Err(bad("exactly one of recording or session is required")),
        };
        let verdict = text("verdict")
            .and_then(Verdict::parse)
            .ok_or_else(|| bad("verdict: ok | follow-up | incident"))?;
        let comment = text("comment").unwrap_or_default().to_owned();
        let ticket = text("ticket").unwrap_or_default().to_owned();
        if comment.len() > MAX_COMMENT || ticket.len() > 256 {
            return Err(bad("comment or ticket too long"));
        }
        if verdict != Verdict::Ok && comment.is_empty() {
            return Err(bad("comment: required for follow-up and incident"));
        }
        let idempotency_key = idempotency_key.map(str::trim).filter(|k| !k.is_empty());
        if idempotency_key.is_some_and(|k| k.len() > 256) {
            return Err(bad("Idempotency-Key: too long"));
        }
        Ok(Self {
            subject,
            verdict,
            comment,
            ticket,
            idempotency_key: idempotency_key.map(str::to_owned),
        })
    }

    /// The review id: from the client's key (scoped to the reviewer), else from the content.
    pub fn id(&self, reviewer: &str) -> String {
        let fact = match &self.idempotency_key {
            Some(k) => format!("key\n{reviewer}\n{k}"),
            None => format!(
                "content\n{reviewer}\n{}\n{}\n{}\n{}\n{}",
                self.subject.kind.as_str(),
                self.subject.id,
                self.verdict.as_str(),
                self.comment,
                self.ticket
            ),
        };
        stable_id("review", &fact)
    }
}

/// The outcome of [`record_by`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The review as stored.
    pub review: Review,
    /// False when this was a retry of an already recorded review.
    pub created: bool,
}

/// Records `req` by `reviewer`, known by its name only ([`record_by`]).
#[cfg(test)]
pub async fn record(
    ports: &Ports,
    req: &ReviewRequest,
    reviewer: &str,
) -> Result<Recorded, RequestError> {
    record_by(ports, req, &Reviewer::named(reviewer)).await
}

/// Records `req` by `by` (the authenticated principal).
///
/// # Errors
/// `Invalid`, `NotFound` (unknown subject), `Refused` (the reviewer is the session's user; the
/// attempt is recorded), `Conflict` (idempotency key reused for another review), `Storage`.
pub async fn record_by(
    ports: &Ports,
    req: &ReviewRequest,
    by: &Reviewer,
) -> Result<Recorded, RequestError> {
    let tables = ports.tables.as_ref();
    let reviewer = by.name.as_str();
    let id = req.id(reviewer);
    for _ in 0..2 {
        if let Some(stored) = get(tables, IDS_TABLE, &id, ID_ROW).await? {
            let review = Review::from_entity(&stored.entity)
                .ok_or_else(|| AzureError::Transient(format!("review {id}: unreadable row")))?;
            // The same review content (its time and context aside).
            let same = review.subject == req.subject && review.verdict == req.verdict;
            let same = same && (&review.comment, &review.ticket) == (&req.comment, &req.ticket);
            if !same || review.reviewer != reviewer {
                return Err(RequestError::Conflict(
                    "Idempotency-Key was used for a different review".into(),
                ));
            }
            return recorded(ports, review, false).await;
        }
        let (context, user) = super::subject::resolve(tables, &req.subject).await?;
        if let Some(reason) = application(by).or_else(|| self_review(by, &user)) {
            let refusal = Refusal {
                attempt: &id,
                reviewer: by,
                subject: &req.subject,
                context: &context,
                user: &user,
                reason: &reason,
                at: ports.clock.now(),
            };
            record_refusal(tables, &refusal).await?;
            return Err(RequestError::Refused(reason));
        }
        let review = Review {
            id: id.clone(),
            subject: req.subject.clone(),
            verdict: req.verdict,
            comment: req.comment.clone(),
            ticket: req.ticket.clone(),
            reviewer: reviewer.to_owned(),
            reviewer_person: by.person.clone(),
            identity: identity_check(by, &user).to_owned(),
            at: ports.clock.now(),
            context,
        };
        // The session's user may be named by the join later: checked again then. Watched before
        // the id row, so a crash in between leaves a watch the check drops, never a lost one.
        if review.identity == UNVERIFIED && !user.signs_in() {
            super::watched::watch(tables, &review).await?;
        }
        let mut e = crate::tables::keyed(id.as_str(), ID_ROW);
        e.extend(review.to_entity());
        if let Once::Inserted(_) = insert_once(tables, IDS_TABLE, &e).await? {
            return recorded(ports, review, true).await;
        }
        // A concurrent retry won: read what it recorded.
    }
    Err(AzureError::Transient(format!("review {id}: kept conflicting")).into())
}

/// Commits `review` and records its Sentinel row: what [`record_by`] returns.
async fn recorded(ports: &Ports, review: Review, created: bool) -> Result<Recorded, RequestError> {
    commit(ports, &review).await?;
    let row = ReviewRow::of_review(&review.to_entity());
    ports.outbox.record(row.as_ref()).await?;
    Ok(Recorded { review, created })
}

/// Writes the log row (once), supersedes the latest rows and the session's review; repeatable.
pub(super) async fn commit(ports: &Ports, review: &Review) -> Result<(), AzureError> {
    let tables = ports.tables.as_ref();
    let mut e = crate::tables::keyed(review.log_pk(), review.log_rk());
    e.extend(review.to_entity());
    insert_once(tables, REVIEWS_TABLE, &e).await?;
    let c = &review.context;
    supersede(tables, &c.subject_day, &review.subject.latest_rk(), review).await?;
    // A recording's review covers its session too (the queue and the sessions list show it).
    if review.subject.kind == Kind::Recording
        && !c.tunnel_id.is_empty()
        && !c.session_day.is_empty()
    {
        let rk = Subject::new(Kind::Session, c.tunnel_id.clone()).latest_rk();
        supersede(tables, &c.session_day, &rk, review).await?;
    }
    // The session's row carries its latest review (its Sentinel rows show it from now on).
    if !c.tunnel_id.is_empty() && !c.session_day.is_empty() {
        let mark = ReviewMark {
            id: review.id.clone(),
            verdict: review.verdict.as_str().to_owned(),
            reviewer: review.reviewer.clone(),
            at: review.at,
        };
        let now = ports.clock.now();
        put_review(
            tables,
            &ports.outbox,
            &c.session_day,
            &c.tunnel_id,
            &mark,
            now,
        )
        .await?;
    }
    // After the latest row: the session leaves the queue for good.
    if !c.tunnel_id.is_empty() {
        super::queue::entry::set_reviewed(tables, &c.tunnel_id, &review.identity, true).await?;
    }
    Ok(())
}

/// Makes `review` the latest of row `(pk, rk)` unless a later one is there already.
async fn supersede(
    tables: &dyn TableStore,
    pk: &str,
    rk: &str,
    review: &Review,
) -> Result<(), AzureError> {
    if pk.is_empty() {
        return Ok(());
    }
    let mine = (review.at, review.id.clone());
    update(tables, LATEST_TABLE, pk, rk, &mut |cur| {
        let current = cur.map(|c| {
            let at = get_str(&c.entity, "ReviewedAt").and_then(timestamp);
            let id = get_str(&c.entity, "ReviewId")
                .unwrap_or_default()
                .to_owned();
            (at, id)
        });
        if let Some((Some(at), id)) = &current
            && (*at, id.clone()) >= mine
        {
            return None;
        }
        let mut e = review.to_entity();
        if let Some((_, prev)) = current {
            e.insert("Supersedes".into(), prev.into());
        }
        Some(e)
    })
    .await
    .map(drop)
}
