//! A review as a row of `BastionReviews_CL`, recorded with the review (the first write and every
//! retry of it: one upsert of one outbox row, keyed by the review's time and id).

use super::model::Review;
use crate::dates::timestamp;
use crate::export::rows::ReviewRow;

/// The row of `review`.
pub fn review_row(review: &Review) -> ReviewRow {
    let c = &review.context;
    let time = |s: &str| Some(s).filter(|s| !s.is_empty()).and_then(timestamp);
    ReviewRow {
        time_generated: review.at,
        review_id: review.id.clone(),
        subject_kind: review.subject.kind.as_str().to_owned(),
        subject_id: review.subject.id.clone(),
        verdict: review.verdict.as_str().to_owned(),
        comment: review.comment.clone(),
        ticket: review.ticket.clone(),
        reviewer: review.reviewer.clone(),
        bastion_host: c.bastion_host.clone(),
        target_vm: c.target_vm.clone(),
        user_name: c.user_name.clone(),
        session_id: c.tunnel_id.clone(),
        session_start: time(&c.session_start),
        recording_deleted_at: time(&c.deleted_at),
        user_email: c.user_email.clone(),
    }
}
