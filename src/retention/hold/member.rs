//! One recording's membership in a hold: added (member row, catalogue row, then tags) and released
//! (member row closed; the pre-hold class and date restored when it was the last hold). What a
//! single hold or release and a bulk one share.

use super::marks;
use super::rows::{self, Actor};
use crate::catalogue::policy::Retention;
use crate::catalogue::recording::RecordingKey;
use crate::catalogue::row_source::RowSource;
use crate::ports::{Ports, RequestError};
use crate::retention::tags::{hold_tags, release_tags};
use crate::storage::update_tags;

/// The result of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    /// Recording id.
    pub recording: String,
    /// Other holds still covering it (then nothing was restored).
    pub still_held_by: Vec<String>,
    /// What was restored, when this was the last hold.
    pub restored: Option<Retention>,
}

/// Adds one recording to an existing hold: member row, catalogue row, then tags.
pub(crate) async fn hold_member(
    ports: &Ports,
    hold_id: &str,
    key: &RecordingKey,
    actor: &Actor,
) -> Result<(), RequestError> {
    let repo = ports.catalogue();
    let row = repo
        .get(key)
        .await?
        .ok_or_else(|| RequestError::NotFound(format!("recording {}", key.id())))?;
    let original = marks::pre_hold(&row);
    let (source, blob) = ports
        .sources
        .blob_of_row(&row.value)
        .map_err(RequestError::Invalid)?;
    rows::write_member(ports, hold_id, key, original.as_ref(), actor).await?;
    marks::update_row(&repo, row, |r| marks::mark_held(r, hold_id)).await?;
    // Blob gone: the row still records the hold (and the deletion, if any).
    update_tags(&*source.store, &blob, false, |tags| (hold_tags(tags), ())).await?;
    tracing::info!(hold = %hold_id, recording = %key.id(), who = %actor.who, "legal hold set");
    Ok(())
}

/// Releases one member of a hold.
pub(crate) async fn release_member(
    ports: &Ports,
    hold_id: &str,
    key: &RecordingKey,
    actor: &Actor,
) -> Result<Released, RequestError> {
    let member = rows::read_member(ports, hold_id, key)
        .await?
        .ok_or_else(|| {
            RequestError::NotFound(format!("recording {} in hold {hold_id}", key.id()))
        })?;
    rows::close_member(ports, member.clone(), actor).await?;
    let released = |still_held_by, restored| Released {
        recording: key.id(),
        still_held_by,
        restored,
    };
    let repo = ports.catalogue();
    let Some(row) = repo.get(key).await? else {
        return Ok(released(vec![], None));
    };
    let fallback = rows::member_original(&member.entity).or_else(|| marks::pre_hold(&row));
    let (source, blob) = ports
        .sources
        .blob_of_row(&row.value)
        .map_err(RequestError::Invalid)?;
    let after = marks::update_row(&repo, row, |r| {
        marks::unmark_held(r, hold_id, fallback.as_ref())
    })
    .await?;
    if !after.hold.ids.is_empty() {
        return Ok(released(after.hold.ids, None));
    }
    let tagged = update_tags(&*source.store, &blob, false, |tags| {
        match release_tags(tags, fallback.as_ref()) {
            Some((new, r)) => (new, Some(r)),
            None => (tags.clone(), None),
        }
    })
    .await?;
    let restored = tagged.flatten().or_else(|| fallback.clone());
    tracing::info!(hold = %hold_id, recording = %key.id(), who = %actor.who, "legal hold released");
    Ok(released(vec![], restored))
}
