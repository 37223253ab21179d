//! One blob held by the in-memory store, and the service's rules for creating and conditionally
//! deleting it (kept apart from the store so the store stays a thin map of operations).

use bytes::{Bytes, BytesMut};
use time::OffsetDateTime;

use super::super::tag_expr::TagExpr;
use bastion_recordings::storage::{BlobKind, BlobProps, Metadata, Tags, normalize_etag};

use bastion_recordings::azure::AzureError;

#[derive(Debug, Clone)]
pub(super) struct Blob {
    pub(super) body: BytesMut,
    pub(super) props: BlobProps,
    pub(super) tags: Tags,
}

impl Blob {
    /// A new blob with fresh properties, created at `created` (the store's clock); last modified
    /// now by the system clock, which moves on between writes as the service's does.
    pub(super) fn new(
        created: OffsetDateTime,
        kind: BlobKind,
        etag: String,
        body: Bytes,
        content_type: &str,
        metadata: &Metadata,
    ) -> Self {
        let props = BlobProps {
            content_length: body.len() as u64,
            content_type: Some(content_type.to_owned()),
            etag,
            last_modified: Some(OffsetDateTime::now_utc()),
            created: Some(created),
            kind: Some(kind),
            metadata: metadata
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect(),
            tag_count: Some(0),
        };
        Self {
            body: BytesMut::from(&body[..]),
            props,
            tags: Tags::new(),
        }
    }

    /// Azure's rule for a conditional delete: every condition given must hold (`If-Match` AND
    /// `x-ms-if-tags`), otherwise 412. Unlike Azurite 3.35, which skips `x-ms-if-tags` once an
    /// `If-Match` is present, the fake evaluates both, as Azure does.
    pub(super) fn guard(
        &self,
        etag: Option<&str>,
        if_tags: Option<&str>,
    ) -> Result<(), AzureError> {
        let cond = TagExpr::condition(if_tags)?;
        let etag_ok = etag.is_none_or(|e| self.props.etag == normalize_etag(e));
        if etag_ok && cond.is_none_or(|c| c.eval(&self.tags)) {
            Ok(())
        } else {
            Err(AzureError::PreconditionFailed)
        }
    }
}
