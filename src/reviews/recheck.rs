//! The duty check once the join names a review's session. A review recorded while its session's
//! user was unknown (a recording not joined yet, a session row without a sign-in name) is accepted
//! as `unverified-identity` and watched ([`super::watched`]). `ReviewQueue` hands each page of the sessions the
//! join changed to [`after_join`], which checks the watched reviews of those sessions (or of their
//! recordings) again against the user the rows now name:
//!
//! - **the user's own**: marked `self-review` on its id and log rows (kept, never deleted), taken
//!   off the subject's and the session's latest review (not counted as reviewed), its refusal
//!   recorded in `reviewrefusals`, and the session put back among those to review;
//! - **someone else** (`verified`), or still no sign-in name to tell (`unverified-identity`): the
//!   review is committed again with the joined session's context, so it counts for that session
//!   too, as a review recorded after the join does.
//!
//! The watch row is removed once checked; a review whose session stays unknown stays watched.

use std::collections::HashSet;

use serde_json::Value;
use time::OffsetDateTime;

use super::model::{IDS_TABLE, Kind, LATEST_TABLE, REVIEWS_TABLE, Review, Subject};
use super::refusal::{Refusal, Reviewer, SELF_REVIEW, identity_check, record_refusal, self_review};
use super::watched;
use crate::azure::AzureError;
use crate::catalogue::days::{DayRow, drop_review};
use crate::ports::{Ports, RequestError};
use crate::tables::ops::{get, update, write_creating_table};
use crate::tables::{Entity, TableStore, WriteMode, get_str};

/// What [`after_join`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rechecked {
    /// Watched reviews checked again.
    pub checked: usize,
    /// Of those, found to be the session user's own.
    pub self_reviews: usize,
}

/// Checks the watched reviews of `sessions` (changed by the join) or of their recordings again.
///
/// # Errors
/// Storage failures (the watch rows stay: the next run checks them again, every write being
/// idempotent).
pub async fn after_join(
    ports: &Ports,
    sessions: &[DayRow],
    now: OffsetDateTime,
) -> Result<Rechecked, AzureError> {
    let tables = ports.tables.as_ref();
    let mut done = Rechecked::default();
    if sessions.is_empty() {
        return Ok(done);
    }
    let watched = watched::watched(tables).await?;
    if watched.is_empty() {
        return Ok(done);
    }
    let named: HashSet<&str> = sessions
        .iter()
        .flat_map(|s| std::iter::once(&s.tunnel_id).chain(&s.recording_ids))
        .map(String::as_str)
        .collect();
    for w in watched {
        let s = |k: &str| get_str(&w.entity, k).unwrap_or_default();
        if !named.contains(s("SubjectId")) {
            continue;
        }
        let id = s("RowKey");
        match check(ports, id, now).await {
            Ok(Some(own)) => {
                done.checked += 1;
                done.self_reviews += usize::from(own);
            }
            // The session's user is still unknown: it stays watched.
            Ok(None) => continue,
            Err(RequestError::Storage(e)) => return Err(e),
            // The subject is gone or malformed: nothing left to check.
            Err(_) => {}
        }
        watched::unwatch(tables, id, &w.etag).await?;
    }
    Ok(done)
}

/// Checks review `id` again: `Some(true)` when it is the user's own, `Some(false)` when not (or no
/// such review), `None` when the rows still name no user.
async fn check(ports: &Ports, id: &str, now: OffsetDateTime) -> Result<Option<bool>, RequestError> {
    let tables = ports.tables.as_ref();
    let Some(stored) = get(tables, IDS_TABLE, id, "review").await? else {
        // Watched, then a crash before the id row: no review was recorded.
        return Ok(Some(false));
    };
    let Some(mut review) = Review::from_entity(&stored.entity) else {
        return Ok(Some(false));
    };
    let (context, user) = super::subject::resolve(tables, &review.subject).await?;
    if !user.signs_in() && context.tunnel_id.is_empty() {
        return Ok(None);
    }
    let by = Reviewer {
        name: review.reviewer.clone(),
        person: review.reviewer_person.clone(),
    };
    // The review's own context where the join added nothing (a deleted recording keeps its
    // tombstone's fields).
    let merged = super::model::Context {
        deleted_at: review.context.deleted_at.clone(),
        deleted_reason: review.context.deleted_reason.clone(),
        ..context
    };
    let Some(reason) = self_review(&by, &user) else {
        review.identity = identity_check(&by, &user).to_owned();
        review.context = merged;
        settle(tables, &review).await?;
        super::record::commit(ports, &review).await?;
        return Ok(Some(false));
    };
    let reason = format!("{reason}, found after the join named the session");
    let refusal = Refusal {
        attempt: &review.id,
        reviewer: &by,
        subject: &review.subject,
        context: &merged,
        user: &user,
        reason: &reason,
        at: now,
    };
    record_refusal(tables, &refusal).await?;
    review.identity = SELF_REVIEW.to_owned();
    settle(tables, &review).await?;
    // Not counted: off the latest rows and the session's row, and back among those to review.
    unlatest(tables, &review.context.subject_day, &review.subject, id).await?;
    if !merged.tunnel_id.is_empty() {
        let session = Subject::new(Kind::Session, merged.tunnel_id.clone());
        unlatest(tables, &merged.session_day, &session, id).await?;
        if !merged.session_day.is_empty() {
            let key = (merged.session_day.as_str(), merged.tunnel_id.as_str());
            drop_review(tables, &ports.outbox, key, id, now).await?;
        }
        super::queue::entry::set_reviewed(tables, &merged.tunnel_id, SELF_REVIEW, false).await?;
    }
    Ok(Some(true))
}

/// Sets the review's `IdentityCheck` (and context) on its id row and its log row.
async fn settle(tables: &dyn TableStore, review: &Review) -> Result<(), AzureError> {
    let mut id_row = crate::tables::keyed(review.id.as_str(), "review");
    id_row.extend(review.to_entity());
    write_creating_table(tables, IDS_TABLE, &id_row, WriteMode::Upsert).await?;
    let check = review.identity.clone();
    update(
        tables,
        REVIEWS_TABLE,
        &review.log_pk(),
        &review.log_rk(),
        &mut |cur| {
            let e = &cur?.entity;
            (get_str(e, "IdentityCheck") != Some(check.as_str())).then(|| {
                let mut next: Entity = e.clone();
                next.insert("IdentityCheck".into(), Value::String(check.clone()));
                next
            })
        },
    )
    .await
    .map(drop)
}

/// Removes `subject`'s latest row under `day` when it is review `id` (conditional on it as read).
async fn unlatest(
    tables: &dyn TableStore,
    day: &str,
    subject: &Subject,
    id: &str,
) -> Result<(), AzureError> {
    if day.is_empty() {
        return Ok(());
    }
    let rk = subject.latest_rk();
    let Some(row) = get(tables, LATEST_TABLE, day, &rk).await? else {
        return Ok(());
    };
    if get_str(&row.entity, "ReviewId") != Some(id) {
        return Ok(());
    }
    crate::tables::ops::remove(tables, LATEST_TABLE, day, &rk, Some(&row.etag)).await
}
