//! Legal holds for the API and CLI (docs/retention.md): the pre-hold pair
//! is kept in the tags, the row and table `holds`, so a release restores it if one copy is lost;
//! the row is written before the tags, and either marking a hold keeps the blob.

pub mod bulk;
mod marks;
pub(crate) mod rows;
#[cfg(test)]
mod tests;
pub mod two_person;

use crate::azure::AzureError;
use crate::catalogue::row_source::{BlobKey, RowSource};
use crate::ports::{Ports, RequestError};

#[cfg(test)]
pub(crate) use rows::header_rk;
pub(crate) use rows::member_pk;
pub use rows::{Actor, HOLDS_TABLE, active, header, is_valid_id, of_row};

use crate::catalogue::policy::Retention;
use crate::catalogue::recording::RecordingKey;
use crate::retention::tags::{hold_tags, release_tags};
use crate::storage::update_tags;
use crate::storage::url::BlobUrl;

/// A recording addressed by catalogue key or by blob URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The catalogue id `YYYY-MM-DD~rowkey`.
    Key(RecordingKey),
    /// `https://<account>.blob.core.windows.net/<container>/<blob>` (or an Azurite URL).
    Url(String),
}

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

/// Resolves a target to its catalogue key (a URL needs the blob's creation time).
///
/// # Errors
/// `Invalid` for a malformed URL, `NotFound` when the blob is gone.
pub async fn resolve(ports: &Ports, target: &Target) -> Result<RecordingKey, RequestError> {
    match target {
        Target::Key(k) => Ok(k.clone()),
        Target::Url(u) => {
            let url = BlobUrl::parse(u)
                .ok_or_else(|| RequestError::Invalid(format!("not a blob URL: {u}")))?;
            let source = ports
                .sources
                .recording(&url.account, &url.container)
                .ok_or_else(|| {
                    RequestError::Invalid(format!("not in a configured recordings source: {u}"))
                })?;
            let blob = source.blob(url.name);
            let props = match source.store.properties(&blob).await {
                Err(AzureError::NotFound) => {
                    return Err(RequestError::NotFound(format!("blob {blob}")));
                }
                other => other?,
            };
            let created = props.created.ok_or_else(|| {
                RequestError::Invalid(format!("blob {blob} has no creation time"))
            })?;
            Ok(source.key(created, &blob.name))
        }
    }
}

/// Puts one recording under hold `hold_id` (idempotent; nested holds are fine).
///
/// # Errors
/// `Invalid`, `NotFound` (no catalogue row), `Storage`.
pub async fn hold(
    ports: &Ports,
    hold_id: &str,
    target: &Target,
    actor: &Actor,
) -> Result<RecordingKey, RequestError> {
    actor.validate()?;
    rows::validate_id(hold_id)?;
    let key = resolve(ports, target).await?;
    rows::write_header(
        ports,
        hold_id,
        "recording",
        &serde_json::json!({"recording": key.id()}),
        actor,
    )
    .await?;
    hold_member(ports, hold_id, &key, actor).await?;
    Ok(key)
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

/// Releases hold `hold_id` on one recording; restores the pre-hold class and date when it was the
/// last hold (a date already past makes it due at the next sweep).
///
/// # Errors
/// `Invalid`, `NotFound` (not a member), `Storage`.
pub async fn release(
    ports: &Ports,
    hold_id: &str,
    target: &Target,
    actor: &Actor,
) -> Result<Released, RequestError> {
    actor.validate()?;
    let key = resolve(ports, target).await?;
    release_member(ports, hold_id, &key, actor).await
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
