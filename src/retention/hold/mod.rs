//! Legal holds for the API and CLI (docs/retention.md): the pre-hold pair
//! is kept in the tags, the row and table `holds`, so a release restores it if one copy is lost;
//! the row is written before the tags, and either marking a hold keeps the blob.

pub mod bulk;
mod marks;
mod member;
pub(crate) mod rows;
#[cfg(test)]
mod tests;
pub mod two_person;

use crate::azure::AzureError;
use crate::catalogue::row_source::BlobKey;
use crate::ports::{Ports, RequestError};

use member::{hold_member, release_member};

pub use member::Released;
#[cfg(test)]
pub(crate) use rows::header_rk;
pub(crate) use rows::member_pk;
pub use rows::{Actor, HOLDS_TABLE, active, header, is_valid_id, of_row};

use crate::catalogue::recording::RecordingKey;
use crate::storage::url::BlobUrl;

/// A recording addressed by catalogue key or by blob URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The catalogue id `YYYY-MM-DD~rowkey`.
    Key(RecordingKey),
    /// `https://<account>.blob.core.windows.net/<container>/<blob>` (or an Azurite URL).
    Url(String),
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
